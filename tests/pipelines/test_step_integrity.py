"""The API, not the worker, decides order, context and completion of a run (issue 9): steps run
only after their predecessors, on the context those stored; finish builds the entity from stored
results only; a step whose request cannot be built fails once, cleanly; persons identified by
`email` alone are stored; a step's operation run records its real duration."""

import uuid

import httpx
import pytest
import respx

from app.services import execute as execute_service
from tests.factories import create_blueprint, create_tenant
from tests.pipelines.test_worker_callbacks import (
    ADYNTEL_GOOGLE,
    GOOGLE_ADS,
    PROSPEO,
    STEPS,
    call,
    drive,
    internal,
    prospeo_company,
    submit,
)
from tests.providers.conftest import base_url

MILLIONVERIFIER = base_url("millionverifier") + "/api/v3/"


@pytest.fixture
async def setup(conn):  # noqa: F811
    tenant = await create_tenant(conn)
    blueprint = await create_blueprint(conn, tenant.org.id, STEPS)
    await conn.execute(
        'UPDATE blueprint_steps SET step_config = \'{"providers": ["prospeo"]}\' '
        "WHERE blueprint_id = $1 AND position = 1",
        blueprint.id,
    )
    return tenant, blueprint


async def post(client, path, body, headers):
    return await client.post(f"/api/internal/{path}", json=body, headers=headers)


