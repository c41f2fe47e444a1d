from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from app.models.common import Money, RequestSchema, Schema, in_utc_range

GroupBy = Literal["provider", "operation", "company", "day"]


def _instant(value: Any, *, end: bool) -> datetime | None:
    """An ISO 8601 date (a whole UTC day: `from` its start, `to` its end) or a timestamp with an
    offset; anything else is 400 `invalid_date`, never 422."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
                start = datetime.combine(day, time(), tzinfo=UTC)
                return start + timedelta(days=1) if end else start
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except (ValueError, OverflowError):
            parsed = None
        if parsed is not None and (utc := in_utc_range(parsed)) is not None:
            return utc
    raise PydanticCustomError(
        "invalid_date", "a date (YYYY-MM-DD) or a timestamp with an offset, between years 1 and 9999, is expected"
    )


class UsageSummaryRequest(RequestSchema):
    from_: datetime | None = Field(
        default=None, alias="from", description="Inclusive: a date (UTC day start) or a timestamp with an offset"
    )
    to: datetime | None = Field(
        default=None, description="Exclusive for a timestamp; a date includes that whole UTC day"
    )
    group_by: GroupBy

    model_config = {**RequestSchema.model_config, "populate_by_name": True}

    @field_validator("from_", mode="before")
    @classmethod
    def _from(cls, value: Any) -> datetime | None:
        return _instant(value, end=False)

    @field_validator("to", mode="before")
    @classmethod
    def _to(cls, value: Any) -> datetime | None:
        return _instant(value, end=True)

    @model_validator(mode="after")
    def _ordered(self) -> "UsageSummaryRequest":
        if self.from_ is not None and self.to is not None and self.from_ >= self.to:
            raise PydanticCustomError("invalid_date", "`from` must be before `to`")
        return self


class UsageFigures(Schema):
    calls: int = Field(description="Provider calls made plus answers served from the result cache")
    billable_calls: int = Field(description="Provider calls that cost something (cost_credits > 0)")
    cached_calls: int = Field(description="Answers from the org's result cache: no provider was called")
    unpriced_calls: int = Field(description="Provider calls whose cost is unknown (not in credits or usd)")
    credits: Money = Field(description="Sum of the known costs, each in its provider's unit")
    usd: Money = Field(description="Sum of the known costs in USD")


class UsageItem(UsageFigures):
    key: str | None = Field(
        description='The provider ("cache" for cached answers), operation_id, company_id (null: org-wide '
        "calls) or UTC day (YYYY-MM-DD)"
    )


class UsageSummary(Schema):
    group_by: GroupBy
    items: list[UsageItem]
    totals: UsageFigures
