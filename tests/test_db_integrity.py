"""Tenant integrity enforced by the database itself: cross-org references are rejected even
when inserted directly in SQL."""

import asyncpg
import pytest

from tests.factories import create_blueprint, create_company, create_org


@pytest.fixture
async def two_orgs(conn):
    a, b = await create_org(conn), await create_org(conn)
    return {
        "a": a.id,
        "b": b.id,
        "company_a": (await create_company(conn, a.id)).id,
        "company_b": (await create_company(conn, b.id)).id,
        "blueprint_a": (await create_blueprint(conn, a.id)).id,
        "blueprint_b": (await create_blueprint(conn, b.id)).id,
    }


async def _rejects(conn, sql, *args, error=asyncpg.ForeignKeyViolationError):
    with pytest.raises(error):
        async with conn.transaction():
            await conn.execute(sql, *args)


async def _submission(conn, org, company, blueprint):
    return await conn.fetchval(
        "INSERT INTO submissions (org_id, company_id, blueprint_id) VALUES ($1, $2, $3) RETURNING id",
        org,
        company,
        blueprint,
    )


async def _run(conn, org, company, submission):
    return await conn.fetchval(
        "INSERT INTO pipeline_runs (org_id, company_id, submission_id, entity_index, entity_type, blueprint_snapshot,"
        " blueprint_version, input) VALUES ($1, $2, $3, 0, 'company', '{}', 'v1', '{}') RETURNING id",
        org,
        company,
        submission,
    )


async def test_users_and_tokens_cannot_point_at_another_orgs_company(conn, two_orgs):
    o = two_orgs
    await _rejects(
        conn,
        "INSERT INTO users (org_id, company_id, email, role) VALUES ($1, $2, 'x@e.com', 'member')",
        o["a"],
        o["company_b"],
    )
    await _rejects(
        conn,
        "INSERT INTO api_tokens (org_id, company_id, name, role, token_hash, token_prefix) "
        "VALUES ($1, $2, 't', 'member', 'h', 'p')",
        o["a"],
        o["company_b"],
    )


async def test_role_and_company_must_agree(conn, two_orgs):
    await _rejects(
        conn,
        "INSERT INTO users (org_id, email, role) VALUES ($1, 'm@e.com', 'member')",
        two_orgs["a"],
        error=asyncpg.CheckViolationError,
    )
    await _rejects(
        conn,
        "INSERT INTO users (org_id, company_id, email, role) VALUES ($1, $2, 'o@e.com', 'org_admin')",
        two_orgs["a"],
        two_orgs["company_a"],
        error=asyncpg.CheckViolationError,
    )


async def test_blueprint_steps_stay_in_their_blueprints_org(conn, two_orgs):
    await _rejects(
        conn,
        "INSERT INTO blueprint_steps (org_id, blueprint_id, step_id, operation_id, position) "
        "SELECT $1, $2, id, slug, 9 FROM steps LIMIT 1",
        two_orgs["a"],
        two_orgs["blueprint_b"],
    )


async def test_submissions_runs_and_results_stay_in_one_org_and_company(conn, two_orgs):
    o = two_orgs
    await _rejects(
        conn,
        "INSERT INTO submissions (org_id, company_id, blueprint_id) VALUES ($1, $2, $3)",
        o["a"],
        o["company_b"],
        o["blueprint_a"],
    )
    await _rejects(
        conn,
        "INSERT INTO submissions (org_id, company_id, blueprint_id) VALUES ($1, $2, $3)",
        o["a"],
        o["company_a"],
        o["blueprint_b"],
    )
    sub_b = await _submission(conn, o["b"], o["company_b"], o["blueprint_b"])
    await _rejects(
        conn,
        "INSERT INTO pipeline_runs (org_id, company_id, submission_id, entity_index, entity_type, "
        "blueprint_snapshot, blueprint_version, input) VALUES ($1, $2, $3, 0, 'company', '{}', 'v', '{}')",
        o["a"],
        o["company_a"],
        sub_b,
    )
    # same org, but a run claiming another company than its submission's
    company_a2 = (await create_company(conn, o["a"])).id
    sub_a = await _submission(conn, o["a"], o["company_a"], o["blueprint_a"])
    await _rejects(
        conn,
        "INSERT INTO pipeline_runs (org_id, company_id, submission_id, entity_index, entity_type, "
        "blueprint_snapshot, blueprint_version, input) VALUES ($1, $2, $3, 0, 'company', '{}', 'v', '{}')",
        o["a"],
        company_a2,
        sub_a,
    )
    run_b = await _run(conn, o["b"], o["company_b"], sub_b)
    await _rejects(
        conn,
        "INSERT INTO step_results (org_id, pipeline_run_id, operation_id, position) "
        "SELECT $1, $2, slug, 1 FROM steps LIMIT 1",
        o["a"],
        run_b,
    )


async def test_history_and_entities_stay_in_their_org(conn, two_orgs):
    o = two_orgs
    await _rejects(
        conn,
        "INSERT INTO operation_runs (org_id, company_id, auth_method, operation_id, entity_type, "
        "status, input) VALUES ($1, $2, 'internal', 'company.search', 'company', 'found', '{}')",
        o["a"],
        o["company_b"],
    )
    await _rejects(conn, "INSERT INTO company_entities (org_id, company_id) VALUES ($1, $2)", o["a"], o["company_b"])
    await _rejects(conn, "INSERT INTO person_entities (org_id, company_id) VALUES ($1, $2)", o["a"], o["company_b"])
    run_id = await conn.fetchval(
        "INSERT INTO operation_runs (org_id, auth_method, operation_id, entity_type, status, input) "
        "VALUES ($1, 'internal', 'company.search', 'company', 'found', '{}') RETURNING id",
        o["b"],
    )
    await _rejects(
        conn,
        "INSERT INTO operation_attempts (org_id, run_id, position, provider, action, status) "
        "VALUES ($1, $2, 1, 'prospeo', 'search', 'found')",
        o["a"],
        run_id,
    )


async def test_updated_at_is_maintained_by_the_database(conn):
    org_id = await conn.fetchval(
        "INSERT INTO orgs (name, slug, created_at, updated_at) "
        "VALUES ('old', 'old-org-ts', '2000-01-01', '2000-01-01') RETURNING id"
    )
    updated = await conn.fetchval("UPDATE orgs SET name = 'renamed' WHERE id = $1 RETURNING updated_at", org_id)
    assert updated == await conn.fetchval("SELECT now()")


async def test_every_table_has_row_level_security_enabled(conn):
    rows = await conn.fetch(
        "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT c.relrowsecurity AND relname <> 'schema_migrations'"
    )
    assert [r["relname"] for r in rows] == []
