"""CSV in and out (CONTRACT §9.7): `batch/submit-csv` answers as `batch/submit` (plus how it read
the columns), or with a preview on a dry run; `batch/export` takes a submission id."""

import uuid
from typing import Any, Literal

from pydantic import Field

from app.contracts.entities import EntityType
from app.contracts.statuses import PipelineRunStatus
from app.models.common import RequestSchema, Schema
from app.models.submissions import BatchSubmitResult


class CsvSubmitResult(BatchSubmitResult):
    dry_run: Literal[False] = False
    columns: dict[str, str] = Field(description="Each column read → the canonical field it filled")
    ignored_columns: list[str] = Field(description="Columns that name no field (not submitted)")


class CsvPreview(Schema):
    """A dry run's answer: what the upload would submit. Nothing was created."""

    dry_run: Literal[True] = True
    entity_type: EntityType = Field(description="The blueprint's entity type: each row becomes one")
    rows: int = Field(description="Data rows that would be submitted")
    columns: dict[str, str] = Field(description="Each column read → the canonical field it would fill")
    ignored_columns: list[str] = Field(description="Columns that name no field (not submitted)")
    fields: list[str] = Field(description="Every canonical field a mapping may name for this entity type")


class ExportRequest(RequestSchema):
    submission_id: uuid.UUID
    escape_formulas: bool = Field(
        default=True,
        strict=True,
        description="Prefix cells that start with = + - @ (or a tab or carriage return) with ' so a "
        "spreadsheet shows them as text instead of running them (CSV injection); false for machine readers",
    )


class ExportRun(Schema):
    pipeline_run_id: uuid.UUID
    entity_index: int
    entity_type: EntityType
    status: PipelineRunStatus
    error_message: str | None
    final_context: dict[str, Any] | None
    parent_pipeline_run_id: uuid.UUID | None
    depth: int
