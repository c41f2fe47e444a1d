"""Handing pipeline runs to the orchestrator: graphile-worker jobs (local) and the
acknowledgements of Trigger.dev's batch trigger (trigger mode)."""

import uuid
from dataclasses import dataclass

import asyncpg

from app.contracts.orchestration import PIPELINE_TASK_ID

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


async def enqueue_local(
    conn: asyncpg.Connection, run_ids: list[uuid.UUID], org_id: uuid.UUID, company_id: uuid.UUID, max_attempts: int
) -> int:
    """Adds one job per run, in rank order; returns how many graphile-worker accepted."""
    return await conn.fetchval(ENQUEUE_LOCAL, run_ids, org_id, company_id, max_attempts)


MARK_DISPATCHED = """
UPDATE pipeline_runs AS r SET dispatched_at = now(), external_id = d.external_id
FROM UNNEST($1::uuid[], $2::text[]) AS d(id, external_id)
WHERE r.id = d.id
"""


async def mark_dispatched(conn: asyncpg.Connection, run_ids: list[uuid.UUID], external_ids: list[str | None]) -> None:
    await conn.execute(MARK_DISPATCHED, run_ids, external_ids)


@dataclass(frozen=True)
class UndispatchedRun:
    id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID
    entity_index: int


# the sweeper's cross-tenant read: every org's queued runs that Trigger.dev never acknowledged
UNDISPATCHED = """
SELECT id, org_id, company_id, entity_index FROM pipeline_runs
WHERE status = 'queued' AND dispatched_at IS NULL AND created_at < now() - make_interval(secs => $1)
ORDER BY created_at
LIMIT $2
"""


async def undispatched(conn: asyncpg.Connection, older_than_seconds: float, limit: int) -> list[UndispatchedRun]:
    rows = await conn.fetch(UNDISPATCHED, float(older_than_seconds), limit)
    return [UndispatchedRun(**dict(r)) for r in rows]
