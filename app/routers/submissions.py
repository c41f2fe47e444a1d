"""Submissions. `/api/v1/batch/{submit,status,cancel}` are the submission verbs (CONTRACT §6, the
`batch` tag); `/api/submissions/{list,get}` read them like the other tenant collections."""

from typing import Annotated

from fastapi import APIRouter, Body

from app.auth.dependencies import ReaderAuth, SubmitAuth
from app.db import ConnDep, DbDep
from app.deps import DispatcherDep, SettingsDep
from app.models.common import Data, Page
from app.models.submissions import (
    BatchStatus,
    BatchStatusRequest,
    BatchSubmitRequest,
    BatchSubmitResult,
    Submission,
    SubmissionListRequest,
    SubmissionRef,
)
from app.routers._responses import errors
from app.services import submissions as submissions_service

router = APIRouter()


@router.post(
    "/api/v1/batch/submit", tags=["batch"], response_model=Data[BatchSubmitResult], responses=errors(400, 403, 404)
)
async def submit(
    body: BatchSubmitRequest, auth: SubmitAuth, db: DbDep, dispatcher: DispatcherDep, settings: SettingsDep
) -> Data[BatchSubmitResult]:
    """Submit entities to a blueprint: one submission, one pipeline run per entity, every run dispatched."""
    return Data(
        data=await submissions_service.submit(db, dispatcher, auth, body, max_entities=settings.max_batch_entities)
    )


@router.post("/api/v1/batch/status", tags=["batch"], response_model=Data[BatchStatus], responses=errors(400, 404))
async def status(body: BatchStatusRequest, auth: ReaderAuth, conn: ConnDep) -> Data[BatchStatus]:
    """A submission's status, its run counts, and its runs page by page (by entity index)."""
    return Data(data=await submissions_service.status(conn, auth, body))


@router.post("/api/v1/batch/cancel", tags=["batch"], response_model=Data[Submission], responses=errors(403, 404, 409))
async def cancel(body: SubmissionRef, auth: SubmitAuth, conn: ConnDep) -> Data[Submission]:
    """Cancel what has not finished: open runs become canceled, their remaining steps skipped."""
    return Data(data=await submissions_service.cancel(conn, auth, body.submission_id))


@router.post("/api/submissions/list", tags=["pipelines"], response_model=Data[Page[Submission]], responses=errors(400))
async def list_submissions(
    auth: ReaderAuth, conn: ConnDep, body: Annotated[SubmissionListRequest, Body(default_factory=SubmissionListRequest)]
) -> Data[Page[Submission]]:
    """Submissions visible to the caller, newest first."""
    return Data(data=await submissions_service.list_submissions(conn, auth, body))


@router.post("/api/submissions/get", tags=["pipelines"], response_model=Data[Submission], responses=errors(404))
async def get_submission(body: SubmissionRef, auth: ReaderAuth, conn: ConnDep) -> Data[Submission]:
    """One submission."""
    return Data(data=await submissions_service.get_submission(conn, auth, body.submission_id))
