"""What the caller's scope spent on providers (CONTRACT §9.4): org_admin the org, company_admin
and member their company."""

from decimal import Decimal

import asyncpg

from app.auth.context import AuthContext
from app.models.usage import UsageFigures, UsageSummary, UsageSummaryRequest
from app.repositories import usage as usage_repo


async def summary(conn: asyncpg.Connection, auth: AuthContext, body: UsageSummaryRequest) -> UsageSummary:
    items = await usage_repo.summary(
        conn,
        auth.tenant_org_id,
        company_scope=auth.company_id,
        group_by=body.group_by,
        start=body.from_,
        end=body.to,
    )
    totals = UsageFigures(
        calls=sum(i.calls for i in items),
        billable_calls=sum(i.billable_calls for i in items),
        cached_calls=sum(i.cached_calls for i in items),
        unpriced_calls=sum(i.unpriced_calls for i in items),
        credits=sum((i.credits for i in items), Decimal(0)),
        usd=sum((i.usd for i in items), Decimal(0)),
    )
    return UsageSummary(group_by=body.group_by, items=items, totals=totals)
