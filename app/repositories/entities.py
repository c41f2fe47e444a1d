"""Canonical company and person records (CONTRACT §7): identity by natural key within the org's
client company, non-null values win, one version per run."""

import uuid
from datetime import datetime
from typing import Any

import asyncpg

COMPANY_COLUMNS = """id, org_id, company_id, name, domain::text AS domain, linkedin_url, data, record_version,
    last_pipeline_run_id, created_at, updated_at"""
PERSON_COLUMNS = """id, org_id, company_id, full_name, linkedin_url, work_email::text AS work_email,
    company_domain::text AS company_domain, company_entity_id, data, record_version, last_pipeline_run_id, created_at,
    updated_at"""

VERSION_EXISTS = """
SELECT entity_id, record_version FROM entity_versions WHERE pipeline_run_id = $1 AND entity_type = $2
"""
INSERT_VERSION = """
INSERT INTO entity_versions (org_id, entity_type, entity_id, record_version, pipeline_run_id, data)
VALUES ($1, $2, $3, $4, $5, $6)
"""

# identity: an explicit entity_id, else each natural key in order; locked for the merge
FIND_COMPANY = """
SELECT id, data, record_version FROM company_entities
WHERE org_id = $1 AND company_id = $2 AND (
    ($3::uuid IS NOT NULL AND id = $3)
    OR ($3::uuid IS NULL AND $4::citext IS NOT NULL AND domain = $4)
    OR ($3::uuid IS NULL AND $5::text IS NOT NULL AND linkedin_url = $5))
ORDER BY (id = $3) DESC NULLS LAST, (domain = $4) DESC NULLS LAST
LIMIT 1
FOR UPDATE
"""
INSERT_COMPANY = """
INSERT INTO company_entities (org_id, company_id, name, domain, linkedin_url, data, record_version,
                              last_pipeline_run_id)
VALUES ($1, $2, $3, $4, $5, $6, 1, $7)
RETURNING id
"""
# `data || new` keeps old keys; new non-null values (nulls are stripped before) win
UPDATE_COMPANY = """
UPDATE company_entities SET
    name = COALESCE($3, name), domain = COALESCE($4, domain), linkedin_url = COALESCE($5, linkedin_url),
    data = data || $6::jsonb, record_version = record_version + 1, last_pipeline_run_id = $7
WHERE id = $1 AND org_id = $2
RETURNING record_version
"""
FIND_PERSON = """
SELECT id, data, record_version FROM person_entities
WHERE org_id = $1 AND company_id = $2 AND (
    ($3::uuid IS NOT NULL AND id = $3)
    OR ($3::uuid IS NULL AND $4::text IS NOT NULL AND linkedin_url = $4)
    OR ($3::uuid IS NULL AND $5::citext IS NOT NULL AND work_email = $5))
ORDER BY (id = $3) DESC NULLS LAST, (linkedin_url = $4) DESC NULLS LAST
LIMIT 1
FOR UPDATE
"""
INSERT_PERSON = """
INSERT INTO person_entities (org_id, company_id, full_name, linkedin_url, work_email, company_domain, data,
                             record_version, last_pipeline_run_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8)
RETURNING id
"""
UPDATE_PERSON = """
UPDATE person_entities SET
    full_name = COALESCE($3, full_name), linkedin_url = COALESCE($4, linkedin_url),
    work_email = COALESCE($5, work_email), company_domain = COALESCE($6, company_domain),
    data = data || $7::jsonb, record_version = record_version + 1, last_pipeline_run_id = $8
WHERE id = $1 AND org_id = $2
RETURNING record_version
"""

LIST_COMPANIES = f"""
SELECT {COMPANY_COLUMNS} FROM company_entities
WHERE org_id = $1 AND ($2::uuid IS NULL OR company_id = $2)
  AND ($3::uuid IS NULL OR company_id = $3)
  AND ($4::citext IS NULL OR domain = $4)
  AND ($5::text IS NULL OR name ILIKE '%' || $5 || '%')
  AND ($6::text IS NULL OR linkedin_url = $6)
  AND ($7::timestamptz IS NULL OR updated_at >= $7)
  AND ($8::timestamptz IS NULL OR (updated_at, id) < ($8, $9::uuid))
ORDER BY updated_at DESC, id DESC
LIMIT $10
"""
LIST_PERSONS = f"""
SELECT {PERSON_COLUMNS} FROM person_entities
WHERE org_id = $1 AND ($2::uuid IS NULL OR company_id = $2)
  AND ($3::uuid IS NULL OR company_id = $3)
  AND ($4::citext IS NULL OR company_domain = $4)
  AND ($5::text IS NULL OR full_name ILIKE '%' || $5 || '%')
  AND ($6::text IS NULL OR linkedin_url = $6)
  AND ($7::citext IS NULL OR work_email = $7)
  AND ($8::timestamptz IS NULL OR updated_at >= $8)
  AND ($9::timestamptz IS NULL OR (updated_at, id) < ($9, $10::uuid))
ORDER BY updated_at DESC, id DESC
LIMIT $11
"""


async def version_for_run(conn: asyncpg.Connection, run_id: uuid.UUID, entity_type: str) -> asyncpg.Record | None:
    return await conn.fetchrow(VERSION_EXISTS, run_id, entity_type)


async def insert_version(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    entity_type: str,
    entity_id: uuid.UUID,
    record_version: int,
    run_id: uuid.UUID,
    data: dict[str, Any],
) -> None:
    await conn.execute(INSERT_VERSION, org_id, entity_type, entity_id, record_version, run_id, data)


