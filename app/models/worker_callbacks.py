"""The worker's callbacks (`/api/internal/*`, docs/internal-api.md), and the rows their
repository returns."""

import uuid
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from app.contracts.entities import EntityType
from app.contracts.statuses import PipelineRunStatus, StepStatus
from app.models.common import RequestSchema, Schema


class InternalStep(Schema):
    position: int
    operation_id: str
    step_config: dict[str, Any]
    status: StepStatus
    output: dict[str, Any] | None
    context_after: dict[str, Any] | None
    error_message: str | None


class InternalRun(Schema):
    pipeline_run_id: uuid.UUID
    status: PipelineRunStatus
    entity_type: EntityType
    input: dict[str, Any]
    steps: list[InternalStep]


class StepExecuteRequest(RequestSchema):
    pipeline_run_id: uuid.UUID
    position: int = Field(ge=1, le=1000, strict=True)  # a blueprint step's position range
    context: dict[str, Any] | None = Field(
        default=None, description="Ignored: the API derives a step's context from the run's stored results"
    )


class RunFinishResult(Schema):
    status: PipelineRunStatus
    entity_id: uuid.UUID | None
    record_version: int | None


class StepExecuteResult(Schema):
    position: int
    status: StepStatus
    output: dict[str, Any] | None
    context_after: dict[str, Any] | None
    error_message: str | None
    operation_run_id: uuid.UUID | None
    run_status: PipelineRunStatus
    skip_reason: str | None = None
    """Why a `skipped` step did not run: `condition_not_met`, `fresh`, `canceled`, `run_failed`."""
    retry_after_seconds: float | None = None
    """Set when a provider asked to wait longer than a step may hold its worker slot: the step is
    `queued` again and the worker runs it after this many seconds."""
    fan_out: dict[str, Any] | None = Field(
        default=None,
        description="A fan-out step's children: blueprint_id, results, children (created), duplicates, "
        "beyond_max_children, children_truncated (the submission's run cap), depth_limited, error",
    )
    finished: RunFinishResult | None = Field(
        default=None,
        description="Set when this step was the run's last: the run was finished in the step's own transaction "
        "(the entity upserted, the run and its submission moved on), exactly as pipeline-runs/finish answers; "
        "the worker need not call finish",
    )


class RunFinishRequest(RequestSchema):
    pipeline_run_id: uuid.UUID
    final_context: dict[str, Any] | None = Field(
        default=None, description="Ignored: the API derives the final context from the run's stored results"
    )


class RunFailRequest(RequestSchema):
    pipeline_run_id: uuid.UUID
    error: Annotated[str, StringConstraints(max_length=4000)]


class WorkerRef(RequestSchema):
    worker_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class RecoverResult(Schema):
    unlocked_workers: list[str]


# --- repository rows (never in a response) ----------------------------------------------------


class LockedStep(Schema):
    """A step row locked for a `steps/execute` call, with what the API judges order by."""

    id: uuid.UUID
    position: int
    status: StepStatus
    operation_id: str
    step_config: Any
    """As stored (a JSON object from a validated blueprint; an old snapshot may hold anything)."""
    output: dict[str, Any] | None
    context_after: dict[str, Any] | None
    error_message: str | None
    operation_run_id: uuid.UUID | None
    skip_reason: str | None = None
    fan_out_result: dict[str, Any] | None
    """What a fan-out step created (step_results.fan_out)."""
    run_status: PipelineRunStatus
    entity_type: EntityType
    submission_id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID
    depth: int
    fan_out: Any
    """The step's fan-out declaration from the run's blueprint snapshot, as stored."""
    condition: Any = None
    """The step's condition from the run's snapshot, as stored (normalised by blueprint validation)."""
    skip_if_fresh: Any = None
    """The step's skip_if_fresh from the run's snapshot, as stored."""
    earlier_open: bool
    """An earlier step is not yet succeeded or skipped: this one must wait."""
    later_open: bool = True
    """A later step is not yet terminal: this one is not the run's last."""
    context_before: dict[str, Any]
    """The context this step runs on: the last succeeded earlier step's, else the run input."""


class FinishState(Schema):
    """What `pipeline-runs/finish` derives the entity from."""

    open_positions: list[int]
    """Steps not yet succeeded or skipped, in position order."""
    final_context: dict[str, Any]
