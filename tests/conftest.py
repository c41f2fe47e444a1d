"""Real Postgres, the real app over HTTP (httpx + ASGI transport), one rolled-back transaction
per test. Provider HTTP is the only thing ever mocked."""

import os
import secrets
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.db import get_conn
from app.main import create_app
from tests import pg

# fixed, strong test secrets: the app never generates or reads local secret files in tests
TEST_SECRETS = {
    "internal_api_key": "test-internal-" + secrets.token_urlsafe(32),
    "jwt_secret": "test-jwt-" + secrets.token_urlsafe(32),
    "super_admin_api_key": "test-super-" + secrets.token_urlsafe(32),
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
    name = f"dex_test_{worker_id_str}"
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
        try:
            yield connection
        finally:
            app.dependency_overrides.pop(get_conn, None)
            await tx.rollback()


@pytest.fixture
async def client(app: FastAPI, conn: asyncpg.Connection) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
