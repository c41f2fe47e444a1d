"""Sessions: login issues a JWT for an active user with a password; `me` describes the caller.

An email is unique per org, so one person may be a user of several orgs (one row each, each with
its own password). Login names the org with `org_slug`; without it, the login succeeds when the
password matches exactly one active membership (docs/decisions/0025-accounts-per-org.md)."""

import asyncpg

from app.auth import credentials
from app.auth.context import AuthContext
from app.config import Settings
from app.db import Db
from app.errors import BadRequest, Unauthorized
from app.models.auth import LoginRequest, LoginResponse, Me
from app.models.users import User
from app.ratelimit import LoginThrottle
from app.repositories import users as users_repo

# Memberships of one email a login without `org_slug` tries: bounds the hashing one request can
# cause. Someone in more orgs than this names the org.
MAX_LOGIN_MEMBERSHIPS = 10


async def _login_user(db: Db, body: LoginRequest) -> User:
    # the rows are read in a short transaction: no pooled connection waits on the password checks
    async with db.transaction() as conn:
        candidates = await users_repo.get_login_users(conn, body.email, body.org_slug, MAX_LOGIN_MEMBERSHIPS)
    # verify even when the user is unknown, so timing does not reveal which emails exist
    if not candidates:
        await credentials.verify_password_off_loop(body.password, None)
    # every candidate is verified (no early exit) and only matches count: a password an org admin
    # set in their own org says nothing about the same email's rows in other orgs
    matched = [c for c in candidates if await credentials.verify_password_off_loop(body.password, c.password_hash)]
    if not matched:
        raise Unauthorized("wrong email or password", code="invalid_login")
    if len(matched) > 1:
        # the caller proved this password for each of these orgs, and for no other
        raise BadRequest(
            "this email and password sign in to several orgs; name one with org_slug",
            code="org_required",
            details={"org_slugs": sorted(c.org_slug for c in matched)},
        )
    return matched[0].user


async def login(
    db: Db, settings: Settings, throttle: LoginThrottle, body: LoginRequest, address: str | None
) -> LoginResponse:
    # throttled per email and per client address before any work; an unknown email is counted
    # like a known one, so the throttle does not reveal which emails exist either
    attempt = await throttle.attempt(db, body.email, address)
    user = await _login_user(db, body)
    await attempt.succeeded()
    token = credentials.issue_jwt(
        user_id=user.id, org_id=user.org_id, secret=settings.secret("jwt_secret"), ttl_seconds=settings.jwt_ttl_seconds
    )
    return LoginResponse(access_token=token, token_type="bearer", expires_in=settings.jwt_ttl_seconds, user=user)


async def me(conn: asyncpg.Connection, auth: AuthContext) -> Me:
    user = await users_repo.get_active_user(conn, auth.user_id) if auth.user_id else None
    return Me(auth=auth, user=user)
