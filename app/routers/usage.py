from fastapi import APIRouter

from app.auth.dependencies import ReaderAuth
from app.db import ConnDep
from app.models.common import Data
from app.models.usage import UsageSummary, UsageSummaryRequest
from app.routers._responses import errors
from app.services import usage as usage_service

router = APIRouter(prefix="/api/usage", tags=["usage"])


@router.post("/summary", response_model=Data[UsageSummary], responses=errors(400, 403))
async def summary(body: UsageSummaryRequest, auth: ReaderAuth, conn: ConnDep) -> Data[UsageSummary]:
    """Provider calls, cached answers, credits and USD of the caller's scope (org_admin: the org;
    company_admin and member: their company) between `from` and `to`, grouped by provider,
    operation, company or UTC day. Costs come from the ledger (docs/costs.md): unknown costs are
    counted in `unpriced_calls`, not in `credits` or `usd`."""
    return Data(data=await usage_service.summary(conn, auth, body))
