"""Reoon: single email verification (docs/providers.md §4).

`GET /api/v1/verify?email=<email>&key=<key>&mode=quick|power`. The request and the success body
are documented; the error format is not (§4, UNCONFIRMED): a non-2xx is left to the HTTP layer,
and an HTTP 200 whose `status` is `"error"` or not a known verdict is a failure with the body kept.
At most 5 requests may run in parallel (§4): that is the client's concurrency setting.
"""

from typing import Any, Literal

from pydantic import BaseModel

from app.contracts.entities import PersonInput
from app.providers.base import (
    UNKNOWN_PRICE,
    Action,
    ActionContext,
    ActionResult,
    AttemptStatus,
    ProviderOptions,
    failed,
)

NAME = "reoon"
BASE_URL = "https://emailverifier.reoon.com"
# §4 / §0.1.7: power mode can take more than a minute; the client timeout must be at least 90 s
TIMEOUT_SECONDS = 90.0
# Reoon asks for at most 5 parallel requests on the single endpoint [§4]; the client enforces it
CONCURRENCY = 5
POWER_MIN_TIMEOUT_SECONDS = 90.0
PATH = "/api/v1/verify"


class ReoonOptions(ProviderOptions):
    """DATA_ENGINE_REOON_<FIELD>."""

    mode: Literal["power", "quick"] = "power"
    """`power` checks the mailbox (slow, conclusive); `quick` only the address and domain [§4]."""


OPTIONS = ReoonOptions
Context = ActionContext[ReoonOptions]

# status → (verdict, conclusive), adapter rule of §4. catch_all and unknown are inconclusive: the
# engine keeps them only as a fallback. role_account and inbox_full are definite findings about
# an existing mailbox, hence risky but conclusive.
VERDICTS: dict[str, tuple[str, bool]] = {
    "safe": ("deliverable", True),
    "invalid": ("undeliverable", True),
    "disabled": ("undeliverable", True),
    "spamtrap": ("undeliverable", True),
    "disposable": ("undeliverable", True),
    "catch_all": ("risky", False),
    "role_account": ("risky", True),
    "inbox_full": ("risky", True),
    "unknown": ("unknown", False),
    # quick mode (§4) answers `valid` without checking the mailbox: a plausible address, but only
    # a fallback verdict (adapter rule; §4 gives no mapping for it)
    "valid": ("deliverable", False),
}


def _error_code(message: str) -> str:
    """Reoon's error texts are undocumented (§4): classify by their words, keep the body."""
    text = message.lower()
    if "key" in text or "auth" in text:
        return "auth_error"
    if "credit" in text or "balance" in text:
        return "insufficient_credits"
    return "error"


def _error_message(body: dict[str, Any]) -> str:
    """The error text. Reoon documents no error body (§4, UNCONFIRMED): `reason` is what the bulk
    API's answers carry in third-party integrations, `message` and `error` what other integrations
    read; whichever is present is taken."""
    for key in ("reason", "message", "error"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return "error"


def _timeout(ctx: Context, mode: str) -> float:
    timeout = max(ctx.client.timeout, POWER_MIN_TIMEOUT_SECONDS) if mode == "power" else ctx.client.timeout
    if ctx.deadline is not None:
        # never wait past the operation's budget
        timeout = min(timeout, max(ctx.deadline - ctx.clock(), 1.0))
    return timeout


async def verify_email(data: BaseModel, ctx: Context) -> ActionResult:
    assert isinstance(data, PersonInput)
    mode = ctx.options.mode
    params = {"email": data.best_email, "key": ctx.client.api_key, "mode": mode}
    response = await ctx.request("GET", PATH, params=params, timeout=_timeout(ctx, mode))
    body: Any = response.json(NAME)
    if not isinstance(body, dict) or not body.get("status"):
        return failed("unexpected response shape", http_status=response.status_code, provider_status=None, raw=body)
    status = str(body["status"])
    if status == "error":
        message = _error_message(body)
        return failed(message, http_status=response.status_code, provider_status=_error_code(message), raw=body)
    if status not in VERDICTS:
        return failed(f"unknown status {status!r}", http_status=response.status_code, provider_status=status, raw=body)
    verdict, conclusive = VERDICTS[status]
    output = {"email_verdict": verdict, "email_verification_status": status, "email_verified_by": NAME}
    return ActionResult(
        status=AttemptStatus.verified,
        output=output,
        http_status=response.status_code,
        provider_status=status,
        raw=body,
        conclusive=conclusive,
    )


# The credit cost per mode and whether `unknown` is refunded are UNCONFIRMED (docs/providers.md §4):
# recorded as unknown.
PRICES = {"person.contact.verify_email": UNKNOWN_PRICE}


ACTIONS = {
    "person.contact.verify_email": Action(provider=NAME, name="verify_email", run=verify_email),
}
