"""Blueprints: ordered operation steps, validated against the operation catalog."""

import uuid
from typing import Any

import asyncpg

from app.auth.context import AuthContext
from app.contracts.catalog import OPERATIONS_BY_ID
from app.errors import BadRequest, not_found
from app.models.blueprints import (
    Blueprint,
    BlueprintCreateRequest,
    BlueprintListRequest,
    BlueprintStepInput,
    BlueprintUpdateRequest,
)
from app.models.common import Page
from app.pagination import decode_cursor, page
from app.repositories import blueprints as blueprints_repo


def validate_steps(steps: list[BlueprintStepInput]) -> tuple[str, list[dict[str, Any]]]:
    """Returns the blueprint's entity type and the steps ready to store, or raises 400."""
    positions = [s.position for s in steps]
    if len(set(positions)) != len(positions):
        raise BadRequest(
            "two steps share a position", code="duplicate_step_position", details={"positions": sorted(positions)}
        )
    unknown = [s.operation_id for s in steps if s.operation_id not in OPERATIONS_BY_ID]
    if unknown:
        raise BadRequest(
            "unknown operation_id; see /api/v1/operations/list",
            code="unknown_operation",
            details={"operation_ids": unknown},
        )
    entity_types = {OPERATIONS_BY_ID[s.operation_id].entity_type for s in steps}
    if len(entity_types) != 1:
        raise BadRequest(
            "all steps of a blueprint must act on one entity type",
            code="mixed_entity_types",
            details={"entity_types": sorted(e.value for e in entity_types)},
        )
    rows = [
        {
            "operation_id": s.operation_id,
            "position": s.position,
            "step_config": s.step_config or {},
            "is_enabled": s.is_enabled,
        }
        for s in sorted(steps, key=lambda s: s.position)
    ]
    return entity_types.pop().value, rows


async def create(conn: asyncpg.Connection, auth: AuthContext, body: BlueprintCreateRequest) -> Blueprint:
    entity_type, rows = validate_steps(body.steps)
    blueprint_id = await blueprints_repo.insert_blueprint(
        conn, auth.tenant_org_id, name=body.name, description=body.description, entity_type=entity_type
    )
    await blueprints_repo.insert_blueprint_steps(conn, auth.tenant_org_id, blueprint_id, rows)
    return await get(conn, auth, blueprint_id)


async def get(conn: asyncpg.Connection, auth: AuthContext, blueprint_id: uuid.UUID) -> Blueprint:
    blueprint = await blueprints_repo.get_blueprint(conn, auth.tenant_org_id, blueprint_id)
    if blueprint is None:
        raise not_found("blueprint")
    return blueprint


async def list(conn: asyncpg.Connection, auth: AuthContext, body: BlueprintListRequest) -> Page[Blueprint]:
    rows = await blueprints_repo.list_blueprints_for_org(
        conn, auth.tenant_org_id, decode_cursor(body.cursor), body.limit
    )
    items, cursor = page(rows, body.limit)
    return Page[Blueprint](items=items, next_cursor=cursor)


async def update(conn: asyncpg.Connection, auth: AuthContext, body: BlueprintUpdateRequest) -> Blueprint:
    entity_type: str | None = None
    rows: list[dict[str, Any]] | None = None
    if body.steps is not None:
        entity_type, rows = validate_steps(body.steps)
    fields = body.model_fields_set
    updated = await blueprints_repo.update_blueprint(
        conn,
        auth.tenant_org_id,
        body.blueprint_id,
        name=body.name,
        set_description="description" in fields,
        description=body.description,
        entity_type=entity_type,
        is_active=body.is_active,
    )
    if not updated:
        raise not_found("blueprint")
    if rows is not None:
        await blueprints_repo.delete_blueprint_steps(conn, auth.tenant_org_id, body.blueprint_id)
        await blueprints_repo.insert_blueprint_steps(conn, auth.tenant_org_id, body.blueprint_id, rows)
    return await get(conn, auth, body.blueprint_id)
