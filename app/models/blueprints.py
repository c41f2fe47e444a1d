import uuid
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from app.models.common import ListRequest, Name, RequestSchema, Schema, Timestamped
from app.models.operations import EntityType

OperationId = Annotated[
    str,
    StringConstraints(min_length=3, max_length=200),
    Field(description="An operation_id from /api/v1/operations/list"),
]
Description = Annotated[str, StringConstraints(max_length=2000)]


class BlueprintStepInput(RequestSchema):
    position: int = Field(ge=1, le=1000, strict=True)
    operation_id: OperationId
    step_config: dict[str, Any] | None = None
    is_enabled: bool = Field(default=True, strict=True)


Steps = Annotated[list[BlueprintStepInput], Field(min_length=1, max_length=50)]


class BlueprintStep(Schema):
    position: int
    operation_id: str
    step_config: dict[str, Any]
    is_enabled: bool


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


class SuperAdminBlueprintListRequest(ListRequest):
    org_id: uuid.UUID
