"""Local worker liveness, and releasing a dead worker's graphile-worker job locks.

Only graphile-worker's public interface is used: the `jobs` view and `force_unlock_workers`."""

import asyncpg

HEARTBEAT = """
INSERT INTO worker_heartbeats (worker_id) VALUES ($1)
ON CONFLICT (worker_id) DO UPDATE SET last_seen = now()
"""
# A locker is dead when its lock is older than the threshold and it has not reported within it
# (or never did). A live host reports every few seconds, so its jobs are never taken from it.
DEAD_LOCKERS = """
SELECT DISTINCT j.locked_by FROM graphile_worker.jobs j
LEFT JOIN worker_heartbeats h ON h.worker_id = j.locked_by
WHERE j.locked_by IS NOT NULL
  AND j.locked_at < now() - make_interval(secs => $1)
  AND (h.worker_id IS NULL OR h.last_seen < now() - make_interval(secs => $1))
"""
FORCE_UNLOCK = "SELECT graphile_worker.force_unlock_workers($1::text[])"


async def heartbeat(conn: asyncpg.Connection, worker_id: str) -> None:
    await conn.execute(HEARTBEAT, worker_id)


async def dead_lockers(conn: asyncpg.Connection, stale_seconds: float) -> list[str]:
    return [r[0] for r in await conn.fetch(DEAD_LOCKERS, float(stale_seconds))]


async def force_unlock(conn: asyncpg.Connection, worker_ids: list[str]) -> None:
    await conn.execute(FORCE_UNLOCK, worker_ids)
