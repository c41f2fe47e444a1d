"""Applies `supabase/migrations/*.sql` in order: each file in its own transaction, all under one
advisory lock, each recorded with its checksum. Safe to run twice and from two processes at once:
the second waits for the lock, then finds nothing pending."""

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from app.config import REPO_ROOT

log = logging.getLogger(__name__)

MIGRATIONS_DIR = REPO_ROOT / "supabase" / "migrations"
# an arbitrary constant shared by every migrating process ("dex-migr" in ASCII)
ADVISORY_LOCK_KEY = 0x6465782D6D696772

CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     text PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""
LIST_APPLIED = "SELECT version, checksum FROM schema_migrations"
RECORD_APPLIED = "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        version, _, name = path.stem.partition("_")
        if not version.isdigit():
            raise MigrationError(f"migration file {path.name} does not start with a number")
        migrations.append(Migration(version=version, name=name, sql=path.read_text()))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a number")
    return migrations


async def apply_migrations(dsn: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations; returns the versions applied by this call."""
    migrations = discover(directory)
    conn = await asyncpg.connect(dsn, server_settings={"application_name": "data-engine.migrate"})
    applied_now: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
        try:
            await conn.execute(CREATE_LEDGER)
            applied = {r["version"]: r["checksum"] for r in await conn.fetch(LIST_APPLIED)}
            for migration in migrations:
                if migration.version in applied:
                    if applied[migration.version] != migration.checksum:
                        raise MigrationError(
                            f"migration {migration.version}_{migration.name} changed after it was applied; "
                            "add a new migration instead"
                        )
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(RECORD_APPLIED, migration.version, migration.name, migration.checksum)
                applied_now.append(migration.version)
                log.info("applied migration %s_%s", migration.version, migration.name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)
    finally:
        await conn.close()
    return applied_now


async def pending_migrations(dsn: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
        applied = {r["version"] for r in await conn.fetch(LIST_APPLIED)} if exists else set()
    finally:
        await conn.close()
    return [m.version for m in discover(directory) if m.version not in applied]
