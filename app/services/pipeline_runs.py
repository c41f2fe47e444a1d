"""Tenant reads of submissions, runs and step results, and the retry of a failed run."""

from __future__ import annotations

import uuid

import asyncpg

from app.auth.context import AuthContext
from app.db import Db
from app.errors import Conflict, not_found
from app.models.common import Page
from app.models.pipelines import (
    PipelineRun,
    PipelineRunDetail,
    PipelineRunListRequest,
    StepResult,
    Submission,
    SubmissionListRequest,
)
from app.pagination import decode_cursor, page
from app.repositories import pipelines as pipelines_repo
from app.services.dispatch import Dispatcher


async def list_submissions(
    conn: asyncpg.Connection, auth: AuthContext, body: SubmissionListRequest
) -> Page[Submission]:
    rows = await pipelines_repo.list_submissions(
        conn,
        auth.tenant_org_id,
        auth.company_id,
        status=body.status,
        after=decode_cursor(body.cursor),
        limit=body.limit,
    )
    items, cursor = page(rows, body.limit)
    return Page[Submission](items=items, next_cursor=cursor)


async def get(conn: asyncpg.Connection, auth: AuthContext, run_id: uuid.UUID) -> PipelineRunDetail:
    run = await pipelines_repo.get_run(conn, auth.tenant_org_id, auth.company_id, run_id)
    if run is None:
        raise not_found("pipeline_run")
    return run


async def list(conn: asyncpg.Connection, auth: AuthContext, body: PipelineRunListRequest) -> Page[PipelineRun]:
    rows = await pipelines_repo.list_runs(
        conn,
        auth.tenant_org_id,
        auth.company_id,
        submission_id=body.submission_id,
        status=body.status,
        after=decode_cursor(body.cursor),
        limit=body.limit,
    )
    items, cursor = page(rows, body.limit)
    return Page[PipelineRun](items=items, next_cursor=cursor)


async def list_steps(conn: asyncpg.Connection, auth: AuthContext, run_id: uuid.UUID) -> list[StepResult]:
    await get(conn, auth, run_id)
    return await pipelines_repo.list_steps(conn, auth.tenant_org_id, run_id)


async def retry(db: Db, dispatcher: Dispatcher, auth: AuthContext, run_id: uuid.UUID) -> PipelineRunDetail:
    """A failed run resumes from its failed step: succeeded steps keep their results."""
    async with db.transaction() as conn:
        run = await get(conn, auth, run_id)
        if run.status != "failed":
            raise Conflict(f"only a failed run can be retried; this one is {run.status}", code="run_not_failed")
        submission = await pipelines_repo.get_submission(conn, auth.tenant_org_id, None, run.submission_id)
        if submission is not None and submission.status == "canceled":
            raise Conflict("the run's submission was canceled", code="submission_canceled")
        await pipelines_repo.retry_run(conn, auth.tenant_org_id, run_id)
        await dispatcher.enqueue_in_transaction(conn, [run_id], run.org_id, run.company_id)
    await dispatcher.dispatch_after_commit([run_id], run.org_id, run.company_id)
    async with db.transaction() as conn:
        return await get(conn, auth, run_id)
