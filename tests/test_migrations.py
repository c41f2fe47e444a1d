"""Migrations: fresh apply, re-apply as a no-op, concurrent apply, tamper detection, and the
same files on PostgreSQL 15 (Supabase's major version) as on the embedded 18."""

import asyncio
import os
import shutil
import socket
import uuid
from pathlib import Path

import asyncpg
import pytest

from app.embedded_pg import EmbeddedPostgres
from app.migrate import MIGRATIONS_DIR, MigrationError, apply_migrations, discover, pending_migrations
from tests import pg

ALL_VERSIONS = [m.version for m in discover()]
PG15_BIN = Path(os.environ.get("DEX_TEST_PG15_BIN", "/usr/lib/postgresql/15/bin"))


@pytest.fixture
async def fresh_db(admin_dsn):
    name = f"dex_mig_{uuid.uuid4().hex[:8]}"
    dsn = await pg.recreate_database(admin_dsn, name)
    yield dsn
    await pg.drop_database(admin_dsn, name)


async def _schema_objects(dsn):
    conn = await asyncpg.connect(dsn)
    try:
        tables = {r[0] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        ledger = [r[0] for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")]
        return tables, ledger
    finally:
        await conn.close()


EXPECTED_TABLES = {
    "orgs",
    "companies",
    "users",
    "api_tokens",
    "super_admins",
    "steps",
    "blueprints",
    "blueprint_steps",
    "submissions",
    "pipeline_runs",
    "step_results",
    "operation_runs",
    "operation_attempts",
    "company_entities",
    "person_entities",
    "entity_versions",
    "schema_migrations",
}


async def test_a_fresh_database_gets_every_migration_once(fresh_db):
    assert await pending_migrations(fresh_db) == ALL_VERSIONS
    assert await apply_migrations(fresh_db) == ALL_VERSIONS
    tables, ledger = await _schema_objects(fresh_db)
    assert EXPECTED_TABLES <= tables
    assert ledger == ALL_VERSIONS
    assert await apply_migrations(fresh_db) == []
    assert await pending_migrations(fresh_db) == []


async def test_concurrent_applies_apply_each_migration_exactly_once(fresh_db):
    results = await asyncio.gather(*(apply_migrations(fresh_db) for _ in range(4)))
    applied = sorted(v for r in results for v in r)
    assert applied == ALL_VERSIONS
    _, ledger = await _schema_objects(fresh_db)
    assert ledger == ALL_VERSIONS


async def test_a_changed_applied_migration_is_refused(fresh_db, tmp_path):
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy)
    await apply_migrations(fresh_db, copy)
    first = sorted(copy.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after the fact\n")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await apply_migrations(fresh_db, copy)


async def test_a_failing_migration_leaves_nothing_half_applied(fresh_db, tmp_path):
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy)
    (copy / "999_broken.sql").write_text("CREATE TABLE half_done (id int);\nSELECT * FROM no_such_table;\n")
    with pytest.raises(asyncpg.UndefinedTableError):
        await apply_migrations(fresh_db, copy)
    tables, ledger = await _schema_objects(fresh_db)
    assert "half_done" not in tables
    assert ledger == ALL_VERSIONS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(
    not (PG15_BIN / "postgres").exists(), reason="PostgreSQL 15 server binaries not installed (set DEX_TEST_PG15_BIN)"
)
async def test_the_migrations_apply_on_postgresql_15(tmp_path):
    server = EmbeddedPostgres(pgdata=tmp_path / "pg15", port=_free_port(), bin_dir=PG15_BIN)
    server.start()
    try:
        await server.ensure_database()
        conn = await asyncpg.connect(server.url())
        try:
            assert (await conn.fetchval("SHOW server_version")).startswith("15.")
        finally:
            await conn.close()
        assert await apply_migrations(server.url()) == ALL_VERSIONS
        assert await apply_migrations(server.url()) == []
        tables, _ = await _schema_objects(server.url())
        assert EXPECTED_TABLES <= tables
    finally:
        server.stop()
