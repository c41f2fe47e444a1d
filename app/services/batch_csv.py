"""CSV in and out (CONTRACT §9.7): `batch/submit-csv` turns a spreadsheet into a `batch/submit`,
`batch/export` streams a submission's runs back as CSV.

Import reads every row before anything is written: a file with one bad row creates nothing and
the answer lists the bad rows. The body limit (413) is enforced while the upload streams in
(app/middleware.py), so the parser only ever sees a bounded file. Export pages the runs by
entity index in short transactions: no pooled connection is held while a slow client reads, and
10,000 runs are never all in memory. Choices: docs/decisions/0062-csv-import.md, 0063-csv-export.md.
"""

import codecs
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import anyio.to_thread
from pydantic import ValidationError

from app.auth.context import AuthContext
from app.contracts import csv_fields
from app.contracts.catalog import OPERATIONS_BY_ID, OperationSpec
from app.contracts.entities import EntityType
from app.db import Db
from app.errors import BadRequest, not_found
from app.models.batch_csv import CsvPreview, CsvSubmitResult, ExportRequest
from app.models.blueprints import Blueprint
from app.models.common import unstorable_text_at
from app.models.submissions import BatchSubmitRequest, EntitySpec
from app.repositories import batch_csv as batch_csv_repo
from app.services import blueprints as blueprints_service
from app.services import submissions as submissions_service
from app.services.dispatch import Dispatcher

MAX_REPORTED_ROWS = 100
"""Bad rows listed in a 400 (the count says how many there were in all)."""
EXPORT_PAGE_ROWS = 500
MAX_FILENAME = 200


@dataclass
class RowProblem:
    row: int
    """1-based data row: the first row after the header is 1; blank lines are not counted."""
    line: int
    """1-based physical line of the file where the row starts (the header is line 1)."""
    reasons: list[str] = field(default_factory=list)


@dataclass
class ParsedCsv:
    inputs: list[dict[str, str]]
    columns: dict[str, str]
    ignored_columns: list[str]


def _parse_mapping(raw: str | None, entity_type: EntityType) -> dict[str, str | None]:
    if raw is None or not raw.strip():
        return {}
    try:
        mapping = json.loads(raw)
    except ValueError:
        raise BadRequest("mapping must be a JSON object of column → canonical field", code="invalid_mapping") from None
    if not isinstance(mapping, dict) or not all(isinstance(v, str | None) for v in mapping.values()):
        raise BadRequest(
            "mapping must be a JSON object of column → canonical field (or null to ignore the column)",
            code="invalid_mapping",
        )
    fields = csv_fields.importable_fields(entity_type)
    unknown = sorted(v for v in mapping.values() if v is not None and v not in fields)
    if unknown:
        raise BadRequest(
            f"mapping names fields a {entity_type.value} CSV cannot fill: {', '.join(unknown)}",
            code="invalid_mapping",
            details={"unknown_fields": unknown, "fields": list(fields)},
        )
    return mapping


def _columns(
    header: list[str], entity_type: EntityType, mapping: dict[str, str | None]
) -> tuple[dict[int, str], dict[str, str], list[str]]:
    """(column position → field, column name → field, ignored column names)."""
    names = [h.strip() for h in header]
    missing = sorted(c for c in mapping if c.strip() not in names)
    if missing:
        raise BadRequest(
            f"mapping names columns the file does not have: {', '.join(missing)}",
            code="invalid_mapping",
            details={
                "unknown_columns": missing,
                "columns": names,
                "fields": list(csv_fields.importable_fields(entity_type)),
            },
        )
    mapped = {c.strip(): f for c, f in mapping.items()}
    by_position: dict[int, str] = {}
    ignored: list[str] = []
    for i, name in enumerate(names):
        target = mapped[name] if name in mapped else csv_fields.field_for_header(entity_type, name)
        if target is None:
            ignored.append(name)
        else:
            by_position[i] = target
    seen: dict[str, list[str]] = {}
    for i, target in by_position.items():
        seen.setdefault(target, []).append(names[i])
    doubled = {f: cols for f, cols in seen.items() if len(cols) > 1}
    if doubled:
        first = next(iter(doubled))
        raise BadRequest(
            f"columns {', '.join(doubled[first])} all name the field {first}: map one of them to null",
            code="duplicate_field",
            # `fields` is every field a mapping may name, as in the other mapping errors
            details={"duplicates": doubled, "fields": list(csv_fields.importable_fields(entity_type))},
        )
    if not by_position:
        raise BadRequest(
            f"no column names a field of a {entity_type.value}: use a mapping",
            code="no_known_columns",
            details={"columns": names, "fields": list(csv_fields.importable_fields(entity_type))},
        )
    return by_position, {names[i]: f for i, f in by_position.items()}, ignored


