"""Pipeline runs and their step results (`/api/pipeline-runs/*`, `/api/step-results/list`)."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import StringConstraints

from app.contracts.entities import EntityType
from app.contracts.statuses import PipelineRunStatus, StepStatus
from app.models.common import ListRequest, RequestSchema, Schema


class PipelineRun(Schema):
    id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID
    submission_id: uuid.UUID
    entity_index: int
    entity_type: EntityType
    status: PipelineRunStatus
    blueprint_version: str
    input: dict[str, Any]
    final_context: dict[str, Any] | None
    error_message: str | None
    attempt: int
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    updated_at: datetime
    parent_pipeline_run_id: uuid.UUID | None
    """The run whose fan-out step created this one; None for a run of the submitted batch."""
    depth: int
    """0 for a submitted entity, parent's depth + 1 for a fan-out child (at most 3)."""


class PipelineRunDetail(PipelineRun):
    blueprint_snapshot: dict[str, Any]


class StepResult(Schema):
    id: uuid.UUID
    pipeline_run_id: uuid.UUID
    position: int
    operation_id: str
    status: StepStatus
    step_config: dict[str, Any]
    input: dict[str, Any] | None
    output: dict[str, Any] | None
    context_after: dict[str, Any] | None
    error_message: str | None
    operation_run_id: uuid.UUID | None
    skip_reason: str | None
    fan_out: dict[str, Any] | None
    """A fan-out step's children: see StepExecuteResult.fan_out."""
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    updated_at: datetime


class PipelineRunListRequest(ListRequest):
    submission_id: uuid.UUID | None = None
    # free text on purpose: an unknown status matches nothing (an empty page), as it always has
    status: Annotated[str, StringConstraints(max_length=20)] | None = None


class PipelineRunRef(RequestSchema):
    pipeline_run_id: uuid.UUID


class StepResultListRequest(RequestSchema):
    pipeline_run_id: uuid.UUID
