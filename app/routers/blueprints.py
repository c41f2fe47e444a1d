from typing import Annotated

from fastapi import APIRouter, Body

from app.auth.dependencies import BlueprintReaderAuth, BlueprintWriterAuth
from app.db import ConnDep
from app.models.blueprints import (
    Blueprint,
    BlueprintCreateRequest,
    BlueprintGetRequest,
    BlueprintListRequest,
    BlueprintUpdateRequest,
)
from app.models.common import Data, Page
from app.routers._responses import errors
from app.services import blueprints as blueprints_service

router = APIRouter(prefix="/api/blueprints", tags=["blueprints"])


@router.post("/create", response_model=Data[Blueprint], responses=errors(400, 403))
async def create(body: BlueprintCreateRequest, auth: BlueprintWriterAuth, conn: ConnDep) -> Data[Blueprint]:
    """Create a blueprint: ordered steps, each an operation of the catalog."""
    return Data(data=await blueprints_service.create(conn, auth, body))


@router.post("/list", response_model=Data[Page[Blueprint]], responses=errors(400))
async def list_blueprints(
    auth: BlueprintReaderAuth,
    conn: ConnDep,
    body: Annotated[BlueprintListRequest, Body(default_factory=BlueprintListRequest)],
) -> Data[Page[Blueprint]]:
    """Blueprints of the caller's org."""
    return Data(data=await blueprints_service.list(conn, auth, body))


@router.post("/get", response_model=Data[Blueprint], responses=errors(404))
async def get(body: BlueprintGetRequest, auth: BlueprintReaderAuth, conn: ConnDep) -> Data[Blueprint]:
    """One blueprint with its steps."""
    return Data(data=await blueprints_service.get(conn, auth, body.blueprint_id))


@router.post("/update", response_model=Data[Blueprint], responses=errors(400, 403, 404))
async def update(body: BlueprintUpdateRequest, auth: BlueprintWriterAuth, conn: ConnDep) -> Data[Blueprint]:
    """Change a blueprint; its version rises, and runs already submitted keep their snapshot."""
    return Data(data=await blueprints_service.update(conn, auth, body))
