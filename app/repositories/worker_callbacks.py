"""The worker's transitions of runs, steps and submissions, and local worker liveness.

Every state change is a conditional UPDATE that only moves a row forward: a terminal row never
changes, so late or repeated callbacks are no-ops. Lookups by a run id take the caller's company
scope: an internal call carrying x-internal-company-id reaches that company's runs only, like a
company-scoped caller. Writes keyed by a step or submission id take an id the same transaction
just read through one of those scoped lookups.
"""

import uuid
from typing import Any

import asyncpg

from app.contracts.statuses import SUBMISSION_TERMINAL, PipelineRunStatus, StepStatus, SubmissionStatus
from app.models.pipeline_runs import PipelineRun
from app.models.worker_callbacks import FinishState, InternalRun, LockedStep
from app.repositories.pipeline_runs import RUN_COLUMNS

# --- runs -------------------------------------------------------------------------------------

START_RUN = """
UPDATE pipeline_runs SET status = 'running', started_at = COALESCE(started_at, now()), attempt = attempt + 1
WHERE id = $1 AND org_id = $2 AND ($3::uuid IS NULL OR company_id = $3) AND status IN ('queued', 'running')
RETURNING submission_id
"""
MARK_SUBMISSION_RUNNING = "UPDATE submissions SET status = 'running' WHERE id = $1 AND status IN ('received', 'queued')"


async def start_run(
    conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID, *, company_scope: uuid.UUID | None
) -> None:
    submission_id = await conn.fetchval(START_RUN, run_id, org_id, company_scope)
    if submission_id is not None:
        await conn.execute(MARK_SUBMISSION_RUNNING, submission_id)


RUN_FOR_WORKER = """
SELECT r.id AS pipeline_run_id, r.status, r.entity_type, r.input,
       COALESCE((SELECT jsonb_agg(jsonb_build_object(
                    'position', s.position, 'operation_id', s.operation_id, 'step_config', s.step_config,
                    'status', s.status, 'output', s.output, 'context_after', s.context_after,
                    'error_message', s.error_message) ORDER BY s.position)
                 FROM step_results s WHERE s.pipeline_run_id = r.id), '[]'::jsonb) AS steps
FROM pipeline_runs r WHERE r.id = $1 AND r.org_id = $2 AND ($3::uuid IS NULL OR r.company_id = $3)
"""


async def run_for_worker(
    conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID, *, company_scope: uuid.UUID | None
) -> InternalRun | None:
    row = await conn.fetchrow(RUN_FOR_WORKER, run_id, org_id, company_scope)
    return InternalRun.model_validate(dict(row)) if row else None


RUN_STATUS = "SELECT status FROM pipeline_runs WHERE id = $1 AND org_id = $2 AND ($3::uuid IS NULL OR company_id = $3)"


async def run_status(
    conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID, *, company_scope: uuid.UUID | None
) -> PipelineRunStatus | None:
    status = await conn.fetchval(RUN_STATUS, run_id, org_id, company_scope)
    return PipelineRunStatus(status) if status is not None else None


FAIL_RUN = """
UPDATE pipeline_runs SET status = 'failed', error_message = $3, finished_at = now()
WHERE id = $1 AND org_id = $2 AND ($4::uuid IS NULL OR company_id = $4) AND status IN ('queued', 'running')
RETURNING submission_id
"""
SKIP_REMAINING_STEPS = """
UPDATE step_results SET status = 'skipped', skip_reason = 'run_failed', finished_at = now()
WHERE pipeline_run_id = $1 AND status = 'queued'
"""


async def fail_run(
    conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID, error: str, *, company_scope: uuid.UUID | None
) -> uuid.UUID | None:
    """Fails an open run and skips its steps not yet started; returns the submission to re-derive."""
    submission_id = await conn.fetchval(FAIL_RUN, run_id, org_id, error, company_scope)
    if submission_id is not None:
        await conn.execute(SKIP_REMAINING_STEPS, run_id)
    return submission_id


LOCK_RUN = f"""
SELECT {RUN_COLUMNS} FROM pipeline_runs
WHERE id = $1 AND org_id = $2 AND ($3::uuid IS NULL OR company_id = $3)
FOR UPDATE
"""


async def lock_run(
    conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID, *, company_scope: uuid.UUID | None
) -> PipelineRun | None:
    row = await conn.fetchrow(LOCK_RUN, run_id, org_id, company_scope)
    return PipelineRun.model_validate(dict(row)) if row else None


