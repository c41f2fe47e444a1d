import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field, computed_field

from app.models.common import Money, RequestSchema, Schema


class BudgetSetRequest(RequestSchema):
    company_id: uuid.UUID | None = Field(
        default=None, description="The company the limit applies to; omitted: the whole org"
    )
    limit_usd: Decimal = Field(
        ge=0, le=Decimal("1e12"), max_digits=20, decimal_places=6, description="The most the scope may spend per period"
    )
    period: Literal["month"] = Field(default="month", description="A UTC calendar month")


class BudgetGetRequest(RequestSchema):
    company_id: uuid.UUID | None = Field(default=None, description="The company's budget; omitted: the org's")


class Budget(Schema):
    id: uuid.UUID | None = Field(description="null: the scope has no budget (no limit)")
    company_id: uuid.UUID | None = Field(description="null: the org-wide budget")
    limit_usd: Money | None = Field(description="null: no limit")
    period: str
    period_start: date = Field(description="First day (UTC) of the current period")
    spent_usd: Money = Field(description="Known provider spend of the scope in the current period")
    reserved_usd: Money = Field(description="Held by provider calls in flight")
    created_at: datetime | None
    updated_at: datetime | None

    @computed_field(description="What the scope may still spend this period (never below 0); null: no limit")  # type: ignore[prop-decorator]
    @property
    def remaining_usd(self) -> Money | None:
        if self.limit_usd is None:
            return None
        return max(self.limit_usd - self.spent_usd - self.reserved_usd, Decimal(0))
