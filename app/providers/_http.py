"""The one HTTP policy every provider adapter uses.

- One shared `httpx.AsyncClient` (connection pooling), created in the app's lifespan.
- Per provider: base URL (origin replaced, documented paths kept), key, timeout, concurrency
  (semaphore) and rate (leaky bucket) from settings.
- Retries only on timeouts, connection errors, 408, 429 and 5xx: exponential backoff from 0.5 s
  doubling to 8 s with jitter, honouring `Retry-After` up to 60 s; 2 retries by default.
  A billable POST that timed out after sending is NOT retried unless the adapter says the call is
  idempotent: the provider may have processed (and charged) it.
- Errors form one taxonomy; the adapter decides which non-2xx statuses are answers (`accept`).
"""

import asyncio
import json
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 8.0
RETRY_AFTER_MAX = 60.0


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

    def wait(self, state: RetryCallState) -> float:
        """The provider's Retry-After when it gave one ("if the server says when, obey"), else
        exponential backoff with jitter."""
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, ProviderError) and error.retry_after is not None:
            return error.retry_after
        return wait_exponential_jitter(multiplier=self.initial, max=self.maximum, jitter=self.initial)(state)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), capped; None if absent
    or unusable, so the normal backoff applies."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    if seconds < 0:
        return 0.0
    return seconds if seconds <= RETRY_AFTER_MAX else None


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
    _semaphore: asyncio.Semaphore = field(init=False, repr=False)
    _limiter: AsyncLimiter | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._semaphore = asyncio.Semaphore(self.concurrency)
        # one request per 1/rate seconds, no burst: a provider that enforces N per second with a
        # small bucket never sees N requests land in the same instant
        self._limiter = AsyncLimiter(1, 1 / self.rate_per_second) if self.rate_per_second else None

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
        timeout: float | None = None,
        max_retries: int | None = None,
        idempotent: bool | None = None,
    ) -> ProviderResponse:
        """Send one logical request, retrying per the policy. Returns 2xx responses and the statuses
        in `accept`; raises a ProviderError subclass for everything else."""
        retries = self.retry.max_retries if max_retries is None else max_retries
        safe_to_resend = method.upper() == "GET" if idempotent is None else idempotent
        counter = 0

        async def attempt() -> ProviderResponse:
            nonlocal counter
            counter += 1
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
            if response.is_success or response.status_code in accept:
                return result
            error = ProviderStatusError.from_response(self.name, result)
            error.retryable = response.status_code in RETRYABLE_STATUSES
            error.retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise error

        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda e: isinstance(e, ProviderError) and e.retryable),
            wait=self.retry.wait,
            stop=stop_after_attempt(retries + 1),
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
            if self._limiter is not None:
                await self._limiter.acquire()
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


def create_http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=100, keepalive_expiry=30),
        timeout=httpx.Timeout(30.0, connect=5.0),
        headers={"user-agent": "data-engine-x/0.1"},
        follow_redirects=False,
    )
