import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from app.models.common import Instant, RequestSchema, Schema

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class EntityFilters(RequestSchema):
    domain: Short | None = Field(default=None, description="Company domain (companies) or the person's company domain")
    name: Short | None = Field(default=None, description="Case-insensitive substring of the name")
    linkedin_url: Short | None = None
    email: Short | None = Field(default=None, description="Persons only: work email")
    company_id: uuid.UUID | None = Field(default=None, description="The client company the record belongs to")
    updated_since: Instant | None = None


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
    data: dict[str, Any]
    record_version: int
    last_pipeline_run_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
