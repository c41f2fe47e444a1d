"""What a provider action is, what it returns, and what it is given.

An action is one provider's implementation of one operation: an eligibility check (which
optional inputs it needs) and an async `run`. It builds the request, maps the response to
canonical fields and classifies the outcome; it never decides the waterfall.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, Generic, Protocol

from pydantic import BaseModel, ConfigDict
from typing_extensions import TypeVar

from app.providers._http import ProviderClient, ProviderResponse


class AttemptStatus(StrEnum):
    found = "found"
    not_found = "not_found"
    failed = "failed"
    skipped = "skipped"
    verified = "verified"


class _Unpriced(Enum):
    UNPRICED = "unpriced"


UNPRICED = _Unpriced.UNPRICED
"""`ActionResult.cost_credits` left to the action's documented `Price` (the usual case)."""


@dataclass
class ActionResult:
    status: AttemptStatus
    output: dict[str, Any] | None = None
    """Canonical fields (the operation's output model); None unless found/verified."""
    http_status: int | None = None
    provider_status: str | None = None
    """The provider's own code for the outcome (e.g. MillionVerifier `result`), kept verbatim."""
    raw: Any = None
    """The provider's response body for the audit log; secrets are removed before storing."""
    skip_reason: str | None = None
    error: str | None = None
    conclusive: bool = True
    """False for answers that should let the waterfall go on (e.g. a catch-all verdict)."""
    extra_attempts: list["ActionResult"] = field(default_factory=list)
    retry_after: float | None = None
    """On a failure the provider answered with a Retry-After (e.g. 429 `rate_limited`): the seconds
    it asked to wait. Set by the engine from `ProviderError.retry_after`."""
    cost_credits: Decimal | None | _Unpriced = UNPRICED
    """What the call cost in the provider's own unit, when the action knows better than its
    documented `Price`: the provider reported it (LeadMagic `credits_consumed`) or the answer says
    which documented rule applies (a MillionVerifier catch-all is free). None: unknown."""


@dataclass(frozen=True)
class Price:
    """An action's documented price per call, in the provider's own unit (credits; Parallel: USD),
    declared once per adapter in its `PRICES` (operation_id → Price) and shown in docs/costs.md.
    None means the documentation does not say: the cost is recorded as unknown, never guessed."""

    found: Decimal | None
    """A call that answered with a result (found or verified)."""
    not_found: Decimal | None
    """A call that answered that it has nothing."""
    per_result: bool = False
    """`found` is charged per result returned (searches), with `not_found` as the minimum."""
    reported: bool = False
    """The provider reports each call's cost in its answer; this price is the fallback."""
    source: str = ""
    """Where the price is documented (the docs/providers.md section and its source tags)."""

    def credits(self, result: "ActionResult") -> Decimal | None:
        """The documented cost of a call that ended as `result`; 0 when no call was made."""
        match result.status:
            case AttemptStatus.skipped:
                return Decimal(0)
            case AttemptStatus.not_found:
                return self.not_found
            case AttemptStatus.found | AttemptStatus.verified:
                if self.found is None or not self.per_result:
                    return self.found
                return max(self.found * _result_count(result.output), self.not_found or Decimal(0))
        # a failure's charge is documented by no provider here
        return None

    def estimate(self, data: BaseModel) -> Decimal | None:
        """The most one call may cost by the documentation (what a budget reserves); None: unknown."""
        if self.found is None:
            return None
        most = self.found * getattr(data, "limit", 1) if self.per_result else self.found
        return max(most, self.not_found or Decimal(0))


def _result_count(output: dict[str, Any] | None) -> int:
    for key in ("people", "companies"):
        if isinstance((output or {}).get(key), list):
            return len(output[key])  # type: ignore[index]
    return 1


UNKNOWN_PRICE = Price(found=None, not_found=None)
"""For an action whose price no documentation states."""


class RateGate(Protocol):
    """An account-wide pacing shared by every process (backed by Postgres)."""

    async def wait_turn(self, key: str, interval_seconds: float) -> None: ...


