import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from app.contracts.entities import EntityType
from app.contracts.steps import Criteria, Product
from app.models.common import ListRequest, Money, RequestSchema, Schema


class ExecuteOptions(RequestSchema):
    providers: list[str] | None = Field(
        default=None, max_length=20, description="A subset of the operation's providers, in the order to try them"
    )
    verify_providers: list[str] | None = Field(
        default=None, max_length=20, description="person.contact.resolve_email: the verifiers to use, in order"
    )
    cache: bool | None = Field(
        default=None,
        strict=True,
        description="false: call the providers even when a recent answer of the org is cached (CONTRACT §9.2)",
    )
    product: Product | None = None
    criteria: Criteria | None = None


class ExecuteRequest(RequestSchema):
    operation_id: str = Field(max_length=200)
    entity_type: EntityType
    input: dict[str, Any] = Field(description="The entity's known fields (the pipeline's cumulative context)")
    options: ExecuteOptions | None = None


class ProviderAttempt(Schema):
    provider: str
    action: str
    status: str
    skip_reason: str | None
    http_status: int | None
    provider_status: str | None
    duration_ms: int
    cost_credits: Money | None = Field(
        default=None,
        description="What the call cost in the provider's unit: reported by it, else its documented price; "
        "0 when no call was made or none is charged; null when unknown (docs/costs.md)",
    )
    cost_usd: Money | None = Field(
        default=None, description="cost_credits × the deployment's USD per credit for the provider; null when unknown"
    )


class ExecuteResult(Schema):
    run_id: uuid.UUID
    operation_id: str
    entity_type: EntityType
    status: str = Field(description="found | not_found | verified | failed")
    output: dict[str, Any] | None
    missing_inputs: list[str]
    provider_attempts: list[ProviderAttempt]
    cached: bool = Field(description="true: answered from an earlier run of the org; no provider was called")
    cached_from_run_id: uuid.UUID | None = Field(description="The earlier run that called the providers")


class OperationRun(Schema):
    id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID | None
    user_id: uuid.UUID | None
    api_token_id: uuid.UUID | None
    auth_method: str
    operation_id: str
    entity_type: EntityType
    status: str
    input: dict[str, Any]
    output: dict[str, Any] | None
    missing_inputs: list[str]
    options: dict[str, Any]
    pipeline_run_id: uuid.UUID | None
    step_position: int | None
    duration_ms: int
    cached: bool
    cached_from_run_id: uuid.UUID | None
    created_at: datetime


class CachedRun(Schema):
    """The part of an earlier run the result cache answers with."""

    id: uuid.UUID
    status: str
    output: dict[str, Any] | None
    missing_inputs: list[str]


class OperationAttempt(ProviderAttempt):
    position: int
    raw_response: Any = None
    created_at: datetime


class OperationRunDetail(OperationRun):
    provider_attempts: list[OperationAttempt]


class OperationRunGetRequest(RequestSchema):
    run_id: uuid.UUID


class OperationRunListRequest(ListRequest):
    operation_id: str | None = Field(default=None, max_length=200)
    status: str | None = Field(default=None, max_length=20)
    pipeline_run_id: uuid.UUID | None = None
