"""Entity state: the upsert a succeeded run ends with, and the tenant reads."""

import base64
import binascii
import json
import uuid
from typing import Any

import asyncpg

from app.auth.context import AuthContext
from app.contracts.normalize import normalize_domain, normalize_email, normalize_linkedin_url
from app.errors import BadRequest, not_found
from app.models.common import Page
from app.models.entities import (
    CompanyEntity,
    EntityHistoryRequest,
    EntityListRequest,
    EntityVersion,
    FieldChange,
    PersonEntity,
    TimelineEvent,
)
from app.models.pipeline_runs import PipelineRun
from app.pagination import decode_cursor, encode_cursor
from app.repositories import entities as entities_repo


class EntityUpsertError(Exception):
    pass


def _entity_id(context: dict[str, Any]) -> uuid.UUID | None:
    raw = context.get("entity_id")
    if raw is None:
        return None
    try:
        return uuid.UUID(str(raw))
    except ValueError as e:
        raise EntityUpsertError(f"entity_id {raw!r} is not a UUID") from e


def _str(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def company_keys(data: dict[str, Any]) -> tuple[str | None, str | None]:
    """A company's natural keys in identity order: (normalized domain, else the website's; LinkedIn URL)."""
    domain = normalize_domain(_str(data.get("domain"))) or normalize_domain(_str(data.get("website")))
    return domain, normalize_linkedin_url(_str(data.get("linkedin_url")))


def person_keys(data: dict[str, Any]) -> tuple[str | None, str | None]:
    """A person's natural keys in identity order: (LinkedIn URL; work email, else email). Every
    identity field PersonInput accepts identifies; `email` is stored in the work_email identity
    column when no work email is known."""
    email = normalize_email(_str(data.get("work_email"))) or normalize_email(_str(data.get("email")))
    return normalize_linkedin_url(_str(data.get("linkedin_url"))), email


async def upsert_from_run(conn: asyncpg.Connection, run: PipelineRun, context: dict[str, Any]) -> tuple[uuid.UUID, int]:
    """Idempotent: a run that already produced a version returns it unchanged."""
    entity_type = run.entity_type.value
    existing = await entities_repo.version_for_run(conn, run.id, entity_type)
    if existing is not None:
        return existing["entity_id"], existing["record_version"]
    # nulls never erase: only non-null values enter the merge
    data = {k: v for k, v in context.items() if v is not None and k != "entity_id"}
    entity_id = _entity_id(context)
    # a savepoint, so a unique-key race with a concurrent run can be retried as an update
    for _ in range(2):
        try:
            async with conn.transaction():
                if entity_type == "company":
                    result = await _upsert_company(conn, run, entity_id, data)
                else:
                    result = await _upsert_person(conn, run, entity_id, data)
            await entities_repo.insert_version(conn, run.org_id, entity_type, result[0], result[1], run.id, data)
            return result
        except asyncpg.UniqueViolationError:
            continue
    raise EntityUpsertError("the entity record kept conflicting with concurrent runs")


async def _upsert_company(
    conn: asyncpg.Connection, run: PipelineRun, entity_id: uuid.UUID | None, data: dict[str, Any]
) -> tuple[uuid.UUID, int]:
    domain, linkedin = company_keys(data)
    name = _str(data.get("name"))
    found = await entities_repo.find_company(
        conn, run.org_id, run.company_id, entity_id=entity_id, domain=domain, linkedin_url=linkedin
    )
    if found is None:
        if entity_id is not None:
            raise EntityUpsertError(f"entity {entity_id} is not a company record of this company")
        if not (domain or linkedin or name):
            raise EntityUpsertError("the run produced no identity for a company (domain, LinkedIn URL or name)")
        new_id = await entities_repo.insert_company(
            conn, run.org_id, run.company_id, name=name, domain=domain, linkedin_url=linkedin, data=data, run_id=run.id
        )
        return new_id, 1
    version = await entities_repo.update_company(
        conn, run.org_id, found["id"], name=name, domain=domain, linkedin_url=linkedin, data=data, run_id=run.id
    )
    return found["id"], version


async def _upsert_person(
    conn: asyncpg.Connection, run: PipelineRun, entity_id: uuid.UUID | None, data: dict[str, Any]
) -> tuple[uuid.UUID, int]:
    linkedin, email = person_keys(data)
    full_name = (
        _str(data.get("full_name"))
        or " ".join(p for p in (_str(data.get("first_name")), _str(data.get("last_name"))) if p)
        or None
    )
    company_domain = normalize_domain(_str(data.get("company_domain")))
    found = await entities_repo.find_person(
        conn, run.org_id, run.company_id, entity_id=entity_id, linkedin_url=linkedin, work_email=email
    )
    if found is None:
        if entity_id is not None:
            raise EntityUpsertError(f"entity {entity_id} is not a person record of this company")
        if not (linkedin or email or full_name):
            raise EntityUpsertError(
                "the run produced no identity for a person (LinkedIn URL, work email, email or name)"
            )
        new_id = await entities_repo.insert_person(
            conn,
            run.org_id,
            run.company_id,
            full_name=full_name,
            linkedin_url=linkedin,
            work_email=email,
            company_domain=company_domain,
            data=data,
            run_id=run.id,
        )
        return new_id, 1
    version = await entities_repo.update_person(
        conn,
        run.org_id,
        found["id"],
        full_name=full_name,
        linkedin_url=linkedin,
        work_email=email,
        company_domain=company_domain,
        data=data,
        run_id=run.id,
    )
    return found["id"], version


def _page(rows: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], str | None]:
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]["updated_at"], rows[-1]["id"])


