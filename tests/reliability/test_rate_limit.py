"""Per-credential rate limiting (app/ratelimit.py): a client that floods the API gets 429 with
Retry-After and the error envelope, and every other credential keeps its full rate."""

import asyncio
import time

import httpx
import pytest

from app.auth.context import Role
from app.config import Settings
from app.errors import RateLimited
from app.ratelimit import Bucket, Limit, SharedBuckets
from app.repositories import rate_limits as rate_limits_repo
from tests.conftest import TEST_SECRETS, SavepointDb, own_client
from tests.factories import bearer, create_token, jwt_for
from tests.reliability.conftest import record
from tests.reliability.schema import SCHEMA, tenant_paths
from tests.reliability.world import build_world


def assert_limited(r: httpx.Response, per_minute: int | None = None, burst: int | None = None) -> int:
    assert r.status_code == 429, r.text
    error = r.json()["error"]
    assert error["code"] == "rate_limited" and set(error) == {"code", "message", "details"}
    assert isinstance(error["message"], str) and error["message"]
    retry_after = int(r.headers["Retry-After"])
    assert retry_after >= 1 and error["details"]["retry_after_seconds"] == retry_after
    # the documented details: the limit that applied, so a client can pace itself; `scope` says
    # when it was the org's cap across all its credentials rather than the credential's own
    details = dict(error["details"])
    assert details.pop("scope", "org") == "org"
    assert set(details) == {"limit_per_minute", "burst", "retry_after_seconds"}
    if per_minute is not None:
        assert error["details"]["limit_per_minute"] == per_minute and error["details"]["burst"] == burst
    return retry_after


async def test_each_credential_has_its_own_bucket(database_dsn, conn):
    world = await build_world(conn)
    tenant = world.own.tenant
    async with own_client(
        database_dsn,
        conn,
        rate_limit_per_minute=60,
        rate_limit_burst=5,
        internal_rate_limit_per_minute=60,
        internal_rate_limit_burst=3,
    ) as client:
        hog = tenant.headers(Role.org_admin)
        for _ in range(5):
            assert (await client.post("/api/companies/list", json={}, headers=hog)).status_code == 200
        retry_after = assert_limited(
            await client.post("/api/companies/list", json={}, headers=hog), per_minute=60, burst=5
        )
        assert retry_after == 1  # one request refills in 1 s at 60 a minute
        # every other credential is untouched: another token of the same org and user, the
        # user's session, another org's token
        same_user_token, _ = await create_token(
            conn, tenant.org.id, Role.org_admin, None, tenant.users[Role.org_admin].id
        )
        others = [
            bearer(same_user_token),
            bearer(jwt_for(tenant.users[Role.org_admin], TEST_SECRETS["jwt_secret"])),
            world.other.tenant.headers(Role.org_admin),
            tenant.headers(Role.member),
        ]
        for headers in others:
            for _ in range(5):
                assert (await client.post("/api/companies/list", json={}, headers=headers)).status_code == 200
        # a session is limited per user, whatever JWT it presents
        fresh_jwt = bearer(jwt_for(tenant.users[Role.org_admin], TEST_SECRETS["jwt_secret"]))
        assert_limited(await client.post("/api/companies/list", json={}, headers=fresh_jwt))
        # the internal key per org: one org's worker cannot starve another's
        internal = bearer(TEST_SECRETS["internal_api_key"])
        execute = {
            "operation_id": "company.ads.search.linkedin",
            "entity_type": "company",
            "input": {"domain": "a.com"},
        }
        org_a = {**internal, "x-internal-org-id": str(world.own.org_id)}
        org_b = {**internal, "x-internal-org-id": str(world.other.org_id)}
        for _ in range(3):
            assert (await client.post("/api/v1/execute", json=execute, headers=org_a)).status_code == 200
        assert_limited(await client.post("/api/v1/execute", json=execute, headers=org_a))
        assert (await client.post("/api/v1/execute", json=execute, headers=org_b)).status_code == 200
        # the refused calls left no trace: only the allowed executions were recorded
        assert await conn.fetchval("SELECT count(*) FROM operation_runs WHERE auth_method = 'internal'") == 4


async def test_two_api_processes_share_every_bucket_exactly(database_dsn, conn):
    """Two apps are two API processes (each with its own limiter object) on one database: a
    credential, its org and a login account get their limit once, not once per process."""
    world = await build_world(conn)
    tenant = world.own.tenant
    limits = {
        "rate_limit_per_minute": 1,
        "rate_limit_burst": 4,
        "org_rate_limit_per_minute": 1,
        "org_rate_limit_burst": 6,
        "login_account_attempts_per_minute": 1,
        "login_account_attempts_burst": 3,
    }
    async with own_client(database_dsn, conn, **limits) as one, own_client(database_dsn, conn, **limits) as two:
        hog = tenant.headers(Role.org_admin)
        statuses = [(await c.post("/api/companies/list", json={}, headers=hog)).status_code for c in (one, two) * 4]
        assert statuses.count(200) == 4 and statuses[4:] == [429] * 4, statuses
        # the org's cap across both processes: 2 requests left of its 6, whichever process serves them
        other = tenant.headers(Role.member)
        statuses = [(await c.post("/api/companies/list", json={}, headers=other)).status_code for c in (two, one) * 2]
        assert statuses == [200, 200, 429, 429], statuses
        assert (await two.post("/api/companies/list", json={}, headers=other)).json()["error"]["details"][
            "scope"
        ] == "org"
        # login failures of one account, spread over both processes
        guess = {"email": "nobody@example.com", "password": "wrong guess 123"}
        statuses = [(await c.post("/api/auth/login", json=guess)).status_code for c in (one, two) * 3]
        assert statuses == [401, 401, 401, 429, 429, 429], statuses


