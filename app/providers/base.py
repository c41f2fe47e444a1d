"""What a provider action is, what it returns, and what it is given.

An action is one provider's implementation of one operation: an eligibility check (which
optional inputs it needs) and an async `run`. It builds the request, maps the response to
canonical fields and classifies the outcome; it never decides the waterfall.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel

from app.providers._http import ProviderClient


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


class RateGate(Protocol):
    """An account-wide pacing shared by every process (backed by Postgres)."""

    async def wait_turn(self, key: str, interval_seconds: float) -> None: ...


@dataclass
class ActionContext:
    client: ProviderClient
    options: dict[str, Any]
    """Per-provider settings the adapter reads (e.g. reoon mode), from settings and call options."""
    gate: RateGate
    deadline: float | None = None
    """time.monotonic() by which the whole operation must finish, when it has a budget."""


ActionRun = Callable[[BaseModel, ActionContext], Awaitable[ActionResult]]
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
