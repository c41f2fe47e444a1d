"""CSV in and out of the batch verbs (CONTRACT §9.7): `batch/submit-csv` (multipart) and
`batch/export` (text/csv, streamed). docs/csv.md is the user's guide."""

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import StreamingResponse

from app.auth.dependencies import ReaderAuth, SubmitAuth
from app.db import DbDep
from app.deps import DispatcherDep, SettingsDep
from app.models.batch_csv import CsvPreview, CsvSubmitResult, ExportRequest
from app.models.common import Data
from app.routers._responses import errors
from app.services import batch_csv as batch_csv_service

router = APIRouter()


@router.post(
    "/api/v1/batch/submit-csv",
    tags=["batch"],
    response_model=Data[CsvSubmitResult | CsvPreview],
    responses=errors(400, 403, 404),
)
async def submit_csv(
    auth: SubmitAuth,
    db: DbDep,
    dispatcher: DispatcherDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="The CSV: UTF-8 (a BOM is fine), a header row, RFC 4180 quoting")],
    blueprint_id: Annotated[uuid.UUID, Form()],
    company_id: Annotated[uuid.UUID | None, Form()] = None,
    mapping: Annotated[
        str | None,
        Form(description='JSON object of column → canonical field, e.g. {"E-mail": "work_email", "Notes": null}'),
    ] = None,
    dry_run: Annotated[
        bool,
        Form(description="true: check everything and answer how the columns are read; nothing is created"),
    ] = False,
) -> Data[CsvSubmitResult | CsvPreview]:
    """Submit a CSV to a blueprint: one entity per data row, then exactly as `batch/submit`.
    Headers naming canonical fields or common aliases (`Email`, `Company Domain`, `LinkedIn`, …)
    are read without a mapping; other columns are ignored and listed in `ignored_columns`. Any bad
    row answers 400 `invalid_rows` listing the rows (row 1 = the first data row) and why; nothing
    is created then. `dry_run=true` makes every check and answers the same errors, or a preview
    (`dry_run: true`, the row count, the columns read and the fields a mapping may name),
    creating nothing."""
    return Data(
        data=await batch_csv_service.submit_csv(
            db,
            dispatcher,
            auth,
            file=file.file,
            filename=file.filename,
            blueprint_id=blueprint_id,
            company_id=company_id,
            mapping=mapping,
            max_entities=settings.max_batch_entities,
            dry_run=dry_run,
        )
    )


@router.post(
    "/api/v1/batch/export",
    tags=["batch"],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The runs as CSV"}, **errors(404)},
)
async def export(body: ExportRequest, auth: ReaderAuth, db: DbDep) -> StreamingResponse:
    """A submission's runs as CSV, streamed: `entity_index, status, error_message, pipeline_run_id,
    parent_pipeline_run_id, depth, entity_type`, then the final context's canonical fields in a
    fixed order, then `other_fields` (JSON). Fan-out children are rows too (depth > 0)."""
    export = await batch_csv_service.open_export(db, auth, body)
    return StreamingResponse(
        export.chunks(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )
