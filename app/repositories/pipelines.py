"""Submissions, pipeline runs and step results.

Bulk paths use COPY (submit writes one run per entity and one step row per enabled step), and
every state change is a conditional UPDATE that only moves a row forward: a terminal row never
changes, so late or repeated callbacks are no-ops.
"""

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from app.contracts.orchestration import PIPELINE_TASK_ID
from app.models.pipelines import (
    InternalStep,
    PipelineRun,
    PipelineRunDetail,
    RunStatus,
    StepResult,
    Submission,
    Summary,
)

OPEN_RUN = ("queued", "running")

SUBMISSION_COLUMNS = """id, org_id, company_id, blueprint_id, status, source, metadata, entity_count, created_at,
    updated_at, finished_at"""
RUN_COLUMNS = """id, org_id, company_id, submission_id, entity_index, entity_type, status, blueprint_version, input,
    final_context, error_message, attempt, started_at, finished_at, created_at, updated_at"""
STEP_COLUMNS = """id, pipeline_run_id, position, operation_id, status, step_config, input, output, context_after,
    error_message, operation_run_id, started_at, finished_at, created_at, updated_at"""

INSERT_SUBMISSION = f"""
INSERT INTO submissions (id, org_id, company_id, blueprint_id, status, source, metadata, entity_count)
VALUES ($1, $2, $3, $4, 'received', $5, $6, $7)
RETURNING {SUBMISSION_COLUMNS}
"""
RUN_COPY_COLUMNS = (
    "id",
    "org_id",
    "company_id",
    "submission_id",
    "entity_index",
    "entity_type",
    "status",
    "blueprint_snapshot",
    "blueprint_version",
    "input",
)
STEP_COPY_COLUMNS = ("id", "org_id", "pipeline_run_id", "step_id", "position", "operation_id", "status", "step_config")
STEP_IDS = "SELECT slug, id FROM steps WHERE slug = ANY($1::text[])"
MARK_SUBMISSION_QUEUED = "UPDATE submissions SET status = 'queued' WHERE id = $1 AND status = 'received'"

# local orchestrator: one graphile-worker job per run, keyed by the run id, in the submit
# transaction (a run never exists without its job, and is never queued twice).
#
# Fairness (docs/decisions/0031-fair-scheduling.md): graphile-worker takes the ready job with the
# lowest `priority`, then the earliest `run_at`. The n-th run of a submission gets priority
# base + n, where base is the lowest priority among jobs ready now (the level the queue is
# serving). So every submission's runs interleave round-robin with everyone else's from where the
# queue stands: a one-entity submission behind another org's 5,000-entity batch (or its own org's)
# is next, not 5,000th. The base falls back to 0 when nothing waits, so priorities stay small;
# past smallint's 32,767 the excess is FIFO.
ENQUEUE_LOCAL = f"""
WITH level AS (
    SELECT COALESCE(min(priority), 0) AS base FROM graphile_worker.jobs
    WHERE task_identifier = '{PIPELINE_TASK_ID}' AND locked_at IS NULL AND run_at <= now()
      AND attempts < max_attempts
)
SELECT count(*) FROM graphile_worker.add_jobs(ARRAY(
    SELECT ROW('{PIPELINE_TASK_ID}',
               json_build_object('pipeline_run_id', r, 'org_id', $2::uuid, 'company_id', $3::uuid),
               NULL, NULL, $4::smallint, r::text, least(32767, level.base + rank - 1)::smallint,
               NULL)::graphile_worker.job_spec
    FROM unnest($1::uuid[]) WITH ORDINALITY AS u(r, rank), level
    ORDER BY rank
))
"""

