import uuid
from datetime import datetime

from pydantic import Field

from app.auth.context import AuthMethod, Role
from app.models.common import Instant, ListRequest, Name, RequestSchema, Timestamped


class ApiToken(Timestamped):
    """Token metadata; the plaintext is never part of it."""

    org_id: uuid.UUID
    company_id: uuid.UUID | None
    user_id: uuid.UUID | None
    name: str
    role: Role
    token_prefix: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_by_kind: AuthMethod | None = Field(
        description="How the creator authenticated: jwt (a user's session), api_token, super_admin or internal; "
        "null for tokens created before creators were recorded"
    )
    created_by_user_id: uuid.UUID | None = Field(
        description="The user at the root of the creation chain: the session user, or the user a creating token "
        "acted for or descended from. Deactivating that user revokes this token."
    )
    created_by_api_token_id: uuid.UUID | None = Field(description="The token that created this one, if any")


class ApiTokenCreated(ApiToken):
    token: str = Field(description="The plaintext token. Shown only in this response; store it now.")


class ApiTokenCreateRequest(RequestSchema):
    name: Name
    role: Role
    company_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    expires_at: Instant | None = None


class SuperAdminApiTokenCreateRequest(ApiTokenCreateRequest):
    org_id: uuid.UUID


class ApiTokenListRequest(ListRequest):
    pass


class SuperAdminApiTokenListRequest(ApiTokenListRequest):
    org_id: uuid.UUID


class ApiTokenRevokeRequest(RequestSchema):
    api_token_id: uuid.UUID
