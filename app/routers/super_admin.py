"""Platform endpoints: the super-admin key only. Bodies name the org explicitly."""

from fastapi import APIRouter

from app import metrics as app_metrics
from app.auth.dependencies import SuperAdminAuth
from app.db import ConnDep
from app.models.api_tokens import (
    ApiToken,
    ApiTokenCreated,
    ApiTokenRevokeRequest,
    SuperAdminApiTokenCreateRequest,
    SuperAdminApiTokenListRequest,
)
from app.models.blueprints import (
    Blueprint,
    BlueprintGetRequest,
    BlueprintUpdateRequest,
    SuperAdminBlueprintCreateRequest,
    SuperAdminBlueprintListRequest,
)
from app.models.common import Data, Page
from app.models.companies import (
    Company,
    CompanyGetRequest,
    SuperAdminCompanyCreateRequest,
    SuperAdminCompanyListRequest,
)
from app.models.orgs import Org, OrgCreateRequest, OrgGetRequest, OrgListRequest, OrgUpdateRequest
from app.models.users import (
    SuperAdminUserCreateRequest,
    SuperAdminUserListRequest,
    User,
    UserDeactivateRequest,
    UserGetRequest,
)
from app.routers._responses import errors
from app.services import orgs as orgs_service
from app.services import platform as platform_service

router = APIRouter(prefix="/api/super-admin", tags=["super-admin"])


@router.post("/metrics", response_model=Data[dict[str, dict[str, int]]], responses=errors())
async def metrics(_: SuperAdminAuth) -> Data[dict[str, dict[str, int]]]:
    """This API process's counters since it started: requests by path and status class, transactions."""
    return Data(data=app_metrics.snapshot())


@router.post("/orgs/create", response_model=Data[Org], responses=errors(409))
async def create_org(body: OrgCreateRequest, _: SuperAdminAuth, conn: ConnDep) -> Data[Org]:
    """Create an org (a tenant)."""
    return Data(data=await orgs_service.create(conn, body))


@router.post("/orgs/list", response_model=Data[Page[Org]], responses=errors(400))
async def list_orgs(body: OrgListRequest, _: SuperAdminAuth, conn: ConnDep) -> Data[Page[Org]]:
    """Every org."""
    return Data(data=await orgs_service.list(conn, body))


@router.post("/orgs/get", response_model=Data[Org], responses=errors(404))
async def get_org(body: OrgGetRequest, _: SuperAdminAuth, conn: ConnDep) -> Data[Org]:
    """One org."""
    return Data(data=await orgs_service.get(conn, body.org_id))


@router.post("/orgs/update", response_model=Data[Org], responses=errors(404, 409))
async def update_org(body: OrgUpdateRequest, _: SuperAdminAuth, conn: ConnDep) -> Data[Org]:
    """Rename, re-slug, or (de)activate an org; a deactivated org's credentials stop working."""
    return Data(data=await orgs_service.update(conn, body))


@router.post("/companies/create", response_model=Data[Company], responses=errors(404, 409))
async def create_company(body: SuperAdminCompanyCreateRequest, _: SuperAdminAuth, conn: ConnDep) -> Data[Company]:
    """Create a company in an org."""
    return Data(data=await platform_service.create_company(conn, body))


@router.post("/companies/list", response_model=Data[Page[Company]], responses=errors(400, 404))
async def list_companies(body: SuperAdminCompanyListRequest, _: SuperAdminAuth, conn: ConnDep) -> Data[Page[Company]]:
    """Companies of an org."""
    return Data(data=await platform_service.list_companies(conn, body))


@router.post("/companies/get", response_model=Data[Company], responses=errors(404))
async def get_company(body: CompanyGetRequest, _: SuperAdminAuth, conn: ConnDep) -> Data[Company]:
    """One company."""
    return Data(data=await platform_service.get_company(conn, body.company_id))


@router.post("/users/create", response_model=Data[User], responses=errors(400, 404, 409))
async def create_user(body: SuperAdminUserCreateRequest, _: SuperAdminAuth, conn: ConnDep) -> Data[User]:
    """Create a user in an org."""
    return Data(data=await platform_service.create_user(conn, body))


@router.post("/users/list", response_model=Data[Page[User]], responses=errors(400, 404))
async def list_users(body: SuperAdminUserListRequest, _: SuperAdminAuth, conn: ConnDep) -> Data[Page[User]]:
    """Users of an org."""
    return Data(data=await platform_service.list_users(conn, body))


@router.post("/users/get", response_model=Data[User], responses=errors(404))
async def get_user(body: UserGetRequest, _: SuperAdminAuth, conn: ConnDep) -> Data[User]:
    """One user."""
    return Data(data=await platform_service.get_user(conn, body.user_id))


@router.post("/users/deactivate", response_model=Data[User], responses=errors(404))
async def deactivate_user(body: UserDeactivateRequest, _: SuperAdminAuth, conn: ConnDep) -> Data[User]:
    """Deactivate a user: their sessions stop working, and every API token bound to them or minted
    by them (directly or through tokens they minted) is revoked."""
    return Data(data=await platform_service.deactivate_user(conn, body.user_id))


@router.post("/api-tokens/create", response_model=Data[ApiTokenCreated], responses=errors(400, 404))
async def create_api_token(
    body: SuperAdminApiTokenCreateRequest, _: SuperAdminAuth, conn: ConnDep
) -> Data[ApiTokenCreated]:
    """Create an API token in an org; its plaintext appears only in this response."""
    return Data(data=await platform_service.create_api_token(conn, body))


@router.post("/api-tokens/list", response_model=Data[Page[ApiToken]], responses=errors(400, 404))
async def list_api_tokens(
    body: SuperAdminApiTokenListRequest, _: SuperAdminAuth, conn: ConnDep
) -> Data[Page[ApiToken]]:
    """API tokens of an org."""
    return Data(data=await platform_service.list_api_tokens(conn, body))


@router.post("/api-tokens/revoke", response_model=Data[ApiToken], responses=errors(404))
async def revoke_api_token(body: ApiTokenRevokeRequest, _: SuperAdminAuth, conn: ConnDep) -> Data[ApiToken]:
    """Revoke an API token."""
    return Data(data=await platform_service.revoke_api_token(conn, body.api_token_id))


@router.post("/blueprints/create", response_model=Data[Blueprint], responses=errors(400, 404))
async def create_blueprint(body: SuperAdminBlueprintCreateRequest, _: SuperAdminAuth, conn: ConnDep) -> Data[Blueprint]:
    """Create a blueprint in an org."""
    return Data(data=await platform_service.create_blueprint(conn, body))


@router.post("/blueprints/list", response_model=Data[Page[Blueprint]], responses=errors(400, 404))
async def list_blueprints(
    body: SuperAdminBlueprintListRequest, _: SuperAdminAuth, conn: ConnDep
) -> Data[Page[Blueprint]]:
    """Blueprints of an org."""
    return Data(data=await platform_service.list_blueprints(conn, body))


@router.post("/blueprints/get", response_model=Data[Blueprint], responses=errors(404))
async def get_blueprint(body: BlueprintGetRequest, _: SuperAdminAuth, conn: ConnDep) -> Data[Blueprint]:
    """One blueprint."""
    return Data(data=await platform_service.get_blueprint(conn, body.blueprint_id))


@router.post("/blueprints/update", response_model=Data[Blueprint], responses=errors(400, 404))
async def update_blueprint(body: BlueprintUpdateRequest, _: SuperAdminAuth, conn: ConnDep) -> Data[Blueprint]:
    """Change a blueprint."""
    return Data(data=await platform_service.update_blueprint(conn, body))
