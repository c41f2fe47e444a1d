"""What the API owns of a pipeline run, through the real internal endpoints (the worker's TS tests
only check that runPipeline uses the answers): the context merge of steps/execute (non-null output
over the context; nulls never erase), which steps end `skipped`, and that racing deliveries of one
run leave exactly one entity version (on a committed database, so the race is real)."""

import asyncio
import uuid

import asyncpg
import httpx
import pytest
import respx

from app.auth.context import Role
from app.main import create_app
from tests import pg
from tests.conftest import make_settings, provider_settings
from tests.factories import create_blueprint, create_tenant
from tests.pipelines.test_worker_callbacks import (
    ADYNTEL_GOOGLE,
    GOOGLE_ADS,
    PROSPEO,
    call,
    internal,
    prospeo_company,
    submit,
)
from tests.providers.conftest import base_url

ADYNTEL_LINKEDIN = base_url("adyntel") + "/linkedin"
THREE_STEPS = ("company.enrich.profile", "company.ads.search.google", "company.ads.search.linkedin")


@pytest.fixture
async def three_steps(conn):
    tenant = await create_tenant(conn)
    blueprint = await create_blueprint(conn, tenant.org.id, THREE_STEPS)
    await conn.execute(
        'UPDATE blueprint_steps SET step_config = \'{"providers": ["prospeo"]}\' '
        "WHERE blueprint_id = $1 AND position = 1",
        blueprint.id,
    )
    return tenant, blueprint


async def _statuses(conn, run_id) -> list[str]:
    rows = await conn.fetch(
        "SELECT status FROM step_results WHERE pipeline_run_id = $1 ORDER BY position", uuid.UUID(run_id)
    )
    return [r["status"] for r in rows]


async def _execute(client, headers, run_id, position, context):
    body = {"pipeline_run_id": run_id, "position": position, "context": context}
    return await call(client, "steps/execute", body, headers)


