"""The test Postgres: the embedded server (its own data directory and port, so a running dev
stack is untouched) or the server named by DATA_ENGINE_DATABASE_URL. A migrated template database
is built once per test session; each worker and each migration test clones or creates its own."""

import asyncio
import fcntl
import os
import zlib
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from app.config import REPO_ROOT
from app.contracts.catalog import OPERATIONS
from app.database import ensure_graphile_schema
from app.embedded_pg import EmbeddedPostgres, quote_ident
from app.migrate import apply_migrations
from app.repositories.steps import sync_steps

TEST_DATA_DIR = REPO_ROOT / ".data" / "test"
# per checkout, so two clones (a CI run beside a working tree) never fight over one port
TEST_PG_PORT = int(os.environ.get("DEX_TEST_PG_PORT", str(54339 + zlib.crc32(str(REPO_ROOT).encode()) % 400)))
TEMPLATE_DB = "dex_test_template"
ADMIN_DSN_ENV = "DEX_TEST_ADMIN_DSN"


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


@contextmanager
def _file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def start_test_server() -> tuple[str, EmbeddedPostgres | None]:
    """Returns an admin DSN (to the `postgres` database) and the embedded server if we started one."""
    external = os.environ.get("DATA_ENGINE_DATABASE_URL")
    if external:
        return with_database(external, "postgres"), None
    embedded = EmbeddedPostgres(pgdata=TEST_DATA_DIR / "postgres", port=TEST_PG_PORT)
    with _file_lock(TEST_DATA_DIR / "start.lock"):
        embedded.start()
    return embedded.admin_url, embedded


async def recreate_database(admin_dsn: str, name: str, template: str | None = None) -> str:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
        suffix = f" TEMPLATE {quote_ident(template)}" if template else ""
        await conn.execute(f"CREATE DATABASE {quote_ident(name)}{suffix}")
    finally:
        await conn.close()
    return with_database(admin_dsn, name)


async def drop_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
    finally:
        await conn.close()


async def build_template(admin_dsn: str) -> None:
    dsn = await recreate_database(admin_dsn, TEMPLATE_DB)
    await apply_migrations(dsn)
    # the local orchestrator's queue lives in the same database (graphile-worker's own schema)
    await ensure_graphile_schema(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        await sync_steps(conn, OPERATIONS)
    finally:
        await conn.close()


# set by `make mutation` (tests/mutation_db.py), which builds the template once: mutmut runs pytest
# again in every forked child, and two children rebuilding one template would break each other
TEMPLATE_READY_ENV = "DEX_TEST_TEMPLATE_READY"


def session_database_name(worker: str) -> str:
    """Each session's own database: per xdist worker, and per process under mutmut (its forked
    children run concurrently against one server)."""
    return f"dex_test_{worker}_{os.getpid()}" if os.environ.get(TEMPLATE_READY_ENV) else f"dex_test_{worker}"


def prepare_session() -> tuple[str, EmbeddedPostgres | None]:
    admin_dsn, embedded = start_test_server()
    if not os.environ.get(TEMPLATE_READY_ENV):
        asyncio.run(build_template(admin_dsn))
    return admin_dsn, embedded
