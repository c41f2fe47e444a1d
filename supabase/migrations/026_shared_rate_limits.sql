-- 026_shared_rate_limits: request buckets every API process shares (docs/decisions/0073-shared-rate-limits.md).
--
-- One row per bucket key (a credential, an org, a login account or address, hashed by the API to
-- 16 bytes: no email or address is stored). A bucket is kept as its "theoretical arrival time"
-- (GCRA, the one-number form of a token bucket): `tat` in epoch seconds; the bucket is full when
-- tat <= now, and it holds burst - (tat - now) / interval requests otherwise. A missing row is a
-- full bucket, so rows whose tat has passed can be deleted at any time (the elected pruning job).
--
-- UNLOGGED: counters need no crash safety (after a Postgres crash every bucket starts full), and
-- a transaction that writes only unlogged rows commits without waiting for a WAL flush.
CREATE UNLOGGED TABLE rate_buckets (
    key  uuid PRIMARY KEY,
    tat  double precision NOT NULL
);
ALTER TABLE rate_buckets ENABLE ROW LEVEL SECURITY;

-- Takes one request from every bucket of `p_keys` when each has one, else from none of them
-- (a credential is never charged for a request its org's cap refused). Returns, per key in the
-- given order, the seconds until one request fits (0: it fitted). `p_refund` gives one back to
-- every bucket instead (a successful login). `p_locks` are the keys' advisory lock ids: every
-- reader and writer of a bucket holds its lock, taken in ascending order so two callers sharing
-- buckets (two tokens of one org) can never deadlock. `p_now` is for tests (NULL: the server's clock,
-- the one clock every API process agrees on).
CREATE FUNCTION rate_buckets_take(
    p_keys uuid[], p_locks integer[], p_intervals double precision[], p_bursts double precision[],
    p_refund boolean, p_now double precision
) RETURNS double precision[]
LANGUAGE plpgsql AS $$
DECLARE
    lock_id integer;
    t double precision;
    tats double precision[];
    waits double precision[];
BEGIN
    FOR lock_id IN SELECT DISTINCT l FROM unnest(p_locks) AS l ORDER BY l LOOP
        -- the two-key form: its key space is apart from the one-key locks used elsewhere
        PERFORM pg_advisory_xact_lock(26, lock_id);
    END LOOP;
    -- read after the locks: a wait for one must not make this caller's clock older than the holder's
    t := coalesce(p_now, extract(epoch FROM clock_timestamp()));
    IF p_refund THEN
        UPDATE rate_buckets b SET tat = b.tat - k.interval
        FROM unnest(p_keys, p_intervals) AS k(key, interval)
        WHERE b.key = k.key;
        RETURN NULL;
    END IF;
    SELECT array_agg(greatest(coalesce(b.tat, t), t) ORDER BY k.i) INTO tats
    FROM unnest(p_keys) WITH ORDINALITY AS k(key, i)
    LEFT JOIN rate_buckets b ON b.key = k.key;
    -- a request fits when tat - now <= (burst - 1) * interval; the wait is the excess. The 1e-9
    -- absorbs float rounding of intervals such as 0.05 s added up many times.
    SELECT array_agg(CASE WHEN w <= 1e-9 THEN 0 ELSE w END ORDER BY i) INTO waits
    FROM (
        SELECT i, tats[i] + p_intervals[i] * (1 - p_bursts[i]) - t AS w
        FROM generate_subscripts(p_keys, 1) AS i
    ) AS per_key;
    IF (SELECT bool_and(x = 0) FROM unnest(waits) AS x) THEN
        INSERT INTO rate_buckets AS b (key, tat)
        SELECT p_keys[i], tats[i] + p_intervals[i] FROM generate_subscripts(p_keys, 1) AS i
        ON CONFLICT (key) DO UPDATE SET tat = excluded.tat;
    END IF;
    RETURN waits;
END
$$;