class ProviderOptions(BaseModel):
    """A provider's own settings, typed: each adapter that has some declares a subclass beside its
    actions (e.g. `IcypeasOptions`) and names it `OPTIONS`. A field `<field>` is read from
    `DATA_ENGINE_<PROVIDER>_<FIELD>` (app/config.py declares the setting from the model), and the
    field's default is the setting's default."""

    model_config = ConfigDict(frozen=True, extra="forbid")


OptionsT = TypeVar("OptionsT", bound=ProviderOptions, default=ProviderOptions)


@dataclass(frozen=True)
class StepParams:
    """What a call (`options`) or a blueprint step (`step_config`) tells the operations that read
    them (OperationSpec.params), beside the entity's input: the author's own words, never the
    entity's (docs/decisions/0067-research-operations.md)."""

    product: str | None = None
    """company.derive.icp_job_titles: the product to find buyers for."""
    criteria: str | None = None
    """company.derive.evaluate_icp_fit: the ideal customer profile to score against."""

    def given(self) -> dict[str, str]:
        return {k: v for k, v in (("product", self.product), ("criteria", self.criteria)) if v is not None}


@dataclass
class ActionContext(Generic[OptionsT]):
    client: ProviderClient
    options: OptionsT
    """The adapter's settings (its `OPTIONS` model), built once from the deployment settings."""
    gate: RateGate
    deadline: float | None = None
    """`client.clock()` (time.monotonic) by which the whole operation must finish, when it has a budget."""
    max_inline_wait_seconds: float | None = None
    """The longest Retry-After this call may sleep through. A provider asking for more ends the
    action at once with ProviderRateLimitError (`.retry_after` set), which the engine records as a
    failed attempt with `provider_status="rate_limited"` and `retry_after`: a pipeline step can then
    reschedule its job instead of holding a worker. None = the deployment's cap only."""
    params: StepParams = field(default_factory=StepParams)
    """The call's step parameters; only the operations that declare them read them."""

    async def request(self, method: str, path: str, **kwargs: Any) -> ProviderResponse:
        """`client.request` bound to this call's deadline and inline-wait limit."""
        kwargs.setdefault("deadline", self.deadline)
        kwargs.setdefault("max_inline_wait", self.max_inline_wait_seconds)
        return await self.client.request(method, path, **kwargs)

    def inline_wait_limit(self) -> float:
        """The longest Retry-After this call sleeps through (the deployment's cap, or less)."""
        cap = self.client.retry.retry_after_max
        return cap if self.max_inline_wait_seconds is None else min(cap, self.max_inline_wait_seconds)

    def clock(self) -> float:
        return self.client.clock()

    async def sleep(self, seconds: float) -> None:
        await self.client.sleep(seconds)


ActionRun = Callable[[BaseModel, ActionContext[Any]], Awaitable[ActionResult]]
Eligibility = Callable[[BaseModel], str | None]
"""Returns a skip reason (e.g. "missing_input:linkedin_url") or None when the action can run."""


@dataclass(frozen=True)
class Action:
    provider: str
    name: str
    run: ActionRun
    eligible: Eligibility | None = None
    price: Price = UNKNOWN_PRICE
    """From the adapter's `PRICES` (the one place its prices are declared)."""


def found(
    output: dict[str, Any],
    *,
    http_status: int | None,
    provider_status: str | None,
    raw: Any,
    status: AttemptStatus = AttemptStatus.found,
) -> ActionResult:
    return ActionResult(status=status, output=output, http_status=http_status, provider_status=provider_status, raw=raw)


def not_found(*, http_status: int | None, provider_status: str | None, raw: Any) -> ActionResult:
    return ActionResult(
        status=AttemptStatus.not_found, http_status=http_status, provider_status=provider_status, raw=raw
    )


def failed(error: str, *, http_status: int | None, provider_status: str | None, raw: Any) -> ActionResult:
    return ActionResult(
        status=AttemptStatus.failed, error=error, http_status=http_status, provider_status=provider_status, raw=raw
    )
