"""Operations (declared in app.contracts.catalog) joined with the provider actions that
implement them (declared by each adapter in app.providers). Provider order is resolved here:
per call > deployment setting > catalog default."""

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from app.contracts.catalog import OPERATIONS, OperationSpec, Strategy
from app.errors import BadRequest
from app.operations.local import LOCAL_ACTIONS, LocalAction
from app.providers import ADAPTERS
from app.providers.base import UNKNOWN_PRICE, Action, StepParams


@dataclass(frozen=True)
class Operation:
    spec: OperationSpec
    actions: dict[str, Action]
    local: LocalAction | None = None
    """The function of a Strategy.local operation (it has no provider actions)."""

    @property
    def operation_id(self) -> str:
        return self.spec.operation_id


def _build() -> dict[str, Operation]:
    operations = {}
    for spec in OPERATIONS:
        actions = {}
        for provider in spec.default_providers:
            action = ADAPTERS[provider].ACTIONS.get(spec.operation_id)
            if action is None:
                raise RuntimeError(f"{provider} declares no action for {spec.operation_id}")
            # the adapter's PRICES is the one place its documented prices are declared
            price = getattr(ADAPTERS[provider], "PRICES", {}).get(spec.operation_id, UNKNOWN_PRICE)
            actions[provider] = dataclasses.replace(action, price=price)
        local = LOCAL_ACTIONS.get(spec.operation_id)
        if (spec.strategy is Strategy.local) != (local is not None):
            raise RuntimeError(f"{spec.operation_id}: a local operation needs a local action, and only it")
        operations[spec.operation_id] = Operation(spec=spec, actions=actions, local=local)
    return operations


REGISTRY: dict[str, Operation] = _build()
STEP_PARAMS: tuple[str, ...] = tuple(f.name for f in fields(StepParams))
VERIFY_OPERATION = "person.contact.verify_email"


class InvalidProviderOrder(BadRequest):
    code = "invalid_providers"


def check_order(operation: Operation, providers: Sequence[str], *, where: str) -> list[str]:
    order = list(providers)
    unknown = [p for p in order if p not in operation.actions]
    if not order or unknown or len(set(order)) != len(order):
        raise InvalidProviderOrder(
            f"{where} must be a non-empty list of distinct providers of {operation.operation_id}",
            details={"allowed": list(operation.actions), "given": order, "unknown": unknown},
        )
    return order


def provider_order(
    operation: Operation,
    deployment: dict[str, list[str]],
    requested: Sequence[str] | None,
    *,
    where: str = "options.providers",
) -> list[str]:
    if requested is not None:
        return check_order(operation, requested, where=where)
    if operation.operation_id in deployment:
        return list(deployment[operation.operation_id])
    return list(operation.spec.default_providers)


def validate_deployment_order(deployment: dict[str, list[str]]) -> None:
    """Called at start: a bad DATA_ENGINE_PROVIDER_ORDER stops the API with a clear message."""
    for operation_id, order in deployment.items():
        if operation_id not in REGISTRY:
            raise ValueError(f"DATA_ENGINE_PROVIDER_ORDER names an unknown operation: {operation_id}")
        try:
            check_order(REGISTRY[operation_id], order, where=f"DATA_ENGINE_PROVIDER_ORDER[{operation_id}]")
        except InvalidProviderOrder as e:
            raise ValueError(e.message) from e


class InvalidStepParams(BadRequest):
    code = "invalid_step_params"


def check_params(operation: Operation, given: Mapping[str, Any], *, where: str) -> StepParams:
    """The step parameters of a call (`given`: the options or step_config, as sent) for this
    operation: each one it declares (OperationSpec.params) must be given and not blank, and one it
    does not read is refused rather than ignored, so a misplaced `product` never goes unnoticed.
    `where` prefixes the field named in the error (`options`, `steps[0].step_config`)."""
    declared = operation.spec.params
    for name in STEP_PARAMS:
        field = f"{where}.{name}"
        value = given.get(name)
        if value is not None and name not in declared:
            raise InvalidStepParams(
                f"{field}: {operation.operation_id} does not read {name}",
                details={"field": field, "reads": list(declared)},
            )
        if name in declared and (not isinstance(value, str) or not value.strip()):
            raise InvalidStepParams(
                f"{field} is required by {operation.operation_id}", details={"field": field, "reads": list(declared)}
            )
    return StepParams(**{name: str(given[name]).strip() for name in declared})
