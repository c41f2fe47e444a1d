from typing import Annotated

from fastapi import APIRouter, Body

from app.auth.dependencies import OrgAdminAuth, ReaderAuth
from app.db import ConnDep
from app.models.common import Data, Page
from app.models.companies import Company, CompanyCreateRequest, CompanyGetRequest, CompanyListRequest
from app.routers._responses import errors
from app.services import companies as companies_service

router = APIRouter(prefix="/api/companies", tags=["companies"])


@router.post("/create", response_model=Data[Company], responses=errors(403, 409))
async def create(body: CompanyCreateRequest, auth: OrgAdminAuth, conn: ConnDep) -> Data[Company]:
    """Create a client company in the caller's org."""
    return Data(data=await companies_service.create(conn, auth, body))


@router.post("/list", response_model=Data[Page[Company]], responses=errors(400))
async def list_companies(
    auth: ReaderAuth,
    conn: ConnDep,
    body: Annotated[CompanyListRequest, Body(default_factory=CompanyListRequest)],
) -> Data[Page[Company]]:
    """Companies visible to the caller."""
    return Data(data=await companies_service.list(conn, auth, body))


@router.post("/get", response_model=Data[Company], responses=errors(404))
async def get(body: CompanyGetRequest, auth: ReaderAuth, conn: ConnDep) -> Data[Company]:
    """One company."""
    return Data(data=await companies_service.get(conn, auth, body.company_id))
