"""Reads of `batch/export`: the entity types a submission's runs have, and its runs page by page
(keyset on entity index), both scoped by org and the caller's company."""

import uuid

import asyncpg

from app.contracts.entities import EntityType
from app.models.batch_csv import ExportRun

# the root runs' entity type (the blueprint's), and every entity type among the runs (fan-out
# children may be of another)
ENTITY_TYPES = """
SELECT (SELECT r.entity_type FROM pipeline_runs r
        WHERE r.submission_id = s.id AND r.org_id = s.org_id AND r.depth = 0
        ORDER BY r.entity_index LIMIT 1) AS root_type,
       ARRAY(SELECT DISTINCT r.entity_type::text FROM pipeline_runs r
             WHERE r.submission_id = s.id AND r.org_id = s.org_id) AS types
FROM submissions s
WHERE s.id = $1 AND s.org_id = $2 AND ($3::uuid IS NULL OR s.company_id = $3)
"""


async def entity_types(
    conn: asyncpg.Connection, org_id: uuid.UUID, submission_id: uuid.UUID, *, company_scope: uuid.UUID | None
) -> tuple[EntityType, set[EntityType]] | None:
    """None when the submission is not the caller's to see."""
    row = await conn.fetchrow(ENTITY_TYPES, submission_id, org_id, company_scope)
    if row is None:
        return None
    types = {EntityType(t) for t in row["types"]}
    root = EntityType(row["root_type"]) if row["root_type"] else min(types, default=EntityType.company)
    return root, types


EXPORT_PAGE = """
SELECT r.id AS pipeline_run_id, r.entity_index, r.entity_type, r.status, r.error_message, r.final_context,
       r.parent_pipeline_run_id, r.depth
FROM pipeline_runs r
WHERE r.submission_id = $1 AND r.org_id = $2 AND ($3::uuid IS NULL OR r.company_id = $3) AND r.entity_index > $4
ORDER BY r.entity_index
LIMIT $5
"""


async def export_page(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    submission_id: uuid.UUID,
    *,
    company_scope: uuid.UUID | None,
    after_index: int,
    limit: int,
) -> list[ExportRun]:
    rows = await conn.fetch(EXPORT_PAGE, submission_id, org_id, company_scope, after_index, limit)
    return [ExportRun.model_validate(dict(r)) for r in rows]