async def find_company(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    company_id: uuid.UUID,
    *,
    entity_id: uuid.UUID | None,
    domain: str | None,
    linkedin_url: str | None,
) -> asyncpg.Record | None:
    return await conn.fetchrow(FIND_COMPANY, org_id, company_id, entity_id, domain, linkedin_url)


async def insert_company(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    company_id: uuid.UUID,
    *,
    name: str | None,
    domain: str | None,
    linkedin_url: str | None,
    data: dict[str, Any],
    run_id: uuid.UUID,
) -> uuid.UUID:
    return await conn.fetchval(INSERT_COMPANY, org_id, company_id, name, domain, linkedin_url, data, run_id)


async def update_company(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    entity_id: uuid.UUID,
    *,
    name: str | None,
    domain: str | None,
    linkedin_url: str | None,
    data: dict[str, Any],
    run_id: uuid.UUID,
) -> int:
    return await conn.fetchval(UPDATE_COMPANY, entity_id, org_id, name, domain, linkedin_url, data, run_id)


async def find_person(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    company_id: uuid.UUID,
    *,
    entity_id: uuid.UUID | None,
    linkedin_url: str | None,
    work_email: str | None,
) -> asyncpg.Record | None:
    return await conn.fetchrow(FIND_PERSON, org_id, company_id, entity_id, linkedin_url, work_email)


async def insert_person(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    company_id: uuid.UUID,
    *,
    full_name: str | None,
    linkedin_url: str | None,
    work_email: str | None,
    company_domain: str | None,
    data: dict[str, Any],
    run_id: uuid.UUID,
) -> uuid.UUID:
    return await conn.fetchval(
        INSERT_PERSON, org_id, company_id, full_name, linkedin_url, work_email, company_domain, data, run_id
    )


async def update_person(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    entity_id: uuid.UUID,
    *,
    full_name: str | None,
    linkedin_url: str | None,
    work_email: str | None,
    company_domain: str | None,
    data: dict[str, Any],
    run_id: uuid.UUID,
) -> int:
    return await conn.fetchval(
        UPDATE_PERSON, entity_id, org_id, full_name, linkedin_url, work_email, company_domain, data, run_id
    )


async def list_companies(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    company_scope: uuid.UUID | None,
    *,
    company_id: uuid.UUID | None,
    domain: str | None,
    name: str | None,
    linkedin_url: str | None,
    updated_since: datetime | None,
    after: tuple[datetime | None, uuid.UUID | None],
    limit: int,
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        LIST_COMPANIES,
        org_id,
        company_scope,
        company_id,
        domain,
        name,
        linkedin_url,
        updated_since,
        after[0],
        after[1],
        limit + 1,
    )
    return [dict(r) for r in rows]


async def list_persons(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    company_scope: uuid.UUID | None,
    *,
    company_id: uuid.UUID | None,
    domain: str | None,
    name: str | None,
    linkedin_url: str | None,
    email: str | None,
    updated_since: datetime | None,
    after: tuple[datetime | None, uuid.UUID | None],
    limit: int,
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        LIST_PERSONS,
        org_id,
        company_scope,
        company_id,
        domain,
        name,
        linkedin_url,
        email,
        updated_since,
        after[0],
        after[1],
        limit + 1,
    )
    return [dict(r) for r in rows]


# --- fan-out: a person found by a company's search is linked to that company's record ----------

# the parent run is share-locked BEFORE the child's record is touched: a parent finishing at the
# same time holds it for update, so exactly one of the two sees the other's committed record
LOCK_PARENT_COMPANY_ENTITY = """
SELECT v.entity_id FROM pipeline_runs p
LEFT JOIN entity_versions v ON v.pipeline_run_id = p.id AND v.entity_type = 'company'
WHERE p.id = $1 AND p.org_id = $2 AND p.entity_type = 'company'
FOR SHARE OF p
"""
LINK_PERSON = "UPDATE person_entities SET company_entity_id = $3 WHERE id = $1 AND org_id = $2"
LINK_CHILDREN = """
UPDATE person_entities pe SET company_entity_id = $3
FROM pipeline_runs r JOIN entity_versions v ON v.pipeline_run_id = r.id AND v.entity_type = 'person'
WHERE r.parent_pipeline_run_id = $1 AND r.org_id = $2 AND pe.id = v.entity_id AND pe.org_id = $2
  AND pe.company_entity_id IS DISTINCT FROM $3
"""


async def lock_parent_company_entity(
    conn: asyncpg.Connection, org_id: uuid.UUID, parent_run_id: uuid.UUID
) -> tuple[bool, uuid.UUID | None]:
    """(the parent is a company run, its record once it has finished)."""
    row = await conn.fetchrow(LOCK_PARENT_COMPANY_ENTITY, parent_run_id, org_id)
    return (row is not None, row["entity_id"] if row else None)


async def link_person(
    conn: asyncpg.Connection, org_id: uuid.UUID, person_id: uuid.UUID, company_entity_id: uuid.UUID
) -> None:
    await conn.execute(LINK_PERSON, person_id, org_id, company_entity_id)


async def link_children(
    conn: asyncpg.Connection, org_id: uuid.UUID, parent_run_id: uuid.UUID, company_entity_id: uuid.UUID
) -> None:
    """The records of the parent's person children that finished before it."""
    await conn.execute(LINK_CHILDREN, parent_run_id, org_id, company_entity_id)
