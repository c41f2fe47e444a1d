from fastapi import APIRouter

from app.auth.dependencies import BlueprintReaderAuth
from app.models.common import Data, Page
from app.models.operations import OperationInfo
from app.routers._responses import errors
from app.services import operations as operations_service

router = APIRouter(prefix="/api/v1/operations", tags=["operations"])


@router.post("/list", response_model=Data[Page[OperationInfo]], responses=errors())
async def list_operations(auth: BlueprintReaderAuth) -> Data[Page[OperationInfo]]:
    """The operation catalog: every operation a blueprint step or /api/v1/execute may name."""
    return Data(data=Page[OperationInfo](items=operations_service.list_catalog()))
