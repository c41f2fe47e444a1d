from fastapi import APIRouter, Request

from app.auth.dependencies import ReaderAuth, SubmitAuth
from app.db import ConnDep, DbDep
from app.models.common import Data
from app.models.pipelines import (
    BatchStatus,
    BatchStatusRequest,
    BatchSubmitRequest,
    BatchSubmitResult,
    Submission,
    SubmissionRef,
)
from app.routers._responses import errors
from app.services import batch as batch_service

router = APIRouter(prefix="/api/v1/batch", tags=["batch"])


@router.post("/submit", response_model=Data[BatchSubmitResult], responses=errors(400, 403, 404))
async def submit(body: BatchSubmitRequest, auth: SubmitAuth, db: DbDep, request: Request) -> Data[BatchSubmitResult]:
    """Submit entities to a blueprint: one submission, one pipeline run per entity, every run dispatched."""
    return Data(
        data=await batch_service.submit(
            db, request.app.state.dispatcher, auth, body, max_entities=request.app.state.settings.max_batch_entities
        )
    )


@router.post("/status", response_model=Data[BatchStatus], responses=errors(400, 404))
async def status(body: BatchStatusRequest, auth: ReaderAuth, conn: ConnDep) -> Data[BatchStatus]:
    """A submission's status, its run counts, and its runs page by page (by entity index)."""
    return Data(data=await batch_service.status(conn, auth, body))


@router.post("/cancel", response_model=Data[Submission], responses=errors(403, 404, 409))
async def cancel(body: SubmissionRef, auth: SubmitAuth, conn: ConnDep) -> Data[Submission]:
    """Cancel what has not finished: open runs become canceled, their remaining steps skipped."""
    return Data(data=await batch_service.cancel(conn, auth, body.submission_id))