def _first_step_check(blueprint: Blueprint) -> OperationSpec | None:
    """The operation whose minimum inputs every row must meet: the first enabled step's, when that
    step always runs on the row as given (no condition, no fan-out, the blueprint's own entity
    type). Otherwise any one field is enough; the run reports what is missing."""
    enabled = sorted((s for s in blueprint.steps if s.is_enabled), key=lambda s: s.position)
    if not enabled or enabled[0].condition or enabled[0].fan_out:
        return None
    spec = OPERATIONS_BY_ID.get(enabled[0].operation_id)
    return spec if spec is not None and spec.entity_type == blueprint.entity_type else None


def parse_csv(
    stream: IO[bytes],
    entity_type: EntityType,
    first_step: OperationSpec | None,
    mapping: dict[str, str | None],
    max_entities: int,
) -> ParsedCsv:
    """Every row checked; BadRequest listing the bad rows, or the inputs in file order."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)
    problems: list[RowProblem] = []
    bad_count = 0
    inputs: list[dict[str, str]] = []
    limits = csv_fields.importable_fields(entity_type)
    row = 0
    try:
        header = _header(reader)
        if header is None:
            raise BadRequest("the file has no header row", code="csv_empty")
        by_position, columns, ignored = _columns(header, entity_type, mapping)
        names = [h.strip() for h in header]
        line = reader.line_num
        while True:
            start = line + 1
            try:
                record = next(reader, None)
            except csv.Error as e:
                row += 1
                bad_count += 1
                if len(problems) < MAX_REPORTED_ROWS:
                    problems.append(RowProblem(row, start, [f"not valid CSV: {e}"]))
                break  # the reader cannot resynchronise after a broken quote
            line = reader.line_num
            if record is None:
                break
            if not any(cell.strip() for cell in record):
                continue
            row += 1
            if row > max_entities:
                raise BadRequest(
                    f"a batch holds at most {max_entities} entities",
                    code="too_many_entities",
                    details={"max": max_entities, "given_at_least": row},
                )
            reasons, values = _check_row(record, names, by_position, limits, entity_type, first_step)
            if reasons:
                bad_count += 1
                if len(problems) < MAX_REPORTED_ROWS:
                    problems.append(RowProblem(row, start, reasons))
            else:
                inputs.append(values)
    except UnicodeDecodeError:
        raise BadRequest(
            f"the file is not UTF-8 text (near data row {row + 1}): save it as CSV UTF-8",
            code="invalid_encoding",
        ) from None
    finally:
        text.detach()  # the upload's file is closed by its owner
    if bad_count:
        raise BadRequest(
            f"{bad_count} row(s) cannot be submitted; nothing was created",
            code="invalid_rows",
            details={
                "count": bad_count,
                "rows": [p.__dict__ for p in problems],
                "row_numbering": "row 1 is the first data row after the header; line is the file's line",
                # how the columns were read, so a row's problem can be fixed by a mapping
                "columns": columns,
                "ignored_columns": ignored,
                "fields": list(limits),
            },
        )
    if not inputs:
        raise BadRequest("the file has a header but no data rows", code="csv_empty")
    return ParsedCsv(inputs, columns, ignored)


def _header(reader: Iterator[list[str]]) -> list[str] | None:
    try:
        header = next(reader, None)
        while header is not None and not any(h.strip() for h in header):
            header = next(reader, None)  # blank lines before the header
    except csv.Error as e:
        raise BadRequest(f"the header row is not valid CSV: {e}", code="invalid_csv") from None
    return header


def _check_row(
    record: list[str],
    names: list[str],
    by_position: dict[int, str],
    limits: dict[str, int],
    entity_type: EntityType,
    first_step: OperationSpec | None,
) -> tuple[list[str], dict[str, str]]:
    if len(record) != len(names):
        return [f"has {len(record)} fields; the header has {len(names)}"], {}
    reasons: list[str] = []
    values: dict[str, str] = {}
    for i, target in by_position.items():
        cell = record[i].strip()
        if not cell:
            continue
        if unstorable_text_at(cell) is not None:
            reasons.append(f"column {names[i]!r}: text must not contain NUL characters")
        elif len(cell) > limits[target]:
            reasons.append(f"column {names[i]!r} ({target}) has {len(cell)} characters; at most {limits[target]}")
        else:
            values[target] = cell
    if reasons:
        return reasons, {}
    if not values:
        return ["no value in any column the blueprint can use"], {}
    if first_step is not None:
        try:
            missing = first_step.minimum(first_step.input_model.model_validate(values))
        except ValidationError as e:
            return [f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()], {}
        if missing:
            return [f"no usable identifier for {first_step.operation_id}: needs {' and '.join(missing)}"], {}
    return [], values


def _source(filename: str | None) -> str:
    name = (filename or "").strip()
    name = "".join(ch for ch in name if ch.isprintable())[: MAX_FILENAME - len("csv:")]
    return f"csv:{name}" if name else "csv"


async def submit_csv(
    db: Db,
    dispatcher: Dispatcher,
    auth: AuthContext,
    *,
    file: IO[bytes],
    filename: str | None,
    blueprint_id: uuid.UUID,
    company_id: uuid.UUID | None,
    mapping: str | None,
    max_entities: int,
    dry_run: bool = False,
) -> CsvSubmitResult | CsvPreview:
    """With `dry_run`, every check of a real upload (the file, the mapping, each row, the
    blueprint and the company) and the same errors, but nothing is created: the answer is how the
    columns were read, for a preview before the upload (docs/decisions/0082-csv-dry-run.md)."""
    async with db.transaction() as conn:
        blueprint = await blueprints_service.get(conn, auth, blueprint_id)
    parsed_mapping = _parse_mapping(mapping, blueprint.entity_type)
    # parsing 10 MB of CSV is CPU work: off the event loop
    parsed = await anyio.to_thread.run_sync(
        parse_csv, file, blueprint.entity_type, _first_step_check(blueprint), parsed_mapping, max_entities
    )
    source = _source(filename)
    request = BatchSubmitRequest(
        blueprint_id=blueprint.id,
        company_id=company_id,
        entities=[EntitySpec(entity_type=blueprint.entity_type, input=values) for values in parsed.inputs],
        source=source,
        metadata={"csv": {"columns": parsed.columns, "ignored_columns": parsed.ignored_columns}},
    )
    if dry_run:
        await submissions_service.check(db, auth, request, max_entities=max_entities)
        return CsvPreview(
            entity_type=blueprint.entity_type,
            rows=len(parsed.inputs),
            columns=parsed.columns,
            ignored_columns=parsed.ignored_columns,
            fields=list(csv_fields.importable_fields(blueprint.entity_type)),
        )
    result = await submissions_service.submit(db, dispatcher, auth, request, max_entities=max_entities)
    return CsvSubmitResult(
        submission_id=result.submission_id,
        pipeline_run_ids=result.pipeline_run_ids,
        columns=parsed.columns,
        ignored_columns=parsed.ignored_columns,
    )


# --- export -----------------------------------------------------------------------------------


class _Line:
    """A csv.writer target that hands back what one writerow wrote."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def take(self) -> str:
        out = "".join(self.parts)
        self.parts.clear()
        return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


