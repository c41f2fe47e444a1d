import uuid

from pydantic import Field

from app.models.common import ListRequest, Name, RequestSchema, Slug, Timestamped


class Org(Timestamped):
    name: str
    slug: str
    is_active: bool


class OrgCreateRequest(RequestSchema):
    name: Name
    slug: Slug


class OrgGetRequest(RequestSchema):
    org_id: uuid.UUID


class OrgUpdateRequest(RequestSchema):
    org_id: uuid.UUID
    name: Name | None = None
    slug: Slug | None = None
    is_active: bool | None = Field(default=None, strict=True)


class OrgListRequest(ListRequest):
    pass
