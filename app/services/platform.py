"""Super-admin actions on a named org: resolve the org (404 if absent), then act in its scope
through the same services tenants use, so the rules are written once."""

import uuid

import asyncpg

from app.auth.context import AuthContext, org_scope
from app.errors import not_found
from app.models.api_tokens import (
    ApiToken,
    ApiTokenCreated,
    SuperAdminApiTokenCreateRequest,
    SuperAdminApiTokenListRequest,
)
from app.models.blueprints import (
    Blueprint,
    BlueprintUpdateRequest,
    SuperAdminBlueprintCreateRequest,
    SuperAdminBlueprintListRequest,
)
from app.models.common import Page
from app.models.companies import Company, SuperAdminCompanyCreateRequest, SuperAdminCompanyListRequest
from app.models.users import SuperAdminUserCreateRequest, SuperAdminUserListRequest, User
from app.repositories import platform as platform_repo
from app.services import api_tokens as api_tokens_service
from app.services import blueprints as blueprints_service
from app.services import companies as companies_service
from app.services import orgs as orgs_service
from app.services import users as users_service


async def create_company(conn: asyncpg.Connection, body: SuperAdminCompanyCreateRequest) -> Company:
    return await companies_service.create(conn, await orgs_service.scope_for(conn, body.org_id), body)


async def list_companies(conn: asyncpg.Connection, body: SuperAdminCompanyListRequest) -> Page[Company]:
    return await companies_service.list(conn, await orgs_service.scope_for(conn, body.org_id), body)


async def create_user(conn: asyncpg.Connection, body: SuperAdminUserCreateRequest) -> User:
    return await users_service.create(conn, await orgs_service.scope_for(conn, body.org_id), body)


async def list_users(conn: asyncpg.Connection, body: SuperAdminUserListRequest) -> Page[User]:
    return await users_service.list(conn, await orgs_service.scope_for(conn, body.org_id), body)


async def create_api_token(conn: asyncpg.Connection, body: SuperAdminApiTokenCreateRequest) -> ApiTokenCreated:
    return await api_tokens_service.create(conn, await orgs_service.scope_for(conn, body.org_id), body)


async def list_api_tokens(conn: asyncpg.Connection, body: SuperAdminApiTokenListRequest) -> Page[ApiToken]:
    return await api_tokens_service.list(conn, await orgs_service.scope_for(conn, body.org_id), body)


async def create_blueprint(conn: asyncpg.Connection, body: SuperAdminBlueprintCreateRequest) -> Blueprint:
    return await blueprints_service.create(conn, await orgs_service.scope_for(conn, body.org_id), body)


async def list_blueprints(conn: asyncpg.Connection, body: SuperAdminBlueprintListRequest) -> Page[Blueprint]:
    return await blueprints_service.list(conn, await orgs_service.scope_for(conn, body.org_id), body)


async def _scope_of(conn: asyncpg.Connection, kind: str, object_id: uuid.UUID) -> AuthContext:
    org_id = await platform_repo.org_of(conn, kind, object_id)
    if org_id is None:
        raise not_found(kind)
    return org_scope(org_id)


async def get_company(conn: asyncpg.Connection, company_id: uuid.UUID) -> Company:
    return await companies_service.get(conn, await _scope_of(conn, "company", company_id), company_id)


async def get_user(conn: asyncpg.Connection, user_id: uuid.UUID) -> User:
    return await users_service.get(conn, await _scope_of(conn, "user", user_id), user_id)


async def deactivate_user(conn: asyncpg.Connection, user_id: uuid.UUID) -> User:
    return await users_service.deactivate(conn, await _scope_of(conn, "user", user_id), user_id)


async def revoke_api_token(conn: asyncpg.Connection, api_token_id: uuid.UUID) -> ApiToken:
    return await api_tokens_service.revoke(conn, await _scope_of(conn, "api_token", api_token_id), api_token_id)


async def get_blueprint(conn: asyncpg.Connection, blueprint_id: uuid.UUID) -> Blueprint:
    return await blueprints_service.get(conn, await _scope_of(conn, "blueprint", blueprint_id), blueprint_id)


async def update_blueprint(conn: asyncpg.Connection, body: BlueprintUpdateRequest) -> Blueprint:
    return await blueprints_service.update(conn, await _scope_of(conn, "blueprint", body.blueprint_id), body)
