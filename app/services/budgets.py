"""Monthly spend limits per org or company (CONTRACT §9.4) and the gate every provider call
passes (docs/decisions/0057-budget-reservations.md).

`BudgetGate` is the engine's `SpendGate` for one caller: before a call it reserves the call's
documented USD price on every budget covering the caller (the org's and the company's), after it
settles with the actual cost. Each step is its own short transaction: no connection is held while
a provider answers."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg

from app.auth.context import AuthContext
from app.db import Db
from app.errors import not_found
from app.models.budgets import Budget, BudgetGetRequest, BudgetSetRequest
from app.repositories import budgets as budgets_repo
from app.repositories import companies as companies_repo

# a hold of a process that died mid-call is given back after this long: longer than any
# operation's own timeout (the engine gives up on a call well before)
HOLD_SECONDS = 3600


def period_start(now: datetime) -> date:
    """The first day of the UTC calendar month `now` falls in."""
    return now.astimezone(UTC).date().replace(day=1)


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def _check_company(conn: asyncpg.Connection, auth: AuthContext, company_id: uuid.UUID | None) -> None:
    if company_id is not None and await companies_repo.get_company(conn, auth.tenant_org_id, None, company_id) is None:
        raise not_found("company")


async def set_budget(
    conn: asyncpg.Connection, auth: AuthContext, body: BudgetSetRequest, *, now: datetime | None = None
) -> Budget:
    """Creates or replaces the scope's limit. Raising it lets refused calls go ahead at once;
    `pipeline-runs/retry` resumes the runs a budget stopped."""
    await _check_company(conn, auth, body.company_id)
    await budgets_repo.upsert(
        conn, auth.tenant_org_id, company_id=body.company_id, limit_usd=body.limit_usd, period=body.period
    )
    return await get_budget(conn, auth, BudgetGetRequest(company_id=body.company_id), now=now)


async def get_budget(
    conn: asyncpg.Connection, auth: AuthContext, body: BudgetGetRequest, *, now: datetime | None = None
) -> Budget:
    await _check_company(conn, auth, body.company_id)
    return await budgets_repo.get(
        conn, auth.tenant_org_id, company_id=body.company_id, period_start=period_start(now or _utcnow())
    )


@dataclass
class _Hold:
    db: Db
    org_id: uuid.UUID
    hold_id: uuid.UUID
    budget_ids: list[uuid.UUID]
    period_start: date

    async def settle(self, cost_usd: Decimal | None) -> None:
        # an unknown cost counts as 0: the budget limits the spend it can know of (decision 0057)
        async with self.db.transaction() as conn:
            await budgets_repo.settle(
                conn,
                self.org_id,
                self.hold_id,
                self.budget_ids,
                period_start=self.period_start,
                cost_usd=cost_usd or Decimal(0),
            )


class _Unlimited:
    """No budget covers the caller: nothing to settle."""

    async def settle(self, cost_usd: Decimal | None) -> None:
        return None


UNLIMITED = _Unlimited()


@dataclass
class BudgetGate:
    """The budgets covering one caller: the org's, and the company's for a company-scoped call."""

    db: Db
    org_id: uuid.UUID
    company_id: uuid.UUID | None
    clock: Callable[[], datetime] = _utcnow

    async def reserve(self, provider: str, estimate_usd: Decimal | None) -> "_Hold | _Unlimited | None":
        period = period_start(self.clock())
        # the covering read alone needs no transaction (most calls end there: no budget); the
        # reservation is one of its own (budgets_repo.reserve)
        async with self.db.autocommit() as conn:
            budget_ids = await budgets_repo.covering(conn, self.org_id, company_id=self.company_id)
            if not budget_ids:
                return UNLIMITED
            # an unknown price reserves nothing but still needs room left under every limit
            hold_id = await budgets_repo.reserve(
                conn,
                self.org_id,
                budget_ids,
                period_start=period,
                amount_usd=estimate_usd or Decimal(0),
                hold_seconds=HOLD_SECONDS,
            )
        if hold_id is None:
            return None
        return _Hold(self.db, self.org_id, hold_id, budget_ids, period)
