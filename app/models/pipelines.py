import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from app.models.common import ListRequest, RequestSchema, Schema
from app.models.operations import EntityType


class EntitySpec(RequestSchema):
    entity_type: EntityType
    input: dict[str, Any]


class BatchSubmitRequest(RequestSchema):
    blueprint_id: uuid.UUID
    entities: list[EntitySpec] = Field(min_length=1)
    company_id: uuid.UUID | None = None
    source: Annotated[str, StringConstraints(max_length=200)] | None = None
    metadata: dict[str, Any] | None = None


class BatchSubmitResult(Schema):
    submission_id: uuid.UUID
    pipeline_run_ids: list[uuid.UUID]


class SubmissionRef(RequestSchema):
    submission_id: uuid.UUID


class BatchStatusRequest(RequestSchema):
    submission_id: uuid.UUID
    limit: int = Field(default=50, ge=1, le=500, strict=True)
    cursor: Annotated[str, StringConstraints(max_length=64)] | None = None


class Submission(Schema):
    id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID
    blueprint_id: uuid.UUID
    status: str
    source: str | None
    metadata: dict[str, Any]
    entity_count: int
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class Summary(Schema):
    total: int
    queued: int
    running: int
    succeeded: int
    failed: int
    canceled: int


class StepState(Schema):
    position: int
    operation_id: str
    status: str


class RunStatus(Schema):
    pipeline_run_id: uuid.UUID
    entity_index: int
    entity_type: EntityType
    status: str
    error_message: str | None
    final_context: dict[str, Any] | None
    steps: list[StepState]


class RunPage(Schema):
    items: list[RunStatus]
    next_cursor: str | None


class BatchStatus(Schema):
    submission: Submission
    summary: Summary
    runs: RunPage


class PipelineRun(Schema):
    id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID
    submission_id: uuid.UUID
    entity_index: int
    entity_type: EntityType
    status: str
    blueprint_version: str
    input: dict[str, Any]
    final_context: dict[str, Any] | None
    error_message: str | None
    attempt: int
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    updated_at: datetime


class PipelineRunDetail(PipelineRun):
    blueprint_snapshot: dict[str, Any]


class StepResult(Schema):
    id: uuid.UUID
    pipeline_run_id: uuid.UUID
    position: int
    operation_id: str
    status: str
    step_config: dict[str, Any]
    input: dict[str, Any] | None
    output: dict[str, Any] | None
    context_after: dict[str, Any] | None
    error_message: str | None
    operation_run_id: uuid.UUID | None
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SubmissionListRequest(ListRequest):
    status: Annotated[str, StringConstraints(max_length=20)] | None = None


class PipelineRunListRequest(ListRequest):
    submission_id: uuid.UUID | None = None
    status: Annotated[str, StringConstraints(max_length=20)] | None = None


class PipelineRunRef(RequestSchema):
    pipeline_run_id: uuid.UUID


class StepResultListRequest(RequestSchema):
    pipeline_run_id: uuid.UUID


# --- internal (worker) -------------------------------------------------------------------------


class InternalStep(Schema):
    position: int
    operation_id: str
    step_config: dict[str, Any]
    status: str
    output: dict[str, Any] | None
    context_after: dict[str, Any] | None
    error_message: str | None


class InternalRun(Schema):
    pipeline_run_id: uuid.UUID
    status: str
    entity_type: EntityType
    input: dict[str, Any]
    steps: list[InternalStep]


class StepExecuteRequest(RequestSchema):
    pipeline_run_id: uuid.UUID
    position: int = Field(ge=1, le=1000, strict=True)  # a blueprint step's position range
    context: dict[str, Any] | None = Field(
        default=None, description="Ignored: the API derives a step's context from the run's stored results"
    )


class StepExecuteResult(Schema):
    position: int
    status: str
    output: dict[str, Any] | None
    context_after: dict[str, Any] | None
    error_message: str | None
    operation_run_id: uuid.UUID | None
    run_status: str


class RunFinishRequest(RequestSchema):
    pipeline_run_id: uuid.UUID
    final_context: dict[str, Any] | None = Field(
        default=None, description="Ignored: the API derives the final context from the run's stored results"
    )


class RunFinishResult(Schema):
    status: str
    entity_id: uuid.UUID | None
    record_version: int | None


class RunFailRequest(RequestSchema):
    pipeline_run_id: uuid.UUID
    error: Annotated[str, StringConstraints(max_length=4000)]


class WorkerRef(RequestSchema):
    worker_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class RecoverResult(Schema):
    unlocked_workers: list[str]
