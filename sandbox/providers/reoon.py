"""Reoon (docs/providers.md §4, §13.4): single email verification, quick or power mode.

`GET /api/v1/verify?email=&key=&mode=quick|power`. Power mode takes `reoon_power_latency_ms`
longer. More than `reoon_max_concurrency` verifications in flight for one key → 429. The error
shapes are assumed (the vendor documents none).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox import VALID_KEY, data
from sandbox.providers.base import Endpoint, Provider, enforced_limit, json_response, retry_after_header

# verdict (from the local part) → status, per mode
POWER_STATUS = {
    "ok": "safe",
    "invalid": "invalid",
    "catchall": "catch_all",
    "unknown": "unknown",
    "disposable": "disposable",
}
# quick mode does not talk to the mailbox: it cannot tell catch-all or unknown from valid
QUICK_STATUS = {
    "ok": "valid",
    "invalid": "invalid",
    "catchall": "valid",
    "unknown": "valid",
    "disposable": "disposable",
}
SCORES = {"safe": 98, "valid": 90, "catch_all": 55, "unknown": 30, "invalid": 2, "disposable": 5}


class Reoon(Provider):
    name = "reoon"

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        self.in_flight: dict[str, int] = {}

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint("GET", "/api/v1/verify", self.verify),
            Endpoint("GET", "/api/v1/check-account-balance/", self.balance),
        ]

    def reset(self) -> None:
        self.in_flight.clear()

    def server_error(self, status: int) -> Response:
        return json_response({"status": "error", "reason": "Internal server error"}, status)

    def too_many_requests(self, retry_after: float) -> Response:
        body = {"status": "error", "reason": "Too many requests"}
        return json_response(body, 429, retry_after_header(retry_after))

    def no_credit(self) -> Response:
        # assumed shape; HTTP 200 so that adapters must look at the body first (providers.md §0.1.1)
        return json_response({"status": "error", "reason": "Not enough credits"})

    def _denied(self, key: str) -> Response | None:
        if key != VALID_KEY:
            return json_response({"status": "error", "reason": "Invalid API key"}, 401)
        return None

    async def balance(self, request: Request) -> Response:
        if denied := self._denied(request.query_params.get("key", "")):
            return denied
        return json_response(
            {
                "api_status": "active",
                "remaining_daily_credits": 500,
                "remaining_instant_credits": 100_000,
                "status": "success",
            }
        )

    async def verify(self, request: Request) -> Response:
        params = request.query_params
        key = params.get("key", "")
        if denied := self._denied(key):
            return denied
        email = params.get("email", "").strip()
        mode = params.get("mode", "quick").lower() or "quick"
        if not email:
            return json_response({"status": "error", "reason": "The email parameter is required"}, 400)
        if mode not in ("quick", "power"):
            return json_response({"status": "error", "reason": "mode must be quick or power"}, 400)
        limit = self.knobs.reoon_max_concurrency
        if limit and self.in_flight.get(key, 0) >= limit:
            return enforced_limit(self.too_many_requests(1))
        self.in_flight[key] = self.in_flight.get(key, 0) + 1
        try:
            if mode == "power" and self.knobs.reoon_power_latency_ms > 0:
                await asyncio.sleep(self.knobs.reoon_power_latency_ms / 1000)
            return self._answer(email, mode)
        finally:
            # a reset may have cleared the counters meanwhile
            self.in_flight[key] = max(0, self.in_flight.get(key, 1) - 1)

    def _answer(self, email: str, mode: str) -> Response:
        trigger = data.trigger_of(email)
        if trigger in data.ERROR_TRIGGERS:
            response = self.trigger_response(trigger)
            assert response is not None
            return response
        verdict = data.verdict_of(email)
        status = (POWER_STATUS if mode == "power" else QUICK_STATUS)[verdict]
        local, _, domain = email.lower().partition("@")
        deliverable = status in ("safe", "valid")
        power = mode == "power"
        return json_response(
            {
                "email": email,
                "status": status,
                "overall_score": SCORES[status],
                "username": local,
                "domain": domain,
                "is_safe_to_send": deliverable,
                "is_valid_syntax": "@" in email,
                "is_disposable": status == "disposable",
                "is_role_account": local in data.ROLE_LOCAL_PARTS,
                "can_connect_smtp": power and status != "unknown",
                "has_inbox_full": False,
                "is_catch_all": status == "catch_all",
                "is_deliverable": deliverable or status == "catch_all",
                "is_disabled": False,
                "is_spamtrap": False,
                "is_free_email": domain in data.FREE_EMAIL_DOMAINS,
                "mx_accepts_mail": status != "invalid",
                "mx_records": [f"mx1.{domain}", f"mx2.{domain}"] if status != "invalid" else [],
                "verification_mode": mode,
            }
        )
