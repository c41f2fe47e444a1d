"""The usage summary (CONTRACT §9.4): provider calls and cached answers from the cost ledger
(`operation_attempts.cost_*`), grouped by one key, within the caller's scope."""

import uuid
from datetime import datetime

import asyncpg

from app.models.usage import GroupBy, UsageItem

# the group key of a provider call (an attempt `a` of run `r`) and of a cached answer (run `r`);
# a cached answer called no provider, so by provider it is the key "cache"
_KEYS: dict[str, tuple[str, str]] = {
    "provider": ("a.provider", "'cache'"),
    "operation": ("r.operation_id", "r.operation_id"),
    "company": ("r.company_id::text", "r.company_id::text"),
    "day": ("to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",) * 2,
}


def _summary_sql(call_key: str, cached_key: str) -> str:
    return f"""
WITH runs AS (
    SELECT r.id, r.company_id, r.operation_id, r.cached, r.created_at FROM operation_runs r
    WHERE r.org_id = $1 AND ($2::uuid IS NULL OR r.company_id = $2)
      AND ($3::timestamptz IS NULL OR r.created_at >= $3) AND ($4::timestamptz IS NULL OR r.created_at < $4)
), calls AS (
    SELECT {call_key} AS key, 1 AS calls, CASE WHEN a.cost_credits > 0 THEN 1 ELSE 0 END AS billable,
           0 AS cached, CASE WHEN a.cost_credits IS NULL THEN 1 ELSE 0 END AS unpriced,
           a.cost_credits AS credits, a.cost_usd AS usd
    FROM runs r JOIN operation_attempts a ON a.run_id = r.id AND a.org_id = $1
    WHERE a.status <> 'skipped'
    UNION ALL
    SELECT {cached_key}, 1, 0, 1, 0, 0, 0 FROM runs r WHERE r.cached
)
SELECT key, count(*)::int AS calls, sum(billable)::int AS billable_calls, sum(cached)::int AS cached_calls,
       sum(unpriced)::int AS unpriced_calls, COALESCE(sum(credits), 0) AS credits, COALESCE(sum(usd), 0) AS usd
FROM calls
GROUP BY key
ORDER BY key NULLS FIRST
"""


SUMMARY: dict[str, str] = {group: _summary_sql(*keys) for group, keys in _KEYS.items()}


async def summary(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    *,
    company_scope: uuid.UUID | None,
    group_by: GroupBy,
    start: datetime | None,
    end: datetime | None,
) -> list[UsageItem]:
    rows = await conn.fetch(SUMMARY[group_by], org_id, company_scope, start, end)
    return [UsageItem.model_validate(dict(r)) for r in rows]
