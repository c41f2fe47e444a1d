"""Shared mutable state of one sandbox process: knobs, statistics, rate buckets, seeded random
choices and ids. Everything here is reset by `POST /_sandbox/reset`.

The server runs on one event loop, so plain attributes need no locks.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sandbox import PROVIDERS
from sandbox.knobs import Knobs, KnobStore

# outcome classes of one answered request (stats keys)
COUNTER_KEYS = (
    "requests",
    "status_2xx",
    "status_4xx",
    "status_429_deliberate",
    "status_429_rate_limit",
    "status_5xx",
    "status_other",
    "malformed",
)

# the reason a 429 was given: deliberate faults (knob `http429_rate`, trigger `ratelimit…`) versus
# a limit being enforced (token bucket, Icypeas read limit, Reoon concurrency)
KIND_DELIBERATE = "deliberate"
KIND_RATE_LIMIT = "rate_limit"
KIND_MALFORMED = "malformed"


class Counters:
    __slots__ = ("requests", "s2xx", "s4xx", "s429d", "s429r", "s5xx", "other", "malformed", "_sec", "_n", "_peak")

    def __init__(self) -> None:
        self.requests = self.s2xx = self.s4xx = self.s429d = self.s429r = self.s5xx = self.other = 0
        self.malformed = 0
        self._sec = -1
        self._n = 0
        self._peak = 0

    def arrive(self, second: int) -> None:
        self.requests += 1
        if second != self._sec:
            if self._n > self._peak:
                self._peak = self._n
            self._sec = second
            self._n = 0
        self._n += 1

    def answer(self, status: int, kind: str | None) -> None:
        if kind == KIND_MALFORMED:
            self.malformed += 1
            self.s2xx += 1
        elif status == 429:
            if kind == KIND_RATE_LIMIT:
                self.s429r += 1
            else:
                self.s429d += 1
        elif 200 <= status < 300:
            self.s2xx += 1
        elif 400 <= status < 500:
            self.s4xx += 1
        elif status >= 500:
            self.s5xx += 1
        else:
            self.other += 1

    def as_dict(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "status_2xx": self.s2xx,
            "status_4xx": self.s4xx,
            "status_429_deliberate": self.s429d,
            "status_429_rate_limit": self.s429r,
            "status_5xx": self.s5xx,
            "status_other": self.other,
            "malformed": self.malformed,
            "peak_rps": max(self._peak, self._n),
        }


class Stats:
    """Counters per provider and endpoint, per provider, and in total."""

    def __init__(self) -> None:
        self.started_at = time.time()
        self.total = Counters()
        self.providers: dict[str, Counters] = {p: Counters() for p in PROVIDERS}
        self.endpoints: dict[str, dict[str, Counters]] = {p: {} for p in PROVIDERS}

    def endpoint(self, provider: str, label: str) -> tuple[Counters, Counters, Counters]:
        per_endpoint = self.endpoints[provider].get(label)
        if per_endpoint is None:
            per_endpoint = self.endpoints[provider][label] = Counters()
        return self.total, self.providers[provider], per_endpoint

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started_at)),
            "uptime_seconds": round(time.time() - self.started_at, 3),
            "total": self.total.as_dict(),
            "providers": {
                p: {
                    "total": self.providers[p].as_dict(),
                    "endpoints": {label: c.as_dict() for label, c in sorted(self.endpoints[p].items())},
                }
                for p in PROVIDERS
            },
        }


class TokenBucket:
    __slots__ = ("tokens", "stamp", "rate")

    def __init__(self) -> None:
        self.tokens = -1.0
        self.stamp = 0.0
        self.rate = 0.0

    def take(self, now: float, rate: float) -> float:
        """Takes one token. Returns 0 when allowed, else the seconds until a token is free."""
        capacity = max(1.0, rate)
        if self.tokens < 0 or rate != self.rate:
            self.tokens = capacity
            self.rate = rate
            self.stamp = now
        else:
            self.tokens = min(capacity, self.tokens + (now - self.stamp) * rate)
            self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / rate


@dataclass(slots=True)
class Fault:
    """What the fault roll decided for one request."""

    kind: str  # "error" | "http429" | "malformed"
    status: int = 0


class Runtime:
    def __init__(
        self,
        knobs: KnobStore,
        seed: int = 0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        # the fault pipeline reads time and waits through these (tests inject a fake clock)
        self.clock = clock
        self.sleep = sleep
        self.knobs = knobs
        self.start_seed = seed
        self.seed = seed
        self.stats = Stats()
        self.buckets: dict[str, TokenBucket] = {}
        self.rngs: dict[str, random.Random] = {}
        self._id_counter = 0
        self.reset_hooks: list[Any] = []
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        self.knobs.reset()
        self.seed = self.start_seed if seed is None else seed
        self.stats = Stats()
        self.buckets = {p: TokenBucket() for p in PROVIDERS}
        # one generator per provider: a provider's fault sequence does not depend on traffic to others
        self.rngs = {p: random.Random(f"{self.seed}:{p}") for p in PROVIDERS}  # noqa: S311 - faults, not secrets
        self._id_counter = 0
        for hook in self.reset_hooks:
            hook()

    def new_id(self, namespace: str, hex_chars: int) -> str:
        """Ids of asynchronous jobs: unique within a process, reproducible for the same seed and
        the same sequence of requests."""
        self._id_counter += 1
        digest = hashlib.blake2b(f"{self.seed}:{namespace}:{self._id_counter}".encode(), digest_size=32).hexdigest()
        return digest[:hex_chars]

    def roll(self, provider: str, knobs: Knobs) -> Fault | None:
        """One uniform draw split into [error | deliberate 429 | malformed | normal]."""
        error, too_many, malformed = knobs.error_rate, knobs.http429_rate, knobs.malformed_rate
        if error <= 0 and too_many <= 0 and malformed <= 0:
            return None
        u = self.rngs[provider].random()
        if u < error:
            return Fault("error", 500 if u < error / 2 else 503)
        u -= error
        if u < too_many:
            return Fault("http429", 429)
        u -= too_many
        if u < malformed:
            return Fault("malformed")
        return None
