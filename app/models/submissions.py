"""Submissions: the batch verbs (`/api/v1/batch/*`) and the submission reads (`/api/submissions/*`)."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from app.contracts.entities import EntityType
from app.contracts.statuses import PipelineRunStatus, StepStatus, SubmissionStatus
from app.models.common import ListRequest, RequestPart, RequestSchema, Schema


class EntitySpec(RequestPart):
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
    status: PipelineRunStatus | None = Field(
        default=None,
        description="Only runs in this status (the summary still counts them all); the console's filter",
    )


class Submission(Schema):
    id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID
    blueprint_id: uuid.UUID
    status: SubmissionStatus
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
    children: int
    """Runs created by fan-out steps (counted in the totals above too)."""


class StepState(Schema):
    position: int
    operation_id: str
    status: StepStatus
    skip_reason: str | None = None
    fan_out: dict[str, Any] | None = None


# one run's line in `batch/status`; the run status enum is PipelineRunStatus (this schema name is public)
class RunStatus(Schema):
    pipeline_run_id: uuid.UUID
    entity_index: int
    entity_type: EntityType
    status: PipelineRunStatus
    error_message: str | None
    final_context: dict[str, Any] | None
    parent_pipeline_run_id: uuid.UUID | None
    depth: int
    steps: list[StepState]


class RunPage(Schema):
    items: list[RunStatus]
    next_cursor: str | None


class BatchStatus(Schema):
    submission: Submission
    summary: Summary
    runs: RunPage


class SubmissionListRequest(ListRequest):
    # free text on purpose: an unknown status matches nothing (an empty page), as it always has
    status: Annotated[str, StringConstraints(max_length=20)] | None = None