GET_SUBMISSION = f"""
SELECT {SUBMISSION_COLUMNS} FROM submissions
WHERE id = $1 AND org_id = $2 AND ($3::uuid IS NULL OR company_id = $3)
"""
LIST_SUBMISSIONS = f"""
SELECT {SUBMISSION_COLUMNS} FROM submissions
WHERE org_id = $1 AND ($2::uuid IS NULL OR company_id = $2)
  AND ($3::text IS NULL OR status::text = $3)
  AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $6
"""
# batch/status in ONE statement, so one snapshot: read separately, a poller could see a
# `completed` submission beside a run still `running` (a run finishing between the reads).
BATCH_STATUS = f"""
SELECT {", ".join("s." + c.strip() for c in SUBMISSION_COLUMNS.split(","))},
       sm.total, sm.queued, sm.running, sm.succeeded, sm.failed, sm.canceled,
       COALESCE((SELECT jsonb_agg(p ORDER BY p.entity_index) FROM (
           SELECT r.id AS pipeline_run_id, r.entity_index, r.entity_type, r.status, r.error_message, r.final_context,
                  COALESCE((SELECT jsonb_agg(jsonb_build_object('position', st.position,
                                                                'operation_id', st.operation_id,
                                                                'status', st.status) ORDER BY st.position)
                            FROM step_results st WHERE st.pipeline_run_id = r.id), '[]'::jsonb) AS steps
           FROM pipeline_runs r
           WHERE r.submission_id = s.id AND r.org_id = s.org_id AND r.entity_index > $4
           ORDER BY r.entity_index
           LIMIT $5) p), '[]'::jsonb) AS runs
FROM submissions s
CROSS JOIN LATERAL (
    SELECT count(*) AS total,
           count(*) FILTER (WHERE status = 'queued') AS queued,
           count(*) FILTER (WHERE status = 'running') AS running,
           count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           count(*) FILTER (WHERE status = 'canceled') AS canceled
    FROM pipeline_runs WHERE submission_id = s.id
) sm
WHERE s.id = $1 AND s.org_id = $2 AND ($3::uuid IS NULL OR s.company_id = $3)
"""
GET_RUN = f"""
SELECT {RUN_COLUMNS}, blueprint_snapshot FROM pipeline_runs
WHERE id = $1 AND org_id = $2 AND ($3::uuid IS NULL OR company_id = $3)
"""
LIST_RUNS = f"""
SELECT {RUN_COLUMNS} FROM pipeline_runs
WHERE org_id = $1 AND ($2::uuid IS NULL OR company_id = $2)
  AND ($3::uuid IS NULL OR submission_id = $3)
  AND ($4::text IS NULL OR status::text = $4)
  AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $7
"""
LIST_STEPS = f"""
SELECT {STEP_COLUMNS} FROM step_results WHERE pipeline_run_id = $1 AND org_id = $2 ORDER BY position
"""

# --- worker transitions ---------------------------------------------------------------------

