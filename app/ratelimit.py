"""Rate limiting, in process (docs/decisions/0010-rate-limiting.md, 0021, 0023).

One token bucket per credential: an API token by its id, a session by its user, the internal key
per org it acts for. A bucket holds `burst` requests and refills at `per_minute / 60` a second, so
a client may burst and then keeps its steady share; one client draining its bucket never slows
another. On top, every tenant credential of one org draws from the org's bucket too (CONTRACT
§9.4), so minting more tokens does not buy more rate. Logins are throttled per account and per
client address (`LoginThrottle`). A refused request gets 429 with `Retry-After` (whole seconds
until one request fits).

The buckets live in this process: behind N API processes a client gets N times the rate. Idle
buckets are dropped least-recently-used first once `max_keys` is reached, so memory stays bounded.
"""

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

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

    def refund(self, key: str) -> None:
        """Gives back a request taken by `acquire` that did not count after all."""
        if not self.limit.enabled or key not in self._buckets:
            return
        tokens, last = self._buckets[key]
        self._buckets[key] = (min(float(self.limit.burst), tokens + 1.0), last)


def _seconds(wait: float) -> int:
    return max(1, math.ceil(wait))


def _refused(message: str, limit: Limit, wait: float, **details: object) -> RateLimited:
    seconds = _seconds(wait)
    return RateLimited(
        message,
        details={
            "limit_per_minute": limit.per_minute,
            "burst": limit.burst,
            "retry_after_seconds": seconds,
            **details,
        },
        headers={"Retry-After": str(seconds)},
    )


class RateLimiter:
    """Tenant credentials share one limit, and each org's tenant credentials together one org
    limit; the internal key (the worker, per org) has its own and does not draw from the org's."""

    def __init__(
        self, tenant: Limit, internal: Limit, org: Limit | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.tenant = TokenBuckets(tenant, clock=clock)
        self.internal = TokenBuckets(internal, clock=clock)
        self.org = TokenBuckets(org or Limit(0, 0), clock=clock)

    @classmethod
    def from_settings(cls, settings: Settings) -> "RateLimiter":
        return cls(
            Limit(settings.rate_limit_per_minute, settings.rate_limit_burst),
            Limit(settings.internal_rate_limit_per_minute, settings.internal_rate_limit_burst),
            Limit(settings.org_rate_limit_per_minute, settings.org_rate_limit_burst),
        )

    def check(self, auth: AuthContext) -> AuthContext:
        """Counts one request against the caller's credential (and org); 429 when a bucket is empty."""
        if auth.auth_method is AuthMethod.internal:
            buckets, key = self.internal, f"internal:{auth.org_id}"
        elif auth.api_token_id is not None:
            buckets, key = self.tenant, f"token:{auth.api_token_id}"
        else:
            buckets, key = self.tenant, f"user:{auth.user_id}"
        wait = buckets.acquire(key)
        if wait > 0:
            raise _refused("too many requests for this credential; retry after the given delay", buckets.limit, wait)
        if auth.auth_method is AuthMethod.internal:
            return auth
        org_wait = self.org.acquire(f"org:{auth.org_id}")
        if org_wait > 0:
            # the credential's own share was not used: the org's cap refused the request
            buckets.refund(key)
            raise _refused(
                "too many requests for this org across all its credentials; retry after the given delay",
                self.org.limit,
                org_wait,
                scope="org",
            )
        return auth


class LoginAttempt:
    def __init__(self, throttle: "LoginThrottle", keys: list[tuple[TokenBuckets, str]]) -> None:
        self.throttle = throttle
        self.keys = keys

    def succeeded(self) -> None:
        """A successful login gives its tokens back: only failures count toward the throttle."""
        for buckets, key in self.keys:
            buckets.refund(key)


class LoginThrottle:
    """Password guessing is slowed per account (the email, known or not) and per client address.

    Each attempt takes a token before the password is checked, so parallel guesses cannot slip
    past the count; a success gives it back. Refusals come before any database or hashing work."""

    def __init__(self, account: Limit, address: Limit, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.accounts = TokenBuckets(account, clock=clock)
        self.addresses = TokenBuckets(address, clock=clock)

    @classmethod
    def from_settings(cls, settings: Settings) -> "LoginThrottle":
        return cls(
            Limit(settings.login_account_attempts_per_minute, settings.login_account_attempts_burst),
            Limit(settings.login_address_attempts_per_minute, settings.login_address_attempts_burst),
        )

    def attempt(self, email: str, address: str | None) -> LoginAttempt:
        taken: list[tuple[TokenBuckets, str]] = []
        checks = [(self.accounts, f"account:{email.strip().lower()}", "account")]
        if address:
            checks.insert(0, (self.addresses, f"address:{address}", "address"))
        for buckets, key, scope in checks:
            wait = buckets.acquire(key)
            if wait > 0:
                LoginAttempt(self, taken).succeeded()
                raise _refused(
                    f"too many login attempts for this {scope}; retry after the given delay",
                    buckets.limit,
                    wait,
                    scope=scope,
                )
            taken.append((buckets, key))
        return LoginAttempt(self, taken)
