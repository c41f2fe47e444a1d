"""Demo tenant for a first start: an org, a company, an org_admin user and an API token.

Idempotent: objects are found by their natural keys; the token and password plaintexts cannot be
recovered from the database, so the caller passes back what it kept from the previous run and a
new token is issued only when that one no longer works.
"""

import secrets
from dataclasses import dataclass

import asyncpg

from app.auth import credentials
from app.auth.context import Role, org_scope
from app.models.api_tokens import ApiTokenCreateRequest
from app.models.companies import CompanyCreateRequest
from app.models.orgs import OrgCreateRequest
from app.models.users import UserCreateRequest
from app.repositories import api_tokens as api_tokens_repo
from app.repositories import companies as companies_repo
from app.repositories import orgs as orgs_repo
from app.repositories import users as users_repo
from app.services import api_tokens as api_tokens_service
from app.services import companies as companies_service
from app.services import orgs as orgs_service
from app.services import users as users_service

DEMO_SLUG = "demo"
DEMO_COMPANY_REF = "demo-company"
DEMO_EMAIL = "admin@demo.example"


@dataclass
class DemoTenant:
    org_id: str
    company_id: str
    user_id: str
    email: str
    password: str
    api_token: str


async def ensure_demo(conn: asyncpg.Connection, *, password: str | None, api_token: str | None) -> DemoTenant:
    org = await orgs_repo.get_org_by_slug(conn, DEMO_SLUG)
    if org is None:
        org = await orgs_service.create(conn, OrgCreateRequest(name="Demo Org", slug=DEMO_SLUG))
    scope = org_scope(org.id)

    company = await companies_repo.get_company_by_external_ref(conn, org.id, DEMO_COMPANY_REF)
    if company is None:
        company = await companies_service.create(
            conn, scope, CompanyCreateRequest(name="Demo Client Co", external_ref=DEMO_COMPANY_REF)
        )

    user = await users_repo.get_user_by_email(conn, org.id, DEMO_EMAIL)
    if user is None:
        password = password or secrets.token_urlsafe(12)
        user = await users_service.create(
            conn,
            scope,
            UserCreateRequest(email=DEMO_EMAIL, role=Role.org_admin, full_name="Demo Admin", password=password),
        )
    elif password is None:
        password = secrets.token_urlsafe(12)
        await users_repo.set_password_hash(conn, org.id, user.id, credentials.hash_password(password))

    valid = (
        api_token is not None
        and await api_tokens_repo.get_valid_token_by_hash(conn, credentials.hash_api_token(api_token)) is not None
    )
    if not valid:
        created = await api_tokens_service.create(
            conn, scope, ApiTokenCreateRequest(name="demo token", role=Role.org_admin, user_id=user.id)
        )
        api_token = created.token
    assert api_token is not None
    return DemoTenant(
        org_id=str(org.id),
        company_id=str(company.id),
        user_id=str(user.id),
        email=DEMO_EMAIL,
        password=password,
        api_token=api_token,
    )
