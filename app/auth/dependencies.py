"""Authentication: one dependency per family of endpoints, each yielding an AuthContext.

- tenant endpoints: API token or session JWT;
- `/api/internal/*`: the internal key with `x-internal-org-id` (and optional company);
- `/api/v1/execute`: tenant credentials or the internal key;
- `/api/super-admin/*`: the super-admin key.
A credential presented where it is not accepted is simply invalid there (401).
"""

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth import credentials
from app.auth.context import AuthContext, AuthMethod
from app.auth.policy import Permission, allows
from app.config import Settings
from app.db import Db, DbDep
from app.deps import RateLimiterDep, SettingsDep
from app.errors import BadRequest, Forbidden, NotFound, Unauthorized
from app.repositories import api_tokens as api_tokens_repo
from app.repositories import companies as companies_repo
from app.repositories import orgs as orgs_repo
from app.repositories import users as users_repo

_bearer = HTTPBearer(auto_error=False, description="API token, session JWT, internal or super-admin key")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}

INTERNAL_ORG_HEADER = "x-internal-org-id"
INTERNAL_COMPANY_HEADER = "x-internal-company-id"


def _unauthorized(message: str = "invalid or missing credentials", code: str = "invalid_credentials") -> Unauthorized:
    return Unauthorized(message, code=code, headers=_CHALLENGE)


def _bearer_value(creds: HTTPAuthorizationCredentials | None) -> str:
    if creds is None or not creds.credentials:
        raise _unauthorized("an Authorization: Bearer header is required", "missing_credentials")
    return creds.credentials


async def _tenant_context(conn: asyncpg.Connection, settings: Settings, value: str) -> AuthContext:
    if credentials.looks_like_api_token(value):
        token = await api_tokens_repo.get_valid_token_by_hash(conn, credentials.hash_api_token(value))
        if token is None:
            raise _unauthorized()
        await api_tokens_repo.touch_api_token(conn, token.id)
        return AuthContext(
            org_id=token.org_id,
            company_id=token.company_id,
            user_id=token.user_id,
            role=token.role,
            auth_method=AuthMethod.api_token,
            api_token_id=token.id,
        )
    claims = credentials.decode_jwt(value, settings.secret("jwt_secret"))
    if claims is None:
        raise _unauthorized()
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except ValueError as e:
        raise _unauthorized() from e
    # role and company come from the row, not the token, so changes apply at once
    user = await users_repo.get_active_user(conn, user_id)
    if user is None or str(user.org_id) != str(claims.get("org_id")):
        raise _unauthorized()
    return AuthContext(
        org_id=user.org_id, company_id=user.company_id, user_id=user.id, role=user.role, auth_method=AuthMethod.jwt
    )


def _parse_uuid_header(request: Request, name: str) -> uuid.UUID | None:
    raw = request.headers.get(name)
    if raw is None:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError as e:
        raise BadRequest(f"{name} must be a UUID", code="invalid_internal_header") from e


# The worker names the same org and company on every call of a run (several per step): a
# confirmed pair is trusted for a few seconds instead of costing a transaction each time. Only
# confirmations are kept, so an unknown org or a foreign company is checked on every call.
INTERNAL_SCOPE_TTL_SECONDS = 10.0
_confirmed_scopes: dict[tuple[uuid.UUID, uuid.UUID | None], float] = {}


def _internal_headers(request: Request) -> tuple[uuid.UUID, uuid.UUID | None]:
    org_id = _parse_uuid_header(request, INTERNAL_ORG_HEADER)
    if org_id is None:
        raise BadRequest(f"{INTERNAL_ORG_HEADER} is required with the internal key", code="missing_internal_org")
    return org_id, _parse_uuid_header(request, INTERNAL_COMPANY_HEADER)


def _internal_auth_context(org_id: uuid.UUID, company_id: uuid.UUID | None) -> AuthContext:
    # the worker acts for the org; a company header narrows it like a company-scoped caller
    return AuthContext(org_id=org_id, company_id=company_id, user_id=None, role=None, auth_method=AuthMethod.internal)


async def _internal_context(db: Db, request: Request) -> AuthContext:
    org_id, company_id = scope = _internal_headers(request)
    confirmed_at = _confirmed_scopes.get(scope)
    if confirmed_at is not None and time.monotonic() - confirmed_at < INTERNAL_SCOPE_TTL_SECONDS:
        return _internal_auth_context(org_id, company_id)
    async with db.transaction() as conn:
        if not await orgs_repo.org_is_active(conn, org_id):
            raise NotFound("org not found", code="org_not_found")
        if company_id is not None and not await companies_repo.company_in_org(conn, company_id, org_id):
            raise NotFound("company not found", code="company_not_found")
    if len(_confirmed_scopes) > 10_000:
        _confirmed_scopes.clear()
    _confirmed_scopes[scope] = time.monotonic()
    return _internal_auth_context(org_id, company_id)


