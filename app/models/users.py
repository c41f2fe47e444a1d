import uuid

from app.auth.context import Role
from app.models.common import Email, ListRequest, Name, Password, RequestSchema, Timestamped


class User(Timestamped):
    """A user as the API shows it: never the password hash."""

    org_id: uuid.UUID
    company_id: uuid.UUID | None
    email: str
    full_name: str | None
    role: Role
    is_active: bool
    has_password: bool


class UserCreateRequest(RequestSchema):
    email: Email
    role: Role
    company_id: uuid.UUID | None = None
    full_name: Name | None = None
    password: Password | None = None


class SuperAdminUserCreateRequest(UserCreateRequest):
    org_id: uuid.UUID


class UserGetRequest(RequestSchema):
    user_id: uuid.UUID


class UserListRequest(ListRequest):
    pass


class SuperAdminUserListRequest(UserListRequest):
    org_id: uuid.UUID


class UserDeactivateRequest(RequestSchema):
    user_id: uuid.UUID
