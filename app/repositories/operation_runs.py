"""Durable execution history: one operation_runs row per execute call, one operation_attempts
row per provider attempt, written together."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from app.models.execute import CachedRun, OperationAttempt, OperationRun
from app.operations.engine import Attempt

RUN_COLUMNS = """id, org_id, company_id, user_id, api_token_id, auth_method, operation_id, entity_type, status,
    input, output, missing_inputs, options, pipeline_run_id, step_position, duration_ms, cached, cached_from_run_id,
    created_at"""

INSERT_RUN = """
INSERT INTO operation_runs (org_id, company_id, user_id, api_token_id, auth_method, operation_id, entity_type,
                            status, input, output, missing_inputs, options, pipeline_run_id, step_position,
                            duration_ms, cached, cached_from_run_id, cache_key, id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
        COALESCE($19, gen_random_uuid()))
RETURNING id
"""
# the result cache (CONTRACT §9.2): the newest run of the org for this key that called providers
# and got an answer, younger than the TTL. A cached run is never a source: the age counts from
# the provider's answer, not from the last time it was served.
CACHED_RUN = """
SELECT id, status::text AS status, output, missing_inputs FROM operation_runs
WHERE org_id = $1 AND operation_id = $2 AND cache_key = $3
  AND cache_key IS NOT NULL AND NOT cached AND status IN ('found', 'not_found', 'verified')
  AND created_at > now() - make_interval(secs => $4)
ORDER BY created_at DESC
LIMIT 1
"""
# a claim is taken when there is none, or the one there expired (its process died)
CLAIM = """
INSERT INTO operation_cache_claims (org_id, cache_key, expires_at)
VALUES ($1, $2, now() + make_interval(secs => $3))
ON CONFLICT (org_id, cache_key) DO UPDATE SET expires_at = EXCLUDED.expires_at
    WHERE operation_cache_claims.expires_at <= now()
RETURNING true
"""
CLAIM_HELD = """
SELECT true FROM operation_cache_claims WHERE org_id = $1 AND cache_key = $2 AND expires_at > now()
"""
RELEASE = "DELETE FROM operation_cache_claims WHERE org_id = $1 AND cache_key = $2"
# all attempts of a run in one round trip
INSERT_ATTEMPTS = """
INSERT INTO operation_attempts (org_id, run_id, position, provider, action, status, skip_reason, http_status,
                                provider_status, duration_ms, raw_response, cost_credits, cost_usd)
SELECT $1, $2, a.position, a.provider, a.action, a.status::operation_attempt_status, a.skip_reason, a.http_status,
       a.provider_status, a.duration_ms, a.raw_response, a.cost_credits, a.cost_usd
FROM UNNEST($3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::text[], $10::int[],
            $11::jsonb[], $12::numeric[], $13::numeric[])
     AS a(position, provider, action, status, skip_reason, http_status, provider_status, duration_ms, raw_response,
          cost_credits, cost_usd)
"""
GET_RUN = f"""
SELECT {RUN_COLUMNS} FROM operation_runs
WHERE id = $1 AND org_id = $2 AND ($3::uuid IS NULL OR company_id = $3)
"""
LIST_ATTEMPTS = """
SELECT position, provider, action, status, skip_reason, http_status, provider_status, duration_ms, raw_response,
       cost_credits, cost_usd, created_at
