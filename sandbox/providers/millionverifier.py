"""MillionVerifier (docs/providers.md §3, §13.3): single email verification.

`GET /api/v3/?api=<key>&email=<email>&timeout=<s>`. The vendor answers HTTP 200 even for a bad key
or no credits (`result: "error"` with a text in `error`). The verdict comes from the local part:
`invalid…`, `catchall…`, `unknown…`, `disposable…`, anything else is `ok`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox import VALID_KEY, data
from sandbox.providers.base import Endpoint, Provider, json_response, retry_after_header

# verdict → (result, resultcode, quality)
RESULTS = {
    "ok": ("ok", 1, "good"),
    "catchall": ("catch_all", 2, "risky"),
    "unknown": ("unknown", 3, "risky"),
    "disposable": ("disposable", 5, "bad"),
    "invalid": ("invalid", 6, "bad"),
}
# the vendor's demo keys give a fixed result for any email, free of charge
DEMO_KEYS = {
    "API_KEY_FOR_OK": "ok",
    "API_KEY_FOR_CATCH_ALL": "catchall",
    "API_KEY_FOR_INVALID": "invalid",
    "API_KEY_FOR_UNKOWN": "unknown",  # sic, as the vendor spells it
    "API_KEY_FOR_UNKNOWN": "unknown",
    "API_KEY_FOR_DISPOSABLE": "disposable",
    "API_KEY_FOR_UNVERIFIED": "unknown",
    "API_KEY_FOR_TEST": "",  # a verdict that depends on the email (deterministically)
}
CREDITS_LEFT = 100_000


class MillionVerifier(Provider):
    name = "millionverifier"

    def endpoints(self) -> list[Endpoint]:
        # the docs show both spellings; the adapter sends the trailing slash
        return [Endpoint("GET", "/api/v3/", self.verify), Endpoint("GET", "/api/v3", self.verify)]

    def _error_body(self, email: str, message: str, credits: int = 0) -> dict[str, Any]:
        return {
            "email": email,
            "quality": "",
            "result": "error",
            "resultcode": 4,
            "subresult": "",
            "free": False,
            "role": False,
            "didyoumean": "",
            "credits": credits,
            "executiontime": 0,
            "error": message,
            "livemode": True,
        }

    def server_error(self, status: int) -> Response:
        return json_response(self._error_body("", "Internal server error"), status)

    def too_many_requests(self, retry_after: float) -> Response:
        return json_response(self._error_body("", "Too many requests"), 429, retry_after_header(retry_after))

    def no_credit(self) -> Response:
        return json_response(self._error_body("", "Insufficient credits"))

    async def verify(self, request: Request) -> Response:
        params = request.query_params
        key = params.get("api", "")
        email = params.get("email", "").strip()
        demo = DEMO_KEYS.get(key)
        if key != VALID_KEY and demo is None:
            return json_response(self._error_body(email, "Apikey not found"))
        if not email:
            return json_response(self._error_body(email, "Email address is missing", CREDITS_LEFT))
        trigger = data.trigger_of(email)
        if trigger in data.ERROR_TRIGGERS:
            response = self.trigger_response(trigger)
            assert response is not None
            return response
        if demo is None:
            verdict = data.verdict_of(email)
        elif demo:
            verdict = demo
        else:
            verdict = data.pick(tuple(RESULTS), "mv-test", email.lower())
        result, code, quality = RESULTS[verdict]
        local, _, domain = email.lower().partition("@")
        return json_response(
            {
                "email": email,
                "quality": quality,
                "result": result,
                "resultcode": code,
                "subresult": "",
                "free": domain in data.FREE_EMAIL_DOMAINS,
                "role": local in data.ROLE_LOCAL_PARTS,
                "didyoumean": "",
                "credits": CREDITS_LEFT,
                "executiontime": 1,
                "error": "",
                "livemode": demo is None,
            }
        )
