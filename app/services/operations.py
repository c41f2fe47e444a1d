"""The operation catalog as tenants see it: everything a caller needs to use an operation, read
from the declarations themselves (app/contracts/catalog.py, each adapter's ACTIONS and PRICES), so
it cannot drift from what runs. docs/operations.md and docs/costs.md are generated from the same
description (app/docs_catalog.py). docs/decisions/0076-self-describing-catalog.md."""

from typing import Any
from weakref import WeakKeyDictionary

from pydantic import ValidationError

from app.config import ProviderSettings
from app.contracts.catalog import Strategy
from app.models.blueprints import StepConfig
from app.models.common import Data, Page
from app.models.operations import OperationInfo, OperationProvider, ProviderPrice, StepConfigKey
from app.operations.engine import Engine
from app.operations.registry import REGISTRY, Operation
from app.providers import ADAPTERS
from app.providers.base import Price

DEFAULT_MAX_RETRIES: int = ProviderSettings.model_fields["max_retries"].default


def price_info(provider: str, price: Price) -> ProviderPrice:
    return ProviderPrice(
        unit=getattr(ADAPTERS[provider], "PRICE_UNIT", "credits"),
        found=price.found,
        not_found=price.not_found,
        per_result=price.per_result,
        reported=price.reported,
        source=price.source or None,
    )


def minimum_inputs(operation: Operation) -> list[str]:
    """Every requirement of the operation's minimum: what it answers for an input with nothing."""
    try:
        empty = operation.spec.input_model.model_validate({})
    except ValidationError as e:
        # the minimum is read from an empty input; a model that refuses one needs another way
        raise RuntimeError(f"{operation.operation_id}: its input model must accept an empty input") from e
    return operation.spec.minimum(empty)


def _step_config_keys(operation: Operation) -> list[StepConfigKey]:
    keys: list[tuple[str, bool]] = []
    if operation.spec.strategy is not Strategy.local:
        # a local operation has no provider to choose and is never cached (docs/decisions/0064)
        keys.append(("providers", False))
        if operation.spec.strategy is Strategy.find_then_verify:
            keys.append(("verify_providers", False))
        keys.append(("cache", False))
    keys += [(name, True) for name in operation.spec.params]
    return [StepConfigKey(key=key, required=required, **_STEP_CONFIG[key]) for key, required in keys]


def _step_config_schemas() -> dict[str, dict[str, Any]]:
    """Each StepConfig key's description and the JSON schema of a value given (not null)."""
    described = {}
    for key, prop in StepConfig.model_json_schema()["properties"].items():
        given = next(s for s in prop.get("anyOf", [prop]) if s.get("type") != "null")
        description = prop.get("description") or given.get("description", "")
        schema = {k: v for k, v in given.items() if k not in ("description", "title")}
        described[key] = {"description": description, "json_schema": schema}
    return described


_STEP_CONFIG = _step_config_schemas()


def describe(operation: Operation) -> OperationInfo:
    """The operation with the documented defaults (no deployment settings)."""
    spec = operation.spec
    return OperationInfo(
        operation_id=spec.operation_id,
        entity_type=spec.entity_type,
        name=spec.name,
        description=spec.description,
        default_providers=list(spec.default_providers),
        timeout_seconds=spec.timeout_seconds,
        max_retries=spec.max_retries,
        strategy=spec.strategy,
        deployment_providers=None,
        providers=[
            OperationProvider(
                provider=name,
                action=action.name,
                price=price_info(name, action.price),
                timeout_seconds=ADAPTERS[name].TIMEOUT_SECONDS,
                max_retries=DEFAULT_MAX_RETRIES,
            )
            for name, action in operation.actions.items()
        ],
        minimum_inputs=minimum_inputs(operation),
        step_config_keys=_step_config_keys(operation),
        settings_read=[f"DATA_ENGINE_{name.upper()}" for name in spec.settings_read],
        reads_stored_entity=spec.reads_stored_entity,
        input_schema=spec.input_model.model_json_schema(mode="validation"),
        output_schema=spec.output_model.model_json_schema(mode="serialization"),
    )


CATALOG: tuple[OperationInfo, ...] = tuple(describe(operation) for operation in REGISTRY.values())
"""Built once: the schemas and declarations are static for the life of the process."""


def _for_deployment(info: OperationInfo, engine: Engine) -> OperationInfo:
    clients = engine.providers.clients
    providers = [
        p.model_copy(update={"timeout_seconds": c.timeout, "max_retries": c.retry.max_retries})
        if (c := clients[p.provider]).timeout != p.timeout_seconds or c.retry.max_retries != p.max_retries
        else p
        for p in info.providers
    ]
    order = engine.deployment_order.get(info.operation_id)
    if order is None and all(a is b for a, b in zip(providers, info.providers, strict=True)):
        return info
    return info.model_copy(update={"deployment_providers": order, "providers": providers})


def list_catalog(engine: Engine) -> list[OperationInfo]:
    """The catalog with this deployment's provider order and HTTP settings where they differ from
    the documented defaults."""
    return [_for_deployment(info, engine) for info in CATALOG]


_RENDERED: "WeakKeyDictionary[Engine, bytes]" = WeakKeyDictionary()


def catalog_json(engine: Engine) -> bytes:
    """The /api/v1/operations/list answer, serialised once per engine: nothing in it changes while
    the process runs, and its schemas make it large (validating and encoding it each time costs
    about 10 ms)."""
    body = _RENDERED.get(engine)
    if body is None:
        body = Data(data=Page[OperationInfo](items=list_catalog(engine))).model_dump_json().encode()
        _RENDERED[engine] = body
    return body
