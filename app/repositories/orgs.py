"""Orgs are platform objects: only super-admin services reach this module."""

import uuid
from datetime import datetime

import asyncpg

from app.errors import Conflict
from app.models.orgs import Org

ORG_COLUMNS = "id, name, slug::text AS slug, is_active, created_at, updated_at"

INSERT_ORG = f"INSERT INTO orgs (name, slug) VALUES ($1, $2) RETURNING {ORG_COLUMNS}"
GET_ORG = f"SELECT {ORG_COLUMNS} FROM orgs WHERE id = $1"
GET_ORG_BY_SLUG = f"SELECT {ORG_COLUMNS} FROM orgs WHERE slug = $1"
LIST_ORGS = f"""
SELECT {ORG_COLUMNS} FROM orgs
WHERE ($1::timestamptz IS NULL OR (created_at, id) < ($1, $2::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $3
"""
# COALESCE keeps a field the request did not name
UPDATE_ORG = f"""
UPDATE orgs SET
    name = COALESCE($2, name),
    slug = COALESCE($3, slug),
    is_active = COALESCE($4, is_active)
WHERE id = $1
RETURNING {ORG_COLUMNS}
"""


def _slug_taken(e: asyncpg.UniqueViolationError) -> Conflict:
    return Conflict("an org with this slug already exists", code="slug_taken")


async def insert_org(conn: asyncpg.Connection, name: str, slug: str) -> Org:
    try:
        row = await conn.fetchrow(INSERT_ORG, name, slug)
    except asyncpg.UniqueViolationError as e:
        raise _slug_taken(e) from e
    return Org.model_validate(dict(row))


async def get_org(conn: asyncpg.Connection, org_id: uuid.UUID) -> Org | None:
    row = await conn.fetchrow(GET_ORG, org_id)
    return Org.model_validate(dict(row)) if row else None


async def get_org_by_slug(conn: asyncpg.Connection, slug: str) -> Org | None:
    row = await conn.fetchrow(GET_ORG_BY_SLUG, slug)
    return Org.model_validate(dict(row)) if row else None


async def list_orgs(conn: asyncpg.Connection, after: tuple[datetime | None, uuid.UUID | None], limit: int) -> list[Org]:
    rows = await conn.fetch(LIST_ORGS, after[0], after[1], limit + 1)
    return [Org.model_validate(dict(r)) for r in rows]


async def update_org(
    conn: asyncpg.Connection, org_id: uuid.UUID, *, name: str | None, slug: str | None, is_active: bool | None
) -> Org | None:
    try:
        row = await conn.fetchrow(UPDATE_ORG, org_id, name, slug, is_active)
    except asyncpg.UniqueViolationError as e:
        raise _slug_taken(e) from e
    return Org.model_validate(dict(row)) if row else None


ORG_IS_ACTIVE = "SELECT EXISTS (SELECT 1 FROM orgs WHERE id = $1 AND is_active)"


async def org_is_active(conn: asyncpg.Connection, org_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval(ORG_IS_ACTIVE, org_id))
