"""Per-credential rate limiting, in process (docs/decisions/0010-rate-limiting.md).

One token bucket per credential: an API token by its id, a session by its user, the internal key
per org it acts for. A bucket holds `burst` requests and refills at `per_minute / 60` a second, so
a client may burst and then keeps its steady share; one client draining its bucket never slows
another. A refused request gets 429 with `Retry-After` (whole seconds until one request fits).

The buckets live in this process: behind N API processes a client gets N times the rate. Idle
buckets are dropped least-recently-used first once `max_keys` is reached, so memory stays bounded.
"""

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from app.auth.context import AuthContext, AuthMethod
from app.config import Settings
from app.errors import RateLimited


@dataclass(frozen=True)
class Limit:
    per_minute: float
    burst: int

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0 and self.burst > 0


class TokenBuckets:
    def __init__(self, limit: Limit, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.rate = limit.per_minute / 60.0
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def acquire(self, key: str) -> float:
        """Takes one request from `key`'s bucket: 0 when allowed, else the seconds to wait."""
        if not self.limit.enabled:
            return 0.0
        now = self.clock()
        tokens, last = self._buckets.pop(key, (float(self.limit.burst), now))
        tokens = min(float(self.limit.burst), tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait


class RateLimiter:
    """Tenant credentials share one limit; the internal key (the worker, per org) has its own."""

    def __init__(self, tenant: Limit, internal: Limit) -> None:
        self.tenant = TokenBuckets(tenant)
        self.internal = TokenBuckets(internal)

    @classmethod
    def from_settings(cls, settings: Settings) -> "RateLimiter":
        return cls(
            Limit(settings.rate_limit_per_minute, settings.rate_limit_burst),
            Limit(settings.internal_rate_limit_per_minute, settings.internal_rate_limit_burst),
        )

    def check(self, auth: AuthContext) -> None:
        if auth.auth_method is AuthMethod.internal:
            buckets, key = self.internal, f"internal:{auth.org_id}"
        elif auth.api_token_id is not None:
            buckets, key = self.tenant, f"token:{auth.api_token_id}"
        else:
            buckets, key = self.tenant, f"user:{auth.user_id}"
        wait = buckets.acquire(key)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise RateLimited(
                "too many requests for this credential; retry after the given delay",
                details={
                    "limit_per_minute": buckets.limit.per_minute,
                    "burst": buckets.limit.burst,
                    "retry_after_seconds": seconds,
                },
                headers={"Retry-After": str(seconds)},
            )


def enforce(request: Request, auth: AuthContext) -> AuthContext:
    """Counts one request against the caller's credential; raises 429 when its bucket is empty."""
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is None:
        limiter = request.app.state.rate_limiter = RateLimiter.from_settings(request.app.state.settings)
    limiter.check(auth)
    return auth