class TestContextMerge:
    @respx.mock
    async def test_a_null_output_field_never_erases_what_the_context_holds(self, pclient, conn, settings, three_steps):
        tenant, blueprint = three_steps
        respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com", name="Acme Inc", industry=None))
        run_id = (await submit(pclient, tenant, blueprint, ["acme.com"]))["pipeline_run_ids"][0]
        headers = internal(settings, tenant)
        await call(pclient, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
        # the context carries an industry (from the input or an earlier step) and an older name; the
        # API builds a step's context from what the run stored, so the run's input is set to it
        context = {"domain": "acme.com", "industry": "Known industry", "name": "Old name", "kept": 7}
        await conn.execute("UPDATE pipeline_runs SET input = $2 WHERE id = $1", uuid.UUID(run_id), context)

        step = await _execute(pclient, headers, run_id, 1, context)

        assert step["status"] == "succeeded"
        assert step["output"]["industry"] is None and step["output"]["logo_url"] is None
        after = step["context_after"]
        assert after["industry"] == "Known industry"  # null in the output: the context value stays
        assert after["name"] == "Acme Inc"  # a non-null output value replaces the context's
        assert after["kept"] == 7 and after["domain"] == "acme.com"  # fields the output lacks stay
        assert after["employee_count"] == 120 and after["founded_year"] == 2011  # new non-null fields arrive
        assert "logo_url" not in after  # a null the context never had is not added as a key
        stored = await conn.fetchval(
            "SELECT context_after FROM step_results WHERE pipeline_run_id = $1 AND position = 1", uuid.UUID(run_id)
        )
        assert stored == after

    @respx.mock
    async def test_a_not_found_step_passes_the_context_on_unchanged(self, pclient, conn, settings, three_steps):
        tenant, blueprint = three_steps
        respx.post(PROSPEO).mock(
            return_value=httpx.Response(200, json={"error": True, "error_code": "NO_MATCH", "free_enrichment": True})
        )
        run_id = (await submit(pclient, tenant, blueprint, ["nobody.example"]))["pipeline_run_ids"][0]
        headers = internal(settings, tenant)
        await call(pclient, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
        context = {"domain": "nobody.example", "industry": "Known"}
        await conn.execute("UPDATE pipeline_runs SET input = $2 WHERE id = $1", uuid.UUID(run_id), context)

        step = await _execute(pclient, headers, run_id, 1, context)

        assert step["status"] == "succeeded" and step["context_after"] == context


class TestSkippedSteps:
    @respx.mock
    async def test_a_failing_middle_step_skips_every_later_step_and_runs_none(
        self, pclient, conn, settings, three_steps
    ):
        tenant, blueprint = three_steps
        respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com"))
        respx.post(ADYNTEL_GOOGLE).mock(return_value=httpx.Response(500))
        linkedin = respx.post(ADYNTEL_LINKEDIN).mock(return_value=GOOGLE_ADS)
        run_id = (await submit(pclient, tenant, blueprint, ["acme.com"]))["pipeline_run_ids"][0]
        headers = internal(settings, tenant)
        run = await call(pclient, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
        first = await _execute(pclient, headers, run_id, 1, run["input"])

        second = await _execute(pclient, headers, run_id, 2, first["context_after"])

        assert second["status"] == "failed" and second["run_status"] == "failed"
        assert await _statuses(conn, run_id) == ["succeeded", "failed", "skipped"]
        # the worker delivering the skipped step anyway changes nothing and calls no provider
        third = await _execute(pclient, headers, run_id, 3, first["context_after"])
        assert third["status"] == "skipped" and third["run_status"] == "failed"
        assert linkedin.call_count == 0
        assert await _statuses(conn, run_id) == ["succeeded", "failed", "skipped"]

    @respx.mock
    async def test_a_cancel_skips_every_step_not_yet_started(self, pclient, conn, settings, three_steps):
        tenant, blueprint = three_steps
        respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com"))
        batch = await submit(pclient, tenant, blueprint, ["acme.com"])
        run_id = batch["pipeline_run_ids"][0]
        headers = internal(settings, tenant)
        run = await call(pclient, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
        await _execute(pclient, headers, run_id, 1, run["input"])

        r = await pclient.post(
            "/api/v1/batch/cancel",
            json={"submission_id": batch["submission_id"]},
            headers=tenant.headers(Role.org_admin),
        )

        assert r.status_code == 200, r.text
        assert await _statuses(conn, run_id) == ["succeeded", "skipped", "skipped"]
        assert await conn.fetchval("SELECT status FROM pipeline_runs WHERE id = $1", uuid.UUID(run_id)) == "canceled"


# --- racing deliveries, on a database of its own where every request commits -----------------


@pytest.fixture(scope="module")
async def committed(admin_dsn, worker_id_str):
    name = f"dex_race_{worker_id_str}_{uuid.uuid4().hex[:8]}"
    dsn = await pg.recreate_database(admin_dsn, name, template=pg.TEMPLATE_DB)
    application = create_app(make_settings(dsn, **provider_settings()))
    try:
        async with application.router.lifespan_context(application):
            yield application, dsn
    finally:
        await pg.drop_database(admin_dsn, name)


class TestRacingDeliveries:
    @respx.mock
    async def test_two_deliveries_finishing_one_run_at_once_leave_one_entity_version(self, committed):
        application, dsn = committed
        async with application.state.pool.acquire() as connection, connection.transaction():
            tenant = await create_tenant(connection)
            blueprint = await create_blueprint(connection, tenant.org.id, ("company.enrich.profile",))
        domains = [f"race-{i}.example" for i in range(4)]
        # the steps run one after another, in this order: a company of its own per run
        respx.post(PROSPEO).mock(side_effect=[prospeo_company(d) for d in domains])
        settings = application.state.settings
        headers = internal(settings, tenant)
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            runs = (await submit(client, tenant, blueprint, domains))["pipeline_run_ids"]
            contexts = {}
            for run_id in runs:
                run = await call(client, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
                contexts[run_id] = (await _execute(client, headers, run_id, 1, run["input"]))["context_after"]

            async def finish(run_id):
                body = {"pipeline_run_id": run_id, "final_context": contexts[run_id]}
                return await call(client, "pipeline-runs/finish", body, headers)

            # both deliveries of every run at once, on separate pooled connections
            answers = await asyncio.gather(*(finish(r) for r in runs for _ in range(2)))

        connection = await asyncpg.connect(dsn)
        try:
            for i, run_id in enumerate(runs):
                a, b = answers[2 * i], answers[2 * i + 1]
                assert a == b and a["status"] == "succeeded" and a["record_version"] == 1, (a, b)
                versions = await connection.fetchval(
                    "SELECT count(*) FROM entity_versions WHERE pipeline_run_id = $1", uuid.UUID(run_id)
                )
                assert versions == 1, run_id
        finally:
            await connection.close()


class TestInternalCompanyScope:
    @respx.mock
    async def test_a_worker_acting_for_another_company_of_the_org_finds_no_run(
        self, pclient, conn, settings, three_steps
    ):
        tenant, blueprint = three_steps
        prospeo = respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com"))
        run_id = (await submit(pclient, tenant, blueprint, ["acme.com"]))["pipeline_run_ids"][0]
        own = internal(settings, tenant)
        other_company = {**own, "x-internal-company-id": str(tenant.company_b.id)}
        before = await _statuses(conn, run_id)
        for path, body in [
            ("pipeline-runs/start", {"pipeline_run_id": run_id}),
            ("steps/execute", {"pipeline_run_id": run_id, "position": 1, "context": {"domain": "acme.com"}}),
            ("pipeline-runs/finish", {"pipeline_run_id": run_id, "final_context": {"domain": "acme.com"}}),
            ("pipeline-runs/fail", {"pipeline_run_id": run_id, "error": "not yours"}),
        ]:
            r = await pclient.post(f"/api/internal/{path}", json=body, headers=other_company)
            assert r.status_code == 404, (path, r.text)
        assert await conn.fetchval("SELECT status FROM pipeline_runs WHERE id = $1", uuid.UUID(run_id)) == "queued"
        assert await _statuses(conn, run_id) == before and prospeo.call_count == 0
        # the run's own company still can
        run = await call(pclient, "pipeline-runs/start", {"pipeline_run_id": run_id}, own)
        assert run["status"] == "running"
        r = await pclient.post(
            "/api/internal/steps/execute",
            json={"pipeline_run_id": run_id, "position": 1, "context": run["input"]},
            headers=other_company,
        )
        assert r.status_code == 404, r.text
        r = await pclient.post(
            "/api/internal/pipeline-runs/fail",
            json={"pipeline_run_id": run_id, "error": "not yours"},
            headers=other_company,
        )
        assert r.status_code == 404, r.text
        assert await conn.fetchval("SELECT status FROM pipeline_runs WHERE id = $1", uuid.UUID(run_id)) == "running"


class TestCompanyIdentity:
    """Which company record a finished run lands in (CONTRACT §7): an existing record of the same
    client company found by domain (else the website's domain) or LinkedIn URL, updated with the
    new non-null values; otherwise a new one, as long as there is any identity at all."""

    async def _finish(self, client, conn, settings, tenant, blueprint, final_context):
        run_id = (await submit(client, tenant, blueprint, ["input.example"]))["pipeline_run_ids"][0]
        headers = internal(settings, tenant)
        await call(client, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
        # the API derives the final context from what the run stored (never from the worker's
        # body): the run's input carries it and its steps are done without adding to it
        await conn.execute("UPDATE pipeline_runs SET input = $2 WHERE id = $1", uuid.UUID(run_id), final_context)
        await conn.execute("UPDATE step_results SET status = 'skipped' WHERE pipeline_run_id = $1", uuid.UUID(run_id))
        done = await call(
            client, "pipeline-runs/finish", {"pipeline_run_id": run_id, "final_context": final_context}, headers
        )
        return run_id, done

    async def _row(self, conn, entity_id):
        return await conn.fetchrow(
            "SELECT name, domain::text AS domain, linkedin_url, record_version, last_pipeline_run_id "
            "FROM company_entities WHERE id = $1",
            uuid.UUID(entity_id),
        )

    async def test_a_record_is_found_again_by_linkedin_url_and_gains_the_new_values(
        self, pclient, conn, settings, three_steps
    ):
        tenant, blueprint = three_steps
        first_run, first = await self._finish(
            pclient, conn, settings, tenant, blueprint, {"domain": "acme.com", "website": "https://other.example"}
        )
        row = await self._row(conn, first["entity_id"])
        assert row["domain"] == "acme.com" and row["linkedin_url"] is None  # domain before website
        assert row["last_pipeline_run_id"] == uuid.UUID(first_run) and row["record_version"] == 1

        # found by the website's domain; the LinkedIn URL and a new name are added
        second_run, second = await self._finish(
            pclient,
            conn,
            settings,
            tenant,
            blueprint,
            {
                "website": "https://www.ACME.com/about",
                "linkedin_url": "https://linkedin.com/company/acme/",
                "name": "New",
            },
        )
        assert second["entity_id"] == first["entity_id"] and second["record_version"] == 2
        row = await self._row(conn, first["entity_id"])
        assert row["linkedin_url"] == "https://www.linkedin.com/company/acme" and row["name"] == "New"
        assert row["domain"] == "acme.com" and row["last_pipeline_run_id"] == uuid.UUID(second_run)

        # found by the LinkedIn URL alone; a new domain replaces the old one
        _, third = await self._finish(
            pclient,
            conn,
            settings,
            tenant,
            blueprint,
            {"linkedin_url": "https://www.linkedin.com/company/ACME", "domain": "acme.io"},
        )
        assert third["entity_id"] == first["entity_id"] and third["record_version"] == 3
        row = await self._row(conn, first["entity_id"])
        assert row["domain"] == "acme.io" and row["name"] == "New"

    async def test_a_new_record_needs_some_identity_and_a_name_is_enough(self, pclient, conn, settings, three_steps):
        tenant, blueprint = three_steps
        _, named = await self._finish(pclient, conn, settings, tenant, blueprint, {"name": "Only A Name"})
        assert named["status"] == "succeeded"
        row = await self._row(conn, named["entity_id"])
        assert row["name"] == "Only A Name" and row["domain"] is None
        _, linked = await self._finish(
            pclient, conn, settings, tenant, blueprint, {"linkedin_url": "linkedin.com/company/solo", "industry": "x"}
        )
        row = await self._row(conn, linked["entity_id"])
        assert row["linkedin_url"] == "https://www.linkedin.com/company/solo" and row["name"] is None
        run_id, nothing = await self._finish(pclient, conn, settings, tenant, blueprint, {"industry": "Software"})
        assert nothing["status"] == "failed" and nothing["entity_id"] is None
        error = await conn.fetchval("SELECT error_message FROM pipeline_runs WHERE id = $1", uuid.UUID(run_id))
        assert error.startswith("entity upsert failed: the run produced no identity")
