"""Entity state: the upsert a succeeded run ends with, and the tenant reads."""

import uuid
from typing import Any

import asyncpg

from app.auth.context import AuthContext
from app.contracts.normalize import normalize_domain, normalize_email, normalize_linkedin_url
from app.errors import BadRequest
from app.models.common import Page
from app.models.entities import CompanyEntity, EntityListRequest, PersonEntity
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
    domain = normalize_domain(_str(data.get("domain"))) or normalize_domain(_str(data.get("website")))
    linkedin = normalize_linkedin_url(_str(data.get("linkedin_url")))
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
    linkedin = normalize_linkedin_url(_str(data.get("linkedin_url")))
    # every identity field PersonInput accepts identifies: LinkedIn URL, then work email, then
    # email; `email` is stored in the work_email identity column when no work email is known
    email = normalize_email(_str(data.get("work_email"))) or normalize_email(_str(data.get("email")))
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
