import uuid
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from app.contracts.entities import EntityType
from app.contracts.fan_out import FanOut
from app.contracts.steps import Criteria, Product, SkipIfFresh
from app.models.common import ListRequest, Name, RequestSchema, Schema, Timestamped

OperationId = Annotated[
    str,
    StringConstraints(min_length=3, max_length=200),
    Field(description="An operation_id from /api/v1/operations/list"),
]
Description = Annotated[str, StringConstraints(max_length=2000)]


ProviderName = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class StepConfig(RequestSchema):
    """CONTRACT §9.1: typed; any other key, or a wrong type, is a 422."""

    providers: list[ProviderName] | None = Field(
        default=None, min_length=1, max_length=20, description="Providers of the operation, in the order to try them"
    )
    verify_providers: list[ProviderName] | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="person.contact.resolve_email: the verifiers to use, in order",
    )
    cache: bool | None = Field(
        default=None,
        strict=True,
        description="false: the step calls its providers even when a recent answer is cached (CONTRACT §9.2)",
    )
    product: Product | None = None
    criteria: Criteria | None = None


class BlueprintStepInput(RequestSchema):
    position: int = Field(ge=1, le=1000, strict=True)
    operation_id: OperationId
    step_config: StepConfig | None = None
    is_enabled: bool = Field(default=True, strict=True)
    condition: dict[str, Any] | None = Field(
        default=None,
        description="Evaluated on the run's context before the step; false skips it (`condition_not_met`). "
        'Grammar: docs/operations.md "Conditions"; a bad node is a 400 `invalid_condition` naming it',
    )
    skip_if_fresh: SkipIfFresh | None = None
    fan_out: FanOut | None = None


Steps = Annotated[list[BlueprintStepInput], Field(min_length=1, max_length=50)]


class BlueprintStep(Schema):
    position: int
    operation_id: str
    step_config: dict[str, Any]
    is_enabled: bool
    fan_out: dict[str, Any] | None = None
    condition: dict[str, Any] | None = None
    skip_if_fresh: dict[str, Any] | None = None


class Blueprint(Timestamped):
    org_id: uuid.UUID
    name: str
    description: str | None
    entity_type: EntityType
    version: int
    is_active: bool
    steps: list[BlueprintStep]


class BlueprintCreateRequest(RequestSchema):
    name: Name
    description: Description | None = None
    steps: Steps


class SuperAdminBlueprintCreateRequest(BlueprintCreateRequest):
    org_id: uuid.UUID


class BlueprintUpdateRequest(RequestSchema):
    blueprint_id: uuid.UUID
    name: Name | None = None
    description: Description | None = None
    steps: Steps | None = None
    is_active: bool | None = Field(default=None, strict=True)


class BlueprintGetRequest(RequestSchema):
    blueprint_id: uuid.UUID


class BlueprintListRequest(ListRequest):
    pass


class SuperAdminBlueprintListRequest(BlueprintListRequest):
    org_id: uuid.UUID