FROM operation_attempts WHERE run_id = $1 AND org_id = $2 ORDER BY position
"""
LIST_RUNS_FOR_ORG = f"""
SELECT {RUN_COLUMNS} FROM operation_runs
WHERE org_id = $1
  AND ($2::uuid IS NULL OR company_id = $2)
  AND ($3::text IS NULL OR operation_id = $3)
  AND ($4::text IS NULL OR status::text = $4)
  AND ($5::uuid IS NULL OR pipeline_run_id = $5)
  AND ($6::timestamptz IS NULL OR (created_at, id) < ($6, $7::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $8
"""


async def insert_run(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    *,
    company_id: uuid.UUID | None,
    user_id: uuid.UUID | None,
    api_token_id: uuid.UUID | None,
    auth_method: str,
    operation_id: str,
    entity_type: str,
    status: str,
    input: dict[str, Any],
    output: dict[str, Any] | None,
    missing_inputs: list[str],
    options: dict[str, Any],
    pipeline_run_id: uuid.UUID | None,
    step_position: int | None,
    duration_ms: int,
    attempts: Sequence[Attempt],
    raw_responses: Sequence[Any],
    cached_from_run_id: uuid.UUID | None = None,
    cache_key: str | None = None,
    run_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """`raw_responses[i]` is what is stored of `attempts[i]`'s provider answer (already redacted)."""
    inserted: uuid.UUID = await conn.fetchval(
        INSERT_RUN,
        org_id,
        company_id,
        user_id,
        api_token_id,
        auth_method,
        operation_id,
        entity_type,
        status,
        input,
        output,
        missing_inputs,
        options,
        pipeline_run_id,
        step_position,
        duration_ms,
        cached_from_run_id is not None,
        cached_from_run_id,
        cache_key,
        run_id,
    )
    if attempts:
        await conn.execute(
            INSERT_ATTEMPTS,
            org_id,
            inserted,
            [i + 1 for i in range(len(attempts))],
            [a.provider for a in attempts],
            [a.action for a in attempts],
            [a.status.value for a in attempts],
            [a.skip_reason for a in attempts],
            [a.http_status for a in attempts],
            [a.provider_status for a in attempts],
            [a.duration_ms for a in attempts],
            list(raw_responses),
            [a.cost_credits for a in attempts],
            [a.cost_usd for a in attempts],
        )
    return inserted


async def get_run(
    conn: asyncpg.Connection, org_id: uuid.UUID, company_scope: uuid.UUID | None, run_id: uuid.UUID
) -> OperationRun | None:
    row = await conn.fetchrow(GET_RUN, run_id, org_id, company_scope)
    return OperationRun.model_validate(dict(row)) if row else None


async def list_attempts(conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID) -> list[OperationAttempt]:
    rows = await conn.fetch(LIST_ATTEMPTS, run_id, org_id)
    return [OperationAttempt.model_validate(dict(r)) for r in rows]


async def list_runs_for_org(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    company_scope: uuid.UUID | None,
    *,
    operation_id: str | None,
    status: str | None,
    pipeline_run_id: uuid.UUID | None,
    after: tuple[datetime | None, uuid.UUID | None],
    limit: int,
) -> list[OperationRun]:
    rows = await conn.fetch(
        LIST_RUNS_FOR_ORG, org_id, company_scope, operation_id, status, pipeline_run_id, after[0], after[1], limit + 1
    )
    return [OperationRun.model_validate(dict(r)) for r in rows]


async def cached_run(
    conn: asyncpg.Connection, org_id: uuid.UUID, operation_id: str, cache_key: str, ttl_seconds: float
) -> CachedRun | None:
    row = await conn.fetchrow(CACHED_RUN, org_id, operation_id, cache_key, ttl_seconds)
    return CachedRun.model_validate(dict(row)) if row else None


async def claim(conn: asyncpg.Connection, org_id: uuid.UUID, cache_key: str, seconds: float) -> bool:
    """True when this caller now holds the (org, key) claim."""
    return bool(await conn.fetchval(CLAIM, org_id, cache_key, seconds))


async def claim_held(conn: asyncpg.Connection, org_id: uuid.UUID, cache_key: str) -> bool:
    return bool(await conn.fetchval(CLAIM_HELD, org_id, cache_key))


async def release(conn: asyncpg.Connection, org_id: uuid.UUID, cache_key: str) -> None:
    await conn.execute(RELEASE, org_id, cache_key)