@dataclass
class CsvExport:
    """A submission's export, its scope already checked: `chunks()` streams it."""

    db: Db
    org_id: uuid.UUID
    company_scope: uuid.UUID | None
    submission_id: uuid.UUID
    fields: list[str]
    escape_formulas: bool
    page_rows: int = EXPORT_PAGE_ROWS

    @property
    def header(self) -> list[str]:
        return [*csv_fields.EXPORT_LEAD_COLUMNS, *self.fields, csv_fields.OTHER_FIELDS_COLUMN]

    @property
    def filename(self) -> str:
        return f"submission-{self.submission_id}.csv"

    def _row(self, run: batch_csv_repo.ExportRun) -> list[str]:
        context = run.final_context or {}
        own = set(csv_fields.export_fields(run.entity_type))
        other = {k: v for k, v in sorted(context.items()) if k not in own}
        cells = [
            str(run.entity_index),
            run.status.value,
            run.error_message or "",
            str(run.pipeline_run_id),
            str(run.parent_pipeline_run_id or ""),
            str(run.depth),
            run.entity_type.value,
            *(_cell(context.get(f)) if f in own else "" for f in self.fields),
            _cell(other) if other else "",
        ]
        if self.escape_formulas:
            cells = [csv_fields.neutralize_formula(c) for c in cells]
        return cells

    async def chunks(self) -> AsyncIterator[bytes]:
        """One chunk for the header, then one per page of runs."""
        out = _Line()
        writer = csv.writer(out, lineterminator="\r\n")
        # a BOM, so a spreadsheet opens the UTF-8 file as UTF-8
        writer.writerow(self.header)
        yield codecs.BOM_UTF8 + out.take().encode()
        after = -1
        while True:
            async with self.db.transaction() as conn:
                runs = await batch_csv_repo.export_page(
                    conn,
                    self.org_id,
                    self.submission_id,
                    company_scope=self.company_scope,
                    after_index=after,
                    limit=self.page_rows,
                )
            if not runs:
                return
            for run in runs:
                writer.writerow(self._row(run))
            yield out.take().encode()
            if len(runs) < self.page_rows:
                return
            after = runs[-1].entity_index


async def open_export(db: Db, auth: AuthContext, body: ExportRequest) -> CsvExport:
    """The export of a submission the caller may see (404 otherwise, before a byte is streamed)."""
    async with db.transaction() as conn:
        types = await batch_csv_repo.entity_types(
            conn, auth.tenant_org_id, body.submission_id, company_scope=auth.company_id
        )
    if types is None:
        raise not_found("submission")
    root, others = types
    fields: list[str] = []
    for entity_type in [root, *sorted(others - {root})]:
        fields.extend(f for f in csv_fields.export_fields(entity_type) if f not in fields)
    return CsvExport(
        db=db,
        org_id=auth.tenant_org_id,
        company_scope=auth.company_id,
        submission_id=body.submission_id,
        fields=fields,
        escape_formulas=body.escape_formulas,
    )
