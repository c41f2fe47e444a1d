"""Test objects, made through the same services the API uses."""

import secrets
import uuid
from dataclasses import dataclass

import asyncpg

from app.auth import credentials
from app.auth.context import Role, org_scope
from app.models.api_tokens import ApiTokenCreateRequest
from app.models.blueprints import BlueprintCreateRequest, BlueprintStepInput
from app.models.companies import CompanyCreateRequest
from app.models.orgs import Org, OrgCreateRequest
from app.models.users import User, UserCreateRequest
from app.services import api_tokens as api_tokens_service
from app.services import blueprints as blueprints_service
from app.services import companies as companies_service
from app.services import orgs as orgs_service
from app.services import users as users_service

PASSWORD = "correct horse battery staple"


def _suffix() -> str:
    return secrets.token_hex(4)


async def create_org(conn: asyncpg.Connection, **overrides: str) -> Org:
    body = {"name": "Org " + _suffix(), "slug": "org-" + _suffix(), **overrides}
    return await orgs_service.create(conn, OrgCreateRequest(**body))


async def create_company(conn: asyncpg.Connection, org_id: uuid.UUID, **overrides: str):
    body = {"name": "Company " + _suffix(), **overrides}
    return await companies_service.create(conn, org_scope(org_id), CompanyCreateRequest(**body))


async def create_user(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    role: Role = Role.org_admin,
    company_id: uuid.UUID | None = None,
    password: str | None = PASSWORD,
) -> User:
    body = UserCreateRequest(
        email=f"user-{_suffix()}@example.com",
        role=role,
        company_id=company_id,
        full_name="Test User",
        password=password,
    )
    return await users_service.create(conn, org_scope(org_id), body)


async def create_token(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    role: Role = Role.org_admin,
    company_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    expires_at=None,
) -> tuple[str, uuid.UUID]:
    body = ApiTokenCreateRequest(
        name="token " + _suffix(), role=role, company_id=company_id, user_id=user_id, expires_at=expires_at
    )
    created = await api_tokens_service.create(conn, org_scope(org_id), body)
    return created.token, created.id


async def create_blueprint(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    operation_ids: tuple[str, ...] = ("company.enrich.profile", "company.ads.search.meta"),
):
    steps = [BlueprintStepInput(position=i + 1, operation_id=op) for i, op in enumerate(operation_ids)]
    body = BlueprintCreateRequest(name="Blueprint " + _suffix(), steps=steps)
    return await blueprints_service.create(conn, org_scope(org_id), body)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Tenant:
    """An org with two companies and a caller of every role (plus a JWT-backed user)."""

    org: Org
    company_a: object
    company_b: object
    tokens: dict[Role, str]
    users: dict[Role, User]
    blueprint: object

    def headers(self, role: Role) -> dict[str, str]:
        return bearer(self.tokens[role])


async def create_tenant(conn: asyncpg.Connection) -> Tenant:
    org = await create_org(conn)
    company_a = await create_company(conn, org.id)
    company_b = await create_company(conn, org.id)
    users: dict[Role, User] = {}
    tokens: dict[Role, str] = {}
    for role in Role:
        company_id = None if role is Role.org_admin else company_a.id
        users[role] = await create_user(conn, org.id, role, company_id, password=None)
        tokens[role], _ = await create_token(conn, org.id, role, company_id, users[role].id)
    blueprint = await create_blueprint(conn, org.id)
    return Tenant(org=org, company_a=company_a, company_b=company_b, tokens=tokens, users=users, blueprint=blueprint)


def jwt_for(user: User, secret: str, ttl_seconds: int = 3600) -> str:
    return credentials.issue_jwt(user_id=user.id, org_id=user.org_id, secret=secret, ttl_seconds=ttl_seconds)