async def list_companies(conn: asyncpg.Connection, auth: AuthContext, body: EntityListRequest) -> Page[CompanyEntity]:
    f = body.filters
    if f is not None and f.email is not None:
        raise BadRequest("email filters persons, not companies", code="invalid_filter")
    rows = await entities_repo.list_companies(
        conn,
        auth.tenant_org_id,
        auth.company_id,
        company_id=f.company_id if f else None,
        domain=normalize_domain(f.domain) if f and f.domain else None,
        name=f.name if f else None,
        linkedin_url=normalize_linkedin_url(f.linkedin_url) if f and f.linkedin_url else None,
        updated_since=f.updated_since if f else None,
        after=decode_cursor(body.cursor),
        limit=body.limit,
    )
    items, cursor = _page(rows, body.limit)
    return Page[CompanyEntity](items=[CompanyEntity.model_validate(r) for r in items], next_cursor=cursor)


async def list_persons(conn: asyncpg.Connection, auth: AuthContext, body: EntityListRequest) -> Page[PersonEntity]:
    f = body.filters
    rows = await entities_repo.list_persons(
        conn,
        auth.tenant_org_id,
        auth.company_id,
        company_id=f.company_id if f else None,
        domain=normalize_domain(f.domain) if f and f.domain else None,
        name=f.name if f else None,
        linkedin_url=normalize_linkedin_url(f.linkedin_url) if f and f.linkedin_url else None,
        email=normalize_email(f.email) if f and f.email else None,
        updated_since=f.updated_since if f else None,
        after=decode_cursor(body.cursor),
        limit=body.limit,
    )
    items, cursor = _page(rows, body.limit)
    return Page[PersonEntity](items=[PersonEntity.model_validate(r) for r in items], next_cursor=cursor)


# --- history (CONTRACT §9.3; docs/decisions/0044-entity-history.md) ------------------------------

# record_version and step position are Postgres integers: a crafted cursor outside them is refused
# before it reaches the driver
_INT4_MAX = 2**31 - 1


def _encode_key(*key: int) -> str:
    return base64.urlsafe_b64encode(json.dumps(["h", *key]).encode()).decode().rstrip("=")


def _decode_key(cursor: str | None, size: int) -> tuple[int, ...] | None:
    if cursor is None:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as e:
        raise BadRequest("the cursor is not one this API issued", code="invalid_cursor") from e
    if (
        not isinstance(raw, list)
        or len(raw) != size + 1
        or raw[0] != "h"
        or not all(type(v) is int and 0 <= v <= _INT4_MAX for v in raw[1:])
    ):
        raise BadRequest("the cursor is not one this API issued", code="invalid_cursor")
    return tuple(raw[1:])


async def _visible(conn: asyncpg.Connection, auth: AuthContext, body: EntityHistoryRequest) -> None:
    visible = await entities_repo.entity_visible(
        conn, auth.tenant_org_id, auth.company_id, body.entity_type.value, body.entity_id
    )
    if not visible:
        raise not_found("entity")


