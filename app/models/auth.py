from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from app.auth.context import AuthContext
from app.models.common import Email, RequestSchema, Schema, Slug
from app.models.users import User


class LoginRequest(RequestSchema):
    email: Email
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    org_slug: Slug | None = Field(
        default=None,
        description="The org to sign in to. Needed only when this email and password belong to users of "
        "several orgs (400 org_required otherwise).",
    )


class LoginResponse(Schema):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int
    user: User


class Me(Schema):
    auth: AuthContext
    user: User | None
