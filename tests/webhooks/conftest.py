"""A real webhook receiver on a loopback socket (uvicorn in a thread), a clock the tests move,
and a deliverer working on the test's rolled-back connection."""

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn
from standardwebhooks import Webhook as Verifier
from standardwebhooks import WebhookVerificationError

from app.services.webhook_delivery import WebhookDeliverer, create_webhook_http_client
from app.services.webhooks import UrlGuard
from tests.conftest import SavepointDb, make_settings


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified_with: list[str]  # the secrets whose signature verified


@dataclass
class Receiver:
    """Answers each request with the next queued (status, headers), else 204, after `delay` s;
    verifies every request's signature with each of `secrets` (standardwebhooks)."""

    url: str = ""
    secrets: list[str] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)

    async def __call__(self, scope, receive, send) -> None:
        assert scope["type"] == "http"
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        verified = []
        for secret in self.secrets:
            try:
                Verifier(secret).verify(body, headers)
                verified.append(secret)
            except WebhookVerificationError:
                pass
        self.received.append(Received(headers, body, verified))
        status, extra = self.answers.pop(0) if self.answers else (204, {})
        if self.delay:
            await asyncio.sleep(self.delay)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in extra.items()],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    app = Receiver()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    app.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks/in"
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the receiver did not start"
        time.sleep(0.01)
    try:
        yield app
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


class Clock:
    """Starts at the real time (receivers check the signed timestamp against their own clock,
    within 5 minutes) and moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def make_deliverer(conn, settings, clock):
    clients: list[httpx.AsyncClient] = []

    def make(guard: UrlGuard | None = None, http: httpx.AsyncClient | None = None, **overrides) -> WebhookDeliverer:
        values = make_settings(settings.database_url, **overrides)
        if http is None:
            http = create_webhook_http_client(values.webhook_timeout_seconds)
            clients.append(http)
        return WebhookDeliverer(SavepointDb(conn), values, guard or UrlGuard(production=False), http, clock)

    yield make
    for c in clients:
        await c.aclose()
