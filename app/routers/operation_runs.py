from typing import Annotated

from fastapi import APIRouter, Body

from app.auth.dependencies import ReaderAuth
from app.db import ConnDep
from app.models.common import Data, Page
from app.models.execute import OperationRun, OperationRunDetail, OperationRunGetRequest, OperationRunListRequest
from app.routers._responses import errors
from app.services import operation_runs as operation_runs_service

router = APIRouter(prefix="/api/operation-runs", tags=["operation-runs"])


@router.post("/list", response_model=Data[Page[OperationRun]], responses=errors(400))
async def list_runs(
    auth: ReaderAuth,
    conn: ConnDep,
    body: Annotated[OperationRunListRequest, Body(default_factory=OperationRunListRequest)],
) -> Data[Page[OperationRun]]:
    """Operation runs visible to the caller, newest first."""
    return Data(data=await operation_runs_service.list(conn, auth, body))


@router.post("/get", response_model=Data[OperationRunDetail], responses=errors(404))
async def get(body: OperationRunGetRequest, auth: ReaderAuth, conn: ConnDep) -> Data[OperationRunDetail]:
    """One operation run with every provider attempt and its raw (redacted) response."""
    return Data(data=await operation_runs_service.get(conn, auth, body.run_id))
