"""The one HTTP policy every provider adapter uses.

- One shared `httpx.AsyncClient` (connection pooling), created in the app's lifespan.
- Per provider: base URL (origin replaced, documented paths kept), key, timeout, concurrency
  (semaphore) and rate (leaky bucket) from settings.
- Retries only on timeouts, connection errors, 408, 429 and 5xx: exponential backoff from 0.5 s
  doubling to 8 s with jitter; 2 retries by default. A `Retry-After` (delta seconds or HTTP date,
  RFC 9110 §10.2.3) is obeyed up to `RetryPolicy.retry_after_max` (setting
  DATA_ENGINE_PROVIDER_RETRY_AFTER_MAX_SECONDS) and the caller's `max_inline_wait`. A longer one is
  not slept through and not replaced by a short backoff (that would burn the retries in seconds):
  the error is raised at once with `.retry_after` set, so the caller can come back later. No wait
  ever runs past the caller's deadline.
  A billable POST that timed out after sending is NOT retried unless the adapter says the call is
  idempotent: the provider may have processed (and charged) it.
- Errors form one taxonomy; the adapter decides which non-2xx statuses are answers (`accept`).
"""

import asyncio
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential_jitter

from app.operations.redact import REDACTED, SENSITIVE_KEYS

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 8.0
# Default cap on an obeyed Retry-After (DATA_ENGINE_PROVIDER_RETRY_AFTER_MAX_SECONDS). Two minutes:
# the longest wait any provider documents before a retry is BlitzAPI's 60 s default after a 429
# (docs/providers.md §6.3), and every operation budget is 60-120 s, so a longer sleep could only
# end after the operation gave up.
RETRY_AFTER_MAX = 120.0
_DELTA_SECONDS = re.compile(r"^\s*\d+(\.\d+)?\s*$")

Sleep = Callable[[float], Awaitable[None]]


class ProviderError(Exception):
    code = "provider_error"

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status_code: int | None = None,
        body: Any = None,
        attempts: int = 1,
        retryable: bool = False,
    ) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.message = message
        self.status_code = status_code
        self.body = body
        self.attempts = attempts
        self.retryable = retryable
        self.retry_after: float | None = None
        """Seconds the provider asked to wait before asking again (its Retry-After), if it said."""

    def note(self, text: str) -> None:
        """Add why the retries ended to the message the attempt records."""
        self.message = f"{self.message} ({text})"
        self.args = (f"{self.provider}: {self.message}",)


class ProviderConnectionError(ProviderError):
    code = "connection_error"


class ProviderTimeoutError(ProviderConnectionError):
    code = "timeout"


class ProviderStatusError(ProviderError):
    code = "http_error"

    @classmethod
    def from_response(cls, provider: str, response: "ProviderResponse") -> "ProviderStatusError":
        status = response.status_code
        kind: type[ProviderStatusError]
        if status in (401, 403):
            kind = ProviderAuthError
        elif status == 402:
            kind = ProviderCreditsError
        elif status == 429:
            kind = ProviderRateLimitError
        elif status >= 500:
            kind = ProviderServerError
        else:
            kind = ProviderStatusError
        return kind(provider, f"HTTP {status}", status_code=status, body=response.body, attempts=response.attempts)


class ProviderAuthError(ProviderStatusError):
    code = "auth_error"


class ProviderCreditsError(ProviderStatusError):
    code = "insufficient_credits"


class ProviderRateLimitError(ProviderStatusError):
    code = "rate_limited"


class ProviderServerError(ProviderStatusError):
    code = "server_error"


class ProviderMalformedResponse(ProviderError):
    code = "malformed_response"


