"""Rate limiting, shared by every API process through Postgres (docs/decisions/0010-rate-limiting.md,
0020, 0021, 0023, 0073).

One token bucket per credential: an API token by its id, a session by its user, the internal key
per org it acts for. A bucket holds `burst` requests and refills at `per_minute / 60` a second, so
a client may burst and then keeps its steady share; one client draining its bucket never slows
another. On top, every tenant credential of one org draws from the org's bucket too (CONTRACT
§9.4), so minting more tokens does not buy more rate. Logins are throttled per account and per
client address (`LoginThrottle`). A refused request gets 429 with `Retry-After` (whole seconds
until one request fits).

The buckets are rows of `rate_buckets` (migration 026), decided by one statement per request on
the server's clock: N API processes (or machines) on one database give a client exactly its limit,
not N times it. A request takes one from each of its buckets or from none, so a credential is never
charged for a request its org's cap refused. Idle buckets are deleted by the elected pruning job
(app/periodic.py).
"""

import hashlib
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from app.auth.context import AuthContext, AuthMethod
from app.config import Settings
from app.db import Db
from app.errors import RateLimited
from app.repositories import rate_limits as rate_limits_repo

# a bucket full for this long is deleted by the pruning job (a missing row is a full bucket, so
# this only bounds the table: any value is exact)
IDLE_BUCKET_SECONDS = 600.0


@dataclass(frozen=True)
class Limit:
    per_minute: float
    burst: int

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0 and self.burst > 0

    @property
    def interval(self) -> float:
        """Seconds one request takes to refill."""
        return 60.0 / self.per_minute


@dataclass(frozen=True)
class Bucket:
    name: str
    limit: Limit
    scope: str | None = None

    @property
    def key(self) -> uuid.UUID:
        # a hash: no email, address or token id is stored, and every key has the same size
        return uuid.UUID(bytes=hashlib.blake2b(self.name.encode(), digest_size=16).digest())

    @property
    def lock(self) -> int:
        return int.from_bytes(self.key.bytes[:4], "big", signed=True)


class SharedBuckets:
    """Takes requests from buckets in Postgres. `clock` (epoch seconds) is for tests; by default
    the database's clock decides, the one every process agrees on."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self.clock = clock

    def _now(self) -> float | None:
        return self.clock() if self.clock is not None else None

    async def take(self, db: Db, buckets: list[Bucket]) -> None:
        """One request from every bucket, or none when one is empty: that bucket's refusal (429)."""
        buckets = [b for b in buckets if b.limit.enabled]
        if not buckets:
            return
        async with db.autocommit() as conn:
            waits = await rate_limits_repo.take(
                conn,
                [b.key for b in buckets],
                [b.lock for b in buckets],
                [b.limit.interval for b in buckets],
                [float(b.limit.burst) for b in buckets],
                now=self._now(),
            )
        for bucket, wait in zip(buckets, waits, strict=True):
            if wait > 0:
                raise _refused(bucket, wait)

    async def refund(self, db: Db, buckets: list[Bucket]) -> None:
        """Gives back a request `take` took that did not count after all."""
        buckets = [b for b in buckets if b.limit.enabled]
        if not buckets:
            return
        async with db.autocommit() as conn:
            await rate_limits_repo.refund(
                conn,
                [b.key for b in buckets],
                [b.lock for b in buckets],
                [b.limit.interval for b in buckets],
                now=self._now(),
            )


def _seconds(wait: float) -> int:
    return max(1, math.ceil(wait))


REFUSALS = {
    None: "too many requests for this credential; retry after the given delay",
    "org": "too many requests for this org across all its credentials; retry after the given delay",
    "account": "too many login attempts for this account; retry after the given delay",
    "address": "too many login attempts for this address; retry after the given delay",
}


def _refused(bucket: Bucket, wait: float) -> RateLimited:
    seconds = _seconds(wait)
    details: dict[str, object] = {
        "limit_per_minute": bucket.limit.per_minute,
        "burst": bucket.limit.burst,
        "retry_after_seconds": seconds,
    }
    if bucket.scope is not None:
        details["scope"] = bucket.scope
    return RateLimited(REFUSALS[bucket.scope], details=details, headers={"Retry-After": str(seconds)})


class RateLimiter:
    """Tenant credentials share one limit, and each org's tenant credentials together one org
    limit; the internal key (the worker, per org) has its own and does not draw from the org's."""

    def __init__(
        self, tenant: Limit, internal: Limit, org: Limit | None = None, *, clock: Callable[[], float] | None = None
    ) -> None:
        self.tenant = tenant
        self.internal = internal
        self.org = org or Limit(0, 0)
        self.buckets = SharedBuckets(clock)

    @classmethod
    def from_settings(cls, settings: Settings) -> "RateLimiter":
        return cls(
            Limit(settings.rate_limit_per_minute, settings.rate_limit_burst),
            Limit(settings.internal_rate_limit_per_minute, settings.internal_rate_limit_burst),
            Limit(settings.org_rate_limit_per_minute, settings.org_rate_limit_burst),
        )

    def buckets_of(self, auth: AuthContext) -> list[Bucket]:
        """The caller's buckets, its own first: when both are empty, its own refusal is the answer."""
        if auth.auth_method is AuthMethod.internal:
            return [Bucket(f"internal:{auth.org_id}", self.internal)]
        if auth.api_token_id is not None:
            own = Bucket(f"token:{auth.api_token_id}", self.tenant)
        else:
            own = Bucket(f"user:{auth.user_id}", self.tenant)
        return [own, Bucket(f"org:{auth.org_id}", self.org, scope="org")]

    async def check(self, db: Db, auth: AuthContext) -> AuthContext:
        """Counts one request against the caller's credential (and org); 429 when a bucket is empty."""
        await self.buckets.take(db, self.buckets_of(auth))
        return auth


class LoginAttempt:
    def __init__(self, throttle: "LoginThrottle", db: Db, buckets: list[Bucket]) -> None:
        self.throttle = throttle
        self.db = db
        self.buckets = buckets

    async def succeeded(self) -> None:
        """A successful login gives its tokens back: only failures count toward the throttle."""
        await self.throttle.buckets.refund(self.db, self.buckets)


class LoginThrottle:
    """Password guessing is slowed per account (the email, known or not) and per client address.

    Each attempt takes a token before the password is checked, so parallel guesses cannot slip
    past the count; a success gives it back. Refusals come before any hashing work."""

    def __init__(self, account: Limit, address: Limit, *, clock: Callable[[], float] | None = None) -> None:
        self.account = account
        self.address = address
        self.buckets = SharedBuckets(clock)

    @classmethod
    def from_settings(cls, settings: Settings) -> "LoginThrottle":
        return cls(
            Limit(settings.login_account_attempts_per_minute, settings.login_account_attempts_burst),
            Limit(settings.login_address_attempts_per_minute, settings.login_address_attempts_burst),
        )

    async def attempt(self, db: Db, email: str, address: str | None) -> LoginAttempt:
        buckets = [Bucket(f"account:{email.strip().lower()}", self.account, scope="account")]
        if address:
            buckets.insert(0, Bucket(f"address:{address}", self.address, scope="address"))
        await self.buckets.take(db, buckets)
        return LoginAttempt(self, db, buckets)
