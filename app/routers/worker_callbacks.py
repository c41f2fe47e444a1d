"""Worker callbacks: the internal key only (docs/internal-api.md)."""

from fastapi import APIRouter

from app.auth.dependencies import InternalAuth, InternalWorkerAuth
from app.db import DbDep
from app.deps import DispatcherDep, EngineDep, SettingsDep
from app.models.common import Data
from app.models.pipeline_runs import PipelineRunRef
from app.models.worker_callbacks import (
    InternalRun,
    RecoverResult,
    RunFailRequest,
    RunFinishRequest,
    RunFinishResult,
    StepExecuteRequest,
    StepExecuteResult,
    WorkerRef,
)
from app.routers._responses import errors
from app.services import worker_callbacks as worker_callbacks_service

router = APIRouter(prefix="/api/internal", tags=["internal"])


@router.post("/pipeline-runs/start", response_model=Data[InternalRun], responses=errors(400, 404))
async def start(body: PipelineRunRef, auth: InternalAuth, db: DbDep) -> Data[InternalRun]:
    """Mark a queued run running and return it with its steps (a terminal run is returned as is)."""
    return Data(data=await worker_callbacks_service.start(db, auth, body.pipeline_run_id))


@router.post("/steps/execute", response_model=Data[StepExecuteResult], responses=errors(400, 404, 409))
async def execute_step(
    body: StepExecuteRequest,
    auth: InternalAuth,
    db: DbDep,
    engine: EngineDep,
    dispatcher: DispatcherDep,
    settings: SettingsDep,
) -> Data[StepExecuteResult]:
    """Run one step's operation on the context its earlier steps stored and record its result (a terminal
    step is returned as is); 409 `out_of_order` while an earlier step has not finished."""
    return Data(
        data=await worker_callbacks_service.execute_step(
            db,
            engine,
            auth,
            body.pipeline_run_id,
            body.position,
            body.context,
            max_inline_wait_seconds=settings.step_max_inline_wait_seconds,
            dispatcher=dispatcher,
            max_runs_per_submission=settings.max_runs_per_submission,
        )
    )


@router.post("/pipeline-runs/finish", response_model=Data[RunFinishResult], responses=errors(400, 404, 409))
async def finish(body: RunFinishRequest, auth: InternalAuth, db: DbDep) -> Data[RunFinishResult]:
    """Upsert the entity record from the run's stored step results and mark the run succeeded (once);
    409 `out_of_order` while a step has not finished."""
    return Data(data=await worker_callbacks_service.finish(db, auth, body.pipeline_run_id, body.final_context))


@router.post("/pipeline-runs/fail", response_model=Data[InternalRun], responses=errors(400, 404))
async def fail(body: RunFailRequest, auth: InternalAuth, db: DbDep) -> Data[InternalRun]:
    """The worker gives up on a run: it fails, its remaining steps are skipped."""
    return Data(data=await worker_callbacks_service.fail(db, auth, body.pipeline_run_id, body.error))


@router.post("/workers/heartbeat", response_model=Data[WorkerRef], responses=errors(400))
async def heartbeat(body: WorkerRef, _: InternalWorkerAuth, db: DbDep) -> Data[WorkerRef]:
    """A local worker host is alive."""
    await worker_callbacks_service.heartbeat(db, body.worker_id)
    return Data(data=body)


@router.post("/workers/recover", response_model=Data[RecoverResult], responses=errors(400))
async def recover(body: WorkerRef, _: InternalWorkerAuth, db: DbDep, settings: SettingsDep) -> Data[RecoverResult]:
    """Release graphile-worker jobs held by hosts that stopped reporting."""
    stale = settings.worker_stale_seconds
    return Data(data=await worker_callbacks_service.recover(db, body.worker_id, stale))
