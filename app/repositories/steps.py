"""The global operation catalog table (`steps`), mirrored from the registry in code."""

import asyncpg

from app.contracts.catalog import OperationSpec

# upsert every declared operation; anything no longer declared stays (blueprints reference it)
# but is marked inactive
SYNC_STEPS = """
WITH declared AS (
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::entity_type[], $5::int[], $6::int[], $7::text[])
        AS d(slug, name, description, entity_type, timeout_seconds, max_retries, default_providers_csv)
), upserted AS (
    INSERT INTO steps (slug, name, description, entity_type, timeout_seconds, max_retries, default_providers,
                       is_active)
    SELECT slug, name, description, entity_type, timeout_seconds, max_retries,
           string_to_array(default_providers_csv, ','), true
    FROM declared
    ON CONFLICT (slug) DO UPDATE SET
        name = EXCLUDED.name, description = EXCLUDED.description, entity_type = EXCLUDED.entity_type,
        timeout_seconds = EXCLUDED.timeout_seconds, max_retries = EXCLUDED.max_retries,
        default_providers = EXCLUDED.default_providers, is_active = true
    RETURNING slug
)
UPDATE steps SET is_active = false
WHERE is_active AND slug NOT IN (SELECT slug FROM declared)
"""


async def sync_steps(conn: asyncpg.Connection, operations: tuple[OperationSpec, ...]) -> None:
    await conn.execute(
        SYNC_STEPS,
        [op.operation_id for op in operations],
        [op.name for op in operations],
        [op.description for op in operations],
        [op.entity_type.value for op in operations],
        [op.timeout_seconds for op in operations],
        [op.max_retries for op in operations],
        [",".join(op.default_providers) for op in operations],
    )