@dataclass
class ProviderResponse:
    status_code: int
    body: Any
    """Parsed JSON, or the text when the body is not JSON (`json_ok` tells which)."""
    json_ok: bool
    headers: httpx.Headers
    attempts: int

    def json(self, provider: str) -> Any:
        """The JSON body, or a malformed-response error the engine records as a failed attempt."""
        if not self.json_ok:
            raise ProviderMalformedResponse(
                provider,
                "the response body is not JSON",
                status_code=self.status_code,
                body=self.body,
                attempts=self.attempts,
            )
        return self.body


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    initial: float = BACKOFF_INITIAL
    maximum: float = BACKOFF_MAX
    retry_after_max: float = RETRY_AFTER_MAX
    """The longest Retry-After slept through; a longer one ends the retries at once."""

    def wait(self, state: RetryCallState) -> float:
        """The provider's Retry-After when it gave one ("if the server says when, obey"), else
        exponential backoff with jitter."""
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, ProviderError) and error.retry_after is not None:
            return error.retry_after
        return wait_exponential_jitter(multiplier=self.initial, max=self.maximum, jitter=self.initial)(state)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110
    §10.2.3), a date in the past being 0. None when absent or unusable (a negative or non-finite
    number, a word), so the normal backoff applies. Not capped: the retry policy decides what a
    long wait means. `now` is the wall clock (epoch seconds) dates are measured from."""
    if not value or not value.strip():
        return None
    if _DELTA_SECONDS.match(value):
        seconds = float(value)
        return seconds if math.isfinite(seconds) else None
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        # RFC 9110 dates are always GMT; the parser leaves "-0000" zone-less
        moment = moment.replace(tzinfo=UTC)
    seconds = moment.timestamp() - (time.time() if now is None else now)
    return max(seconds, 0.0)


@dataclass
class ProviderClient:
    """One provider's view of the shared HTTP client."""

    name: str
    http: httpx.AsyncClient
    base_url: str
    api_key: str | None
    timeout: float
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    concurrency: int = 16
    rate_per_second: float | None = None
    """Requests per second, one at a time with no burst; None = unpaced."""
    rate_per_endpoint: bool = False
    """Pace each path on its own at `rate_per_second` (BlitzAPI counts its limit per endpoint)."""
    path_rates: dict[str, tuple[str, float]] = field(default_factory=dict)
    """path → (bucket, requests per second): the paths of one bucket share one pace, apart from the
    default one (Prospeo counts search and enrichment separately)."""
    clock: Callable[[], float] = time.monotonic
    """The clock deadlines are read on (tests inject a fake one with `sleep`)."""
    wall_clock: Callable[[], float] = time.time
    """Epoch seconds, for Retry-After dates."""
    sleep: Sleep = asyncio.sleep
    """Every wait of the policy and of the adapters goes through this."""
    _semaphore: asyncio.Semaphore = field(init=False, repr=False)
    _limiters: dict[str, AsyncLimiter] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._semaphore = asyncio.Semaphore(self.concurrency)
        self._limiters = {}

    def _limiter(self, path: str) -> AsyncLimiter | None:
        if path in self.path_rates:
            bucket, rate = self.path_rates[path]
        elif self.rate_per_second:
            bucket, rate = (path if self.rate_per_endpoint else "*"), self.rate_per_second
        else:
            return None
        if bucket not in self._limiters:
            # one request per 1/rate seconds, no burst: a provider that enforces N per second with
            # a small bucket never sees N requests land in the same instant
            self._limiters[bucket] = AsyncLimiter(1, 1 / rate)
        return self._limiters[bucket]

    @property
    def configured(self) -> bool:
        return bool(self.api_key)

    def url(self, path: str) -> str:
        return self.base_url + path

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        accept: frozenset[int] | set[int] = frozenset(),
        answer: Callable[[ProviderResponse], bool] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        idempotent: bool | None = None,
        before_attempt: Callable[[], Awaitable[None]] | None = None,
        deadline: float | None = None,
        max_inline_wait: float | None = None,
    ) -> ProviderResponse:
        """Send one logical request, retrying per the policy. Returns 2xx responses, the statuses in
        `accept` and the responses `answer` approves; raises a ProviderError subclass otherwise.

        `before_attempt` runs before every attempt, retries included (a shared pacing that must see
        every request). `deadline` (on `clock`) and `max_inline_wait` bound the waits between
        attempts: a Retry-After above `max_inline_wait` (or the policy's cap), or a wait that would
        end after the deadline, ends the retries at once and raises the error with `.retry_after`
        as the provider gave it."""
        retries = self.retry.max_retries if max_retries is None else max_retries
        safe_to_resend = method.upper() == "GET" if idempotent is None else idempotent
        limit = (
            self.retry.retry_after_max if max_inline_wait is None else min(self.retry.retry_after_max, max_inline_wait)
        )
        counter = 0

        async def attempt() -> ProviderResponse:
            nonlocal counter
            counter += 1
            if before_attempt is not None:
                await before_attempt()
            try:
                response = await self._send(method, path, json_body, params, headers, timeout)
            except httpx.TimeoutException as e:
                # a request that may have reached the provider is only re-sent when that is harmless
                sent = not isinstance(e, httpx.ConnectTimeout | httpx.PoolTimeout)
                raise ProviderTimeoutError(
                    self.name, f"timed out ({type(e).__name__})", attempts=counter, retryable=safe_to_resend or not sent
                ) from e
            except httpx.RequestError as e:
                raise ProviderConnectionError(
                    self.name, f"connection failed ({type(e).__name__})", attempts=counter, retryable=True
                ) from e
            result = _to_response(response, counter)
            if response.is_success or response.status_code in accept or (answer is not None and answer(result)):
                return result
            error = ProviderStatusError.from_response(self.name, result)
            error.retryable = response.status_code in RETRYABLE_STATUSES
            error.retry_after = parse_retry_after(response.headers.get("retry-after"), now=self.wall_clock())
            raise error

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number > retries:
                return True
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, ProviderError) and error.retry_after is not None and error.retry_after > limit:
                error.note(f"Retry-After {error.retry_after:g} s is above the {limit:g} s this call may wait")
                return True
            # tenacity computes the wait before asking whether to stop
            if deadline is not None and self.clock() + state.upcoming_sleep >= deadline:
                if isinstance(error, ProviderError):
                    error.note("no retry: the wait would end after the operation's deadline")
                return True
            return False

        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda e: isinstance(e, ProviderError) and e.retryable),
            wait=self.retry.wait,
            stop=stop,
            sleep=self.sleep,
            reraise=True,
        )
        return await retrying(attempt)

    async def _send(
        self,
        method: str,
        path: str,
        json_body: Any,
        params: dict[str, Any] | None,
        headers: dict[str, str] | None,
        timeout: float | None,
    ) -> httpx.Response:
        async with self._semaphore:
            if (limiter := self._limiter(path)) is not None:
                await limiter.acquire()
            return await self.http.request(
                method,
                self.url(path),
                json=json_body,
                params=params,
                headers=headers,
                timeout=httpx.Timeout(timeout or self.timeout, connect=5.0),
            )


def _to_response(response: httpx.Response, attempts: int) -> ProviderResponse:
    text = response.text
    try:
        body: Any = json.loads(text) if text else None
        json_ok = True
    except ValueError:
        body, json_ok = text[:10_000], False
    return ProviderResponse(
        status_code=response.status_code, body=body, json_ok=json_ok, headers=response.headers, attempts=attempts
    )


def _credential_free(url: httpx.URL) -> httpx.URL:
    params = url.params
    if not any(k.lower() in SENSITIVE_KEYS for k in params):
        return url
    return url.copy_with(params=[(k, REDACTED if k.lower() in SENSITIVE_KEYS else v) for k, v in params.multi_items()])


class _CredentialFreeUrls(logging.Filter):
    """httpx logs every request's URL (`HTTP Request: GET https://…?api=KEY`, at INFO): some
    providers take the key as a query parameter (MillionVerifier `api`, Reoon `key`), so those
    values are replaced before any handler sees the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(_credential_free(a) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


logging.getLogger("httpx").addFilter(_CredentialFreeUrls())


def create_http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=100, keepalive_expiry=30),
        timeout=httpx.Timeout(30.0, connect=5.0),
        headers={"user-agent": "data-engine-x/0.1"},
        follow_redirects=False,
    )