# what finish derives the final context from: every step's status, and the context the last
# succeeded step stored (the run input when none succeeded)
FINISH_STATE = """
SELECT COALESCE((SELECT array_agg(position ORDER BY position) FROM step_results
                 WHERE pipeline_run_id = r.id AND status NOT IN ('succeeded', 'skipped')), '{}') AS open_positions,
       COALESCE((SELECT context_after FROM step_results
                 WHERE pipeline_run_id = r.id AND status IN ('succeeded', 'skipped') AND context_after IS NOT NULL
                 ORDER BY position DESC LIMIT 1), r.input) AS final_context
FROM pipeline_runs r WHERE r.id = $1 AND r.org_id = $2 AND ($3::uuid IS NULL OR r.company_id = $3)
"""


async def finish_state(
    conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID, *, company_scope: uuid.UUID | None
) -> FinishState | None:
    row = await conn.fetchrow(FINISH_STATE, run_id, org_id, company_scope)
    return FinishState.model_validate(dict(row)) if row else None


SUCCEED_RUN = """
UPDATE pipeline_runs SET status = 'succeeded', final_context = $3, error_message = NULL, finished_at = now()
WHERE id = $1 AND org_id = $2 AND ($4::uuid IS NULL OR company_id = $4) AND status = 'running'
RETURNING submission_id
"""


async def succeed_run(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    run_id: uuid.UUID,
    final_context: dict[str, Any],
    *,
    company_scope: uuid.UUID | None,
) -> uuid.UUID | None:
    """Returns the submission to re-derive, None when the run was not running."""
    return await conn.fetchval(SUCCEED_RUN, run_id, org_id, final_context, company_scope)


# --- steps ------------------------------------------------------------------------------------

# the step row is locked so two deliveries of the same step serialise here
# `earlier_open` and `context_before` make the API, not the worker, the judge of order and of the
# context a step receives: a step runs only once every earlier step is terminal, on the context
# its predecessors stored (the run input, then each succeeded step's context_after).
LOCK_STEP = """
SELECT s.id, s.position, s.status, s.operation_id, s.step_config, s.output, s.context_after, s.error_message,
       s.operation_run_id, s.skip_reason, s.fan_out AS fan_out_result, r.status AS run_status, r.entity_type,
       r.submission_id, r.org_id, r.company_id, r.depth,
       (SELECT x->'fan_out' FROM jsonb_array_elements(r.blueprint_snapshot->'steps') x
        WHERE (x->>'position')::int = s.position AND jsonb_typeof(x->'fan_out') = 'object' LIMIT 1) AS fan_out,
       (SELECT x->'condition' FROM jsonb_array_elements(r.blueprint_snapshot->'steps') x
        WHERE (x->>'position')::int = s.position AND jsonb_typeof(x->'condition') = 'object' LIMIT 1) AS condition,
       (SELECT x->'skip_if_fresh' FROM jsonb_array_elements(r.blueprint_snapshot->'steps') x
        WHERE (x->>'position')::int = s.position AND jsonb_typeof(x->'skip_if_fresh') = 'object' LIMIT 1)
           AS skip_if_fresh,
       EXISTS (SELECT 1 FROM step_results e
               WHERE e.pipeline_run_id = s.pipeline_run_id AND e.position < s.position
                 AND e.status NOT IN ('succeeded', 'skipped')) AS earlier_open,
       EXISTS (SELECT 1 FROM step_results e
               WHERE e.pipeline_run_id = s.pipeline_run_id AND e.position > s.position
                 AND e.status NOT IN ('succeeded', 'skipped', 'failed')) AS later_open,
       COALESCE((SELECT e.context_after FROM step_results e
                 WHERE e.pipeline_run_id = s.pipeline_run_id AND e.position < s.position
                   AND e.status IN ('succeeded', 'skipped') AND e.context_after IS NOT NULL
                 ORDER BY e.position DESC LIMIT 1), r.input) AS context_before
FROM step_results s JOIN pipeline_runs r ON r.id = s.pipeline_run_id
WHERE s.pipeline_run_id = $1 AND s.position = $2 AND s.org_id = $3 AND ($4::uuid IS NULL OR r.company_id = $4)
FOR UPDATE OF s
"""


async def lock_step(
    conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID, position: int, *, company_scope: uuid.UUID | None
) -> LockedStep | None:
    row = await conn.fetchrow(LOCK_STEP, run_id, position, org_id, company_scope)
    return LockedStep.model_validate(dict(row)) if row else None


MARK_STEP_RUNNING = """
UPDATE step_results SET status = 'running', input = $2, started_at = COALESCE(started_at, now())
WHERE id = $1 AND status IN ('queued', 'running')
"""


async def mark_step_running(conn: asyncpg.Connection, step_id: uuid.UUID, context: dict[str, Any]) -> None:
    """`step_id` from `lock_step`."""
    await conn.execute(MARK_STEP_RUNNING, step_id, context)


STEP_OPERATION_RUNS = """
SELECT count(*) FROM operation_runs
WHERE org_id = $1 AND pipeline_run_id = $2 AND step_position = $3 AND ($4::uuid IS NULL OR company_id = $4)
"""


