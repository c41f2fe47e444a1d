"""Tenant reads of pipeline runs and step results, and the retry of a failed run."""

from __future__ import annotations

import builtins
import uuid

import asyncpg

from app.auth.context import AuthContext
from app.contracts.statuses import PipelineRunStatus, SubmissionStatus
from app.db import Db
from app.errors import Conflict, not_found
from app.models.common import Page
from app.models.pipeline_runs import PipelineRun, PipelineRunDetail, PipelineRunListRequest, StepResult
from app.pagination import decode_cursor, page
from app.repositories import pipeline_runs as pipeline_runs_repo
from app.repositories import submissions as submissions_repo
from app.services.dispatch import Dispatcher


async def get(conn: asyncpg.Connection, auth: AuthContext, run_id: uuid.UUID) -> PipelineRunDetail:
    run = await pipeline_runs_repo.get_run(conn, auth.tenant_org_id, run_id, company_scope=auth.company_id)
    if run is None:
        raise not_found("pipeline_run")
    return run


async def list(conn: asyncpg.Connection, auth: AuthContext, body: PipelineRunListRequest) -> Page[PipelineRun]:
    rows = await pipeline_runs_repo.list_runs(
        conn,
        auth.tenant_org_id,
        company_scope=auth.company_id,
        submission_id=body.submission_id,
        status=body.status,
        after=decode_cursor(body.cursor),
        limit=body.limit,
    )
    items, cursor = page(rows, body.limit)
    return Page[PipelineRun](items=items, next_cursor=cursor)


async def list_steps(conn: asyncpg.Connection, auth: AuthContext, run_id: uuid.UUID) -> builtins.list[StepResult]:
    await get(conn, auth, run_id)
    return await pipeline_runs_repo.list_steps(conn, auth.tenant_org_id, run_id, company_scope=auth.company_id)


async def retry(db: Db, dispatcher: Dispatcher, auth: AuthContext, run_id: uuid.UUID) -> PipelineRunDetail:
    """A failed run resumes from its failed step: succeeded steps keep their results."""
    async with db.transaction() as conn:
        run = await get(conn, auth, run_id)
        if run.status is not PipelineRunStatus.failed:
            raise Conflict(f"only a failed run can be retried; this one is {run.status}", code="run_not_failed")
        # a run always shares its submission's company (the database enforces it)
        submission = await submissions_repo.get_submission(
            conn, auth.tenant_org_id, run.submission_id, company_scope=auth.company_id
        )
        if submission is not None and submission.status is SubmissionStatus.canceled:
            raise Conflict("the run's submission was canceled", code="submission_canceled")
        await pipeline_runs_repo.retry_run(conn, auth.tenant_org_id, run_id, company_scope=auth.company_id)
        await dispatcher.enqueue_in_transaction(conn, [run_id], run.org_id, run.company_id)
    await dispatcher.dispatch_after_commit([run_id], run.org_id, run.company_id)
    async with db.transaction() as conn:
        return await get(conn, auth, run_id)
