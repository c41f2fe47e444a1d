"""Pipeline runs and their step results."""

from typing import Annotated

from fastapi import APIRouter, Body

from app.auth.dependencies import OrgAdminAuth, ReaderAuth
from app.db import ConnDep, DbDep
from app.deps import DispatcherDep
from app.models.common import Data, Page
from app.models.pipeline_runs import (
    PipelineRun,
    PipelineRunDetail,
    PipelineRunListRequest,
    PipelineRunRef,
    StepResult,
    StepResultListRequest,
)
from app.routers._responses import errors
from app.services import pipeline_runs as pipeline_runs_service

router = APIRouter(tags=["pipelines"])


@router.post("/api/pipeline-runs/list", response_model=Data[Page[PipelineRun]], responses=errors(400))
async def list_runs(
    auth: ReaderAuth,
    conn: ConnDep,
    body: Annotated[PipelineRunListRequest, Body(default_factory=PipelineRunListRequest)],
) -> Data[Page[PipelineRun]]:
    """Pipeline runs visible to the caller, newest first; filter by submission or status."""
    return Data(data=await pipeline_runs_service.list(conn, auth, body))


@router.post("/api/pipeline-runs/get", response_model=Data[PipelineRunDetail], responses=errors(404))
async def get_run(body: PipelineRunRef, auth: ReaderAuth, conn: ConnDep) -> Data[PipelineRunDetail]:
    """One pipeline run with its frozen blueprint."""
    return Data(data=await pipeline_runs_service.get(conn, auth, body.pipeline_run_id))


@router.post("/api/pipeline-runs/retry", response_model=Data[PipelineRunDetail], responses=errors(403, 404, 409))
async def retry_run(
    body: PipelineRunRef, auth: OrgAdminAuth, db: DbDep, dispatcher: DispatcherDep
) -> Data[PipelineRunDetail]:
    """Retry a failed run from its failed step; succeeded steps are not run again."""
    return Data(data=await pipeline_runs_service.retry(db, dispatcher, auth, body.pipeline_run_id))


@router.post("/api/step-results/list", response_model=Data[Page[StepResult]], responses=errors(404))
async def list_steps(body: StepResultListRequest, auth: ReaderAuth, conn: ConnDep) -> Data[Page[StepResult]]:
    """The step results of one pipeline run, in position order."""
    return Data(data=Page[StepResult](items=await pipeline_runs_service.list_steps(conn, auth, body.pipeline_run_id)))
