"""Where the database comes from, and making it ready: the configured URL, or the embedded
Postgres started (and later stopped) by this process; migrations; the operation catalog."""

import asyncio
import logging
import os
from dataclasses import dataclass

import asyncpg

from app.config import REPO_ROOT, Orchestrator, Settings
from app.contracts.catalog import OPERATIONS
from app.db import create_pool
from app.embedded_pg import EmbeddedPostgres, embedded_for
from app.migrate import apply_migrations, pending_migrations
from app.repositories.steps import sync_steps

log = logging.getLogger(__name__)


class SchemaNotReady(RuntimeError):
    pass


def start_embedded(settings: Settings) -> EmbeddedPostgres:
    embedded = embedded_for(settings.data_dir, settings.embedded_postgres_port)
    embedded.start()
    return embedded


async def resolve_dsn(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    if settings.database_url:
        return settings.database_url, None
    embedded = start_embedded(settings)
    await embedded.ensure_database()
    return embedded.url(), embedded


GRAPHILE_INSTALLED = """
SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname = 'graphile_worker' AND p.proname = 'add_jobs')
"""
TRIGGER_DIR = REPO_ROOT / "trigger"


async def ensure_graphile_schema(dsn: str) -> None:
    """The local orchestrator enqueues with graphile_worker.add_jobs, so its schema must exist before
    the first submit. graphile-worker installs it itself; we run its migrator once when it is missing."""
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval(GRAPHILE_INSTALLED):
            return
    finally:
        await conn.close()
    tsx = TRIGGER_DIR / "node_modules" / ".bin" / "tsx"
    if not tsx.exists():
        raise SchemaNotReady("the worker's packages are not installed: run `make install` (npm ci in trigger/)")
    process = await asyncio.create_subprocess_exec(
        str(tsx),
        "src/local/migrate.ts",
        cwd=TRIGGER_DIR,
        env={**os.environ, "DATA_ENGINE_DATABASE_URL": dsn},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise SchemaNotReady(f"installing the graphile_worker schema failed: {output.decode()[-2000:]}")
    log.info("installed the graphile_worker schema")


async def migrate_database(dsn: str, *, graphile: bool) -> None:
    """Apply pending migrations, install the local queue's schema when asked (the local
    orchestrator's worker needs it), then sync the catalog."""
    await apply_migrations(dsn)
    if graphile:
        await ensure_graphile_schema(dsn)
    await _sync_catalog(dsn)


async def _sync_catalog(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await sync_steps(conn, OPERATIONS)
    finally:
        await conn.close()


async def prepare_schema(settings: Settings, dsn: str, *, apply: bool) -> None:
    """Apply pending migrations (or refuse to run on a stale schema), install the local queue's
    schema when the local orchestrator is in use, then sync the catalog."""
    if apply:
        await migrate_database(dsn, graphile=settings.effective_orchestrator is Orchestrator.local)
        return
    pending = await pending_migrations(dsn)
    if pending:
        raise SchemaNotReady(f"migrations {', '.join(pending)} are not applied: run `python -m app migrate`")
    await _sync_catalog(dsn)


@dataclass
class Database:
    pool: asyncpg.Pool
    embedded: EmbeddedPostgres | None
    dsn: str

    @classmethod
    async def open(cls, settings: Settings) -> "Database":
        dsn, embedded = await resolve_dsn(settings)
        # the embedded default is a development database: keep it migrated automatically
        await prepare_schema(settings, dsn, apply=embedded is not None or not settings.is_production())
        pool = await create_pool(settings, dsn)
        return cls(pool=pool, embedded=embedded, dsn=dsn)

    async def close(self) -> None:
        await self.pool.close()
        if self.embedded is not None and self.embedded.started_here:
            self.embedded.stop()
