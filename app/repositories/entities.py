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


# --- history (CONTRACT §9.3) ---------------------------------------------------------------------

# the record itself, in the caller's scope: history of a record the caller cannot see is a 404
COMPANY_VISIBLE = """
SELECT true FROM company_entities WHERE org_id = $1 AND id = $2 AND ($3::uuid IS NULL OR company_id = $3)
"""
PERSON_VISIBLE = """
SELECT true FROM person_entities WHERE org_id = $1 AND id = $2 AND ($3::uuid IS NULL OR company_id = $3)
"""

# Versions newest first, each with the values the record held before it. A version row stores the
# run's whole context (nulls stripped) and the record is `data || context`, so a field's value
# before version n is its value in the newest earlier version that carried the field; none: the
# field was new. $5 restricts to some runs (the timeline's), $4 is the keyset cursor.
VERSIONS = """
WITH page AS (
    SELECT record_version, created_at, pipeline_run_id, data
    FROM entity_versions
    WHERE org_id = $1 AND entity_type = $2::entity_type AND entity_id = $3
      AND ($4::integer IS NULL OR record_version < $4)
      AND ($5::uuid[] IS NULL OR pipeline_run_id = ANY($5))
    ORDER BY record_version DESC
    LIMIT $6
)
SELECT p.record_version, p.created_at, p.pipeline_run_id, p.data,
       (SELECT COALESCE(jsonb_object_agg(k.key, prev.value), '{}'::jsonb)
          FROM jsonb_object_keys(p.data) AS k(key)
          -- served by the unique (entity_type, entity_id, record_version) index, walking backwards
          CROSS JOIN LATERAL (
              SELECT e.data -> k.key AS value FROM entity_versions e
              WHERE e.entity_type = $2::entity_type AND e.entity_id = $3 AND e.org_id = $1
                AND e.record_version < p.record_version AND e.data ? k.key
              ORDER BY e.record_version DESC
              LIMIT 1) AS prev) AS previous
FROM page p
ORDER BY p.record_version DESC
"""

# Every step of every run whose context was merged into the record, newest first: runs in the
# order they were merged (record_version), steps last to first. `provider`: the first attempt that
# answered (found or verified), of the operation run itself or, for a cached answer, of the run
# whose result it reused.
TIMELINE = """
SELECT v.record_version, s.position, COALESCE(s.finished_at, s.updated_at) AS at, r.submission_id,
       s.pipeline_run_id, s.operation_id, s.status::text AS status, s.skip_reason,
       COALESCE(o.cached, false) AS cached,
       (SELECT a.provider FROM operation_attempts a
         WHERE a.org_id = $1 AND a.run_id IN (o.id, o.cached_from_run_id)
           AND a.status IN ('found', 'verified')
         ORDER BY (a.run_id = o.id) DESC, a.position
         LIMIT 1) AS provider
FROM entity_versions v
JOIN pipeline_runs r ON r.org_id = v.org_id AND r.id = v.pipeline_run_id
JOIN step_results s ON s.org_id = v.org_id AND s.pipeline_run_id = v.pipeline_run_id
LEFT JOIN operation_runs o ON o.org_id = s.org_id AND o.id = s.operation_run_id
WHERE v.org_id = $1 AND v.entity_type = $2::entity_type AND v.entity_id = $3
  AND ($4::integer IS NULL OR (v.record_version, s.position) < ($4, $5::integer))
ORDER BY v.record_version DESC, s.position DESC
LIMIT $6
"""

# what fields_changed is derived from: each run's input and every step's output and context after
RUN_STEPS = """
SELECT s.pipeline_run_id, s.position, s.output, s.context_after, r.input
FROM step_results s JOIN pipeline_runs r ON r.org_id = s.org_id AND r.id = s.pipeline_run_id
WHERE s.org_id = $1 AND s.pipeline_run_id = ANY($2::uuid[])
ORDER BY s.pipeline_run_id, s.position
"""


async def entity_visible(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    company_scope: uuid.UUID | None,
    entity_type: str,
    entity_id: uuid.UUID,
) -> bool:
    query = COMPANY_VISIBLE if entity_type == "company" else PERSON_VISIBLE
    return bool(await conn.fetchval(query, org_id, entity_id, company_scope))


