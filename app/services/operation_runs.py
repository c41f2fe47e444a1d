"""Tenants read their execution history (CONTRACT §5: org-wide, or own company)."""

import uuid

import asyncpg

from app.auth.context import AuthContext
from app.errors import not_found
from app.models.common import Page
from app.models.execute import OperationRun, OperationRunDetail, OperationRunListRequest
from app.pagination import decode_cursor, page
from app.repositories import operation_runs as operation_runs_repo


async def get(conn: asyncpg.Connection, auth: AuthContext, run_id: uuid.UUID) -> OperationRunDetail:
    run = await operation_runs_repo.get_run(conn, auth.tenant_org_id, auth.company_id, run_id)
    if run is None:
        raise not_found("run")
    attempts = await operation_runs_repo.list_attempts(conn, auth.tenant_org_id, run_id)
    return OperationRunDetail(**run.model_dump(), provider_attempts=attempts)


async def list(conn: asyncpg.Connection, auth: AuthContext, body: OperationRunListRequest) -> Page[OperationRun]:
    rows = await operation_runs_repo.list_runs_for_org(
        conn,
        auth.tenant_org_id,
        auth.company_id,
        operation_id=body.operation_id,
        status=body.status,
        pipeline_run_id=body.pipeline_run_id,
        after=decode_cursor(body.cursor),
        limit=body.limit,
    )
    items, cursor = page(rows, body.limit)
    return Page[OperationRun](items=items, next_cursor=cursor)
