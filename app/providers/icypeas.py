"""Icypeas: asynchronous email search (docs/providers.md §1).

Start with `POST /api/email-search`, then read `POST /api/bulk-single-searchs/read` until the item
leaves NONE/SCHEDULED/IN_PROGRESS. Icypeas documents 30 reads a minute and asks for 3 s between
reads [I3, I5], so:
- every read, a retried one included, first claims an account-wide slot from the shared rate gate
  (Postgres-backed: every concurrent search in every process shares one schedule,
  `IcypeasOptions.read_interval_seconds` apart, 3 s by default as the docs ask);
- one search reads no more often than every `poll_interval_seconds`;
- a search is given at most `max_wait_seconds` (45 s), and never a second start.
The key goes in `Authorization` as is: a `Bearer ` prefix is rejected [I2].
"""

from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from app.contracts.entities import PersonInput
from app.providers.base import Action, ActionContext, ActionResult, Price, ProviderOptions, failed, found, not_found

NAME = "icypeas"
BASE_URL = "https://app.icypeas.com"
TIMEOUT_SECONDS = 15.0
START_PATH = "/api/email-search"
READ_PATH = "/api/bulk-single-searchs/read"
READS_KEY = "icypeas:reads"
# [I3, I5] 30 reads a minute, at least 3 s apart
READ_INTERVAL_SECONDS = 3.0


class IcypeasOptions(ProviderOptions):
    """DATA_ENGINE_ICYPEAS_<FIELD>."""

    max_wait_seconds: float = 45.0
    """The longest one search is waited for (CONTRACT §8)."""
    read_interval_seconds: float = READ_INTERVAL_SECONDS
    """Account-wide spacing of result reads, across processes: Icypeas documents 30 reads a minute
    and asks for 3 s between reads [I3, I5]."""
    poll_interval_seconds: float = 3.0
    """How often one search reads its result."""


OPTIONS = IcypeasOptions
Context = ActionContext[IcypeasOptions]

PENDING = frozenset({"NONE", "SCHEDULED", "IN_PROGRESS"})
FOUND = frozenset({"FOUND", "DEBITED"})
NOT_FOUND = frozenset({"NOT_FOUND", "DEBITED_NOT_FOUND"})
# best first; any other certainty ranks last [§1.2]
CERTAINTY_RANK = {"ultra_sure": 0, "very_sure": 1, "sure": 2, "probable": 3}


def _headers(ctx: Context) -> dict[str, str]:
    return {"Authorization": ctx.client.api_key or "", "Content-Type": "application/json"}


def _best_email(item: dict[str, Any]) -> dict[str, Any] | None:
    emails = [e for e in (item.get("results") or {}).get("emails") or [] if isinstance(e, dict) and e.get("email")]
    emails = [e for e in emails if e.get("certainty") not in ("undeliverable", "not_found")]
    if not emails:
        return None
    return min(emails, key=lambda e: CERTAINTY_RANK.get(str(e.get("certainty")), 99))


def _body_error(body: Any) -> str | None:
    """Icypeas reports bad input and account problems with HTTP 200 and `success: false` [I6]."""
    if isinstance(body, dict) and body.get("success") is False:
        if body.get("validationErrors"):
            return "validation_error"
        return str(body.get("error") or body.get("message") or "error")
    return None


async def resolve_email(data: BaseModel, ctx: Context) -> ActionResult:
    assert isinstance(data, PersonInput)
    first, last = data.names()
    body = {
        "firstname": first or "",
        "lastname": last or "",
        "domainOrCompany": data.company_domain or data.company_name,
    }
    started = await ctx.request("POST", START_PATH, json_body=body, headers=_headers(ctx))
    start_body = started.json(NAME)
    if (code := _body_error(start_body)) is not None:
        return failed(f"search refused: {code}", http_status=started.status_code, provider_status=code, raw=start_body)
    search_id = ((start_body or {}).get("item") or {}).get("_id")
    if not search_id:
        return failed(
            "no search id in the answer", http_status=started.status_code, provider_status=None, raw=start_body
        )

    budget = ctx.options.max_wait_seconds
    deadline = ctx.clock() + budget
    if ctx.deadline is not None:
        deadline = min(deadline, ctx.deadline)
    poll_interval = ctx.options.poll_interval_seconds
    read_interval = ctx.options.read_interval_seconds

    async def take_turn() -> None:
        # before every read the policy sends, retries of a 429'd read included: a retry that
        # skipped the shared schedule would be the read that breaks the limit again
        await ctx.gate.wait_turn(READS_KEY, read_interval)

    last_status, last_body = "NONE", start_body
    while True:
        await ctx.sleep(poll_interval)
        if ctx.clock() >= deadline:
            break
        read = await ctx.request(
            "POST",
            READ_PATH,
            json_body={"id": search_id},
            headers=_headers(ctx),
            idempotent=True,
            before_attempt=take_turn,
            deadline=deadline,
        )
        last_body = read.json(NAME)
        if (code := _body_error(last_body)) is not None:
            return failed(f"read refused: {code}", http_status=read.status_code, provider_status=code, raw=last_body)
        items = (last_body or {}).get("items") or []
        item = items[0] if items and isinstance(items[0], dict) else {}
        last_status = str(item.get("status") or "NONE")
        if last_status in PENDING:
            continue
        if last_status in FOUND:
            best = _best_email(item)
            if best is None:
                return not_found(http_status=read.status_code, provider_status=last_status, raw=last_body)
            output = {
                "work_email": str(best["email"]).lower(),
                "email_confidence": best.get("certainty"),
                "email_source": NAME,
            }
            return found(output, http_status=read.status_code, provider_status=last_status, raw=last_body)
        if last_status in NOT_FOUND:
            return not_found(http_status=read.status_code, provider_status=last_status, raw=last_body)
        # BAD_INPUT, INSUFFICIENT_FUNDS, ABORTED and anything undocumented
        return failed(
            f"search ended with {last_status}", http_status=read.status_code, provider_status=last_status, raw=last_body
        )
    return failed(
        f"no result within {budget:.0f} s (search {search_id} is not restarted)",
        http_status=None,
        provider_status="timeout",
        raw={"search_id": search_id, "last_status": last_status, "last_body": last_body},
    )


# The documented price per call in Icypeas credits (docs/providers.md §1.5, SP §1.4: "an email
# search costs 1 credit only when an email is found"; reading results is not charged).
PRICES = {
    "person.contact.resolve_email": Price(found=Decimal(1), not_found=Decimal(0), source="docs/providers.md §1.5 [SP]"),
}


ACTIONS = {
    "person.contact.resolve_email": Action(provider=NAME, name="resolve_email", run=resolve_email),
}
