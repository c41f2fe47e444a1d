from typing import Any, Literal

from pydantic import Field

from app.contracts.catalog import Strategy
from app.contracts.entities import EntityType
from app.models.common import Money, Schema


class ProviderPrice(Schema):
    """A provider's documented price for one call of the operation (its adapter's `PRICES`;
    docs/costs.md). null: the documentation does not say, and the cost is recorded as unknown."""

    unit: Literal["credits", "usd"] = Field(description="The provider's own unit (its credits; Parallel: USD)")
    found: Money | None = Field(description="A call that answered with a result (per result when per_result)")
    not_found: Money | None = Field(description="A call that answered it has nothing (the minimum when per_result)")
    per_result: bool = Field(description="found is charged per result returned (searches)")
    reported: bool = Field(
        description="The provider reports each call's cost in its answer; this price is the fallback"
    )
    source: str | None = Field(description="Where the price is documented (docs/providers.md section and sources)")


class OperationProvider(Schema):
    provider: str
    action: str = Field(description="The provider's action that implements the operation")
    price: ProviderPrice
    timeout_seconds: float = Field(description="This deployment's HTTP timeout for one request to the provider")
    max_retries: int = Field(description="This deployment's retries of a request on a timeout, 408, 429 or 5xx")


class StepConfigKey(Schema):
    key: str = Field(description="A key of a blueprint step's `step_config`, or of /api/v1/execute `options`")
    required: bool
    description: str
    json_schema: dict[str, Any] = Field(description="JSON Schema of a value given")


class OperationInfo(Schema):
    operation_id: str
    entity_type: EntityType
    name: str
    description: str
    default_providers: list[str] = Field(description="The catalog's provider order")
    timeout_seconds: int = Field(description="The whole operation's time budget")
    max_retries: int
    strategy: Strategy = Field(description="How the providers are combined (docs/operations.md)")
    deployment_providers: list[str] | None = Field(
        description="The order DATA_ENGINE_PROVIDER_ORDER sets on this deployment, used instead of "
        "default_providers when a call or step names none; null: the default applies"
    )
    providers: list[OperationProvider] = Field(
        description="Every provider of the operation, in default_providers order, with its documented "
        "price per call; empty for a local operation (no provider, never billed)"
    )
    minimum_inputs: list[str] = Field(
        description="What an input must hold: each item one requirement, its alternatives joined with `|` "
        "(what /api/v1/execute answers as missing_inputs for an empty input)"
    )
    step_config_keys: list[StepConfigKey] = Field(
        description="The step_config keys (blueprint) or options (execute) the operation reads"
    )
    settings_read: list[str] = Field(description="The deployment settings (DATA_ENGINE_<NAME>) it reads")
    reads_stored_entity: bool = Field(description="It compares with the org's stored record of the entity")
    input_schema: dict[str, Any] = Field(description="JSON Schema of `input` (the entity's fields it reads)")
    output_schema: dict[str, Any] = Field(description="JSON Schema of `output` (canonical entity fields)")
