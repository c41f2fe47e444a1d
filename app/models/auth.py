from typing import Annotated, Literal

from pydantic import StringConstraints

from app.auth.context import AuthContext
from app.models.common import Email, RequestSchema, Schema
from app.models.users import User


class LoginRequest(RequestSchema):
    email: Email
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class LoginResponse(Schema):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int
    user: User


class Me(Schema):
    auth: AuthContext
    user: User | None