def _changes(data: dict[str, Any], previous: dict[str, Any]) -> dict[str, FieldChange]:
    """The fields a version changed: its value differs from the record's value before it."""
    return {
        field: FieldChange(from_=previous.get(field), to=value)
        for field, value in data.items()
        if field not in previous or previous[field] != value
    }


async def versions(conn: asyncpg.Connection, auth: AuthContext, body: EntityHistoryRequest) -> Page[EntityVersion]:
    """Newest first. A version whose run changed no value is listed with empty `changes`: it is
    still a run merged into the record (record_version rose)."""
    after = _decode_key(body.cursor, 1)
    await _visible(conn, auth, body)
    rows = await entities_repo.versions(
        conn,
        auth.tenant_org_id,
        body.entity_type.value,
        body.entity_id,
        before_version=after[0] if after else None,
        limit=body.limit + 1,
    )
    page, more = rows[: body.limit], len(rows) > body.limit
    items = [
        EntityVersion(
            record_version=r["record_version"],
            at=r["created_at"],
            pipeline_run_id=r["pipeline_run_id"],
            changes=_changes(r["data"], r["previous"]),
        )
        for r in page
    ]
    return Page[EntityVersion](items=items, next_cursor=_encode_key(page[-1]["record_version"]) if more else None)


def _fields_changed_by_step(steps: list[dict[str, Any]], entity_changed: set[str]) -> dict[int, list[str]]:
    """Per position: the fields this step's output changed in the run's context, that no later
    step of the run changed again, and whose value in the record the run's version changed."""
    context: dict[str, Any] = dict(steps[0]["input"] or {}) if steps else {}
    last_writer: dict[str, int] = {}
    for step in steps:
        after = step["context_after"]
        if after is None:  # failed or skipped: the context goes on unchanged
            continue
        for field, value in (step["output"] or {}).items():
            if value is not None and field in after and context.get(field) != after[field]:
                last_writer[field] = step["position"]
        context = after
    out: dict[int, list[str]] = {}
    for field, position in last_writer.items():
        if field in entity_changed:
            out.setdefault(position, []).append(field)
    return {position: sorted(fields) for position, fields in out.items()}


async def timeline(conn: asyncpg.Connection, auth: AuthContext, body: EntityHistoryRequest) -> Page[TimelineEvent]:
    """Newest first: runs in the order they were merged into the record, each run's steps last to
    first. Only runs whose context reached the record appear (a failed run changes no record)."""
    after = _decode_key(body.cursor, 2)
    await _visible(conn, auth, body)
    org_id, entity_type = auth.tenant_org_id, body.entity_type.value
    rows = await entities_repo.timeline(
        conn, org_id, entity_type, body.entity_id, after=(after[0], after[1]) if after else None, limit=body.limit + 1
    )
    page, more = rows[: body.limit], len(rows) > body.limit
    run_ids = list(dict.fromkeys(r["pipeline_run_id"] for r in page))
    fields: dict[uuid.UUID, dict[int, list[str]]] = {}
    if run_ids:
        changed = {
            v["pipeline_run_id"]: set(_changes(v["data"], v["previous"]))
            for v in await entities_repo.versions(
                conn, org_id, entity_type, body.entity_id, run_ids=run_ids, limit=len(run_ids)
            )
        }
        by_run: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for step in await entities_repo.run_steps(conn, org_id, run_ids):
            by_run.setdefault(step["pipeline_run_id"], []).append(step)
        fields = {run: _fields_changed_by_step(by_run.get(run, []), changed.get(run, set())) for run in run_ids}
    items = [
        TimelineEvent(
            at=r["at"],
            submission_id=r["submission_id"],
            pipeline_run_id=r["pipeline_run_id"],
            position=r["position"],
            operation_id=r["operation_id"],
            status=r["status"],
            skip_reason=r["skip_reason"],
            provider=r["provider"],
            cached=r["cached"],
            fields_changed=fields.get(r["pipeline_run_id"], {}).get(r["position"], []),
        )
        for r in page
    ]
    cursor = _encode_key(page[-1]["record_version"], page[-1]["position"]) if more else None
    return Page[TimelineEvent](items=items, next_cursor=cursor)
