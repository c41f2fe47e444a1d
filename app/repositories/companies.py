"""Companies of an org. Every function takes the org, and the caller's company scope where a
company-scoped caller may reach it (None means the whole org)."""

import uuid
from datetime import datetime

import asyncpg

from app.errors import Conflict
from app.models.companies import Company

COMPANY_COLUMNS = "id, org_id, name, external_ref, is_active, created_at, updated_at"

INSERT_COMPANY = f"""
INSERT INTO companies (org_id, name, external_ref) VALUES ($1, $2, $3)
RETURNING {COMPANY_COLUMNS}
"""
GET_COMPANY = f"""
SELECT {COMPANY_COLUMNS} FROM companies
WHERE id = $1 AND org_id = $2 AND ($3::uuid IS NULL OR id = $3)
"""
LIST_COMPANIES_FOR_ORG = f"""
SELECT {COMPANY_COLUMNS} FROM companies
WHERE org_id = $1
  AND ($2::uuid IS NULL OR id = $2)
  AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $5
"""


async def insert_company(conn: asyncpg.Connection, org_id: uuid.UUID, name: str, external_ref: str | None) -> Company:
    try:
        row = await conn.fetchrow(INSERT_COMPANY, org_id, name, external_ref)
    except asyncpg.UniqueViolationError as e:
        raise Conflict("a company with this external_ref already exists in the org", code="external_ref_taken") from e
    return Company.model_validate(dict(row))


async def get_company(
    conn: asyncpg.Connection, org_id: uuid.UUID, company_scope: uuid.UUID | None, company_id: uuid.UUID
) -> Company | None:
    row = await conn.fetchrow(GET_COMPANY, company_id, org_id, company_scope)
    return Company.model_validate(dict(row)) if row else None


async def list_companies_for_org(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    company_scope: uuid.UUID | None,
    after: tuple[datetime | None, uuid.UUID | None],
    limit: int,
) -> list[Company]:
    rows = await conn.fetch(LIST_COMPANIES_FOR_ORG, org_id, company_scope, after[0], after[1], limit + 1)
    return [Company.model_validate(dict(r)) for r in rows]


GET_COMPANY_BY_EXTERNAL_REF = f"SELECT {COMPANY_COLUMNS} FROM companies WHERE org_id = $1 AND external_ref = $2"


async def get_company_by_external_ref(conn: asyncpg.Connection, org_id: uuid.UUID, external_ref: str) -> Company | None:
    row = await conn.fetchrow(GET_COMPANY_BY_EXTERNAL_REF, org_id, external_ref)
    return Company.model_validate(dict(row)) if row else None


COMPANY_IN_ORG = "SELECT EXISTS (SELECT 1 FROM companies WHERE id = $1 AND org_id = $2)"


async def company_in_org(conn: asyncpg.Connection, company_id: uuid.UUID, org_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval(COMPANY_IN_ORG, company_id, org_id))
