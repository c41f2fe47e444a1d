from typing import Annotated

from fastapi import APIRouter, Body

from app.auth.dependencies import ReaderAuth
from app.db import ConnDep
from app.models.common import Data, Page
from app.models.entities import (
    CompanyEntity,
    EntityHistoryRequest,
    EntityListRequest,
    EntityVersion,
    PersonEntity,
    TimelineEvent,
)
from app.routers._responses import errors
from app.services import entities as entities_service

router = APIRouter(prefix="/api/v1/entities", tags=["entities"])


@router.post("/companies", response_model=Data[Page[CompanyEntity]], responses=errors(400))
async def companies(
    auth: ReaderAuth, conn: ConnDep, body: Annotated[EntityListRequest, Body(default_factory=EntityListRequest)]
) -> Data[Page[CompanyEntity]]:
    """Canonical company records, most recently updated first."""
    return Data(data=await entities_service.list_companies(conn, auth, body))


@router.post("/persons", response_model=Data[Page[PersonEntity]], responses=errors(400))
async def persons(
    auth: ReaderAuth, conn: ConnDep, body: Annotated[EntityListRequest, Body(default_factory=EntityListRequest)]
) -> Data[Page[PersonEntity]]:
    """Canonical person records, most recently updated first."""
    return Data(data=await entities_service.list_persons(conn, auth, body))


@router.post("/versions", response_model=Data[Page[EntityVersion]], responses=errors(404))
async def versions(body: EntityHistoryRequest, auth: ReaderAuth, conn: ConnDep) -> Data[Page[EntityVersion]]:
    """A record's versions, newest first: per run merged into it, the fields it changed (from, to)."""
    return Data(data=await entities_service.versions(conn, auth, body))


@router.post("/timeline", response_model=Data[Page[TimelineEvent]], responses=errors(404))
async def timeline(body: EntityHistoryRequest, auth: ReaderAuth, conn: ConnDep) -> Data[Page[TimelineEvent]]:
    """Every pipeline step that built a record, newest first, with its provider and the fields it changed."""
    return Data(data=await entities_service.timeline(conn, auth, body))