def _is_key(value: str, settings: Settings, name: str) -> bool:
    return credentials.constant_time_equals(value, settings.secret(name))


Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


# Authentication runs in a short transaction of its own and gives its connection back at once:
# an endpoint that then takes short transactions itself (submit, retry, execute, the worker's
# callbacks) would otherwise hold one pooled connection while waiting for a second, and a burst of
# such requests deadlocks the pool (found by the load test).
async def tenant_auth(creds: Bearer, db: DbDep, settings: SettingsDep, limiter: RateLimiterDep) -> AuthContext:
    value = _bearer_value(creds)
    async with db.transaction() as conn:
        auth = await _tenant_context(conn, settings, value)
    return await limiter.check(db, auth)


async def tenant_or_internal_auth(
    request: Request, creds: Bearer, db: DbDep, settings: SettingsDep, limiter: RateLimiterDep
) -> AuthContext:
    value = _bearer_value(creds)
    if _is_key(value, settings, "internal_api_key"):
        return await limiter.check(db, await _internal_context(db, request))
    async with db.transaction() as conn:
        auth = await _tenant_context(conn, settings, value)
    return await limiter.check(db, auth)


async def internal_auth(
    request: Request, creds: Bearer, db: DbDep, settings: SettingsDep, limiter: RateLimiterDep
) -> AuthContext:
    value = _bearer_value(creds)
    if not _is_key(value, settings, "internal_api_key"):
        raise _unauthorized()
    return await limiter.check(db, await _internal_context(db, request))


async def internal_key_auth(creds: Bearer, settings: SettingsDep) -> AuthContext:
    """The internal key alone, for host-level calls that act for no org (worker heartbeats)."""
    if not _is_key(_bearer_value(creds), settings, "internal_api_key"):
        raise _unauthorized()
    return AuthContext(org_id=None, company_id=None, user_id=None, role=None, auth_method=AuthMethod.internal)


async def super_admin_auth(creds: Bearer, settings: SettingsDep) -> AuthContext:
    value = _bearer_value(creds)
    if not _is_key(value, settings, "super_admin_api_key"):
        raise _unauthorized()
    return AuthContext(org_id=None, company_id=None, user_id=None, role=None, auth_method=AuthMethod.super_admin)


def require(permission: Permission, *, allow_internal: bool = False) -> Callable[..., Awaitable[AuthContext]]:
    """A dependency that authenticates and then checks CONTRACT §5 for one permission."""
    authenticate = tenant_or_internal_auth if allow_internal else tenant_auth

    async def dependency(auth: Annotated[AuthContext, Depends(authenticate)]) -> AuthContext:
        if auth.auth_method is AuthMethod.internal:
            return auth
        assert auth.role is not None
        if not allows(auth.role, permission):
            raise Forbidden(
                f"the {auth.role.value} role may not do this",
                code="forbidden_role",
                details={"required": permission.value},
            )
        return auth

    return dependency


TenantAuth = Annotated[AuthContext, Depends(tenant_auth)]
InternalAuth = Annotated[AuthContext, Depends(internal_auth)]
InternalWorkerAuth = Annotated[AuthContext, Depends(internal_key_auth)]
SuperAdminAuth = Annotated[AuthContext, Depends(super_admin_auth)]
ReaderAuth = Annotated[AuthContext, Depends(require(Permission.read_tenant_data))]
ExecuteAuth = Annotated[AuthContext, Depends(require(Permission.execute, allow_internal=True))]
SubmitAuth = Annotated[AuthContext, Depends(require(Permission.batch_submit))]
BlueprintReaderAuth = Annotated[AuthContext, Depends(require(Permission.blueprints_read))]
BlueprintWriterAuth = Annotated[AuthContext, Depends(require(Permission.blueprints_write))]
OrgAdminAuth = Annotated[AuthContext, Depends(require(Permission.manage_org))]
WebhookAdminAuth = Annotated[AuthContext, Depends(require(Permission.webhooks_manage))]
BudgetAdminAuth = Annotated[AuthContext, Depends(require(Permission.budgets_manage))]
ProviderKeyAdminAuth = Annotated[AuthContext, Depends(require(Permission.provider_keys_manage))]