START_RUN = """
UPDATE pipeline_runs SET status = 'running', started_at = COALESCE(started_at, now()), attempt = attempt + 1
WHERE id = $1 AND org_id = $2 AND ($3::uuid IS NULL OR company_id = $3) AND status IN ('queued', 'running')
RETURNING submission_id
"""
MARK_SUBMISSION_RUNNING = "UPDATE submissions SET status = 'running' WHERE id = $1 AND status IN ('received', 'queued')"
RUN_FOR_WORKER = """
SELECT r.id AS pipeline_run_id, r.status, r.entity_type, r.input,
       COALESCE((SELECT jsonb_agg(jsonb_build_object(
                    'position', s.position, 'operation_id', s.operation_id, 'step_config', s.step_config,
                    'status', s.status, 'output', s.output, 'context_after', s.context_after,
                    'error_message', s.error_message) ORDER BY s.position)
                 FROM step_results s WHERE s.pipeline_run_id = r.id), '[]'::jsonb) AS steps
FROM pipeline_runs r WHERE r.id = $1 AND r.org_id = $2 AND ($3::uuid IS NULL OR r.company_id = $3)
"""
# the step row is locked so two deliveries of the same step serialise here
# `earlier_open` and `context_before` make the API, not the worker, the judge of order and of the
# context a step receives: a step runs only once every earlier step is terminal, on the context
# its predecessors stored (the run input, then each succeeded step's context_after).
LOCK_STEP = """
SELECT s.id, s.status, s.operation_id, s.step_config, s.output, s.context_after, s.error_message,
       s.operation_run_id, r.status AS run_status, r.entity_type, r.submission_id,
       EXISTS (SELECT 1 FROM step_results e
               WHERE e.pipeline_run_id = s.pipeline_run_id AND e.position < s.position
                 AND e.status NOT IN ('succeeded', 'skipped')) AS earlier_open,
       COALESCE((SELECT e.context_after FROM step_results e
                 WHERE e.pipeline_run_id = s.pipeline_run_id AND e.position < s.position
                   AND e.status = 'succeeded'
                 ORDER BY e.position DESC LIMIT 1), r.input) AS context_before
FROM step_results s JOIN pipeline_runs r ON r.id = s.pipeline_run_id
WHERE s.pipeline_run_id = $1 AND s.position = $2 AND s.org_id = $3 AND ($4::uuid IS NULL OR r.company_id = $4)
FOR UPDATE OF s
"""
MARK_STEP_RUNNING = """
UPDATE step_results SET status = 'running', input = $2, started_at = COALESCE(started_at, now())
WHERE id = $1 AND status IN ('queued', 'running')
"""
RUN_STATUS = "SELECT status FROM pipeline_runs WHERE id = $1 AND org_id = $2"
FINISH_STEP = """
UPDATE step_results SET status = $2, output = $3, context_after = $4, error_message = $5, operation_run_id = $6,
       finished_at = now()
WHERE id = $1 AND status IN ('queued', 'running')
RETURNING id
"""
SKIP_REMAINING_STEPS = """
UPDATE step_results SET status = 'skipped', finished_at = now()
WHERE pipeline_run_id = $1 AND status = 'queued'
"""
FAIL_RUN = """
UPDATE pipeline_runs SET status = 'failed', error_message = $3, finished_at = now()
WHERE id = $1 AND org_id = $2 AND ($4::uuid IS NULL OR company_id = $4) AND status IN ('queued', 'running')
RETURNING submission_id
"""
LOCK_RUN = f"""
SELECT {RUN_COLUMNS} FROM pipeline_runs
WHERE id = $1 AND org_id = $2 AND ($3::uuid IS NULL OR company_id = $3)
FOR UPDATE
"""
# what finish derives the final context from: every step's status, and the context the last
# succeeded step stored (the run input when none succeeded)
RUN_STEPS_FOR_FINISH = """
SELECT (SELECT array_agg(position ORDER BY position) FROM step_results
        WHERE pipeline_run_id = r.id AND status NOT IN ('succeeded', 'skipped')) AS open_positions,
       COALESCE((SELECT context_after FROM step_results
                 WHERE pipeline_run_id = r.id AND status = 'succeeded'
                 ORDER BY position DESC LIMIT 1), r.input) AS final_context
FROM pipeline_runs r WHERE r.id = $1 AND r.org_id = $2
"""
SUCCEED_RUN = """
UPDATE pipeline_runs SET status = 'succeeded', final_context = $3, error_message = NULL, finished_at = now()
WHERE id = $1 AND org_id = $2 AND status = 'running'
RETURNING submission_id
"""
# Re-derivation after a run ends. The submission row is locked first, so two runs finishing at
# once serialise and the later one sees the earlier one's committed status.
LOCK_SUBMISSION = "SELECT status FROM submissions WHERE id = $1 FOR UPDATE"
ANY_OPEN_RUN = """
SELECT EXISTS (SELECT 1 FROM pipeline_runs WHERE submission_id = $1 AND status IN ('queued', 'running'))
"""
ANY_SUCCEEDED_RUN = "SELECT EXISTS (SELECT 1 FROM pipeline_runs WHERE submission_id = $1 AND status = 'succeeded')"
ANY_FAILED_RUN = "SELECT EXISTS (SELECT 1 FROM pipeline_runs WHERE submission_id = $1 AND status = 'failed')"
SET_SUBMISSION_STATUS = """
UPDATE submissions SET status = $2, finished_at = CASE WHEN $3 THEN now() ELSE finished_at END WHERE id = $1
"""