async def test_a_flooding_client_cannot_starve_a_polite_one(database_dsn, conn):
    world = await build_world(conn)
    async with own_client(database_dsn, conn, rate_limit_per_minute=600, rate_limit_burst=20) as client:
        hog = world.own.tenant.headers(Role.org_admin)
        polite = world.own.tenant.headers(Role.member)

        async def flood() -> list[int]:
            statuses = []
            for _ in range(10):
                batch = await asyncio.gather(
                    *(client.post("/api/blueprints/list", json={}, headers=hog) for _ in range(20))
                )
                statuses += [r.status_code for r in batch]
            return statuses

        async def politely() -> list[int]:
            statuses = []
            for _ in range(10):
                statuses.append((await client.post("/api/blueprints/list", json={}, headers=polite)).status_code)
                await asyncio.sleep(0.05)
            return statuses

        started = time.monotonic()
        hog_statuses, polite_statuses = await asyncio.gather(flood(), politely())
        elapsed = time.monotonic() - started
    # the hog got its burst and its refill, not a request more: 20 + 10 a second
    assert 20 <= hog_statuses.count(200) <= 20 + 10 * elapsed + 1, (hog_statuses.count(200), elapsed)
    assert set(hog_statuses) == {200, 429}
    assert polite_statuses == [200] * 10
    record(
        "ratelimit",
        hog_requests=len(hog_statuses),
        hog_limited=hog_statuses.count(429),
        polite_requests=len(polite_statuses),
        polite_served=polite_statuses.count(200),
    )


async def _waits(buckets: SharedBuckets, db, bucket: Bucket, n: int) -> list[float]:
    waits = []
    for _ in range(n):
        try:
            await buckets.take(db, [bucket])
            waits.append(0.0)
        except RateLimited as refused:
            waits.append(float(refused.details["retry_after_seconds"]))
    return waits


async def test_buckets_refill_at_the_configured_rate_and_idle_ones_are_pruned(conn):
    # the injected clock runs ahead of the database's, so only the test's own moves count
    now = [time.time() + 86_400]
    db = SavepointDb(conn)
    buckets = SharedBuckets(clock=lambda: now[0])
    a = Bucket("test:a", Limit(per_minute=120, burst=3))
    assert await _waits(buckets, db, a, 3) == [0.0, 0.0, 0.0]
    wait = await conn.fetchval(
        "SELECT (rate_buckets_take(ARRAY[$1::uuid], ARRAY[$2::int], ARRAY[0.5], ARRAY[3.0], false, $3))[1]",
        a.key,
        a.lock,
        now[0],
    )
    assert wait == pytest.approx(0.5)  # two a second
    now[0] += 0.5
    assert await _waits(buckets, db, a, 2) == [0.0, 1.0]  # one refilled; Retry-After rounds up to 1 s
    now[0] += 60
    assert await _waits(buckets, db, a, 4) == [0.0, 0.0, 0.0, 1.0]  # refilled to the burst, not beyond
    # an off limit never refuses and stores nothing
    off = Bucket("test:off", Limit(per_minute=0, burst=10))
    assert await _waits(buckets, db, off, 50) == [0.0] * 50
    assert not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM rate_buckets WHERE key = $1)", off.key)
    # a bucket full again is the same as no row: the pruning job deletes it, nothing else
    async with db.autocommit() as c:
        await rate_limits_repo.prune(c, idle_seconds=0)
    assert await conn.fetchval("SELECT EXISTS (SELECT 1 FROM rate_buckets WHERE key = $1)", a.key)
    await conn.execute("UPDATE rate_buckets SET tat = 0 WHERE key = $1", a.key)
    async with db.autocommit() as c:
        assert await rate_limits_repo.prune(c, idle_seconds=0) >= 1
    assert not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM rate_buckets WHERE key = $1)", a.key)


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DATA_ENGINE_RATE_LIMIT_PER_MINUTE", "30")
    monkeypatch.setenv("DATA_ENGINE_RATE_LIMIT_BURST", "7")
    monkeypatch.setenv("DATA_ENGINE_INTERNAL_RATE_LIMIT_PER_MINUTE", "0")
    settings = Settings(database_url="postgresql://x@127.0.0.1/x", **TEST_SECRETS)
    assert (settings.rate_limit_per_minute, settings.rate_limit_burst) == (30, 7)
    assert settings.internal_rate_limit_per_minute == 0


def test_every_rate_limited_endpoint_documents_429():
    for path in tenant_paths():
        assert "429" in SCHEMA["paths"][path]["post"]["responses"], path
