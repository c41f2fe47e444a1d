"""What every fake provider shares: endpoint declarations, JSON bodies, and the hooks the fault
pipeline of `sandbox.app` calls (server errors, rate-limit answers, credits errors)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox.knobs import Knobs
from sandbox.runtime import KIND_RATE_LIMIT, Runtime

JSON_TYPE = "application/json"
Handler = Callable[[Request], Awaitable[Response]]


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(
    value: Any, status: int = 200, headers: dict[str, str] | None = None, media_type: str = JSON_TYPE
) -> Response:
    return Response(dumps(value), status, headers, media_type)


def empty_response(status: int = 204) -> Response:
    return Response(b"", status)


def retry_after_header(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def enforced_limit(response: Response) -> Response:
    """Marks a 429 as a limit being enforced (stats: `status_429_rate_limit`), not a deliberate fault."""
    response.sandbox_kind = KIND_RATE_LIMIT  # type: ignore[attr-defined]
    return response


def iso_now(offset_seconds: float = 0.0) -> str:
    stamp = time.time() + offset_seconds
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp)) + f".{int(stamp % 1 * 1000):03d}Z"


async def read_json(request: Request) -> tuple[Any, bool]:
    """The JSON body: (value, True); ({}, True) for an empty body; (None, False) if undecodable."""
    raw = await request.body()
    if not raw.strip():
        return {}, True
    try:
        return json.loads(raw), True
    except (UnicodeDecodeError, ValueError):
        return None, False


def text_field(body: Any, *names: str) -> str:
    """The first non-empty string among `names` of a dict body ('' if none)."""
    if not isinstance(body, dict):
        return ""
    for name in names:
        value = body.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    return ""


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return token.strip()


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    handler: Handler

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


class Provider:
    """One fake vendor. Subclasses set `name`, list `endpoints()` and give the vendor's shapes."""

    name = ""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @property
    def knobs(self) -> Knobs:
        return self.runtime.knobs.effective(self.name)

    def endpoints(self) -> list[Endpoint]:
        raise NotImplementedError

    def reset(self) -> None:
        """Clears asynchronous state (jobs, read windows); called by `POST /_sandbox/reset`."""

    # --- vendor shapes used by the fault pipeline and by the triggers -------------------------

    def server_error(self, status: int) -> Response:
        raise NotImplementedError

    def too_many_requests(self, retry_after: float) -> Response:
        raise NotImplementedError

    def no_credit(self) -> Response:
        raise NotImplementedError

    def trigger_response(self, trigger: str | None) -> Response | None:
        """The answer to an error trigger (`error500…`, `ratelimit…`, `nocredit…`), else None."""
        if trigger == "error500":
            return self.server_error(500)
        if trigger == "ratelimit":
            return self.too_many_requests(1)
        if trigger == "nocredit":
            return self.no_credit()
        return None


MAX_JOBS = 200_000
"""Asynchronous jobs kept per provider; the oldest are forgotten first (long benchmarks)."""


def remember(jobs: dict[str, Any], job_id: str, job: Any) -> None:
    jobs[job_id] = job
    if len(jobs) > MAX_JOBS:
        del jobs[next(iter(jobs))]


def page_count(total: int, per_page: int) -> int:
    return (total + per_page - 1) // per_page if per_page > 0 else 0
