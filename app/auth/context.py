"""Who is calling: every authentication path yields one AuthContext (CONTRACT §4)."""

import uuid
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Role(StrEnum):
    org_admin = "org_admin"
    company_admin = "company_admin"
    member = "member"


class AuthMethod(StrEnum):
    api_token = "api_token"
    jwt = "jwt"
    internal = "internal"
    super_admin = "super_admin"


ROLE_RANK = {Role.member: 0, Role.company_admin: 1, Role.org_admin: 2}


class AuthContext(BaseModel):
    model_config = ConfigDict(frozen=True)

    org_id: uuid.UUID | None
    company_id: uuid.UUID | None
    user_id: uuid.UUID | None
    role: Role | None
    auth_method: AuthMethod
    api_token_id: uuid.UUID | None = None

    @property
    def tenant_org_id(self) -> uuid.UUID:
        if self.org_id is None:
            raise RuntimeError("a tenant operation ran without an org in its auth context")
        return self.org_id


def org_scope(org_id: uuid.UUID) -> AuthContext:
    """The context super-admin endpoints act in: the whole of one org, chosen by the platform operator."""
    return AuthContext(
        org_id=org_id, company_id=None, user_id=None, role=Role.org_admin, auth_method=AuthMethod.super_admin
    )
