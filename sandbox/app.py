"""The sandbox Starlette application: every provider mounted under `/<provider>`, the fault
pipeline around each endpoint, and the control API under `/_sandbox`.

Pipeline of one provider request (all steps cheap; nothing is logged unless `--access-log`):
1. count the arrival (stats: requests, peak requests per second);
2. token bucket of the provider (`rate_limit_per_second`) → 429 in the vendor's shape;
3. one seeded draw decides a fault: 500/503 (`error_rate`), deliberate 429 (`http429_rate`) or a
   malformed body (`malformed_rate`);
4. sleep `latency_ms`;
5. the vendor handler (auth, triggers, data), unless step 2 or 3 already answered;
6. a malformed fault truncates the body and answers 200; the outcome is counted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from sandbox import ADYNTEL_EMAIL, PROVIDERS, VALID_KEY
from sandbox.knobs import KnobError, Knobs, KnobStore
from sandbox.providers import PROVIDER_CLASSES
from sandbox.providers.base import Endpoint, Provider, json_response, read_json
from sandbox.runtime import KIND_DELIBERATE, KIND_MALFORMED, KIND_RATE_LIMIT, Runtime

logger = logging.getLogger("sandbox")


def malformed(response: Response) -> Response:
    """HTTP 200 with a body cut in the middle: never valid JSON."""
    body = bytes(response.body or b"")
    cut = body[: max(1, len(body) // 2)] if len(body) > 2 else b'{"sandbox": "malfor'
    return Response(cut, 200, media_type="application/json")


def _wrap(provider: Provider, endpoint: Endpoint, runtime: Runtime) -> Any:
    name = provider.name
    label = endpoint.label
    handler = endpoint.handler

    async def handle(request: Request) -> Response:
        counters = runtime.stats.endpoint(name, label)
        now = runtime.clock()
        second = int(now)
        for c in counters:
            c.arrive(second)
        knobs = runtime.knobs.effective(name)
        response: Response | None = None
        kind: str | None = None
        fault = None
        if knobs.rate_limit_per_second > 0:
            wait = runtime.buckets[name].take(now, knobs.rate_limit_per_second)
            if wait > 0:
                response, kind = provider.too_many_requests(wait), KIND_RATE_LIMIT
        if response is None:
            fault = runtime.roll(name, knobs)
            if fault is not None:
                if fault.kind == "error":
                    response = provider.server_error(fault.status)
                elif fault.kind == "http429":
                    response, kind = provider.too_many_requests(1), KIND_DELIBERATE
        if knobs.latency_ms > 0:
            await runtime.sleep(knobs.latency_ms / 1000)
        if response is None:
            try:
                response = await handler(request)
            except Exception:
                logger.exception("sandbox %s %s failed", name, label)
                response = provider.server_error(500)
            kind = getattr(response, "sandbox_kind", None)
            if fault is not None and fault.kind == "malformed":
                response, kind = malformed(response), KIND_MALFORMED
        status = response.status_code
        for c in counters:
            c.answer(status, kind)
        return response

    return handle


def _provider_routes(provider: Provider, runtime: Runtime) -> Mount:
    routes = [
        Route(e.path, _wrap(provider, e, runtime), methods=[e.method], name=f"{provider.name}:{e.label}")
        for e in provider.endpoints()
    ]
    return Mount(f"/{provider.name}", routes=routes)


def _control_routes(runtime: Runtime, providers: dict[str, Provider]) -> Mount:
    async def health(request: Request) -> Response:
        return json_response({"status": "ok", "providers": list(PROVIDERS), "seed": runtime.seed})

    async def get_config(request: Request) -> Response:
        return json_response({"seed": runtime.seed, **runtime.knobs.snapshot()})

    async def post_config(request: Request) -> Response:
        body, ok = await read_json(request)
        if not ok or not isinstance(body, dict):
            return json_response({"error": "the body must be a JSON object"}, 400)
        provider = body.get("provider")
        values = {k: v for k, v in body.items() if k != "provider"}
        if provider is not None and not isinstance(provider, str):
            return json_response({"error": "provider must be a provider name or null"}, 400)
        try:
            runtime.knobs.update(provider, values)
        except KnobError as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response({"seed": runtime.seed, **runtime.knobs.snapshot()})

    async def reset(request: Request) -> Response:
        body, ok = await read_json(request)
        seed = body.get("seed") if ok and isinstance(body, dict) else None
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            return json_response({"error": "seed must be an integer"}, 400)
        runtime.reset(seed)
        return json_response({"status": "reset", "seed": runtime.seed, **runtime.knobs.snapshot()})

    async def stats(request: Request) -> Response:
        return json_response(runtime.stats.as_dict())

    return Mount(
        "/_sandbox",
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/config", get_config, methods=["GET"]),
            Route("/config", post_config, methods=["POST"]),
            Route("/reset", reset, methods=["POST"]),
            Route("/stats", stats, methods=["GET"]),
        ],
    )


def create_app(
    knobs: Knobs | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    seed: int = 0,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Starlette:
    """The sandbox application. `knobs` are the global start values, `overrides` the per-provider
    start values; both come back on `POST /_sandbox/reset`. `clock` and `sleep` drive the rate
    limit and the added latency (tests pass a fake pair)."""
    runtime = Runtime(KnobStore(knobs, overrides), seed, clock=clock, sleep=sleep)
    providers = {name: PROVIDER_CLASSES[name](runtime) for name in PROVIDERS}
    runtime.reset_hooks.extend(p.reset for p in providers.values())

    async def index(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return json_response(
            {
                "service": "data-engine-x provider sandbox",
                "key": VALID_KEY,
                "adyntel_email": ADYNTEL_EMAIL,
                "providers": {
                    name: {
                        "base_url": f"{base}/{name}",
                        "endpoints": [e.label for e in provider.endpoints()],
                    }
                    for name, provider in providers.items()
                },
                "control": [f"{base}/_sandbox/{p}" for p in ("health", "config", "reset", "stats")],
            }
        )

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = "no sandbox endpoint" if status == 404 else "method not allowed" if status == 405 else "error"
        return json_response({"error": message, "method": request.method, "path": request.url.path}, status)

    routes = [Route("/", index, methods=["GET"]), _control_routes(runtime, providers)]
    routes += [_provider_routes(p, runtime) for p in providers.values()]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
    app.router.redirect_slashes = False
    app.state.runtime = runtime
    app.state.providers = providers
    return app
