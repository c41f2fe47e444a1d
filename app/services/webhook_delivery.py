"""The webhook delivery loop: claims due outbox rows, signs and POSTs them (Standard Webhooks),
records each attempt and schedules the next (docs/webhooks.md).

It runs in the API process, apart from any request or pipeline transaction: a receiver that is
down or slow only delays its own deliveries. Every API process runs one; they share the work
through `FOR UPDATE SKIP LOCKED` claims with a lease (app/repositories/webhooks.py)."""

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx
from standardwebhooks import Webhook as Signer

from app.config import Settings
from app.encryption import Keyring, SealedValueError
from app.repositories import webhooks as webhooks_repo
from app.repositories.webhooks import ClaimedDelivery
from app.services.webhooks import Target, UrlGuard, UrlRefused, open_secret

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
USER_AGENT = "data-engine-x-webhooks/1"
# beyond the HTTP timeout, the time a claimed row stays invisible to other processes
LEASE_MARGIN_SECONDS = 30.0
MAX_ERROR_CHARS = 300


class TransactionSource(Protocol):
    def transaction(self): ...  # noqa: ANN201 - app.db.Db (or the tests' savepoint equivalent)


def utc_now() -> datetime:
    return datetime.now(UTC)


def signed_headers(delivery_id: str, body: str, at: datetime, secrets: list[str]) -> dict[str, str]:
    """Standard Webhooks headers: one `v1,` signature per live secret (two during a rotation's
    grace period), over "{id}.{timestamp}.{body}"."""
    signatures = [Signer(s).sign(msg_id=delivery_id, timestamp=at, data=body) for s in secrets]
    return {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def create_webhook_http_client(timeout_seconds: float) -> httpx.AsyncClient:
    # never follows redirects (a 3xx is a failed attempt); no keep-alive, so a connection opened
    # for one (pinned) address and host is never reused for another
    return httpx.AsyncClient(
        follow_redirects=False,
        timeout=httpx.Timeout(timeout_seconds),
        limits=httpx.Limits(max_keepalive_connections=0),
        trust_env=False,
    )


class WebhookDeliverer:
    def __init__(
        self,
        db: TransactionSource,
        settings: Settings,
        guard: UrlGuard,
        http: httpx.AsyncClient,
        clock: Clock = utc_now,
        *,
        keyring: Keyring | None = None,
    ) -> None:
        self.db = db
        self.keyring = keyring or settings.keyring()
        self.guard = guard
        self.http = http
        self.clock = clock
        self.schedule = [timedelta(seconds=s) for s in settings.webhook_retry_schedule_seconds]
        self.timeout = settings.webhook_timeout_seconds
        self.per_webhook = settings.webhook_max_in_flight_per_webhook
        self.batch_size = settings.webhook_batch_size
        self.interval = settings.webhook_poll_interval_seconds
        self.sleep = asyncio.sleep

    async def run_forever(self) -> None:
        while True:
            try:
                claimed = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                # the database restarting, say: the rows stay due and the next round retries
                log.exception("webhook delivery round failed")
                claimed = 0
            # another round at once while rounds find work: the per-webhook limit bounds how many
            # are in flight together, and a sleep after every round would also cap one webhook at
            # that many events per poll interval (4 a second), far below what a batch produces
            if claimed == 0:
                await self.sleep(self.interval)

    async def run_once(self) -> int:
        """Claims what is due now, attempts each delivery once, and returns how many it claimed."""
        now = self.clock()
        lease_until = now + timedelta(seconds=self.timeout + LEASE_MARGIN_SECONDS)
        async with self.db.transaction() as conn:
            claimed = await webhooks_repo.claim_due(conn, now, lease_until, self.per_webhook, self.batch_size)
        if claimed:
            await asyncio.gather(*(self._attempt(d) for d in claimed))
        return len(claimed)

    async def _attempt(self, delivery: ClaimedDelivery) -> None:
        attempt = delivery.attempts + 1
        at = self.clock()
        started = time.monotonic()
        status_code: int | None = None
        error: str | None = None
        try:
            # checked again at every attempt: a name may resolve elsewhere since it was created
            target = await self.guard.check(delivery.url)
            stored = [delivery.secret] + ([delivery.previous_secret] if delivery.previous_secret else [])
            secrets = [open_secret(self.keyring, delivery.org_id, delivery.webhook_id, s) for s in stored]
            headers = signed_headers(str(delivery.id), delivery.body, at, secrets)
            status_code = await self._post(target, delivery.body, headers)
        except UrlRefused as e:
            error = f"url not allowed: {e}"
        except SealedValueError as e:
            # retried on the schedule: an operator who restores the data key lets it through
            log.error("webhook %s: its signing secret cannot be opened: %s", delivery.webhook_id, e)
            error = "the signing secret cannot be decrypted (see DATA_ENGINE_ENCRYPTION_KEY)"
        except (TimeoutError, httpx.TimeoutException):
            error = f"timeout after {self.timeout:g} s"
        except httpx.HTTPError as e:
            # the exception's own text, never the URL (it may carry a token in its query)
            error = f"{type(e).__name__}: {e}"[:MAX_ERROR_CHARS]
        duration_ms = int((time.monotonic() - started) * 1000)
        delivered = status_code is not None and 200 <= status_code < 300
        if error is None and not delivered:
            error = f"HTTP {status_code}"
        if delivered:
            status, next_at = "delivered", None
        elif attempt <= len(self.schedule):
            status, next_at = "pending", at + self.schedule[attempt - 1]
        else:
            status, next_at = "failed", None
        async with self.db.transaction() as conn:
            await webhooks_repo.record_attempt(
                conn,
                delivery,
                attempt=attempt,
                status=status,
                status_code=status_code,
                error=None if delivered else error,
                duration_ms=duration_ms,
                at=at,
                next_attempt_at=next_at,
            )
        if status == "failed":
            log.warning("webhook %s gave up delivery %s after %d attempts", delivery.webhook_id, delivery.id, attempt)

    async def _post(self, target: Target, body: str, headers: dict[str, str]) -> int:
        url, extensions = target.url, {}
        if target.addresses:
            # connect to the address that was checked, naming the host in Host and TLS (SNI and
            # certificate check), so a second DNS answer cannot point the request elsewhere
            headers = {**headers, "host": target.url.netloc.decode("ascii")}
            extensions = {"sni_hostname": target.url.host}
            url = target.url.copy_with(host=target.addresses[0])
        async with asyncio.timeout(self.timeout):
            request = self.http.build_request(
                "POST", url, content=body.encode(), headers=headers, extensions=extensions
            )
            # the answer's body is never read: only its status matters, and it may be large
            response = await self.http.send(request, stream=True)
            await response.aclose()
            return response.status_code
