from fastapi import APIRouter, Request

from app.auth.dependencies import TenantAuth
from app.db import ConnDep, DbDep
from app.deps import LoginThrottleDep, SettingsDep
from app.models.auth import LoginRequest, LoginResponse, Me
from app.models.common import Data
from app.routers._responses import errors
from app.services import auth as auth_service

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/login", response_model=Data[LoginResponse], responses=errors(400))
async def login(
    body: LoginRequest, request: Request, db: DbDep, settings: SettingsDep, throttle: LoginThrottleDep
) -> Data[LoginResponse]:
    """Exchange an email and password for a session JWT of one user of one org. An email is
    unique per org: name the org with `org_slug`, or omit it and the login succeeds when the
    password matches exactly one membership (400 `org_required` with the matching orgs' slugs
    when it matches several). Throttled per email and per client address (429 with
    Retry-After); a successful login does not count."""
    address = request.client.host if request.client else None
    return Data(data=await auth_service.login(db, settings, throttle, body, address))


@router.post("/me", response_model=Data[Me], responses=errors())
async def me(auth: TenantAuth, conn: ConnDep) -> Data[Me]:
    """The caller's auth context and user."""
    return Data(data=await auth_service.me(conn, auth))
