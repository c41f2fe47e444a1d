from typing import Annotated

from fastapi import APIRouter, Body

from app.auth.dependencies import OrgAdminAuth
from app.db import ConnDep
from app.models.common import Data, Page
from app.models.users import User, UserCreateRequest, UserGetRequest, UserListRequest
from app.routers._responses import errors
from app.services import users as users_service

router = APIRouter(prefix="/api/users", tags=["users"])


@router.post("/create", response_model=Data[User], responses=errors(400, 403, 404, 409))
async def create(body: UserCreateRequest, auth: OrgAdminAuth, conn: ConnDep) -> Data[User]:
    """Create a user in the caller's org."""
    return Data(data=await users_service.create(conn, auth, body))


@router.post("/list", response_model=Data[Page[User]], responses=errors(400, 403))
async def list_users(
    auth: OrgAdminAuth,
    conn: ConnDep,
    body: Annotated[UserListRequest, Body(default_factory=UserListRequest)],
) -> Data[Page[User]]:
    """Users of the caller's org."""
    return Data(data=await users_service.list(conn, auth, body))


@router.post("/get", response_model=Data[User], responses=errors(403, 404))
async def get(body: UserGetRequest, auth: OrgAdminAuth, conn: ConnDep) -> Data[User]:
    """One user."""
    return Data(data=await users_service.get(conn, auth, body.user_id))
