"""Periodic jobs, run by one API process of the deployment at a time (docs/decisions/0074-elected-periodic-jobs.md).

Every API process campaigns; the one holding a session advisory lock on a connection of its own
runs the jobs (the Trigger.dev sweeper, pruning idle rate-limit buckets). The lock lives as long as
that connection: a process that stops, or is killed, ends its connection and Postgres releases the
lock, so another process takes it at its next campaign (within `campaign_seconds`). A leader whose
connection breaks stops leading at its next check, before running anything more.

Work that many processes can share safely is not elected: the webhook delivery loop claims its
rows with `FOR UPDATE SKIP LOCKED` in every process. The jobs here are idempotent anyway (a
sweep re-sends with Trigger.dev idempotency keys, a prune deletes only full buckets), so the short
overlap a network partition could cause (the old leader not yet aware its connection is gone)
wastes work and breaks nothing.

The lock needs a session: behind a transaction pooler (Supabase's port 6543, PgBouncer in
transaction mode) it would be released with each transaction, so this connection goes to
`DATA_ENGINE_DIRECT_DATABASE_URL` when set (docs/SCALING.md).
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

log = logging.getLogger(__name__)

# "dex-lead": the one-key advisory lock space (migrations hold "dex-migr", the rate buckets use
# the two-key space)
LEADER_LOCK_KEY = 0x6465782D6C656164
TRY_LOCK = "SELECT pg_try_advisory_lock($1)"
ALIVE = "SELECT 1"
# what a lost or broken lock connection raises. asyncpg's InternalClientError is not an
# InterfaceError: it comes when a terminated backend's error arrives while the protocol expects
# another reply (seen under CI load after pg_terminate_backend), and it must step the leader down
# like the others rather than end the loop for good
CONNECTION_LOST = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, TimeoutError)

Connect = Callable[[], Awaitable[asyncpg.Connection]]


@dataclass
class PeriodicJob:
    name: str
    every_seconds: float
    run: Callable[[], Awaitable[object]]
    next_at: float = 0.0


class Election:
    """Campaigns for the leader lock and, while it holds it, runs the jobs when they are due.
    `clock` and the methods `campaign` and `tick` let a test drive it step by step."""

    def __init__(
        self,
        connect: Connect,
        jobs: list[PeriodicJob],
        *,
        campaign_seconds: float = 5.0,
        lock_key: int = LEADER_LOCK_KEY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connect = connect
        self.jobs = jobs
        self.campaign_seconds = campaign_seconds
        self.lock_key = lock_key
        self.clock = clock
        self.conn: asyncpg.Connection | None = None
        self.leading = False

    async def campaign(self) -> bool:
        """Tries to take the lock (no wait); True while this process leads."""
        if self.leading:
            return True
        try:
            if self.conn is None or self.conn.is_closed():
                self.conn = await self.connect()
            if await self.conn.fetchval(TRY_LOCK, self.lock_key):
                self.leading = True
                log.info("this process runs the periodic jobs (%s)", ", ".join(j.name for j in self.jobs))
        except CONNECTION_LOST as e:
            log.warning("periodic jobs: campaign failed: %s", e)
            await self._drop()
        return self.leading

    async def tick(self) -> list[str]:
        """While leading: checks the lock's connection is alive, then runs the due jobs; returns
        their names. A job's failure is logged and retried when it is next due."""
        if not self.leading or self.conn is None:
            return []
        try:
            await self.conn.fetchval(ALIVE)
        except CONNECTION_LOST as e:
            # the lock went with the connection: another process may hold it now
            log.warning("periodic jobs: lost the leader connection, stepping down: %s", e)
            await self._drop()
            return []
        ran = []
        for job in self.jobs:
            now = self.clock()
            if job.next_at > now:
                continue
            job.next_at = now + job.every_seconds
            try:
                await job.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("periodic job %s failed", job.name)
            ran.append(job.name)
        return ran

    async def run_forever(self) -> None:
        try:
            while True:
                if await self.campaign():
                    await self.tick()
                await asyncio.sleep(self._pause())
        finally:
            await self._drop()

    def _pause(self) -> float:
        if not self.leading:
            return self.campaign_seconds
        due = min((j.next_at for j in self.jobs), default=self.clock() + self.campaign_seconds)
        return max(0.0, min(self.campaign_seconds, due - self.clock()))

    async def _drop(self) -> None:
        self.leading = False
        conn, self.conn = self.conn, None
        if conn is not None and not conn.is_closed():
            # closing the session releases the lock; terminate() if the server does not answer
            try:
                await asyncio.wait_for(conn.close(), timeout=2)
            except CONNECTION_LOST:
                conn.terminate()
