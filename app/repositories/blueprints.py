"""Blueprints of an org with their ordered steps."""

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from app.models.blueprints import Blueprint

# steps travel with their blueprint as one JSON array, ordered by position
BLUEPRINT_SELECT = """
SELECT b.id, b.org_id, b.name, b.description, b.entity_type, b.version, b.is_active, b.created_at, b.updated_at,
       COALESCE((
           SELECT jsonb_agg(jsonb_build_object(
                      'position', bs.position, 'operation_id', bs.operation_id,
                      'step_config', bs.step_config, 'is_enabled', bs.is_enabled,
                      'fan_out', bs.fan_out, 'condition', bs.condition,
                      'skip_if_fresh', bs.skip_if_fresh)
                  ORDER BY bs.position)
           FROM blueprint_steps bs WHERE bs.blueprint_id = b.id
       ), '[]'::jsonb) AS steps
FROM blueprints b
"""
GET_BLUEPRINT = BLUEPRINT_SELECT + "WHERE b.id = $1 AND b.org_id = $2"
LIST_BLUEPRINTS_FOR_ORG = (
    BLUEPRINT_SELECT
    + """
WHERE b.org_id = $1
  AND ($2::timestamptz IS NULL OR (b.created_at, b.id) < ($2, $3::uuid))
ORDER BY b.created_at DESC, b.id DESC
LIMIT $4
"""
)
INSERT_BLUEPRINT = """
INSERT INTO blueprints (org_id, name, description, entity_type) VALUES ($1, $2, $3, $4)
RETURNING id
"""
# one round trip for all steps; the join resolves each operation_id to its catalog row
INSERT_BLUEPRINT_STEPS = """
INSERT INTO blueprint_steps (org_id, blueprint_id, step_id, operation_id, position, step_config, is_enabled, fan_out,
                             condition, skip_if_fresh)
SELECT $1, $2, s.id, i.operation_id, i.position, i.step_config, i.is_enabled, i.fan_out, i.condition, i.skip_if_fresh
FROM UNNEST($3::text[], $4::int[], $5::jsonb[], $6::bool[], $7::jsonb[], $8::jsonb[], $9::jsonb[])
    AS i(operation_id, position, step_config, is_enabled, fan_out, condition, skip_if_fresh)
JOIN steps s ON s.slug = i.operation_id
"""
DELETE_BLUEPRINT_STEPS = "DELETE FROM blueprint_steps WHERE blueprint_id = $1 AND org_id = $2"
# every change bumps the version, so runs snapshot a version that names exactly one step list
UPDATE_BLUEPRINT = """
UPDATE blueprints SET
    name = COALESCE($3, name),
    description = CASE WHEN $4 THEN $5 ELSE description END,
    entity_type = COALESCE($6::entity_type, entity_type),
    is_active = COALESCE($7, is_active),
    version = version + 1
WHERE id = $1 AND org_id = $2
RETURNING id
"""


def _to_model(row: asyncpg.Record) -> Blueprint:
    return Blueprint.model_validate(dict(row))


async def get_blueprint(conn: asyncpg.Connection, org_id: uuid.UUID, blueprint_id: uuid.UUID) -> Blueprint | None:
    row = await conn.fetchrow(GET_BLUEPRINT, blueprint_id, org_id)
    return _to_model(row) if row else None


async def list_blueprints_for_org(
    conn: asyncpg.Connection, org_id: uuid.UUID, after: tuple[datetime | None, uuid.UUID | None], limit: int
) -> list[Blueprint]:
    rows = await conn.fetch(LIST_BLUEPRINTS_FOR_ORG, org_id, after[0], after[1], limit + 1)
    return [_to_model(r) for r in rows]


async def insert_blueprint(
    conn: asyncpg.Connection, org_id: uuid.UUID, *, name: str, description: str | None, entity_type: str
) -> uuid.UUID:
    return await conn.fetchval(INSERT_BLUEPRINT, org_id, name, description, entity_type)


async def insert_blueprint_steps(
    conn: asyncpg.Connection, org_id: uuid.UUID, blueprint_id: uuid.UUID, steps: list[dict[str, Any]]
) -> None:
    await conn.execute(
        INSERT_BLUEPRINT_STEPS,
        org_id,
        blueprint_id,
        [s["operation_id"] for s in steps],
        [s["position"] for s in steps],
        [s["step_config"] for s in steps],
        [s["is_enabled"] for s in steps],
        [s.get("fan_out") for s in steps],
        [s.get("condition") for s in steps],
        [s.get("skip_if_fresh") for s in steps],
    )


async def delete_blueprint_steps(conn: asyncpg.Connection, org_id: uuid.UUID, blueprint_id: uuid.UUID) -> None:
    await conn.execute(DELETE_BLUEPRINT_STEPS, blueprint_id, org_id)


async def update_blueprint(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    blueprint_id: uuid.UUID,
    *,
    name: str | None,
    set_description: bool,
    description: str | None,
    entity_type: str | None,
    is_active: bool | None,
) -> bool:
    updated = await conn.fetchval(
        UPDATE_BLUEPRINT, blueprint_id, org_id, name, set_description, description, entity_type, is_active
    )
    return updated is not None


FAN_OUT_TARGETS = """
SELECT DISTINCT (bs.fan_out->>'blueprint_id')::uuid FROM blueprint_steps bs
WHERE bs.blueprint_id = $1 AND bs.org_id = $2 AND bs.fan_out IS NOT NULL
"""


async def fan_out_targets(conn: asyncpg.Connection, org_id: uuid.UUID, blueprint_id: uuid.UUID) -> list[uuid.UUID]:
    """The blueprints this one's steps fan out to."""
    return [r[0] for r in await conn.fetch(FAN_OUT_TARGETS, blueprint_id, org_id)]
