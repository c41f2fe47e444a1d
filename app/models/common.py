"""The schema base, reusable field types and the response envelopes."""

import uuid
from datetime import datetime
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.auth.context import Role


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RequestSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")


T = TypeVar("T")


class Data(BaseModel, Generic[T]):
    data: T


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Field(description="Display name")
]
Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$"),
    Field(description="Lower-case letters, digits and hyphens; unique across the platform"),
]
ExternalRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
Password = Annotated[str, StringConstraints(min_length=12, max_length=256)]
Limit = Annotated[int, Field(ge=1, le=500, description="Page size (default 50, max 500)")]
Cursor = Annotated[str, StringConstraints(max_length=512), Field(description="next_cursor of the previous page")]


class ListRequest(RequestSchema):
    limit: Limit = 50
    cursor: Cursor | None = None


class Timestamped(Schema):
    id: uuid.UUID
    created_at: datetime
    updated_at: datetime


__all__ = [
    "Data",
    "Email",
    "ExternalRef",
    "ListRequest",
    "Name",
    "Page",
    "Password",
    "RequestSchema",
    "Role",
    "Schema",
    "Slug",
    "Timestamped",
]