# --- cancel and retry -------------------------------------------------------------------------

CANCEL_SUBMISSION = """
UPDATE submissions SET status = 'canceled', finished_at = now()
WHERE id = $1 AND status NOT IN ('completed', 'failed', 'canceled')
"""
# runs that have not finished become canceled; their steps not yet started become skipped
CANCEL_RUNS = """
WITH canceled AS (
    UPDATE pipeline_runs SET status = 'canceled', finished_at = now()
    WHERE submission_id = $1 AND status IN ('queued', 'running')
    RETURNING id
)
UPDATE step_results SET status = 'skipped', finished_at = now()
WHERE pipeline_run_id IN (SELECT id FROM canceled) AND status = 'queued'
"""
COUNT_CANCELED = "SELECT count(*) FROM pipeline_runs WHERE submission_id = $1 AND status = 'canceled'"
RETRY_RUN = """
UPDATE pipeline_runs SET status = 'queued', error_message = NULL, finished_at = NULL, dispatched_at = NULL
WHERE id = $1 AND org_id = $2 AND status = 'failed'
RETURNING submission_id, company_id
"""
# resume from the failed step: succeeded steps are kept, the rest run again
REQUEUE_STEPS = """
UPDATE step_results SET status = 'queued', output = NULL, context_after = NULL, error_message = NULL,
       operation_run_id = NULL, started_at = NULL, finished_at = NULL
WHERE pipeline_run_id = $1 AND status IN ('failed', 'skipped', 'running')
"""
REOPEN_SUBMISSION = """
UPDATE submissions SET status = 'running', finished_at = NULL WHERE id = $1 AND status IN ('completed', 'failed')
"""

# --- trigger-mode dispatch --------------------------------------------------------------------

MARK_DISPATCHED = """
UPDATE pipeline_runs AS r SET dispatched_at = now(), external_id = d.external_id
FROM UNNEST($1::uuid[], $2::text[]) AS d(id, external_id)
WHERE r.id = d.id
"""
UNDISPATCHED = """
SELECT id, org_id, company_id, entity_index FROM pipeline_runs
WHERE status = 'queued' AND dispatched_at IS NULL AND created_at < now() - make_interval(secs => $1)
ORDER BY created_at
LIMIT $2
"""


async def insert_submission(
    conn: asyncpg.Connection,
    submission_id: uuid.UUID,
    org_id: uuid.UUID,
    *,
    company_id: uuid.UUID,
    blueprint_id: uuid.UUID,
    source: str | None,
    metadata: dict[str, Any],
    entity_count: int,
) -> Submission:
    row = await conn.fetchrow(
        INSERT_SUBMISSION, submission_id, org_id, company_id, blueprint_id, source, metadata, entity_count
    )
    return Submission.model_validate(dict(row))


async def step_ids(conn: asyncpg.Connection, operation_ids: list[str]) -> dict[str, uuid.UUID]:
    return {r["slug"]: r["id"] for r in await conn.fetch(STEP_IDS, operation_ids)}


async def copy_runs(conn: asyncpg.Connection, records: list[tuple[Any, ...]]) -> None:
    await conn.copy_records_to_table("pipeline_runs", records=records, columns=RUN_COPY_COLUMNS)


async def copy_steps(conn: asyncpg.Connection, records: list[tuple[Any, ...]]) -> None:
    await conn.copy_records_to_table("step_results", records=records, columns=STEP_COPY_COLUMNS)


