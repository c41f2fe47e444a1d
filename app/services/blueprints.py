"""Blueprints: ordered operation steps, validated against the operation catalog."""

import builtins
import uuid
from typing import Any

import asyncpg

from app.auth.context import AuthContext
from app.contracts import conditions, fan_out
from app.contracts.catalog import OPERATIONS_BY_ID, Strategy
from app.errors import BadRequest, NotFound, not_found
from app.models.blueprints import (
    Blueprint,
    BlueprintCreateRequest,
    BlueprintListRequest,
    BlueprintStepInput,
    BlueprintUpdateRequest,
)
from app.models.common import Page
from app.operations.registry import (
    REGISTRY,
    VERIFY_OPERATION,
    InvalidProviderOrder,
    Operation,
    check_order,
    check_params,
)
from app.pagination import decode_cursor, page
from app.repositories import blueprints as blueprints_repo


def validate_steps(steps: builtins.list[BlueprintStepInput]) -> tuple[str, builtins.list[dict[str, Any]]]:
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
    for index, step in enumerate(steps):
        _check_step(index, step)
    # a fan-out step searches for another entity type's results on this entity's context (a
    # company's people): the blueprint acts on what its other steps act on (decision 0051)
    typed = [s for s in steps if s.fan_out is None] or steps[:1]
    entity_types = {OPERATIONS_BY_ID[s.operation_id].entity_type for s in typed}
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
            "step_config": s.step_config.model_dump(exclude_none=True) if s.step_config else {},
            "is_enabled": s.is_enabled,
            "fan_out": s.fan_out.model_dump(mode="json") if s.fan_out else None,
            "condition": conditions.to_json(conditions.validate_condition(s.condition, "condition"))
            if s.condition is not None
            else None,
            "skip_if_fresh": s.skip_if_fresh.model_dump(mode="json") if s.skip_if_fresh else None,
        }
        for s in sorted(steps, key=lambda s: s.position)
    ]
    return entity_types.pop().value, rows


def _check_step(index: int, step: BlueprintStepInput) -> None:
    """What the schema cannot say: a condition's grammar (naming the node), fan-out targets, and
    providers the operation can use."""
    if step.condition is not None:
        try:
            conditions.validate_condition(step.condition, f"steps[{index}].condition")
        except conditions.InvalidCondition as e:
            raise BadRequest(str(e), code="invalid_condition", details={"field": e.field}) from e
    if step.fan_out is not None and step.operation_id not in fan_out.RESULT_LISTS:
        field = f"steps[{index}].fan_out"
        raise BadRequest(
            f"{field}: {step.operation_id} returns no list to fan out; only "
            + ", ".join(fan_out.RESULT_LISTS)
            + " can",
            code="invalid_fan_out",
            details={"field": field},
        )
    config = step.step_config
    operation = REGISTRY[step.operation_id]
    # an operation that needs a product or criteria is refused without them, here, not at run time
    check_params(operation, config.model_dump(exclude_none=True) if config else {}, where=f"steps[{index}].step_config")
    if config is None:
        return
    if config.providers is not None:
        _check_providers(operation, config.providers, f"steps[{index}].step_config.providers")
    if config.verify_providers is not None:
        field = f"steps[{index}].step_config.verify_providers"
        if operation.spec.strategy is not Strategy.find_then_verify:
            raise InvalidProviderOrder(
                f"{field}: {operation.operation_id} verifies nothing, so it takes no verify_providers",
                details={"field": field},
            )
        _check_providers(REGISTRY[VERIFY_OPERATION], config.verify_providers, field)


def _check_providers(operation: Operation, providers: builtins.list[str], field: str) -> None:
    try:
        check_order(operation, providers, where=field)
    except InvalidProviderOrder as e:
        raise InvalidProviderOrder(e.message, details={"field": field, **(e.details or {})}) from e


async def check_fan_outs(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    steps: builtins.list[BlueprintStepInput],
    self_id: uuid.UUID | None = None,
) -> None:
    """Each fan-out names a blueprint of the same org acting on the entity its search returns,
    and the chain of fan-outs below this blueprint stays within MAX_DEPTH (a cycle never does).
    Chains can change after this check (a child blueprint updated later): the run-time depth
    limit still holds then."""
    targets: dict[uuid.UUID, builtins.list[uuid.UUID]] = {}
    if self_id is not None:
        targets[self_id] = [s.fan_out.blueprint_id for s in steps if s.fan_out]

    async def below(blueprint_id: uuid.UUID, path: tuple[uuid.UUID, ...]) -> int:
        """Levels of children under a run of this blueprint; MAX_DEPTH + 1 for a cycle."""
        if blueprint_id in path or len(path) > fan_out.MAX_DEPTH:
            return fan_out.MAX_DEPTH + 1
        if blueprint_id not in targets:
            targets[blueprint_id] = await blueprints_repo.fan_out_targets(conn, org_id, blueprint_id)
        deepest = 0
        for target in targets[blueprint_id]:
            deepest = max(deepest, 1 + await below(target, (*path, blueprint_id)))
        return deepest

    for index, step in enumerate(steps):
        if step.fan_out is None:
            continue
        field = f"steps[{index}].fan_out.blueprint_id"
        child = await blueprints_repo.get_blueprint(conn, org_id, step.fan_out.blueprint_id)
        if child is None:
            raise NotFound("the fan-out blueprint was not found", code="blueprint_not_found", details={"field": field})
        wanted = fan_out.RESULT_LISTS[step.operation_id][1]
        if child.entity_type.value != wanted:
            raise BadRequest(
                f"{field}: {step.operation_id} finds {wanted} entities, but that blueprint acts on "
                f"{child.entity_type.value} entities",
                code="invalid_fan_out",
                details={"field": field},
            )
        origin = (self_id,) if self_id is not None else ()
        if 1 + await below(child.id, origin) > fan_out.MAX_DEPTH:
            raise BadRequest(
                f"{field}: the chain of fan-outs from here goes deeper than {fan_out.MAX_DEPTH} levels (or loops)",
                code="fan_out_too_deep",
                details={"field": field, "max_depth": fan_out.MAX_DEPTH},
            )


async def create(conn: asyncpg.Connection, auth: AuthContext, body: BlueprintCreateRequest) -> Blueprint:
    entity_type, rows = validate_steps(body.steps)
    await check_fan_outs(conn, auth.tenant_org_id, body.steps)
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
    rows: builtins.list[dict[str, Any]] | None = None
    if body.steps is not None:
        entity_type, rows = validate_steps(body.steps)
        await check_fan_outs(conn, auth.tenant_org_id, body.steps, self_id=body.blueprint_id)
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
