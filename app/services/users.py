"""Users of an org."""

import uuid

import asyncpg

from app.auth import credentials
from app.auth.context import AuthContext, Role
from app.errors import BadRequest, not_found
from app.models.common import Page
from app.models.users import User, UserCreateRequest, UserListRequest
from app.pagination import decode_cursor, page
from app.repositories import api_tokens as api_tokens_repo
from app.repositories import users as users_repo
from app.services import companies as companies_service


async def check_role_company(
    conn: asyncpg.Connection, auth: AuthContext, role: Role, company_id: uuid.UUID | None
) -> None:
    """An org_admin spans the org; company_admin and member belong to one company of the org."""
    if role is Role.org_admin and company_id is not None:
        raise BadRequest("an org_admin is not bound to a company; omit company_id", code="company_not_allowed")
    if role is not Role.org_admin:
        if company_id is None:
            raise BadRequest(f"a {role.value} needs a company_id", code="company_required")
        await companies_service.get(conn, auth, company_id)


async def create(conn: asyncpg.Connection, auth: AuthContext, body: UserCreateRequest) -> User:
    await check_role_company(conn, auth, body.role, body.company_id)
    password_hash = await credentials.hash_password_off_loop(body.password) if body.password else None
    return await users_repo.insert_user(
        conn,
        auth.tenant_org_id,
        company_id=body.company_id,
        email=body.email,
        full_name=body.full_name,
        role=body.role,
        password_hash=password_hash,
    )


async def get(conn: asyncpg.Connection, auth: AuthContext, user_id: uuid.UUID) -> User:
    user = await users_repo.get_user(conn, auth.tenant_org_id, auth.company_id, user_id)
    if user is None:
        raise not_found("user")
    return user


async def list(conn: asyncpg.Connection, auth: AuthContext, body: UserListRequest) -> Page[User]:
    rows = await users_repo.list_users_for_org(
        conn, auth.tenant_org_id, auth.company_id, decode_cursor(body.cursor), body.limit
    )
    items, cursor = page(rows, body.limit)
    return Page[User](items=items, next_cursor=cursor)


async def deactivate(conn: asyncpg.Connection, auth: AuthContext, user_id: uuid.UUID) -> User:
    """Deactivate a user and revoke, in the same transaction, every token bound to them or minted
    by them (directly or through a chain of tokens): nothing they could hold outlives them.
    Revocation is permanent; reactivating the row later brings none of them back."""
    user = await users_repo.deactivate_user(conn, auth.tenant_org_id, user_id)
    if user is None:
        raise not_found("user")
    await api_tokens_repo.revoke_tokens_of_user(conn, auth.tenant_org_id, user_id)
    return user
