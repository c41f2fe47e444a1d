"""The typed step declarations of CONTRACT §9.1 besides `condition` (app/contracts/conditions.py)
and `fan_out` (app/contracts/fan_out.py).

These models only say what a blueprint may declare; the engine that honours them lives in the
pipeline services. Any other key, or a wrong type, is a 422 like the rest of a step.
Bounds: docs/decisions/0043-step-declarations.md.
"""

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.contracts.conditions import FIELD_PATH_RULE, is_field_path

MAX_FRESH_HOURS = 87_600
"""Ten years: longer is "ever", and a larger number would overflow the date arithmetic."""


def _field_path(value: str) -> str:
    if not is_field_path(value):
        raise ValueError(f"must be {FIELD_PATH_RULE}")
    return value


FieldPath = Annotated[str, Field(max_length=200), AfterValidator(_field_path)]


class StepDeclaration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SkipIfFresh(StepDeclaration):
    """Skip the step when the org's entity already holds every field it writes, this recent."""

    max_age_hours: int = Field(ge=1, le=MAX_FRESH_HOURS, strict=True)


# The step parameters of the research and derivation operations (app/providers/base.StepParams):
# typed here once for `step_config` (blueprints) and `options` (/api/v1/execute). Which operation
# needs which is OperationSpec.params; docs/decisions/0067-research-operations.md.
MAX_PRODUCT_CHARS = 2000
MAX_CRITERIA_CHARS = 4000

Product = Annotated[
    str,
    Field(
        strict=True,
        min_length=1,
        max_length=MAX_PRODUCT_CHARS,
        description="company.derive.icp_job_titles: the product (what it does, for whom) to find buyers for",
    ),
]
Criteria = Annotated[
    str,
    Field(
        strict=True,
        min_length=1,
        max_length=MAX_CRITERIA_CHARS,
        description="company.derive.evaluate_icp_fit: the ideal customer profile to score the company against",
    ),
]