class TestOrder:
    @respx.mock
    async def test_a_step_cannot_run_before_an_earlier_one_has_finished(self, pclient, conn, settings, setup):  # noqa: F811
        tenant, blueprint = setup
        respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com"))
        google = respx.post(ADYNTEL_GOOGLE).mock(return_value=GOOGLE_ADS)
        run_id = (await submit(pclient, tenant, blueprint, ["acme.com"]))["pipeline_run_ids"][0]
        headers = internal(settings, tenant)
        await call(pclient, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)

        r = await post(
            pclient,
            "steps/execute",
            {"pipeline_run_id": run_id, "position": 2, "context": {"domain": "x.com"}},
            headers,
        )
        assert r.status_code == 409 and r.json()["error"]["code"] == "out_of_order"
        assert google.call_count == 0
        steps = await conn.fetch(
            "SELECT status FROM step_results WHERE pipeline_run_id = $1 ORDER BY position", uuid.UUID(run_id)
        )
        assert [s["status"] for s in steps] == ["queued", "queued"]

    @respx.mock
    async def test_finish_is_refused_until_every_step_has_finished(self, pclient, conn, settings, setup):  # noqa: F811
        tenant, blueprint = setup
        respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com"))
        run_id = (await submit(pclient, tenant, blueprint, ["acme.com"]))["pipeline_run_ids"][0]
        headers = internal(settings, tenant)
        await call(pclient, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
        await call(pclient, "steps/execute", {"pipeline_run_id": run_id, "position": 1, "context": {}}, headers)

        r = await post(
            pclient,
            "pipeline-runs/finish",
            {"pipeline_run_id": run_id, "final_context": {"domain": "made-up.com", "name": "Made Up"}},
            headers,
        )
        assert r.status_code == 409 and r.json()["error"]["code"] == "out_of_order"
        assert r.json()["error"]["details"] == {"open_positions": [2]}
        assert await conn.fetchval("SELECT count(*) FROM company_entities WHERE org_id = $1", tenant.org.id) == 0
        assert await conn.fetchval("SELECT status FROM pipeline_runs WHERE id = $1", uuid.UUID(run_id)) == "running"

    @respx.mock
    async def test_context_and_final_context_come_from_stored_results_not_the_worker(
        self, pclient, conn, settings, setup
    ):  # noqa: F811
        tenant, blueprint = setup
        prospeo = respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com"))
        google = respx.post(ADYNTEL_GOOGLE).mock(return_value=GOOGLE_ADS)
        run_id = (await submit(pclient, tenant, blueprint, ["acme.com"]))["pipeline_run_ids"][0]
        headers = internal(settings, tenant)
        await call(pclient, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
        made_up = {"domain": "made-up.com", "name": "Made Up"}
        first = await call(
            pclient, "steps/execute", {"pipeline_run_id": run_id, "position": 1, "context": made_up}, headers
        )
        assert first["context_after"]["domain"] == "acme.com"
        assert b"acme.com" in prospeo.calls.last.request.content
        second = await call(
            pclient, "steps/execute", {"pipeline_run_id": run_id, "position": 2, "context": made_up}, headers
        )
        assert second["context_after"]["name"] == "Acme Inc"
        assert b"acme.com" in google.calls.last.request.content or "acme.com" in str(google.calls.last.request.url)
        done = await call(
            pclient, "pipeline-runs/finish", {"pipeline_run_id": run_id, "final_context": made_up}, headers
        )
        assert done["status"] == "succeeded"
        entity = await conn.fetchrow(
            "SELECT domain, name FROM company_entities WHERE id = $1", uuid.UUID(done["entity_id"])
        )
        assert (entity["domain"], entity["name"]) == ("acme.com", "Acme Inc")
        final = await conn.fetchval("SELECT final_context FROM pipeline_runs WHERE id = $1", uuid.UUID(run_id))
        assert final == second["context_after"]

    @respx.mock
    async def test_repeats_after_the_run_ended_are_answered_not_refused(self, pclient, conn, settings, setup):  # noqa: F811
        tenant, blueprint = setup
        respx.post(PROSPEO).mock(return_value=httpx.Response(500))
        run_id = (await submit(pclient, tenant, blueprint, ["acme.com"]))["pipeline_run_ids"][0]
        headers = internal(settings, tenant)
        assert (await drive(pclient, headers, run_id))["status"] == "failed"
        # position 2 was skipped by the failure: a late delivery of it, or of finish, is no error
        late = await call(pclient, "steps/execute", {"pipeline_run_id": run_id, "position": 2, "context": {}}, headers)
        assert late["status"] == "skipped" and late["run_status"] == "failed"
        finish = await call(pclient, "pipeline-runs/finish", {"pipeline_run_id": run_id}, headers)
        assert finish["status"] == "failed"


class TestUnbuildableStep:
    @respx.mock
    async def test_a_stored_bad_step_config_fails_the_step_once_with_a_reason(self, pclient, conn, settings, setup):  # noqa: F811
        tenant, blueprint = setup
        prospeo = respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com"))
        batch = await submit(pclient, tenant, blueprint, ["acme.com"])
        run_id = batch["pipeline_run_ids"][0]
        # what an old blueprint snapshot can hold: a step_config stored before it was validated
        await conn.execute(
            'UPDATE step_results SET step_config = \'{"providers": "prospeo"}\' '
            "WHERE pipeline_run_id = $1 AND position = 1",
            uuid.UUID(run_id),
        )
        headers = internal(settings, tenant)
        await call(pclient, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
        r = await post(pclient, "steps/execute", {"pipeline_run_id": run_id, "position": 1, "context": {}}, headers)
        assert r.status_code == 200, r.text
        result = r.json()["data"]
        assert result["status"] == "failed" and result["run_status"] == "failed"
        assert result["error_message"].startswith("invalid_step_config: step_config.providers")
        assert prospeo.call_count == 0
        run = await conn.fetchrow("SELECT status, error_message FROM pipeline_runs WHERE id = $1", uuid.UUID(run_id))
        assert run["status"] == "failed" and "invalid_step_config" in run["error_message"]
        again = await call(pclient, "steps/execute", {"pipeline_run_id": run_id, "position": 1, "context": {}}, headers)
        assert again == result

    @respx.mock
    async def test_a_stored_unknown_step_config_key_fails_the_step(self, pclient, conn, settings, setup):  # noqa: F811
        tenant, blueprint = setup
        respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com"))
        run_id = (await submit(pclient, tenant, blueprint, ["acme.com"]))["pipeline_run_ids"][0]
        await conn.execute(
            'UPDATE step_results SET step_config = \'{"provider": ["prospeo"]}\' '
            "WHERE pipeline_run_id = $1 AND position = 1",
            uuid.UUID(run_id),
        )
        headers = internal(settings, tenant)
        result = await drive(pclient, headers, run_id)
        assert result["status"] == "failed"
        assert result["error_message"].startswith("invalid_step_config: step_config.provider")


class TestPersonsByEmail:
    @respx.mock
    async def test_persons_identified_only_by_email_end_in_entities(self, pclient, conn, settings):  # noqa: F811
        tenant = await create_tenant(conn)
        blueprint = await create_blueprint(conn, tenant.org.id, ("person.contact.verify_email",))
        respx.get(MILLIONVERIFIER).mock(
            return_value=httpx.Response(
                200, json={"email": "x", "result": "ok", "resultcode": 1, "subresult": "", "error": "", "credits": 1}
            )
        )
        r = await pclient.post(
            "/api/v1/batch/submit",
            json={
                "blueprint_id": str(blueprint.id),
                "company_id": str(tenant.company_a.id),
                "entities": [
                    {"entity_type": "person", "input": {"email": "Jane.Doe@Acme.com"}},
                    {"entity_type": "person", "input": {"email": "jane.doe@acme.com"}},
                ],
            },
            headers=tenant.headers(tenant_role()),
        )
        assert r.status_code == 200, r.text
        headers = internal(settings, tenant)
        results = [await drive(pclient, headers, run_id) for run_id in r.json()["data"]["pipeline_run_ids"]]
        assert [x["status"] for x in results] == ["succeeded", "succeeded"]
        assert results[0]["entity_id"] == results[1]["entity_id"] and results[1]["record_version"] == 2
        row = await conn.fetchrow(
            "SELECT work_email::text, data FROM person_entities WHERE id = $1", uuid.UUID(results[0]["entity_id"])
        )
        assert row["work_email"] == "jane.doe@acme.com" and row["data"]["email"] == "jane.doe@acme.com"


def tenant_role():
    from app.auth.context import Role

    return Role.org_admin


class TestStepDuration:
    @respx.mock
    async def test_a_steps_operation_run_records_its_duration(self, pclient, conn, settings, setup, monkeypatch):  # noqa: F811
        tenant, blueprint = setup
        respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com"))
        run_id = (await submit(pclient, tenant, blueprint, ["acme.com"]))["pipeline_run_ids"][0]
        ticks = iter([100.0, 100.25])
        monkeypatch.setattr(execute_service, "clock", lambda: next(ticks))
        headers = internal(settings, tenant)
        await call(pclient, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
        result = await call(pclient, "steps/execute", {"pipeline_run_id": run_id, "position": 1}, headers)
        duration = await conn.fetchval(
            "SELECT duration_ms FROM operation_runs WHERE id = $1", uuid.UUID(result["operation_run_id"])
        )
        assert duration == 250
