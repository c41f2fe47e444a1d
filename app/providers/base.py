"""What a provider action is, what it returns, and what it is given.

An action is one provider's implementation of one operation: an eligibility check (which
optional inputs it needs) and an async `run`. It builds the request, maps the response to
canonical fields and classifies the outcome; it never decides the waterfall.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
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
