"""Request buckets shared by every API process (migration 026, app/ratelimit.py).

A bucket is platform state keyed by a hash, not a tenant row: the caller names its buckets (a
credential, an org, a login account or address) and the function acts on exactly those."""

import uuid

import asyncpg

# one statement, one round trip: every bucket of a request is read, decided and written together
TAKE = "SELECT rate_buckets_take($1::uuid[], $2::integer[], $3::float8[], $4::float8[], $5, $6)"
# a bucket whose arrival time has passed is full, the same as no row: deleting it changes nothing
PRUNE = "DELETE FROM rate_buckets WHERE tat < extract(epoch FROM clock_timestamp()) - $1"


async def take(
    conn: asyncpg.Connection,
    keys: list[uuid.UUID],
    locks: list[int],
    intervals: list[float],
    bursts: list[float],
    *,
    now: float | None,
) -> list[float]:
    """Seconds to wait per bucket (all 0: one request was taken from each)."""
    return list(await conn.fetchval(TAKE, keys, locks, intervals, bursts, False, now))


async def refund(
    conn: asyncpg.Connection, keys: list[uuid.UUID], locks: list[int], intervals: list[float], *, now: float | None
) -> None:
    await conn.fetchval(TAKE, keys, locks, intervals, [0.0] * len(keys), True, now)


async def prune(conn: asyncpg.Connection, *, idle_seconds: float) -> int:
    """Deletes buckets full for at least `idle_seconds`; returns how many."""
    status = await conn.execute(PRUNE, idle_seconds)
    return int(status.split()[-1])
