"""What a webhook event says about a run or a submission, read in the transaction that changed it."""

import uuid
from typing import Any

import asyncpg

RUN_FOR_EVENT = """
SELECT org_id, company_id, submission_id, entity_index, status::text AS status, error_message
FROM pipeline_runs WHERE id = $1 AND org_id = $2
"""


async def run_for_event(conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(RUN_FOR_EVENT, run_id, org_id)
    return dict(row) if row else None


SUBMISSION_FOR_EVENT = """
SELECT s.org_id, s.company_id, s.status::text AS status,
       count(r.id) AS total,
       count(r.id) FILTER (WHERE r.status = 'queued') AS queued,
       count(r.id) FILTER (WHERE r.status = 'running') AS running,
       count(r.id) FILTER (WHERE r.status = 'succeeded') AS succeeded,
       count(r.id) FILTER (WHERE r.status = 'failed') AS failed,
       count(r.id) FILTER (WHERE r.status = 'canceled') AS canceled
FROM submissions s LEFT JOIN pipeline_runs r ON r.submission_id = s.id
WHERE s.id = $1 AND s.org_id = $2
GROUP BY s.id
"""


async def submission_for_event(
    conn: asyncpg.Connection, org_id: uuid.UUID, submission_id: uuid.UUID
) -> dict[str, Any] | None:
    row = await conn.fetchrow(SUBMISSION_FOR_EVENT, submission_id, org_id)
    return dict(row) if row else None