async def versions(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    entity_type: str,
    entity_id: uuid.UUID,
    *,
    before_version: int | None = None,
    run_ids: list[uuid.UUID] | None = None,
    limit: int,
) -> list[dict[str, Any]]:
    rows = await conn.fetch(VERSIONS, org_id, entity_type, entity_id, before_version, run_ids, limit)
    return [dict(r) for r in rows]


async def timeline(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    entity_type: str,
    entity_id: uuid.UUID,
    *,
    after: tuple[int, int] | None,
    limit: int,
) -> list[dict[str, Any]]:
    version, position = after if after is not None else (None, None)
    rows = await conn.fetch(TIMELINE, org_id, entity_type, entity_id, version, position, limit)
    return [dict(r) for r in rows]


async def run_steps(conn: asyncpg.Connection, org_id: uuid.UUID, run_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    rows = await conn.fetch(RUN_STEPS, org_id, run_ids)
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


# --- skip_if_fresh: what this operation last wrote into the org's record, if recent -------------

# The record is found by natural key like the upsert does (without locking it); a step of the same
# operation that succeeded within the window, in a run merged into that record, is what it wrote.
# Per entity type: (table, first key column and type, second key column and type).
_FRESH_KEYS = {
    "company": ("company_entities", "domain", "citext", "linkedin_url", "text"),
    "person": ("person_entities", "linkedin_url", "text", "work_email", "citext"),
}
FRESH_OUTPUT = {
    entity_type: f"""
WITH e AS (
    SELECT id, data FROM {table}
    WHERE org_id = $1 AND company_id = $2
      AND (($3::{type1} IS NOT NULL AND {key1} = $3) OR ($4::{type2} IS NOT NULL AND {key2} = $4))
    ORDER BY ({key1} = $3) DESC NULLS LAST LIMIT 1
)
SELECT e.data, sr.output FROM e
JOIN entity_versions v ON v.org_id = $1 AND v.entity_type = '{entity_type}' AND v.entity_id = e.id
JOIN step_results sr ON sr.pipeline_run_id = v.pipeline_run_id AND sr.org_id = $1
WHERE sr.operation_id = $5 AND sr.status = 'succeeded' AND sr.output IS NOT NULL
  AND sr.finished_at > now() - make_interval(hours => $6)
ORDER BY sr.finished_at DESC LIMIT 1
"""
    for entity_type, (table, key1, type1, key2, type2) in _FRESH_KEYS.items()
}


async def fresh_output(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    company_id: uuid.UUID,
    entity_type: str,
    keys: tuple[str | None, str | None],
    operation_id: str,
    max_age_hours: int,
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(the record's data, the operation's last output on it) when that output is younger than the
    window; `keys` are (domain, LinkedIn URL) for a company, (LinkedIn URL, email) for a person."""
    row = await conn.fetchrow(
        FRESH_OUTPUT[entity_type], org_id, company_id, keys[0], keys[1], operation_id, max_age_hours
    )
    return (row["data"], row["output"]) if row else None


# --- detect_changes: the org's stored record of an entity, by natural key ------------------------

# Like the upsert finds it (without locking); a NULL company scope searches every company of the
# org and takes the most recently updated record.
STORED_ENTITY = {
    entity_type: f"""
SELECT data, record_version FROM {table}
WHERE org_id = $1 AND ($2::uuid IS NULL OR company_id = $2)
  AND (($3::{type1} IS NOT NULL AND {key1} = $3) OR ($4::{type2} IS NOT NULL AND {key2} = $4))
ORDER BY ({key1} = $3) DESC NULLS LAST, updated_at DESC, id DESC
LIMIT 1
"""
    for entity_type, (table, key1, type1, key2, type2) in _FRESH_KEYS.items()
}


async def stored_entity(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    company_scope: uuid.UUID | None,
    entity_type: str,
    keys: tuple[str | None, str | None],
) -> tuple[dict[str, Any], int] | None:
    """(data, record_version) of the org's record; `keys` as for `fresh_output`."""
    if keys == (None, None):
        return None
    row = await conn.fetchrow(STORED_ENTITY[entity_type], org_id, company_scope, keys[0], keys[1])
    return (row["data"], row["record_version"]) if row else None
