import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from app.contracts.entities import EntityType
from app.contracts.normalize import normalize_domain, normalize_email, normalize_linkedin_url
from app.models.common import Instant, ListRequest, RequestSchema, Schema

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


def _parsed(value: str | None, normalize: Callable[[str], str | None], expected: str) -> str | None:
    if value is None:
        return None
    normalized = normalize(value)
    if normalized is None:
        raise PydanticCustomError("invalid_filter", "this filter is not {expected}", {"expected": expected})
    return normalized


class EntityFilters(RequestSchema):
    domain: Short | None = Field(default=None, description="Company domain (companies) or the person's company domain")
    name: Short | None = Field(default=None, description="Case-insensitive substring of the name")
    linkedin_url: Short | None = None
    email: Short | None = Field(default=None, description="Persons only: work email")
    company_id: uuid.UUID | None = Field(default=None, description="The client company the record belongs to")
    updated_since: Instant | None = None

    # A filter that cannot be read would otherwise be dropped, and the caller would get the whole
    # scope as if it matched: refuse it (400 `invalid_filter` naming it) instead.
    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        return _parsed(value, normalize_domain, "a domain such as acme.com")

    @field_validator("linkedin_url")
    @classmethod
    def _linkedin_url(cls, value: str | None) -> str | None:
        return _parsed(value, normalize_linkedin_url, "a LinkedIn profile URL such as linkedin.com/in/<slug>")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return _parsed(value, normalize_email, "an email address")


class EntityListRequest(RequestSchema):
    filters: EntityFilters | None = None
    limit: int = Field(default=50, ge=1, le=500, strict=True)
    cursor: Annotated[str, StringConstraints(max_length=512)] | None = None


class CompanyEntity(Schema):
    id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID
    name: str | None
    domain: str | None
    linkedin_url: str | None
    data: dict[str, Any]
    record_version: int
    last_pipeline_run_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class PersonEntity(Schema):
    id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID
    full_name: str | None
    linkedin_url: str | None
    work_email: str | None
    company_domain: str | None
    company_entity_id: uuid.UUID | None
    """The company record this person was found for by a fan-out (CONTRACT §9.1)."""
    data: dict[str, Any]
    record_version: int
    last_pipeline_run_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


# --- history (CONTRACT §9.3) ---------------------------------------------------------------------


class EntityHistoryRequest(ListRequest):
    entity_type: EntityType
    entity_id: uuid.UUID


class FieldChange(Schema):
    """One field's value before and after a version; `from` is null for a field the record lacked."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    from_: Any = Field(alias="from")
    to: Any


class EntityVersion(Schema):
    record_version: int
    at: datetime = Field(description="When the run's context was merged into the record")
    pipeline_run_id: uuid.UUID
    changes: dict[str, FieldChange] = Field(
        description="Every field whose value this version changed; unchanged values are left out"
    )


class TimelineEvent(Schema):
    at: datetime = Field(description="When the step finished")
    submission_id: uuid.UUID
    pipeline_run_id: uuid.UUID
    position: int
    operation_id: str
    status: str = Field(description="The step's status: succeeded, failed or skipped")
    skip_reason: str | None
    provider: str | None = Field(description="The provider whose attempt answered (found or verified)")
    cached: bool = Field(description="The operation's result came from the org's result cache")
    fields_changed: list[str] = Field(description="Fields of the record whose value this step's output changed")
