"""batch/status reads the submission, its summary and its runs from one snapshot: a run that
finishes (and completes the submission) while the status is being read never tears the answer.

The test needs two real connections and committed rows (the usual rolled-back test transaction
is invisible to a second connection), so it commits its own tenant and deletes it afterwards.
A commit lands on a second connection right after each statement the status read runs: with
separate reads the later ones saw it, with one statement there is no "between"."""

import uuid
from typing import Any

import pytest

from app.auth.context import org_scope
from app.models.submissions import BatchStatusRequest, BatchSubmitRequest
from app.services import submissions as submissions_service
from app.services.dispatch import LocalDispatcher
from tests.factories import create_blueprint, create_company, create_org


class CommitBetweenStatements:
    """A real connection that lets another transaction commit after its first statement."""

    def __init__(self, conn, on_first_statement) -> None:
        self._conn = conn
        self._hook = on_first_statement
        self.statements = 0

    async def _after(self) -> None:
        self.statements += 1
        if self.statements == 1:
            await self._hook()

    async def fetchrow(self, *args: Any, **kwargs: Any):
        row = await self._conn.fetchrow(*args, **kwargs)
        await self._after()
        return row

    async def fetch(self, *args: Any, **kwargs: Any):
        rows = await self._conn.fetch(*args, **kwargs)
        await self._after()
        return rows

    async def fetchval(self, *args: Any, **kwargs: Any):
        value = await self._conn.fetchval(*args, **kwargs)
        await self._after()
        return value


class PoolDb:
    def __init__(self, pool) -> None:
        self.pool = pool

    def transaction(self):
        from app.db import Db

        return Db(self.pool).transaction()

    def autocommit(self):
        from app.db import Db

        return Db(self.pool).autocommit()


@pytest.fixture
async def committed(app):
    pool = app.state.pool
    async with pool.acquire() as conn:
        org = await create_org(conn)
        company = await create_company(conn, org.id)
        blueprint = await create_blueprint(conn, org.id, ("company.enrich.profile",))
    auth = org_scope(org.id)
    body = BatchSubmitRequest.model_validate(
        {
            "blueprint_id": str(blueprint.id),
            "company_id": str(company.id),
            "entities": [{"entity_type": "company", "input": {"domain": d}} for d in ("a.com", "b.com")],
        }
    )
    result = await submissions_service.submit(PoolDb(pool), LocalDispatcher(), auth, body, max_entities=10)
    yield pool, auth, result
    async with pool.acquire() as conn, conn.transaction():
        runs = [str(r) for r in result.pipeline_run_ids]
        await conn.execute("DELETE FROM graphile_worker._private_jobs WHERE key = ANY($1::text[])", runs)
        await conn.execute("DELETE FROM step_results WHERE org_id = $1", org.id)
        await conn.execute("DELETE FROM pipeline_runs WHERE org_id = $1", org.id)
        await conn.execute("DELETE FROM submissions WHERE org_id = $1", org.id)
        await conn.execute("DELETE FROM blueprint_steps WHERE org_id = $1", org.id)
        await conn.execute("DELETE FROM blueprints WHERE org_id = $1", org.id)
        await conn.execute("DELETE FROM companies WHERE org_id = $1", org.id)
        await conn.execute("DELETE FROM orgs WHERE id = $1", org.id)


async def test_a_run_finishing_mid_read_never_tears_the_status(committed):
    pool, auth, result = committed
    first, second = result.pipeline_run_ids
    async with pool.acquire() as conn:
        await conn.execute("UPDATE pipeline_runs SET status = 'succeeded' WHERE id = $1", first)
        await conn.execute("UPDATE pipeline_runs SET status = 'running' WHERE id = $1", second)
        await conn.execute("UPDATE submissions SET status = 'running' WHERE id = $1", result.submission_id)

    async def last_run_finishes() -> None:
        async with pool.acquire() as other, other.transaction():
            await other.execute("UPDATE pipeline_runs SET status = 'succeeded' WHERE id = $1", second)
            await other.execute("UPDATE submissions SET status = 'completed' WHERE id = $1", result.submission_id)

    async with pool.acquire() as conn, conn.transaction():
        reader = CommitBetweenStatements(conn, last_run_finishes)
        status = await submissions_service.status(reader, auth, BatchStatusRequest(submission_id=result.submission_id))

    assert reader.statements >= 1
    open_runs = status.summary.queued + status.summary.running
    assert (status.submission.status == "completed") == (open_runs == 0), status
    page = [r.status for r in status.runs.items]
    assert page.count("running") == status.summary.running and page.count("succeeded") == status.summary.succeeded
    # and it is the state before the commit, read whole
    assert status.submission.status == "running" and page == ["succeeded", "running"]


async def test_another_orgs_submission_is_not_found(committed, app):
    _, _, result = committed
    from app.errors import NotFound

    async with app.state.pool.acquire() as conn:
        with pytest.raises(NotFound):
            await submissions_service.status(
                conn, org_scope(uuid.uuid4()), BatchStatusRequest(submission_id=result.submission_id)
            )
