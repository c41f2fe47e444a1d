"""Client companies of an org."""

import uuid

import asyncpg

from app.auth.context import AuthContext
from app.errors import not_found
from app.models.common import Page
from app.models.companies import Company, CompanyCreateRequest, CompanyListRequest
from app.pagination import decode_cursor, page
from app.repositories import companies as companies_repo


async def create(conn: asyncpg.Connection, auth: AuthContext, body: CompanyCreateRequest) -> Company:
    return await companies_repo.insert_company(conn, auth.tenant_org_id, body.name, body.external_ref)


async def get(conn: asyncpg.Connection, auth: AuthContext, company_id: uuid.UUID) -> Company:
    company = await companies_repo.get_company(conn, auth.tenant_org_id, auth.company_id, company_id)
    if company is None:
        raise not_found("company")
    return company


async def list(conn: asyncpg.Connection, auth: AuthContext, body: CompanyListRequest) -> Page[Company]:
    rows = await companies_repo.list_companies_for_org(
        conn, auth.tenant_org_id, auth.company_id, decode_cursor(body.cursor), body.limit
    )
    items, cursor = page(rows, body.limit)
    return Page[Company](items=items, next_cursor=cursor)
