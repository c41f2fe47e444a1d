from fastapi import APIRouter

from app.auth.dependencies import ExecuteAuth
from app.db import DbDep
from app.deps import EngineDep
from app.models.common import Data
from app.models.execute import ExecuteRequest, ExecuteResult
from app.routers._responses import errors
from app.services import execute as execute_service

router = APIRouter(prefix="/api/v1", tags=["execute"])


@router.post("/execute", response_model=Data[ExecuteResult], responses=errors(400, 403, 404))
async def execute(body: ExecuteRequest, auth: ExecuteAuth, db: DbDep, engine: EngineDep) -> Data[ExecuteResult]:
    """Run one operation's provider waterfall on one entity; the run and every attempt are recorded."""
    return Data(data=await execute_service.execute(db, engine, auth, body))
