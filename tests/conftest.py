"""Real Postgres, the real app over HTTP (httpx + ASGI transport), one rolled-back transaction
per test. Provider HTTP is the only thing ever mocked."""

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from app.config import PROVIDER_NAMES, Settings
from app.db import get_conn, get_db
from app.encryption import generate_spec
from app.main import create_app
from tests import pg

# fixed, strong test secrets: the app never generates or reads local secret files in tests
TEST_SECRETS = {
    "internal_api_key": "test-internal-" + secrets.token_urlsafe(32),
    "jwt_secret": "test-jwt-" + secrets.token_urlsafe(32),
    "super_admin_api_key": "test-super-" + secrets.token_urlsafe(32),
    "encryption_key": generate_spec("test1"),
}


def pytest_configure(config: pytest.Config) -> None:
    # the controller process (or the only process without xdist) starts the server and builds
    # the template once; xdist workers inherit the DSN through the environment
    if hasattr(config, "workerinput"):
        return
    admin_dsn, embedded = pg.prepare_session()
    os.environ[pg.ADMIN_DSN_ENV] = admin_dsn
    config._dex_embedded = embedded  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    embedded = getattr(config, "_dex_embedded", None)
    if embedded is not None:
        embedded.stop()


@pytest.fixture(scope="session")
def admin_dsn() -> str:
    return os.environ[pg.ADMIN_DSN_ENV]


@pytest.fixture(scope="session")
def worker_id_str(request: pytest.FixtureRequest) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(scope="session")
async def database_dsn(admin_dsn: str, worker_id_str: str) -> AsyncIterator[str]:
    name = pg.session_database_name(worker_id_str)
    dsn = await pg.recreate_database(admin_dsn, name, template=pg.TEMPLATE_DB)
    yield dsn
    await pg.drop_database(admin_dsn, name)


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {"database_url": database_url, "env": "local", **TEST_SECRETS, **overrides}
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(database_dsn: str) -> Settings:
    return make_settings(database_dsn)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


class SavepointDb:
    """`Db` on the test's connection: each short transaction is a savepoint, serialised because one
    connection runs one statement at a time."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self.lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.lock, self.connection.transaction():
            yield self.connection

    # one statement on its own: a savepoint too, so a failing one leaves the test's transaction usable
    autocommit = transaction


@pytest.fixture
async def conn(app: FastAPI) -> AsyncIterator[asyncpg.Connection]:
    """The test's connection: everything the test and its requests write is rolled back."""
    async with app.state.pool.acquire() as connection:
        tx = connection.transaction()
        await tx.start()

        async def test_conn() -> AsyncIterator[asyncpg.Connection]:
            # a savepoint per request: a failing request rolls back exactly its own writes,
            # as the real per-request transaction does
            async with connection.transaction():
                yield connection

        app.dependency_overrides[get_conn] = test_conn
        app.dependency_overrides[get_db] = lambda: SavepointDb(connection)
        try:
            yield connection
        finally:
            app.dependency_overrides.pop(get_conn, None)
            app.dependency_overrides.pop(get_db, None)
            await tx.rollback()


@pytest.fixture
async def client(app: FastAPI, conn: asyncpg.Connection) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@asynccontextmanager
async def own_app(database_dsn: str, conn: asyncpg.Connection, **settings: object) -> AsyncIterator[FastAPI]:
    """An app of its own with the given settings (limits, throttles, catalog options), started, on
    the test's rolled-back connection. One connection runs one statement at a time: requests (and
    their short transactions) take turns on one lock."""
    application = create_app(make_settings(database_dsn, **settings))
    async with application.router.lifespan_context(application):
        db = SavepointDb(conn)

        async def test_conn() -> AsyncIterator[asyncpg.Connection]:
            async with db.lock, conn.transaction():
                yield conn

        application.dependency_overrides[get_conn] = test_conn
        application.dependency_overrides[get_db] = lambda: db
        yield application


@asynccontextmanager
async def own_client(
    database_dsn: str, conn: asyncpg.Connection, **settings: object
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `own_app`."""
    async with own_app(database_dsn, conn, **settings) as application:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


# --- the app with every provider configured (provider HTTP mocked per test with respx) ----------


PROVIDER_TEST_KEY = "test-provider-key-0123456789"


def provider_base_url(provider: str) -> str:
    return f"https://{provider}.provider.test"


def provider_settings(**overrides):
    values = {}
    for name in PROVIDER_NAMES:
        values[f"{name}_api_key"] = PROVIDER_TEST_KEY
        values[f"{name}_base_url"] = provider_base_url(name)
        values[f"{name}_max_retries"] = 0
    values.update(adyntel_email="ops@example.com", icypeas_poll_interval_seconds=0.0, icypeas_read_interval_seconds=0.0)
    values.update(overrides)
    return values


@pytest.fixture(scope="session")
async def provider_app(database_dsn) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(database_dsn, **provider_settings()))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def pclient(provider_app, conn) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the provider-configured app, sharing the test's rolled-back transaction."""
    test_conn = conn

    async def override_conn():
        async with test_conn.transaction():
            yield test_conn

    provider_app.dependency_overrides[get_conn] = override_conn
    provider_app.dependency_overrides[get_db] = lambda: SavepointDb(test_conn)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=provider_app), base_url="http://testserver"
        ) as c:
            yield c
    finally:
        provider_app.dependency_overrides.clear()
