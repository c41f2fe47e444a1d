"""Login throttling and off-loop password checks (issue 9 item 4).

Wrong passwords are throttled per account and per client address (429, the envelope,
Retry-After); an unknown email is throttled exactly like a known one; and the Argon2 check runs in
a bounded thread pool, so the event loop keeps answering other requests while one is in flight."""

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from app.auth import credentials
from tests.conftest import own_app
from tests.factories import PASSWORD, bearer, create_org, create_token, create_user


@asynccontextmanager
async def login_app(database_dsn: str, conn, **settings) -> AsyncIterator:
    """An app of its own with the given throttle settings, on the test's rolled-back connection."""
    async with own_app(database_dsn, conn, **settings) as application:

        def client_from(address: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=application, client=(address, 40000))
            return httpx.AsyncClient(transport=transport, base_url="http://testserver")

        yield client_from


def assert_throttled(r: httpx.Response, scope: str) -> dict:
    assert r.status_code == 429, r.text
    error = r.json()["error"]
    assert error["code"] == "rate_limited" and set(error) == {"code", "message", "details"}
    assert int(r.headers["Retry-After"]) == error["details"]["retry_after_seconds"] >= 1
    assert error["details"]["scope"] == scope
    return error


async def test_the_attempt_after_the_limit_for_one_account_is_429_and_others_are_unaffected(database_dsn, conn):
    org = await create_org(conn)
    victim, bystander = await create_user(conn, org.id), await create_user(conn, org.id)
    async with login_app(database_dsn, conn, login_account_attempts_burst=5, login_account_attempts_per_minute=1) as at:
        async with at("198.51.100.7") as attacker, at("203.0.113.9") as elsewhere:
            for _ in range(5):
                r = await attacker.post("/api/auth/login", json={"email": victim.email, "password": "wrong guess 123"})
                assert r.status_code == 401, r.text
            error = assert_throttled(
                await attacker.post("/api/auth/login", json={"email": victim.email, "password": "wrong guess 123"}),
                "account",
            )
            # the account stays throttled from any address, even for the right password
            assert_throttled(
                await elsewhere.post("/api/auth/login", json={"email": victim.email, "password": PASSWORD}), "account"
            )
            # another account, from the same address, is not
            r = await attacker.post("/api/auth/login", json={"email": bystander.email, "password": PASSWORD})
            assert r.status_code == 200, r.text
            # an unknown email is counted and refused exactly like a known one
            for _ in range(5):
                r = await attacker.post("/api/auth/login", json={"email": "nobody@example.com", "password": "x" * 12})
                assert r.status_code == 401
            unknown = assert_throttled(
                await attacker.post("/api/auth/login", json={"email": "nobody@example.com", "password": "x" * 12}),
                "account",
            )
            for refused in (unknown, error):
                refused["details"].pop("retry_after_seconds")
            assert unknown == error


async def test_one_address_is_throttled_across_accounts_and_another_address_is_not(database_dsn, conn):
    org = await create_org(conn)
    user = await create_user(conn, org.id)
    async with login_app(database_dsn, conn, login_address_attempts_burst=4, login_address_attempts_per_minute=1) as at:
        async with at("198.51.100.7") as sprayer, at("203.0.113.9") as other:
            # successes do not count toward the throttle
            for _ in range(6):
                r = await sprayer.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
                assert r.status_code == 200, r.text
            for i in range(4):
                r = await sprayer.post("/api/auth/login", json={"email": f"u{i}@example.com", "password": "x" * 12})
                assert r.status_code == 401
            assert_throttled(
                await sprayer.post("/api/auth/login", json={"email": "u9@example.com", "password": "x" * 12}), "address"
            )
            r = await other.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
            assert r.status_code == 200, r.text


class BlockingVerify:
    """Wraps the Argon2 check so a test can hold it in flight and count how many run at once."""

    def __init__(self, original) -> None:
        self.original = original
        self.started = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.released_by_test: list[bool] = []

    def __call__(self, *args, **kwargs):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.started.set()
        # on the event loop (the defect) nothing can set `release` while this waits: it gives up
        # after a while so the test fails instead of hanging
        self.released_by_test.append(self.release.wait(timeout=10))
        try:
            return self.original(*args, **kwargs)
        finally:
            with self.lock:
                self.running -= 1


async def test_the_loop_answers_other_requests_while_a_password_check_is_in_flight(client, conn, monkeypatch):
    org = await create_org(conn)
    user = await create_user(conn, org.id)
    verify = BlockingVerify(credentials._password_hash.verify)
    monkeypatch.setattr(credentials._password_hash, "verify", verify)
    login = asyncio.create_task(client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}))
    assert await asyncio.to_thread(verify.started.wait, 10)
    # the check is held in its thread: the loop must still serve /health
    health = await client.get("/health")
    assert health.status_code == 200 and not verify.release.is_set()
    verify.release.set()
    assert (await login).status_code == 200
    assert verify.released_by_test == [True]


async def test_concurrent_password_checks_are_bounded(database_dsn, conn, monkeypatch):
    org = await create_org(conn)
    user = await create_user(conn, org.id)
    verify = BlockingVerify(credentials._password_hash.verify)
    monkeypatch.setattr(credentials._password_hash, "verify", verify)
    n = credentials.PASSWORD_HASH_SLOTS + 3
    async with login_app(database_dsn, conn) as at, at("198.51.100.7") as client:
        logins = [
            asyncio.create_task(client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}))
            for _ in range(n)
        ]
        await _all_admitted(verify, n)
        verify.release.set()
        assert [r.status_code for r in await asyncio.gather(*logins)] == [200] * n
    assert verify.most == credentials.PASSWORD_HASH_SLOTS


async def _all_admitted(verify: BlockingVerify, n: int) -> None:
    # every request reaches the limiter: the slots fill and the rest wait there, without a thread
    slots = credentials._slots()
    for _ in range(2000):  # a bound against hanging, not a timing assertion
        if slots.statistics().tasks_waiting == n - credentials.PASSWORD_HASH_SLOTS:
            break
        await asyncio.sleep(0.01)
    assert verify.running == slots.statistics().borrowed_tokens == credentials.PASSWORD_HASH_SLOTS


async def test_user_create_hashes_off_the_loop(client, conn, monkeypatch):
    # creating a user hashes its password: that too must not hold the loop
    org = await create_org(conn)
    admin = await create_user(conn, org.id)
    token, _ = await create_token(conn, org.id, user_id=admin.id)
    hashing = BlockingVerify(credentials._password_hash.hash)
    monkeypatch.setattr(credentials._password_hash, "hash", hashing)
    create = asyncio.create_task(
        client.post(
            "/api/users/create",
            json={"email": "new@example.com", "role": "org_admin", "password": PASSWORD},
            headers=bearer(token),
        )
    )
    assert await asyncio.to_thread(hashing.started.wait, 10)
    assert (await client.get("/health")).status_code == 200
    hashing.release.set()
    assert (await create).status_code == 200, (await create).text
    assert hashing.released_by_test == [True]
