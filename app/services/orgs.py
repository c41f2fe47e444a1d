"""Orgs (platform operator only)."""

import uuid

import asyncpg

from app.auth.context import AuthContext, org_scope
from app.errors import not_found
from app.models.common import Page
from app.models.orgs import Org, OrgCreateRequest, OrgListRequest, OrgUpdateRequest
from app.pagination import decode_cursor, page
from app.repositories import orgs as orgs_repo


async def create(conn: asyncpg.Connection, body: OrgCreateRequest) -> Org:
    return await orgs_repo.insert_org(conn, body.name, body.slug)


async def get(conn: asyncpg.Connection, org_id: uuid.UUID) -> Org:
    org = await orgs_repo.get_org(conn, org_id)
    if org is None:
        raise not_found("org")
    return org


async def list(conn: asyncpg.Connection, body: OrgListRequest) -> Page[Org]:
    items, cursor = page(await orgs_repo.list_orgs(conn, decode_cursor(body.cursor), body.limit), body.limit)
    return Page[Org](items=items, next_cursor=cursor)


async def update(conn: asyncpg.Connection, body: OrgUpdateRequest) -> Org:
    org = await orgs_repo.update_org(conn, body.org_id, name=body.name, slug=body.slug, is_active=body.is_active)
    if org is None:
        raise not_found("org")
    return org


async def scope_for(conn: asyncpg.Connection, org_id: uuid.UUID) -> AuthContext:
    """The auth context a super-admin call acts in: the named org, which must exist."""
    await get(conn, org_id)
    return org_scope(org_id)
