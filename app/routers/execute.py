from fastapi import APIRouter

from app.auth.dependencies import ExecuteAuth
from app.db import DbDep
from app.deps import EngineDep
from app.models.common import Data
from app.models.execute import ExecuteRequest, ExecuteResult
from app.routers._responses import errors
from app.services import execute as execute_service

router = APIRouter(prefix="/api/v1", tags=["execute"])


@router.post("/execute", response_model=Data[ExecuteResult], responses=errors(400, 402, 403, 404))
async def execute(body: ExecuteRequest, auth: ExecuteAuth, db: DbDep, engine: EngineDep) -> Data[ExecuteResult]:
    """Run one operation's provider waterfall on one entity; the run and every attempt are recorded,
    with what each provider call cost (`cost_credits`, `cost_usd`; docs/costs.md). 402
    `budget_exhausted` when the org's or the company's monthly budget leaves no room for a call."""
    return Data(data=await execute_service.execute(db, engine, auth, body))
