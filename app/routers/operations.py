from fastapi import APIRouter, Response

from app.auth.dependencies import BlueprintReaderAuth
from app.deps import EngineDep
from app.models.common import Data, Page
from app.models.operations import OperationInfo
from app.routers._responses import errors
from app.services import operations as operations_service

router = APIRouter(prefix="/api/v1/operations", tags=["operations"])


@router.post("/list", response_model=Data[Page[OperationInfo]], responses=errors())
async def list_operations(auth: BlueprintReaderAuth, engine: EngineDep) -> Response:
    """The operation catalog: every operation a blueprint step or /api/v1/execute may name, with its
    strategy, minimum inputs, input and output JSON schemas, the step_config keys (execute:
    options) it reads, and each provider in order with its documented price per call
    (docs/operations.md, docs/costs.md)."""
    # serialised once (app/services/operations.catalog_json); response_model documents the shape
    return Response(content=operations_service.catalog_json(engine), media_type="application/json")