async def mark_submission_queued(conn: asyncpg.Connection, submission_id: uuid.UUID) -> None:
    await conn.execute(MARK_SUBMISSION_QUEUED, submission_id)


async def enqueue_local(
    conn: asyncpg.Connection, run_ids: list[uuid.UUID], org_id: uuid.UUID, company_id: uuid.UUID, max_attempts: int
) -> int:
    return await conn.fetchval(ENQUEUE_LOCAL, run_ids, org_id, company_id, max_attempts)


async def get_submission(
    conn: asyncpg.Connection, org_id: uuid.UUID, company_scope: uuid.UUID | None, submission_id: uuid.UUID
) -> Submission | None:
    row = await conn.fetchrow(GET_SUBMISSION, submission_id, org_id, company_scope)
    return Submission.model_validate(dict(row)) if row else None


async def list_submissions(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    company_scope: uuid.UUID | None,
    *,
    status: str | None,
    after: tuple[datetime | None, uuid.UUID | None],
    limit: int,
) -> list[Submission]:
    rows = await conn.fetch(LIST_SUBMISSIONS, org_id, company_scope, status, after[0], after[1], limit + 1)
    return [Submission.model_validate(dict(r)) for r in rows]


async def batch_status(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    company_scope: uuid.UUID | None,
    submission_id: uuid.UUID,
    after_index: int,
    limit: int,
) -> tuple[Submission, Summary, list[RunStatus]] | None:
    """The submission, its counts and one page of its runs (limit + 1 rows), from one snapshot."""
    row = await conn.fetchrow(BATCH_STATUS, submission_id, org_id, company_scope, after_index, limit + 1)
    if row is None:
        return None
    data = dict(row)
    summary = Summary.model_validate({k: data.pop(k) for k in Summary.model_fields})
    runs = [RunStatus.model_validate(r) for r in data.pop("runs")]
    return Submission.model_validate(data), summary, runs


async def get_run(
    conn: asyncpg.Connection, org_id: uuid.UUID, company_scope: uuid.UUID | None, run_id: uuid.UUID
) -> PipelineRunDetail | None:
    row = await conn.fetchrow(GET_RUN, run_id, org_id, company_scope)
    return PipelineRunDetail.model_validate(dict(row)) if row else None


async def list_runs(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    company_scope: uuid.UUID | None,
    *,
    submission_id: uuid.UUID | None,
    status: str | None,
    after: tuple[datetime | None, uuid.UUID | None],
    limit: int,
) -> list[PipelineRun]:
    rows = await conn.fetch(LIST_RUNS, org_id, company_scope, submission_id, status, after[0], after[1], limit + 1)
    return [PipelineRun.model_validate(dict(r)) for r in rows]


async def list_steps(conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID) -> list[StepResult]:
    return [StepResult.model_validate(dict(r)) for r in await conn.fetch(LIST_STEPS, run_id, org_id)]


# The worker's transitions take the caller's company scope too: an internal call carrying
# x-internal-company-id reaches that company's runs only, like a company-scoped caller.


async def start_run(
    conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID, company_scope: uuid.UUID | None = None
) -> None:
    submission_id = await conn.fetchval(START_RUN, run_id, org_id, company_scope)
    if submission_id is not None:
        await conn.execute(MARK_SUBMISSION_RUNNING, submission_id)


async def run_for_worker(
    conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID, company_scope: uuid.UUID | None = None
) -> dict[str, Any] | None:
    row = await conn.fetchrow(RUN_FOR_WORKER, run_id, org_id, company_scope)
    if row is None:
        return None
    data = dict(row)
    data["steps"] = [InternalStep.model_validate(s) for s in data["steps"]]
    return data


async def lock_step(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    run_id: uuid.UUID,
    position: int,
    company_scope: uuid.UUID | None = None,
) -> asyncpg.Record | None:
    return await conn.fetchrow(LOCK_STEP, run_id, position, org_id, company_scope)


