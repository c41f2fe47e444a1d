"""API tokens: the plaintext exists only in the create response."""

import uuid
from datetime import UTC, datetime

import asyncpg

from app.auth import credentials
from app.auth.context import ROLE_RANK, AuthContext, AuthMethod
from app.errors import BadRequest, Unauthorized, not_found
from app.models.api_tokens import ApiToken, ApiTokenCreated, ApiTokenCreateRequest, ApiTokenListRequest
from app.models.common import Page
from app.pagination import decode_cursor, page
from app.repositories import api_tokens as api_tokens_repo
from app.repositories import users as users_repo
from app.services import users as users_service


async def _creator(conn: asyncpg.Connection, auth: AuthContext) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """(root user, creating token) to record on a new token. The root user is the one whose
    deactivation revokes it: the session user, or what the creating token itself answers to."""
    org_id = auth.tenant_org_id
    if auth.auth_method is AuthMethod.api_token:
        assert auth.api_token_id is not None
        if not await api_tokens_repo.chain_users_active(conn, org_id, auth.api_token_id):
            raise Unauthorized("invalid or missing credentials", code="invalid_credentials")
        return await api_tokens_repo.get_chain_root_user(conn, org_id, auth.api_token_id), auth.api_token_id
    if auth.auth_method is AuthMethod.jwt:
        assert auth.user_id is not None
        if not await users_repo.lock_user_if_active(conn, org_id, auth.user_id):
            raise Unauthorized("invalid or missing credentials", code="invalid_credentials")
        return auth.user_id, None
    # the platform operator (and the worker, which cannot reach this) are no user of the org
    return None, None


async def create(conn: asyncpg.Connection, auth: AuthContext, body: ApiTokenCreateRequest) -> ApiTokenCreated:
    await users_service.check_role_company(conn, auth, body.role, body.company_id)
    if body.expires_at is not None and body.expires_at <= datetime.now(UTC):
        raise BadRequest("expires_at is in the past", code="expires_in_past")
    if body.user_id is not None:
        user = await users_service.get(conn, auth, body.user_id)
        if not user.is_active:
            raise BadRequest("the user is deactivated", code="user_inactive")
        # a token acting for a user never reaches further than that user
        if ROLE_RANK[body.role] > ROLE_RANK[user.role]:
            raise BadRequest("the token's role exceeds the user's role", code="role_exceeds_user")
        if user.company_id is not None and body.company_id != user.company_id:
            raise BadRequest("the token's company must be the user's company", code="company_mismatch")
    created_by_user_id, created_by_api_token_id = await _creator(conn, auth)
    plaintext = credentials.generate_api_token()
    token = await api_tokens_repo.insert_api_token(
        conn,
        auth.tenant_org_id,
        company_id=body.company_id,
        user_id=body.user_id,
        name=body.name,
        role=body.role,
        token_hash=credentials.hash_api_token(plaintext),
        token_prefix=credentials.token_display_prefix(plaintext),
        expires_at=body.expires_at,
        created_by_kind=auth.auth_method,
        created_by_user_id=created_by_user_id,
        created_by_api_token_id=created_by_api_token_id,
    )
    return ApiTokenCreated(**token.model_dump(), token=plaintext)


async def list(conn: asyncpg.Connection, auth: AuthContext, body: ApiTokenListRequest) -> Page[ApiToken]:
    rows = await api_tokens_repo.list_api_tokens_for_org(
        conn, auth.tenant_org_id, decode_cursor(body.cursor), body.limit
    )
    items, cursor = page(rows, body.limit)
    return Page[ApiToken](items=items, next_cursor=cursor)


async def revoke(conn: asyncpg.Connection, auth: AuthContext, api_token_id: uuid.UUID) -> ApiToken:
    token = await api_tokens_repo.revoke_api_token(conn, auth.tenant_org_id, api_token_id)
    if token is None:
        raise not_found("api_token")
    return token
