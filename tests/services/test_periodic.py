"""Periodic jobs are elected (app/periodic.py): of the API processes on one database exactly one
runs them, and when that process dies (its connection ends) another takes over."""

import asyncio
import random

import asyncpg

from app.periodic import Election, PeriodicJob


def _election(dsn: str, key: int, ran: list[str], name: str, now: list[float]) -> Election:
    async def job() -> None:
        ran.append(name)

    return Election(lambda: asyncpg.connect(dsn), [PeriodicJob("job", 10.0, job)], lock_key=key, clock=lambda: now[0])


async def test_one_process_runs_the_jobs_and_another_takes_over_when_it_dies(database_dsn):
    key = random.getrandbits(62)  # a lock of this test's own: the session's app campaigns for the real one
    now, ran = [0.0], []
    first, second = _election(database_dsn, key, ran, "first", now), _election(database_dsn, key, ran, "second", now)
    try:
        assert await first.campaign() and not await second.campaign()
        assert await first.tick() == ["job"] and await second.tick() == []
        assert await first.tick() == []  # not due again yet
        now[0] += 10
        await first.tick()
        await second.tick()
        assert ran == ["first", "first"]

        # kill -9 of the leader's process: its connection ends and Postgres releases the lock
        admin = await asyncpg.connect(database_dsn)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", first.conn.get_server_pid())
        finally:
            await admin.close()
        for _ in range(200):  # a bound against hanging, not a timing assertion
            if await second.campaign():
                break
            await asyncio.sleep(0.02)
        assert second.leading
        # the old leader notices at its next check and runs nothing more
        now[0] += 10
        assert await first.tick() == [] and not first.leading
        assert await second.tick() == ["job"]
        assert not await first.campaign()
        assert ran == ["first", "first", "second"]
    finally:
        for election in (first, second):
            await election._drop()


async def test_a_failing_job_is_logged_and_the_others_still_run(database_dsn, caplog):
    ran = []

    async def broken() -> None:
        raise RuntimeError("provider down")

    async def fine() -> None:
        ran.append("fine")

    election = Election(
        lambda: asyncpg.connect(database_dsn),
        [PeriodicJob("broken", 1.0, broken), PeriodicJob("fine", 1.0, fine)],
        lock_key=random.getrandbits(62),
    )
    try:
        assert await election.campaign()
        assert await election.tick() == ["broken", "fine"]
        assert ran == ["fine"] and election.leading
        assert "periodic job broken failed" in caplog.text
    finally:
        await election._drop()
