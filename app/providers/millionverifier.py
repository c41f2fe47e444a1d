"""MillionVerifier: single email verification (docs/providers.md §3).

`GET /api/v3/?api=<key>&email=<email>&timeout=<s>`; the answer is HTTP 200 even for errors
(`result: "error"` with a message in `error`), so the body decides, never the status code.
"""

from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from app.contracts.entities import PersonInput
from app.providers.base import Action, ActionContext, ActionResult, AttemptStatus, Price, failed

NAME = "millionverifier"
BASE_URL = "https://api.millionverifier.com"
# the client timeout must exceed the `timeout` MillionVerifier is given
TIMEOUT_SECONDS = 15.0
# the `timeout` parameter (2-60 s [§3, M1]; CONTRACT §8 default 10 s). Not a setting today: the name
# DATA_ENGINE_MILLIONVERIFIER_TIMEOUT_SECONDS is taken by the client timeout every provider has
# (ProviderSettings.timeout_seconds), which is what that variable has always set.
VERIFY_TIMEOUT_SECONDS = 10
PATH = "/api/v3/"

# result → (verdict, conclusive). catch_all and unknown are inconclusive: Reoon gets a turn.
# the results MillionVerifier charges a credit for [§3, M2]
CHARGED = frozenset({"ok", "invalid", "disposable"})
VERDICTS: dict[str, tuple[str, bool]] = {
    "ok": ("deliverable", True),
    "invalid": ("undeliverable", True),
    "disposable": ("undeliverable", True),
    "catch_all": ("risky", False),
    "unknown": ("unknown", False),
}


def _error_code(message: str) -> str:
    """The error strings are not documented (only "Apikey not found" was observed): classify by
    their words, keep the text in the raw response."""
    text = message.lower()
    if "key" in text or "block" in text:
        return "auth_error"
    if "credit" in text:
        return "insufficient_credits"
    return "error"


async def verify_email(data: BaseModel, ctx: ActionContext) -> ActionResult:
    assert isinstance(data, PersonInput)
    email = data.best_email
    params = {
        "api": ctx.client.api_key,
        "email": email,
        "timeout": VERIFY_TIMEOUT_SECONDS,
    }
    response = await ctx.request("GET", PATH, params=params)
    body: Any = response.json(NAME)
    if not isinstance(body, dict) or "result" not in body:
        return failed("unexpected response shape", http_status=response.status_code, provider_status=None, raw=body)
    result = str(body["result"])
    if result == "error":
        message = str(body.get("error") or "error")
        return failed(message, http_status=response.status_code, provider_status=_error_code(message), raw=body)
    if result not in VERDICTS:
        return failed(f"unknown result {result!r}", http_status=response.status_code, provider_status=result, raw=body)
    verdict, conclusive = VERDICTS[result]
    output = {"email_verdict": verdict, "email_verification_status": result, "email_verified_by": NAME}
    return ActionResult(
        status=AttemptStatus.verified,
        output=output,
        http_status=response.status_code,
        provider_status=result,
        raw=body,
        conclusive=conclusive,
        # ok, invalid and disposable are charged; catch_all and unknown are not [§3, M2]
        cost_credits=PRICES["person.contact.verify_email"].found if result in CHARGED else Decimal(0),
    )


# 1 credit per verification whose result is ok, invalid or disposable; catch_all and unknown are
# not charged (docs/providers.md §3 [M2]); `credits` in the answer is the balance, not the cost.
PRICES = {
    "person.contact.verify_email": Price(found=Decimal(1), not_found=Decimal(0), source="docs/providers.md §3 [M2]"),
}


ACTIONS = {
    "person.contact.verify_email": Action(provider=NAME, name="verify_email", run=verify_email),
}
