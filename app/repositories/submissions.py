"""Submissions: the submit transaction's bulk writes, the reads, batch/status and cancel.

Bulk paths use COPY (submit writes one run per entity and one step row per enabled step).
"""

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from app.contracts.statuses import PipelineRunStatus
from app.models.submissions import RunStatus, Submission, Summary

SUBMISSION_COLUMNS = """id, org_id, company_id, blueprint_id, status, source, metadata, entity_count, created_at,
    updated_at, finished_at"""


INSERT_SUBMISSION = f"""
INSERT INTO submissions (id, org_id, company_id, blueprint_id, status, source, metadata, entity_count)
VALUES ($1, $2, $3, $4, 'received', $5, $6, $7)
RETURNING {SUBMISSION_COLUMNS}
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
    "parent_pipeline_run_id",
    "depth",
    "child_key",
)


async def copy_runs(conn: asyncpg.Connection, records: list[tuple[Any, ...]]) -> None:
    """`records` in RUN_COPY_COLUMNS order."""
    await conn.copy_records_to_table("pipeline_runs", records=records, columns=RUN_COPY_COLUMNS)


STEP_COPY_COLUMNS = ("org_id", "pipeline_run_id", "position", "operation_id", "status", "step_config")


async def copy_steps(conn: asyncpg.Connection, records: list[tuple[Any, ...]]) -> None:
    """`records` in STEP_COPY_COLUMNS order."""
    await conn.copy_records_to_table("step_results", records=records, columns=STEP_COPY_COLUMNS)


# keyed by the id the submit transaction just inserted
MARK_SUBMISSION_QUEUED = "UPDATE submissions SET status = 'queued' WHERE id = $1 AND status = 'received'"


async def mark_submission_queued(conn: asyncpg.Connection, submission_id: uuid.UUID) -> None:
    await conn.execute(MARK_SUBMISSION_QUEUED, submission_id)


GET_SUBMISSION = f"""
SELECT {SUBMISSION_COLUMNS} FROM submissions
WHERE id = $1 AND org_id = $2 AND ($3::uuid IS NULL OR company_id = $3)
"""


async def get_submission(
    conn: asyncpg.Connection, org_id: uuid.UUID, submission_id: uuid.UUID, *, company_scope: uuid.UUID | None
) -> Submission | None:
    row = await conn.fetchrow(GET_SUBMISSION, submission_id, org_id, company_scope)
    return Submission.model_validate(dict(row)) if row else None


LIST_SUBMISSIONS = f"""
SELECT {SUBMISSION_COLUMNS} FROM submissions
WHERE org_id = $1 AND ($2::uuid IS NULL OR company_id = $2)
  AND ($3::text IS NULL OR status::text = $3)
  AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $6
"""


async def list_submissions(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    *,
    company_scope: uuid.UUID | None,
    status: str | None,
    after: tuple[datetime | None, uuid.UUID | None],
    limit: int,
) -> list[Submission]:
    """Newest first, `limit + 1` rows (the extra one tells the caller there is a next page)."""
    rows = await conn.fetch(LIST_SUBMISSIONS, org_id, company_scope, status, after[0], after[1], limit + 1)
    return [Submission.model_validate(dict(r)) for r in rows]


# batch/status in ONE statement, so one snapshot: read separately, a poller could see a
# `completed` submission beside a run still `running` (a run finishing between the reads).
BATCH_STATUS = f"""
SELECT {", ".join("s." + c.strip() for c in SUBMISSION_COLUMNS.split(","))},
       sm.total, sm.queued, sm.running, sm.succeeded, sm.failed, sm.canceled, sm.children,
       COALESCE((SELECT jsonb_agg(p ORDER BY p.entity_index) FROM (
           SELECT r.id AS pipeline_run_id, r.entity_index, r.entity_type, r.status, r.error_message, r.final_context,
                  r.parent_pipeline_run_id, r.depth,
                  COALESCE((SELECT jsonb_agg(jsonb_build_object('position', st.position,
                                                                'operation_id', st.operation_id,
                                                                'status', st.status,
                                                                'skip_reason', st.skip_reason,
                                                                'fan_out', st.fan_out) ORDER BY st.position)
                            FROM step_results st WHERE st.pipeline_run_id = r.id), '[]'::jsonb) AS steps
           FROM pipeline_runs r
           WHERE r.submission_id = s.id AND r.org_id = s.org_id AND r.entity_index > $4
             AND ($6::text IS NULL OR r.status::text = $6)
           ORDER BY r.entity_index
           LIMIT $5) p), '[]'::jsonb) AS runs