async def mark_step_running(conn: asyncpg.Connection, step_id: uuid.UUID, context: dict[str, Any]) -> None:
    await conn.execute(MARK_STEP_RUNNING, step_id, context)


async def run_status(conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID) -> str | None:
    return await conn.fetchval(RUN_STATUS, run_id, org_id)


async def finish_step(
    conn: asyncpg.Connection,
    step_id: uuid.UUID,
    *,
    status: str,
    output: dict[str, Any] | None,
    context_after: dict[str, Any] | None,
    error: str | None,
    operation_run_id: uuid.UUID | None,
) -> bool:
    return await conn.fetchval(FINISH_STEP, step_id, status, output, context_after, error, operation_run_id) is not None


async def fail_run(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    run_id: uuid.UUID,
    error: str,
    company_scope: uuid.UUID | None = None,
) -> uuid.UUID | None:
    """Fails an open run and skips its steps not yet started; returns the submission to re-derive."""
    submission_id = await conn.fetchval(FAIL_RUN, run_id, org_id, error, company_scope)
    if submission_id is not None:
        await conn.execute(SKIP_REMAINING_STEPS, run_id)
    return submission_id


async def lock_run(
    conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID, company_scope: uuid.UUID | None = None
) -> PipelineRun | None:
    row = await conn.fetchrow(LOCK_RUN, run_id, org_id, company_scope)
    return PipelineRun.model_validate(dict(row)) if row else None


async def steps_for_finish(conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID) -> asyncpg.Record:
    return await conn.fetchrow(RUN_STEPS_FOR_FINISH, run_id, org_id)


async def succeed_run(
    conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID, final_context: dict[str, Any]
) -> uuid.UUID | None:
    return await conn.fetchval(SUCCEED_RUN, run_id, org_id, final_context)


async def rederive_submission(conn: asyncpg.Connection, submission_id: uuid.UUID) -> str:
    """CONTRACT §7: completed once every run is terminal and one succeeded; failed when all failed."""
    status = await conn.fetchval(LOCK_SUBMISSION, submission_id)
    if status in ("completed", "failed", "canceled"):
        return str(status)
    if await conn.fetchval(ANY_OPEN_RUN, submission_id):
        if status in ("received", "queued"):
            await conn.execute(SET_SUBMISSION_STATUS, submission_id, "running", False)
            return "running"
        return str(status)
    if await conn.fetchval(ANY_SUCCEEDED_RUN, submission_id):
        final = "completed"
    elif await conn.fetchval(ANY_FAILED_RUN, submission_id):
        final = "failed"
    else:
        final = "canceled"
    await conn.execute(SET_SUBMISSION_STATUS, submission_id, final, True)
    return final


async def cancel_submission(conn: asyncpg.Connection, submission_id: uuid.UUID) -> int:
    # runs before the submission row: the same lock order as a run finishing (run, then its
    # submission), so a cancel and a finishing run can never deadlock
    await conn.execute(CANCEL_RUNS, submission_id)
    await conn.execute(CANCEL_SUBMISSION, submission_id)
    return await conn.fetchval(COUNT_CANCELED, submission_id)


async def retry_run(conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID) -> asyncpg.Record | None:
    row = await conn.fetchrow(RETRY_RUN, run_id, org_id)
    if row is not None:
        await conn.execute(REQUEUE_STEPS, run_id)
        await conn.execute(LOCK_SUBMISSION, row["submission_id"])
        await conn.execute(REOPEN_SUBMISSION, row["submission_id"])
    return row


async def mark_dispatched(conn: asyncpg.Connection, run_ids: list[uuid.UUID], external_ids: list[str | None]) -> None:
    await conn.execute(MARK_DISPATCHED, run_ids, external_ids)


async def undispatched(conn: asyncpg.Connection, older_than_seconds: float, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(UNDISPATCHED, float(older_than_seconds), limit)
