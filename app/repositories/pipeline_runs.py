"""Tenant reads of pipeline runs and their step results, and the retry of a failed run."""

import uuid
from datetime import datetime

import asyncpg

from app.models.pipeline_runs import PipelineRun, PipelineRunDetail, StepResult

# shared with repositories/worker_callbacks.py (lock_run returns the same model)
RUN_COLUMNS = """id, org_id, company_id, submission_id, entity_index, entity_type, status, blueprint_version, input,
    final_context, error_message, attempt, started_at, finished_at, created_at, updated_at, parent_pipeline_run_id,
    depth"""


GET_RUN = f"""
SELECT {RUN_COLUMNS}, blueprint_snapshot FROM pipeline_runs
WHERE id = $1 AND org_id = $2 AND ($3::uuid IS NULL OR company_id = $3)
"""


async def get_run(
    conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID, *, company_scope: uuid.UUID | None
) -> PipelineRunDetail | None:
    row = await conn.fetchrow(GET_RUN, run_id, org_id, company_scope)
    return PipelineRunDetail.model_validate(dict(row)) if row else None


LIST_RUNS = f"""
SELECT {RUN_COLUMNS} FROM pipeline_runs
WHERE org_id = $1 AND ($2::uuid IS NULL OR company_id = $2)
  AND ($3::uuid IS NULL OR submission_id = $3)
  AND ($4::text IS NULL OR status::text = $4)
  AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $7
"""


async def list_runs(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    *,
    company_scope: uuid.UUID | None,
    submission_id: uuid.UUID | None,
    status: str | None,
    after: tuple[datetime | None, uuid.UUID | None],
    limit: int,
) -> list[PipelineRun]:
    """Newest first, `limit + 1` rows (the extra one tells the caller there is a next page)."""
    rows = await conn.fetch(LIST_RUNS, org_id, company_scope, submission_id, status, after[0], after[1], limit + 1)
    return [PipelineRun.model_validate(dict(r)) for r in rows]


LIST_STEPS = """
SELECT s.id, s.pipeline_run_id, s.position, s.operation_id, s.status, s.step_config, s.input, s.output,
       s.context_after, s.error_message, s.operation_run_id, s.skip_reason, s.fan_out, s.started_at, s.finished_at,
       s.created_at, s.updated_at
FROM step_results s JOIN pipeline_runs r ON r.id = s.pipeline_run_id AND r.org_id = s.org_id
WHERE s.pipeline_run_id = $1 AND s.org_id = $2 AND ($3::uuid IS NULL OR r.company_id = $3)
ORDER BY s.position
"""


async def list_steps(
    conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID, *, company_scope: uuid.UUID | None
) -> list[StepResult]:
    rows = await conn.fetch(LIST_STEPS, run_id, org_id, company_scope)
    return [StepResult.model_validate(dict(r)) for r in rows]


RETRY_RUN = """
UPDATE pipeline_runs SET status = 'queued', error_message = NULL, finished_at = NULL, dispatched_at = NULL
WHERE id = $1 AND org_id = $2 AND ($3::uuid IS NULL OR company_id = $3) AND status = 'failed'
RETURNING submission_id
"""
# resume from the failed step: succeeded steps are kept, the rest run again
REQUEUE_STEPS = """
UPDATE step_results SET status = 'queued', output = NULL, context_after = NULL, error_message = NULL,
       operation_run_id = NULL, skip_reason = NULL, fan_out = NULL, started_at = NULL, finished_at = NULL
WHERE pipeline_run_id = $1 AND status IN ('failed', 'skipped', 'running')
"""
# the submission row is locked first, like every run transition that re-derives it
LOCK_SUBMISSION = "SELECT status FROM submissions WHERE id = $1 FOR UPDATE"
REOPEN_SUBMISSION = """
UPDATE submissions SET status = 'running', finished_at = NULL WHERE id = $1 AND status IN ('completed', 'failed')
"""


async def retry_run(
    conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID, *, company_scope: uuid.UUID | None
) -> bool:
    """Requeues a failed run and its unfinished steps and reopens its submission; False when the
    run is not (or no longer) failed."""
    submission_id = await conn.fetchval(RETRY_RUN, run_id, org_id, company_scope)
    if submission_id is None:
        return False
    await conn.execute(REQUEUE_STEPS, run_id)
    await conn.execute(LOCK_SUBMISSION, submission_id)
    await conn.execute(REOPEN_SUBMISSION, submission_id)
    return True
