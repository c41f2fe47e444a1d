from typing import Annotated

from fastapi import APIRouter, Body

from app.auth.dependencies import OrgAdminAuth
from app.db import ConnDep
from app.models.api_tokens import (
    ApiToken,
    ApiTokenCreated,
    ApiTokenCreateRequest,
    ApiTokenListRequest,
    ApiTokenRevokeRequest,
)
from app.models.common import Data, Page
from app.routers._responses import errors
from app.services import api_tokens as api_tokens_service

router = APIRouter(prefix="/api/api-tokens", tags=["api-tokens"])


@router.post("/create", response_model=Data[ApiTokenCreated], responses=errors(400, 403, 404))
async def create(body: ApiTokenCreateRequest, auth: OrgAdminAuth, conn: ConnDep) -> Data[ApiTokenCreated]:
    """Create an API token; its plaintext appears only in this response."""
    return Data(data=await api_tokens_service.create(conn, auth, body))


@router.post("/list", response_model=Data[Page[ApiToken]], responses=errors(400, 403))
async def list_tokens(
    auth: OrgAdminAuth,
    conn: ConnDep,
    body: Annotated[ApiTokenListRequest, Body(default_factory=ApiTokenListRequest)],
) -> Data[Page[ApiToken]]:
    """API tokens of the caller's org (metadata only)."""
    return Data(data=await api_tokens_service.list(conn, auth, body))


@router.post("/revoke", response_model=Data[ApiToken], responses=errors(403, 404))
async def revoke(body: ApiTokenRevokeRequest, auth: OrgAdminAuth, conn: ConnDep) -> Data[ApiToken]:
    """Revoke an API token; revoking twice is harmless."""
    return Data(data=await api_tokens_service.revoke(conn, auth, body.api_token_id))
