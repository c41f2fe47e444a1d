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
    n integer := cardinality(p_keys);
    t double precision;
    tat double precision;
    tats double precision[] := '{}';
    waits double precision[] := '{}';
    w double precision;
    fits boolean := true;
BEGIN
    -- the two-key advisory lock form: its key space is apart from the one-key locks used elsewhere.
    -- One or two buckets is every request's case: ordered here without a query.
    IF n = 1 THEN
        PERFORM pg_advisory_xact_lock(26, p_locks[1]);
    ELSIF n = 2 AND p_locks[1] < p_locks[2] THEN
        PERFORM pg_advisory_xact_lock(26, p_locks[1]);
        PERFORM pg_advisory_xact_lock(26, p_locks[2]);
    ELSIF n = 2 THEN
        PERFORM pg_advisory_xact_lock(26, p_locks[2]);
        PERFORM pg_advisory_xact_lock(26, p_locks[1]);
    ELSE
        PERFORM pg_advisory_xact_lock(26, l) FROM (SELECT DISTINCT l FROM unnest(p_locks) AS l ORDER BY l) AS o;
    END IF;
    -- read after the locks: a wait for one must not make this caller's clock older than the holder's
    t := coalesce(p_now, extract(epoch FROM clock_timestamp()));
    IF p_refund THEN
        UPDATE rate_buckets b SET tat = b.tat - k.interval
        FROM unnest(p_keys, p_intervals) AS k(key, interval)
        WHERE b.key = k.key;
        RETURN NULL;
    END IF;
    -- a request fits a bucket when tat - now <= (burst - 1) * interval; the wait is the excess.
    -- The 1e-9 absorbs float rounding of intervals such as 0.05 s added up many times.
    FOR i IN 1 .. n LOOP
        tat := NULL;
        SELECT b.tat INTO tat FROM rate_buckets b WHERE b.key = p_keys[i];
        tat := greatest(coalesce(tat, t), t);
        w := tat + p_intervals[i] * (1 - p_bursts[i]) - t;
        IF w <= 1e-9 THEN
            w := 0;
        ELSE
            fits := false;
        END IF;
        waits := waits || w;
        tats := tats || (tat + p_intervals[i]);
    END LOOP;
    IF fits THEN
        INSERT INTO rate_buckets AS b (key, tat)
        SELECT * FROM unnest(p_keys, tats)
        ON CONFLICT (key) DO UPDATE SET tat = excluded.tat;
    END IF;
    RETURN waits;
END
$$;
