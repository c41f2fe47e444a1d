"""Icypeas (docs/providers.md §1, §13.1): asynchronous email search.

`POST /api/email-search` starts a search and answers at once with its id; the item then moves
NONE → IN_PROGRESS → DEBITED (email found) or NOT_FOUND after `icypeas_delay_ms`, and is read with
`POST /api/bulk-single-searchs/read`, which is limited to `icypeas_reads_per_minute` per key.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from sandbox import VALID_KEY, data
from sandbox.providers.base import (
    Endpoint,
    Provider,
    enforced_limit,
    iso_now,
    json_response,
    read_json,
    remember,
    retry_after_header,
    text_field,
)

logger = logging.getLogger("sandbox.icypeas")

RUNNING = ("NONE", "IN_PROGRESS")
RATE_MESSAGE = "You have exceeded the max number of requests per minute."
CERTAINTIES = ("ultra_sure",) * 12 + ("very_sure",) * 5 + ("sure",) * 2 + ("probable",)
MX = {
    "google": ["aspmx.l.google.com", "alt1.aspmx.l.google.com"],
    "microsoft": ["{stem}-com.mail.protection.outlook.com"],
}


@dataclass(slots=True)
class Search:
    id: str
    firstname: str
    lastname: str
    domain_or_company: str
    outcome: str  # "found" | "not_found" | "no_credit"
    started: float  # monotonic
    delay: float  # seconds
    created_at: str
    done_at: str
    external_id: str
    webhook_url: str
    last_read: float = -1.0
    notified: bool = False

    def status(self, now: float) -> str:
        elapsed = now - self.started
        if elapsed >= self.delay:
            return {"found": "DEBITED", "not_found": "NOT_FOUND", "no_credit": "INSUFFICIENT_FUNDS"}[self.outcome]
        return "NONE" if elapsed < self.delay / 3 else "IN_PROGRESS"


class Icypeas(Provider):
    name = "icypeas"

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        self.searches: dict[str, Search] = {}
        self.reads: dict[str, deque[float]] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint("POST", "/api/email-search", self.email_search),
            Endpoint("POST", "/api/bulk-single-searchs/read", self.read),
        ]

    def reset(self) -> None:
        self.searches.clear()
        self.reads.clear()
        for task in self.tasks:
            task.cancel()
        self.tasks.clear()

    # --- shapes ---------------------------------------------------------------------------------

    def server_error(self, status: int) -> Response:
        return json_response({"success": False, "message": "Internal server error."}, status)

    def too_many_requests(self, retry_after: float) -> Response:
        return json_response({"message": RATE_MESSAGE}, 429, retry_after_header(retry_after))

    def no_credit(self) -> Response:  # searches run and end as INSUFFICIENT_FUNDS instead
        return json_response({"success": False, "error": "UnpaidSubscriptionError"})

    def _auth(self, request: Request) -> Response | None:
        # the key itself, without "Bearer"; the signed form is `<key>:<signature>` plus X-ROCK-TIMESTAMP
        header = request.headers.get("authorization", "")
        key = header
        if ":" in header and request.headers.get("x-rock-timestamp"):
            key = header.split(":", 1)[0]
        if key != VALID_KEY:
            return json_response({"message": "Unauthorized access."}, 401)
        return None

    # --- handlers -------------------------------------------------------------------------------

    async def email_search(self, request: Request) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        body, ok = await read_json(request)
        if not ok or not isinstance(body, dict):
            return _invalid([("body", "json")])
        first = text_field(body, "firstname")
        last = text_field(body, "lastname")
        target = text_field(body, "domainOrCompany")
        problems = []
        if not target:
            problems.append(("domainOrCompany", "required"))
        if not first and not last:
            problems.append(("firstname", "required"))
        if problems:
            return _invalid(problems)
        trigger = data.trigger_of(first, last, target)
        if trigger in ("error500", "ratelimit"):
            return self.trigger_response(trigger)  # type: ignore[return-value]
        if trigger == "nocredit":
            outcome = "no_credit"
        elif data.is_not_found(self.name, data.person_key(first, last, target), trigger):
            outcome = "not_found"
        else:
            outcome = "found"
        custom = body.get("custom") if isinstance(body.get("custom"), dict) else {}
        delay = self.knobs.icypeas_delay_ms / 1000
        search = Search(
            id=self.runtime.new_id("icypeas", 24),
            firstname=first,
            lastname=last,
            domain_or_company=target,
            outcome=outcome,
            started=time.monotonic(),
            delay=delay,
            created_at=iso_now(),
            done_at=iso_now(delay),
            external_id=str(custom.get("externalId") or ""),
            webhook_url=str(custom.get("webhookUrl") or ""),
        )
        remember(self.searches, search.id, search)
        if search.webhook_url:
            task = asyncio.get_running_loop().create_task(self._notify(search))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return json_response({"success": True, "item": {"_id": search.id, "status": "NONE"}})

    async def read(self, request: Request) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        now = time.monotonic()
        limit = self.knobs.icypeas_reads_per_minute
        if limit > 0:
            window = self.reads.setdefault(request.headers.get("authorization", ""), deque())
            while window and now - window[0] >= 60.0:
                window.popleft()
            if len(window) >= limit:
                return enforced_limit(self.too_many_requests(60.0 - (now - window[0])))
            window.append(now)
        body, ok = await read_json(request)
        if not ok or not isinstance(body, dict):
            return _invalid([("body", "json")])
        search_id = text_field(body, "id")
        if not search_id:
            return _invalid([("id", "required")])
        search = self.searches.get(search_id)
        if search is None:
            return json_response({"success": False, "error": "SearchNotFoundError"})
        spacing = self.knobs.icypeas_min_read_interval_ms / 1000
        if spacing > 0 and search.last_read >= 0 and now - search.last_read < spacing:
            return enforced_limit(self.too_many_requests(spacing - (now - search.last_read)))
        search.last_read = now
        item = self._item(search, now)
        return json_response({"success": True, "items": [item], "sorts": [[], []], "total": 1})

    # --- items ----------------------------------------------------------------------------------

    def _item(self, search: Search, now: float) -> dict[str, Any]:
        status = search.status(now)
        first, last = search.firstname, search.lastname
        emails: list[dict[str, Any]] = []
        if status == "DEBITED":
            person = data.person(first or last, last if first else "", search.domain_or_company)
            key = data.person_key(first, last, search.domain_or_company)
            provider = data.pick(("google", "google", "microsoft"), "mx", person.domain)
            stem = data.stem_of_domain(person.domain)
            emails.append(
                {
                    "email": person.email,
                    "certainty": data.pick(CERTAINTIES, "certainty", key),
                    "mxProvider": provider,
                    "mxRecords": [mx.format(stem=stem) for mx in MX[provider]],
                }
            )
        return {
            "_id": search.id,
            "name": "__icypeas__individual",
            "status": status,
            "results": {
                "firstname": first,
                "lastname": last,
                "fullname": f"{first} {last}".strip(),
                "gender": "UNKNOWN",
                "emails": emails,
                "phones": [],
                "saasServices": [],
            },
            "userData": {"webhookUrl": search.webhook_url, "externalId": search.external_id},
            "system": {
                "createdAt": search.created_at,
                "modifiedAt": search.created_at if status in RUNNING else search.done_at,
            },
        }

    async def _notify(self, search: Search) -> None:
        """Webhook mode: POST the final item to `custom.webhookUrl` once the search is done."""
        await asyncio.sleep(search.delay)
        item = self._item(search, math.inf)
        payload = {"signature": "sandbox", "timestamp": iso_now(), "data": {**item, "user": "sandbox-user"}}
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                await client.post(search.webhook_url, json=payload)
            search.notified = True
        except httpx.HTTPError as exc:
            logger.warning("icypeas webhook to %s failed: %s", search.webhook_url, exc)


def _invalid(problems: list[tuple[str, str]]) -> Response:
    """Icypeas answers a bad body with HTTP 200 and `success: false` (docs/providers.md §1.5)."""
    return json_response({"success": False, "validationErrors": [{"field": f, "type": t} for f, t in problems]})
