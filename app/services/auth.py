"""Sessions: login issues a JWT for an active user with a password; `me` describes the caller."""

import asyncpg

from app.auth import credentials
from app.auth.context import AuthContext
from app.config import Settings
from app.db import Db
from app.errors import Unauthorized
from app.models.auth import LoginRequest, LoginResponse, Me
from app.ratelimit import LoginThrottle
from app.repositories import users as users_repo


async def login(
    db: Db, settings: Settings, throttle: LoginThrottle, body: LoginRequest, address: str | None
) -> LoginResponse:
    # throttled per email and per client address before any work; an unknown email is counted
    # like a known one, so the throttle does not reveal which emails exist either
    attempt = throttle.attempt(body.email, address)
    # the row is read in a short transaction: no pooled connection waits on the password check
    async with db.transaction() as conn:
        found = await users_repo.get_login_user(conn, body.email)
    # verify even when the user is unknown, so timing does not reveal which emails exist
    ok = await credentials.verify_password_off_loop(body.password, found[1] if found else None)
    if found is None or not ok:
        raise Unauthorized("wrong email or password", code="invalid_login")
    attempt.succeeded()
    user = found[0]
    token = credentials.issue_jwt(
        user_id=user.id, org_id=user.org_id, secret=settings.secret("jwt_secret"), ttl_seconds=settings.jwt_ttl_seconds
    )
    return LoginResponse(access_token=token, token_type="bearer", expires_in=settings.jwt_ttl_seconds, user=user)


async def me(conn: asyncpg.Connection, auth: AuthContext) -> Me:
    user = await users_repo.get_active_user(conn, auth.user_id) if auth.user_id else None
    return Me(auth=auth, user=user)
