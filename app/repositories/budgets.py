"""Budgets and their reservations (CONTRACT §9.4, docs/decisions/0057-budget-reservations.md).

A provider call starts only after a conditional UPDATE reserved its documented price on every
budget that covers the caller, under the rows' locks, in one transaction: two processes racing on
the last dollar see each other's reservations, so together they overspend by at most what the
calls cost beyond their reservations (one call each at most). The call then settles: the
reservation is given back and what it actually cost is counted."""

import uuid
from datetime import date
from decimal import Decimal

import asyncpg

from app.models.budgets import Budget

UPSERT = """
INSERT INTO budgets (org_id, company_id, limit_usd, period)
VALUES ($1, $2, $3, $4)
ON CONFLICT (org_id, company_id) DO UPDATE SET limit_usd = EXCLUDED.limit_usd, period = EXCLUDED.period
RETURNING id
"""
# the month's spend of one scope as the ledger has it: the org's (company NULL) or a company's
_LEDGER_SPEND = """
SELECT sum(a.cost_usd) FROM operation_runs r
JOIN operation_attempts a ON a.run_id = r.id AND a.org_id = r.org_id
WHERE r.org_id = {org} AND ({company} IS NULL OR r.company_id = {company})
  AND a.created_at >= ({period}::date)::timestamp AT TIME ZONE 'UTC'
  AND a.created_at < ({period}::date + interval '1 month')::timestamp AT TIME ZONE 'UTC'
"""
# the scope's budget with the current period's figures; a scope without a budget (or whose budget
# has not been asked for a call this period yet) shows the ledger's spend
GET = f"""
SELECT b.id, $2::uuid AS company_id, b.limit_usd, COALESCE(b.period, 'month') AS period, b.created_at,
       b.updated_at, $3::date AS period_start,
       COALESCE(p.spent_usd, ({_LEDGER_SPEND.format(org="$1", company="$2::uuid", period="$3")}), 0) AS spent_usd,
       COALESCE(p.reserved_usd, 0) AS reserved_usd
FROM (SELECT 1) AS one
LEFT JOIN budgets b ON b.org_id = $1 AND b.company_id IS NOT DISTINCT FROM $2::uuid
LEFT JOIN budget_periods p ON p.budget_id = b.id AND p.period_start = $3
"""
# every budget that covers a call of (org, company): the org's and, for a company, the company's
COVERING = """
SELECT id FROM budgets WHERE org_id = $1 AND (company_id IS NULL OR company_id = $2::uuid) ORDER BY id
"""
# a budget's first reservation of a period opens the period with what the ledger already holds
# for its scope this month (a budget set mid-month counts the month's earlier spend)
OPEN_PERIODS = f"""
INSERT INTO budget_periods (org_id, budget_id, period_start, spent_usd)
SELECT b.org_id, b.id, $3::date,
       COALESCE(({_LEDGER_SPEND.format(org="b.org_id", company="b.company_id", period="$3")}), 0)
FROM budgets b
WHERE b.id = ANY($2::uuid[]) AND b.org_id = $1
  AND NOT EXISTS (SELECT 1 FROM budget_periods p WHERE p.budget_id = b.id AND p.period_start = $3)
ON CONFLICT (budget_id, period_start) DO NOTHING
"""
# rows locked in one order by every reservation and settlement, so two of them never deadlock
LOCK_PERIODS = """
SELECT budget_id FROM budget_periods
WHERE budget_id = ANY($1::uuid[]) AND period_start = $2
ORDER BY budget_id
FOR UPDATE
"""
# holds of calls whose process died give their reservation back once expired
SWEEP_EXPIRED = """
WITH gone AS (
    DELETE FROM budget_holds
    WHERE org_id = $1 AND budget_ids && $2::uuid[] AND expires_at < now()
    RETURNING budget_ids, period_start, amount_usd
), per_budget AS (
    SELECT b AS budget_id, period_start, sum(amount_usd) AS amount_usd
    FROM gone, unnest(budget_ids) AS b
    GROUP BY b, period_start
)
UPDATE budget_periods p SET reserved_usd = GREATEST(p.reserved_usd - g.amount_usd, 0)
FROM per_budget g
WHERE p.budget_id = g.budget_id AND p.period_start = g.period_start
"""
# the reservation itself: only when the budget's spend has not reached its limit and the call's
# documented price still fits under it
RESERVE = """
UPDATE budget_periods p SET reserved_usd = p.reserved_usd + $3
FROM budgets b
WHERE p.budget_id = $1 AND p.period_start = $2 AND b.id = p.budget_id
  AND p.spent_usd + p.reserved_usd < b.limit_usd
  AND p.spent_usd + p.reserved_usd + $3 <= b.limit_usd
RETURNING p.budget_id
"""
INSERT_HOLD = """
INSERT INTO budget_holds (org_id, budget_ids, period_start, amount_usd, expires_at)
VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
RETURNING id
"""
# the call is over: its hold goes (if a sweep has not taken it already) and its cost is counted
SETTLE = """
WITH gone AS (DELETE FROM budget_holds WHERE id = $1 AND org_id = $5 RETURNING amount_usd)
UPDATE budget_periods p
SET reserved_usd = GREATEST(p.reserved_usd - COALESCE((SELECT amount_usd FROM gone), 0), 0),
    spent_usd = p.spent_usd + $2
WHERE p.budget_id = ANY($3::uuid[]) AND p.period_start = $4 AND p.org_id = $5
"""


class _Refused(Exception):
    """A budget had no room: the transaction rolls back every reservation it made."""


async def upsert(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    *,
    company_id: uuid.UUID | None,
    limit_usd: Decimal,
    period: str,
) -> uuid.UUID:
    budget_id: uuid.UUID = await conn.fetchval(UPSERT, org_id, company_id, limit_usd, period)
    return budget_id


async def get(
    conn: asyncpg.Connection, org_id: uuid.UUID, *, company_id: uuid.UUID | None, period_start: date
) -> Budget:
    row = await conn.fetchrow(GET, org_id, company_id, period_start)
    return Budget.model_validate(dict(row))


async def covering(conn: asyncpg.Connection, org_id: uuid.UUID, *, company_id: uuid.UUID | None) -> list[uuid.UUID]:
    return [r["id"] for r in await conn.fetch(COVERING, org_id, company_id)]


async def reserve(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    budget_ids: list[uuid.UUID],
    *,
    period_start: date,
    amount_usd: Decimal,
    hold_seconds: float,
) -> uuid.UUID | None:
    """The hold's id, or None when one of the budgets has no room (nothing is reserved then).
    Runs in its own savepoint so a refusal leaves the caller's transaction usable."""
    try:
        async with conn.transaction():
            await conn.execute(OPEN_PERIODS, org_id, budget_ids, period_start)
            await conn.fetch(LOCK_PERIODS, budget_ids, period_start)
            await conn.execute(SWEEP_EXPIRED, org_id, budget_ids)
            for budget_id in sorted(budget_ids):
                if await conn.fetchval(RESERVE, budget_id, period_start, amount_usd) is None:
                    raise _Refused
            hold_id: uuid.UUID = await conn.fetchval(
                INSERT_HOLD, org_id, budget_ids, period_start, amount_usd, hold_seconds
            )
            return hold_id
    except _Refused:
        return None


async def settle(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    hold_id: uuid.UUID,
    budget_ids: list[uuid.UUID],
    *,
    period_start: date,
    cost_usd: Decimal,
) -> None:
    async with conn.transaction():
        await conn.fetch(LOCK_PERIODS, budget_ids, period_start)
        await conn.execute(SETTLE, hold_id, cost_usd, budget_ids, period_start, org_id)
