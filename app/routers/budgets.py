from fastapi import APIRouter

from app.auth.dependencies import BudgetAdminAuth
from app.db import ConnDep
from app.models.budgets import Budget, BudgetGetRequest, BudgetSetRequest
from app.models.common import Data
from app.routers._responses import errors
from app.services import budgets as budgets_service

router = APIRouter(prefix="/api/budgets", tags=["budgets"])


@router.post("/set", response_model=Data[Budget], responses=errors(400, 403, 404))
async def set_budget(body: BudgetSetRequest, auth: BudgetAdminAuth, conn: ConnDep) -> Data[Budget]:
    """Set the monthly USD limit of the org (no `company_id`) or of one of its companies. Once the
    scope's known provider spend in the UTC month reaches it, no further provider call is made:
    execute answers 402 `budget_exhausted` and pipeline steps fail with that reason. Raising the
    limit lets calls go ahead again; `/api/pipeline-runs/retry` resumes the stopped runs."""
    return Data(data=await budgets_service.set_budget(conn, auth, body))


@router.post("/get", response_model=Data[Budget], responses=errors(400, 403, 404))
async def get_budget(body: BudgetGetRequest, auth: BudgetAdminAuth, conn: ConnDep) -> Data[Budget]:
    """The org's budget (no `company_id`) or a company's, with this month's spend and what calls in
    flight hold. A scope without a budget answers `limit_usd: null` with the month's spend."""
    return Data(data=await budgets_service.get_budget(conn, auth, body))