FROM submissions s
CROSS JOIN LATERAL (
    SELECT count(*) AS total,
           count(*) FILTER (WHERE status = 'queued') AS queued,
           count(*) FILTER (WHERE status = 'running') AS running,
           count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           count(*) FILTER (WHERE status = 'canceled') AS canceled,
           count(*) FILTER (WHERE parent_pipeline_run_id IS NOT NULL) AS children
    FROM pipeline_runs WHERE submission_id = s.id
) sm
WHERE s.id = $1 AND s.org_id = $2 AND ($3::uuid IS NULL OR s.company_id = $3)
"""


async def batch_status(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    submission_id: uuid.UUID,
    *,
    company_scope: uuid.UUID | None,
    after_index: int,
    limit: int,
    status: PipelineRunStatus | None = None,
) -> tuple[Submission, Summary, list[RunStatus]] | None:
    """The submission, its counts and one page of its runs (limit + 1 rows; only those in
    `status` when given), from one snapshot."""
    row = await conn.fetchrow(BATCH_STATUS, submission_id, org_id, company_scope, after_index, limit + 1, status)
    if row is None:
        return None
    data = dict(row)
    summary = Summary.model_validate({k: data.pop(k) for k in Summary.model_fields})
    runs = [RunStatus.model_validate(r) for r in data.pop("runs")]
    return Submission.model_validate(data), summary, runs


# runs that have not finished, fan-out children included, become canceled; their steps not yet
# started become skipped
CANCEL_RUNS = """
WITH canceled AS (
    UPDATE pipeline_runs SET status = 'canceled', finished_at = now()
    WHERE submission_id = $1 AND status IN ('queued', 'running')
    RETURNING id
)
UPDATE step_results SET status = 'skipped', skip_reason = 'canceled', finished_at = now()
WHERE pipeline_run_id IN (SELECT id FROM canceled) AND status = 'queued'
"""
CANCEL_SUBMISSION = """
UPDATE submissions SET status = 'canceled', finished_at = now()
WHERE id = $1 AND status NOT IN ('completed', 'failed', 'canceled')
RETURNING id
"""


async def cancel_submission(conn: asyncpg.Connection, submission_id: uuid.UUID) -> bool:
    """`submission_id` is one the caller just read through `get_submission` (its scope checked).
    True when this call ended the submission (not a concurrent finish or cancel)."""
    # runs before the submission row: the same lock order as a run finishing (run, then its
    # submission), so a cancel and a finishing run can never deadlock
    await conn.execute(CANCEL_RUNS, submission_id)
    return await conn.fetchval(CANCEL_SUBMISSION, submission_id) is not None


# --- fan-out children ---------------------------------------------------------------------------

# Children of one submission are created one parent at a time: the submission row lock makes the
# de-duplication read, the run cap and the next entity index one consistent decision (the unique
# index on (submission_id, child_key) backs it). Lock order: the parent's step row, then the
# submission; nothing else is locked after it.
LOCK_FOR_CHILDREN = "SELECT status FROM submissions WHERE id = $1 FOR UPDATE"
# a statement of its own, after the lock: its snapshot then includes the children of a parent
# that held the lock before (one statement that waits for the lock reads with an older snapshot)
NEXT_ENTITY_INDEX = "SELECT COALESCE(max(entity_index), -1) + 1 FROM pipeline_runs WHERE submission_id = $1"
EXISTING_CHILD_KEYS = """
SELECT child_key FROM pipeline_runs WHERE submission_id = $1 AND child_key = ANY($2::text[])
"""


async def lock_for_children(conn: asyncpg.Connection, submission_id: uuid.UUID) -> tuple[str, int]:
    """(status, next entity index == runs in the submission); `submission_id` is the parent run's,
    read through a scoped lookup in the same transaction."""
    status = await conn.fetchval(LOCK_FOR_CHILDREN, submission_id)
    return status, await conn.fetchval(NEXT_ENTITY_INDEX, submission_id)


async def existing_child_keys(conn: asyncpg.Connection, submission_id: uuid.UUID, keys: list[str]) -> set[str]:
    return {r[0] for r in await conn.fetch(EXISTING_CHILD_KEYS, submission_id, keys)}
