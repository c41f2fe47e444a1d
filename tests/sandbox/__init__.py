"""Helpers for the provider sandbox tests: an in-process client and inputs that are known to be
found or not found under the 1-in-5 rule (docs/sandbox.md)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from sandbox import data
from sandbox.app import create_app
from sandbox.knobs import Knobs

KEY = "sandbox-key"
BAD = "not-the-key"
# async jobs finish at once and Reoon power mode is instant unless a test says otherwise
FAST = {"icypeas_delay_ms": 0, "parallel_delay_ms": 0, "reoon_power_latency_ms": 0}


@asynccontextmanager
async def sandbox_client(
    *, seed: int = 0, overrides: dict[str, dict[str, Any]] | None = None, clock: Any = None, **knobs: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """`clock`: a FakeClock (tests/providers/conftest.py) driving the sandbox's rate limit and latency."""
    timing = {"clock": clock.monotonic, "sleep": clock.sleep} if clock is not None else {}
    app = create_app(Knobs(**{**FAST, **knobs}), overrides, seed, **timing)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client


def company_stem(provider: str, *, found: bool, start: str = "acme", namespace: str = "") -> str:
    """A plain company stem (no trigger) that the 1-in-5 rule finds (or not) at `provider`."""
    for n in range(500):
        stem = start if n == 0 else f"{start}{n}"
        if data.hash_not_found(provider, namespace + stem) != found:
            return stem
    raise AssertionError("no candidate")


def person_at(provider: str, *, found: bool, domain: str = "acme.com") -> tuple[str, str]:
    """(first, last) of a person at `domain` that the 1-in-5 rule finds (or not) at `provider`."""
    for first in data.FIRST_NAMES:
        for last in data.LAST_NAMES:
            if data.hash_not_found(provider, data.person_key(first, last, domain)) != found:
                return first, last
    raise AssertionError("no candidate")


def is_json(text: str | bytes) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