async def step_operation_runs(
    conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID, position: int, *, company_scope: uuid.UUID | None
) -> int:
    """Operation runs recorded for one step (each deferral of the step records one)."""
    return int(await conn.fetchval(STEP_OPERATION_RUNS, org_id, run_id, position, company_scope))


REQUEUE_STEP = "UPDATE step_results SET status = 'queued' WHERE id = $1 AND status = 'running'"


async def requeue_step(conn: asyncpg.Connection, step_id: uuid.UUID) -> None:
    """`step_id` from `lock_step`: a running step handed back to the worker to run again later."""
    await conn.execute(REQUEUE_STEP, step_id)


FINISH_STEP = """
UPDATE step_results SET status = $2, output = $3, context_after = $4, error_message = $5, operation_run_id = $6,
       skip_reason = $7, finished_at = now()
WHERE id = $1 AND status IN ('queued', 'running')
RETURNING id
"""


async def finish_step(
    conn: asyncpg.Connection,
    step_id: uuid.UUID,
    *,
    status: StepStatus,
    output: dict[str, Any] | None,
    context_after: dict[str, Any] | None,
    error: str | None,
    operation_run_id: uuid.UUID | None,
    skip_reason: str | None = None,
) -> bool:
    """`step_id` from `lock_step`; False when the step was already terminal. A skipped step keeps the
    context it was given as its `context_after`, so the next step receives it."""
    row = await conn.fetchval(FINISH_STEP, step_id, status, output, context_after, error, operation_run_id, skip_reason)
    return row is not None


RECORD_FAN_OUT = "UPDATE step_results SET fan_out = $2 WHERE id = $1"


async def record_fan_out(conn: asyncpg.Connection, step_id: uuid.UUID, report: dict[str, Any]) -> None:
    """`step_id` from `lock_step`: what a fan-out step created."""
    await conn.execute(RECORD_FAN_OUT, step_id, report)


# --- submissions ------------------------------------------------------------------------------

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


async def rederive_submission(conn: asyncpg.Connection, submission_id: uuid.UUID) -> SubmissionStatus | None:
    """CONTRACT §7: completed once every run is terminal and one succeeded; failed when all failed.
    `submission_id` is what `fail_run` or `succeed_run` returned. Returns the final status when
    this call ended the submission, None otherwise (still open, or already final: the row lock
    makes exactly one of two runs ending together see it end)."""
    status = SubmissionStatus(await conn.fetchval(LOCK_SUBMISSION, submission_id))
    if status in SUBMISSION_TERMINAL:
        return None
    if await conn.fetchval(ANY_OPEN_RUN, submission_id):
        if status in (SubmissionStatus.received, SubmissionStatus.queued):
            await conn.execute(SET_SUBMISSION_STATUS, submission_id, SubmissionStatus.running, False)
        return None
    if await conn.fetchval(ANY_SUCCEEDED_RUN, submission_id):
        final = SubmissionStatus.completed
    elif await conn.fetchval(ANY_FAILED_RUN, submission_id):
        final = SubmissionStatus.failed
    else:
        final = SubmissionStatus.canceled
    await conn.execute(SET_SUBMISSION_STATUS, submission_id, final, True)
    return final


# --- local worker hosts -----------------------------------------------------------------------
# Only graphile-worker's public interface is used: the `jobs` view and `force_unlock_workers`.

HEARTBEAT = """
INSERT INTO worker_heartbeats (worker_id) VALUES ($1)
ON CONFLICT (worker_id) DO UPDATE SET last_seen = now()
"""


async def heartbeat(conn: asyncpg.Connection, worker_id: str) -> None:
    await conn.execute(HEARTBEAT, worker_id)


# A locker is dead when its lock is older than the threshold and it has not reported within it
# (or never did). A live host reports every few seconds, so its jobs are never taken from it.
DEAD_LOCKERS = """
SELECT DISTINCT j.locked_by FROM graphile_worker.jobs j
LEFT JOIN worker_heartbeats h ON h.worker_id = j.locked_by
WHERE j.locked_by IS NOT NULL
  AND j.locked_at < now() - make_interval(secs => $1)
  AND (h.worker_id IS NULL OR h.last_seen < now() - make_interval(secs => $1))
"""


async def dead_lockers(conn: asyncpg.Connection, stale_seconds: float) -> list[str]:
    return [r[0] for r in await conn.fetch(DEAD_LOCKERS, float(stale_seconds))]


FORCE_UNLOCK = "SELECT graphile_worker.force_unlock_workers($1::text[])"


async def force_unlock(conn: asyncpg.Connection, worker_ids: list[str]) -> None:
    await conn.execute(FORCE_UNLOCK, worker_ids)
