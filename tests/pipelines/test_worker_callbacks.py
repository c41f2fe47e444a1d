"""The worker's internal endpoints through the real app, with provider HTTP mocked: state
transitions, fail-fast, idempotent repeats, cancel, retry, entity state and crash recovery."""

import uuid

import httpx
import pytest
import respx

from app.auth.context import Role
from tests.factories import bearer, create_blueprint, create_tenant
from tests.providers.conftest import base_url

PROSPEO = base_url("prospeo") + "/enrich-company"
ADYNTEL_GOOGLE = base_url("adyntel") + "/google"
STEPS = ("company.enrich.profile", "company.ads.search.google")


def prospeo_company(domain: str, name: str | None = "Acme Inc", industry: str | None = "Software"):
    return httpx.Response(
        200,
        json={
            "error": False,
            "free_enrichment": False,
            "company": {
                "company_id": "c1",
                "name": name,
                "website": f"https://{domain}",
                "domain": domain,
                "linkedin_url": f"https://www.linkedin.com/company/{domain.split('.')[0]}",
                "industry": industry,
                "employee_count": 120,
                "employee_range": "51-200",
                "location": {"country": "United States", "country_code": "US", "city": "Austin"},
                "founded": 2011,
                "description": "Makes things",
                "logo_url": None,
            },
        },
    )


GOOGLE_ADS = httpx.Response(
    200,
    json={
        "ads": [
            {
                "advertiser_id": "a1",
                "advertiser_name": "Acme",
                "creative_id": "c1",
                "format": "Text",
                "last_seen": "2026-11-01",
                "start": "2026-10-01",
                "original_url": "https://ads.example/c1",
                "variants": [],
            }
        ],
        "continuation_token": None,
        "country_code": "anywhere",
    },
)


@pytest.fixture
async def setup(conn, pclient):  # noqa: F811
    tenant = await create_tenant(conn)
    blueprint = await create_blueprint(conn, tenant.org.id, STEPS)
    await conn.execute(
        'UPDATE blueprint_steps SET step_config = \'{"providers": ["prospeo"]}\' '
        "WHERE blueprint_id = $1 AND position = 1",
        blueprint.id,
    )
    return tenant, blueprint


async def submit(client, tenant, blueprint, domains):
    r = await client.post(
        "/api/v1/batch/submit",
        json={
            "blueprint_id": str(blueprint.id),
            "company_id": str(tenant.company_a.id),
            "entities": [{"entity_type": "company", "input": {"domain": d}} for d in domains],
        },
        headers=tenant.headers(Role.org_admin),
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]


def internal(settings, tenant):
    return {
        **bearer(settings.secret("internal_api_key")),
        "x-internal-org-id": str(tenant.org.id),
        "x-internal-company-id": str(tenant.company_a.id),
    }


async def call(client, path, body, headers):
    r = await client.post(f"/api/internal/{path}", json=body, headers=headers)
    assert r.status_code == 200, (path, r.text)
    return r.json()["data"]


async def drive(client, headers, run_id):
    """What runPipeline does, step by step."""
    run = await call(client, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
    context = run["input"]
    for step in run["steps"]:
        result = await call(
            client,
            "steps/execute",
            {"pipeline_run_id": run_id, "position": step["position"], "context": context},
            headers,
        )
        if result.get("finished"):
            # the last step finished the run in its own transaction, as runPipeline takes it
            return result["finished"]
        if result["status"] == "failed" or result["run_status"] != "running":
            return result
        context = result["context_after"]
    return await call(client, "pipeline-runs/finish", {"pipeline_run_id": run_id, "final_context": context}, headers)


class TestHappyPath:
    @respx.mock
    async def test_a_run_goes_through_its_steps_and_ends_in_an_entity(self, pclient, conn, settings, setup):  # noqa: F811
        tenant, blueprint = setup
        respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com"))
        respx.post(ADYNTEL_GOOGLE).mock(return_value=GOOGLE_ADS)
        batch = await submit(pclient, tenant, blueprint, ["acme.com"])
        run_id = batch["pipeline_run_ids"][0]
        headers = internal(settings, tenant)

        run = await call(pclient, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
        assert run["status"] == "running" and run["input"] == {"domain": "acme.com"}
        assert [(s["position"], s["status"]) for s in run["steps"]] == [(1, "queued"), (2, "queued")]
        assert run["steps"][0]["step_config"] == {"providers": ["prospeo"]}
        sub = await conn.fetchval("SELECT status FROM submissions WHERE id = $1", uuid.UUID(batch["submission_id"]))
        assert sub == "running"

        first = await call(
            pclient, "steps/execute", {"pipeline_run_id": run_id, "position": 1, "context": run["input"]}, headers
        )
        assert first["status"] == "succeeded" and first["run_status"] == "running"
        assert first["output"]["name"] == "Acme Inc" and first["output"]["industry"] == "Software"
        assert first["context_after"]["domain"] == "acme.com" and first["context_after"]["employee_count"] == 120
        second = await call(
            pclient,
            "steps/execute",
            {"pipeline_run_id": run_id, "position": 2, "context": first["context_after"]},
            headers,
        )
        assert second["status"] == "succeeded"
        assert second["context_after"]["google_ads"]["ads"][0]["ad_id"] == "c1"
        done = await call(
            pclient,
            "pipeline-runs/finish",
            {"pipeline_run_id": run_id, "final_context": second["context_after"]},
            headers,
        )
        assert done["status"] == "succeeded" and done["record_version"] == 1

        steps = await conn.fetch(
            "SELECT position, status, operation_run_id, context_after FROM step_results "
            "WHERE pipeline_run_id = $1 ORDER BY position",
            uuid.UUID(run_id),
        )
        assert [s["status"] for s in steps] == ["succeeded", "succeeded"]
        linked = await conn.fetch(
            "SELECT pipeline_run_id, step_position FROM operation_runs WHERE id = ANY($1)",
            [s["operation_run_id"] for s in steps],
        )
        assert {(r["pipeline_run_id"], r["step_position"]) for r in linked} == {
            (uuid.UUID(run_id), 1),
            (uuid.UUID(run_id), 2),
        }
        entity = await conn.fetchrow("SELECT * FROM company_entities WHERE id = $1", uuid.UUID(done["entity_id"]))
        assert entity["domain"] == "acme.com" and entity["name"] == "Acme Inc"
        assert entity["company_id"] == tenant.company_a.id and entity["record_version"] == 1
        status = await conn.fetchrow("SELECT status, final_context FROM pipeline_runs WHERE id = $1", uuid.UUID(run_id))
        assert status["status"] == "succeeded" and status["final_context"]["industry"] == "Software"
        sub = await conn.fetchval("SELECT status FROM submissions WHERE id = $1", uuid.UUID(batch["submission_id"]))
        assert sub == "completed"

    @respx.mock
    async def test_the_last_step_finishes_the_run_in_its_own_transaction(self, pclient, conn, settings, setup):  # noqa: F811
        """Issue 15: the worker's finish call after the last step is folded into that step's execute."""
        tenant, blueprint = setup
        respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com"))
        respx.post(ADYNTEL_GOOGLE).mock(return_value=GOOGLE_ADS)
        batch = await submit(pclient, tenant, blueprint, ["acme.com"])
        run_id = batch["pipeline_run_ids"][0]
        headers = internal(settings, tenant)
        await conn.execute(
            "INSERT INTO webhooks (org_id, url, events, secret) "
            "VALUES ($1, 'https://h.example/x', '{run.succeeded,submission.completed}', 'x')",
            tenant.org.id,
        )
        await call(pclient, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
        first = await call(pclient, "steps/execute", {"pipeline_run_id": run_id, "position": 1}, headers)
        assert first["run_status"] == "running" and first["finished"] is None
        last = await call(pclient, "steps/execute", {"pipeline_run_id": run_id, "position": 2}, headers)
        assert last["status"] == "succeeded" and last["run_status"] == "succeeded"
        finished = last["finished"]
        assert finished["status"] == "succeeded" and finished["record_version"] == 1
        entity = await conn.fetchrow(
            "SELECT domain, name FROM company_entities WHERE id = $1", uuid.UUID(finished["entity_id"])
        )
        assert dict(entity) == {"domain": "acme.com", "name": "Acme Inc"}
        run = await conn.fetchrow("SELECT status, final_context FROM pipeline_runs WHERE id = $1", uuid.UUID(run_id))
        assert run["status"] == "succeeded" and run["final_context"] == last["context_after"]
        sub_id = uuid.UUID(batch["submission_id"])
        assert await conn.fetchval("SELECT status FROM submissions WHERE id = $1", sub_id) == "completed"
        events_sql = "SELECT event_type FROM webhook_deliveries WHERE org_id = $1 ORDER BY event_type"
        events = [r[0] for r in await conn.fetch(events_sql, tenant.org.id)]
        assert events == ["run.succeeded", "submission.completed"]  # queued in the step's transaction
        # a finish from a worker that does not know yet answers the same, and changes nothing
        snapshot = await _state(conn, run_id)
        again = await call(pclient, "pipeline-runs/finish", {"pipeline_run_id": run_id}, headers)
        assert again == finished
        assert await _state(conn, run_id) == snapshot
        assert [r[0] for r in await conn.fetch(events_sql, tenant.org.id)] == events

    @respx.mock
    async def test_every_callback_repeated_changes_nothing(self, pclient, conn, settings, setup):  # noqa: F811
        tenant, blueprint = setup
        prospeo = respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com"))
        respx.post(ADYNTEL_GOOGLE).mock(return_value=GOOGLE_ADS)
        run_id = (await submit(pclient, tenant, blueprint, ["acme.com"]))["pipeline_run_ids"][0]
        headers = internal(settings, tenant)
        done = await drive(pclient, headers, run_id)
        snapshot = await _state(conn, run_id)
        # every callback delivered again, late and out of order
        again = await call(
            pclient,
            "steps/execute",
            {"pipeline_run_id": run_id, "position": 1, "context": {"domain": "other.com"}},
            headers,
        )
        assert again["status"] == "succeeded" and again["context_after"]["domain"] == "acme.com"
        assert (
            await call(
                pclient,
                "pipeline-runs/finish",
                {"pipeline_run_id": run_id, "final_context": {"domain": "acme.com", "name": "X"}},
                headers,
            )
            == done
        )
        await call(pclient, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
        await call(pclient, "pipeline-runs/fail", {"pipeline_run_id": run_id, "error": "late"}, headers)
        assert await _state(conn, run_id) == snapshot
        assert prospeo.call_count == 1


async def _state(conn, run_id):
    rid = uuid.UUID(run_id)
    return {
        "run": dict(
            await conn.fetchrow(
                "SELECT status, error_message, final_context, attempt FROM pipeline_runs WHERE id = $1", rid
            )
        ),
        "steps": [
            dict(r)
            for r in await conn.fetch(
                "SELECT position, status, output, context_after FROM step_results"
                " WHERE pipeline_run_id = $1 ORDER BY position",
                rid,
            )
        ],
        "op_runs": await conn.fetchval("SELECT count(*) FROM operation_runs WHERE pipeline_run_id = $1", rid),
        "versions": await conn.fetchval("SELECT count(*) FROM entity_versions WHERE pipeline_run_id = $1", rid),
        "entities": [dict(r) for r in await conn.fetch("SELECT id, record_version, data FROM company_entities")],
    }


class TestFailures:
    @respx.mock
    async def test_a_failing_step_fails_only_its_run_and_skips_the_rest(self, pclient, conn, settings, setup):  # noqa: F811
        tenant, blueprint = setup
        respx.post(PROSPEO).mock(
            side_effect=lambda request: (
                httpx.Response(500) if b"broken.com" in request.content else prospeo_company("fine.com")
            )
        )
        google = respx.post(ADYNTEL_GOOGLE).mock(return_value=GOOGLE_ADS)
        batch = await submit(pclient, tenant, blueprint, ["broken.com", "fine.com"])
        headers = internal(settings, tenant)
        broken, fine = batch["pipeline_run_ids"]
        result = await drive(pclient, headers, broken)
        assert result["status"] == "failed" and result["run_status"] == "failed"
        assert result["error_message"] == "no provider could answer: server_error"
        run_error = await conn.fetchval("SELECT error_message FROM pipeline_runs WHERE id = $1", uuid.UUID(broken))
        assert run_error == "step 1 (company.enrich.profile): no provider could answer: server_error"
        assert google.call_count == 0
        steps = await conn.fetch(
            "SELECT status FROM step_results WHERE pipeline_run_id = $1 ORDER BY position", uuid.UUID(broken)
        )
        assert [s["status"] for s in steps] == ["failed", "skipped"]
        sub_id = uuid.UUID(batch["submission_id"])
        assert await conn.fetchval("SELECT status FROM submissions WHERE id = $1", sub_id) == "running"
        assert (await drive(pclient, headers, fine))["status"] == "succeeded"
        assert await conn.fetchval("SELECT status FROM submissions WHERE id = $1", sub_id) == "completed"
        status = (
            await pclient.post(
                "/api/v1/batch/status",
                json={"submission_id": batch["submission_id"]},
                headers=tenant.headers(Role.member),
            )
        ).json()["data"]
        assert status["summary"] == {
            "total": 2,
            "queued": 0,
            "running": 0,
            "succeeded": 1,
            "failed": 1,
            "canceled": 0,
            "children": 0,
        }
        assert status["runs"]["items"][0]["error_message"].startswith("step 1")

    @respx.mock
    async def test_all_runs_failing_fails_the_submission(self, pclient, conn, settings, setup):  # noqa: F811
        tenant, blueprint = setup
        respx.post(PROSPEO).mock(return_value=httpx.Response(500))
        batch = await submit(pclient, tenant, blueprint, ["a.com", "b.com"])
        for run_id in batch["pipeline_run_ids"]:
            await drive(pclient, internal(settings, tenant), run_id)
        assert (
            await conn.fetchval("SELECT status FROM submissions WHERE id = $1", uuid.UUID(batch["submission_id"]))
            == "failed"
        )

    @respx.mock
    async def test_cancel_is_observed_between_steps(self, pclient, conn, settings, setup):  # noqa: F811
        tenant, blueprint = setup
        respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com"))
        google = respx.post(ADYNTEL_GOOGLE).mock(return_value=GOOGLE_ADS)
        batch = await submit(pclient, tenant, blueprint, ["acme.com"])
        run_id = batch["pipeline_run_ids"][0]
        headers = internal(settings, tenant)
        run = await call(pclient, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
        first = await call(
            pclient, "steps/execute", {"pipeline_run_id": run_id, "position": 1, "context": run["input"]}, headers
        )
        r = await pclient.post(
            "/api/v1/batch/cancel",
            json={"submission_id": batch["submission_id"]},
            headers=tenant.headers(Role.org_admin),
        )
        assert r.status_code == 200
        second = await call(
            pclient,
            "steps/execute",
            {"pipeline_run_id": run_id, "position": 2, "context": first["context_after"]},
            headers,
        )
        assert second["run_status"] == "canceled" and second["status"] == "skipped"
        assert google.call_count == 0
        finish = await call(
            pclient,
            "pipeline-runs/finish",
            {"pipeline_run_id": run_id, "final_context": first["context_after"]},
            headers,
        )
        assert finish["status"] == "canceled"
        assert await conn.fetchval("SELECT count(*) FROM company_entities WHERE org_id = $1", tenant.org.id) == 0

    @respx.mock
    async def test_retry_resumes_from_the_failed_step(self, pclient, conn, settings, setup):  # noqa: F811
        tenant, blueprint = setup
        prospeo = respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com"))
        google = respx.post(ADYNTEL_GOOGLE).mock(side_effect=[httpx.Response(500), GOOGLE_ADS])
        batch = await submit(pclient, tenant, blueprint, ["acme.com"])
        run_id = batch["pipeline_run_ids"][0]
        headers = internal(settings, tenant)
        assert (await drive(pclient, headers, run_id))["status"] == "failed"
        r = await pclient.post(
            "/api/pipeline-runs/retry", json={"pipeline_run_id": run_id}, headers=tenant.headers(Role.company_admin)
        )
        assert r.status_code == 403
        await conn.execute("DELETE FROM graphile_worker._private_jobs WHERE key = $1", run_id)
        r = await pclient.post(
            "/api/pipeline-runs/retry", json={"pipeline_run_id": run_id}, headers=tenant.headers(Role.org_admin)
        )
        assert r.status_code == 200 and r.json()["data"]["status"] == "queued"
        assert await conn.fetchval("SELECT count(*) FROM graphile_worker.jobs WHERE key = $1", run_id) == 1
        steps = await conn.fetch(
            "SELECT status FROM step_results WHERE pipeline_run_id = $1 ORDER BY position", uuid.UUID(run_id)
        )
        assert [s["status"] for s in steps] == ["succeeded", "queued"]
        assert (await drive(pclient, headers, run_id))["status"] == "succeeded"
        assert prospeo.call_count == 1 and google.call_count == 2
        r = await pclient.post(
            "/api/pipeline-runs/retry", json={"pipeline_run_id": run_id}, headers=tenant.headers(Role.org_admin)
        )
        assert r.status_code == 409


class TestEntities:
    @respx.mock
    async def test_a_re_enriched_entity_merges_into_the_same_record(self, pclient, conn, settings, setup):  # noqa: F811
        tenant, blueprint = setup
        respx.post(PROSPEO).mock(
            side_effect=[
                prospeo_company("acme.com", industry="Software"),
                prospeo_company("acme.com", name=None, industry="Fintech"),
            ]
        )
        respx.post(ADYNTEL_GOOGLE).mock(return_value=GOOGLE_ADS)
        # the same company again: only a forced call asks the provider a second time (CONTRACT §9.2)
        await conn.execute(
            'UPDATE blueprint_steps SET step_config = \'{"providers": ["prospeo"], "cache": false}\' '
            "WHERE blueprint_id = $1 AND position = 1",
            blueprint.id,
        )
        headers = internal(settings, tenant)
        first = await drive(
            pclient, headers, (await submit(pclient, tenant, blueprint, ["acme.com"]))["pipeline_run_ids"][0]
        )
        second = await drive(
            pclient,
            headers,
            (await submit(pclient, tenant, blueprint, ["https://www.ACME.com/about"]))["pipeline_run_ids"][0],
        )
        assert second["entity_id"] == first["entity_id"] and second["record_version"] == 2
        row = await conn.fetchrow(
            "SELECT name, data, record_version FROM company_entities WHERE id = $1", uuid.UUID(first["entity_id"])
        )
        assert row["name"] == "Acme Inc"  # a null never erases
        assert row["data"]["industry"] == "Fintech"  # a new non-null value wins
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM entity_versions WHERE entity_id = $1", uuid.UUID(first["entity_id"])
            )
            == 2
        )
        listed = await pclient.post(
            "/api/v1/entities/companies", json={"filters": {"domain": "ACME.com"}}, headers=tenant.headers(Role.member)
        )
        assert [e["id"] for e in listed.json()["data"]["items"]] == [first["entity_id"]]
        other = await create_tenant(conn)
        listed = await pclient.post("/api/v1/entities/companies", json={}, headers=other.headers(Role.org_admin))
        assert listed.json()["data"]["items"] == []

    async def test_entity_filters_are_validated_and_scoped(self, pclient, conn, setup):  # noqa: F811
        tenant, _ = setup
        r = await pclient.post(
            "/api/v1/entities/companies", json={"filters": {"email": "a@b.com"}}, headers=tenant.headers(Role.member)
        )
        assert r.status_code == 400
        r = await pclient.post(
            "/api/v1/entities/persons",
            json={"filters": {"updated_since": "yesterday"}},
            headers=tenant.headers(Role.member),
        )
        assert r.status_code == 422
        r = await pclient.post("/api/v1/entities/persons", json={"cursor": "nope"}, headers=tenant.headers(Role.member))
        assert r.status_code == 400


class TestInternalAuthAndRecovery:
    async def test_another_orgs_run_is_not_found_for_the_internal_caller(self, pclient, conn, settings, setup):  # noqa: F811
        tenant, blueprint = setup
        run_id = (await submit(pclient, tenant, blueprint, ["acme.com"]))["pipeline_run_ids"][0]
        other = await create_tenant(conn)
        r = await pclient.post(
            "/api/internal/pipeline-runs/start", json={"pipeline_run_id": run_id}, headers=internal(settings, other)
        )
        assert r.status_code == 404
        r = await pclient.post(
            "/api/internal/pipeline-runs/start",
            json={"pipeline_run_id": run_id},
            headers=tenant.headers(Role.org_admin),
        )
        assert r.status_code == 401

    async def test_recover_unlocks_jobs_of_workers_that_stopped_reporting(self, pclient, conn, settings, setup):  # noqa: F811
        tenant, blueprint = setup
        runs = (await submit(pclient, tenant, blueprint, ["a.com", "b.com"]))["pipeline_run_ids"]
        await conn.execute(
            "UPDATE graphile_worker._private_jobs SET locked_at = now() - interval '5 minutes', "
            "locked_by = 'dead-worker' WHERE key = $1",
            runs[0],
        )
        await conn.execute(
            "UPDATE graphile_worker._private_jobs SET locked_at = now() - interval '5 minutes', "
            "locked_by = 'live-worker' WHERE key = $1",
            runs[1],
        )
        key = bearer(settings.secret("internal_api_key"))
        await call(pclient, "workers/heartbeat", {"worker_id": "live-worker"}, key)
        result = await call(pclient, "workers/recover", {"worker_id": "new-worker"}, key)
        assert result["unlocked_workers"] == ["dead-worker"]
        locks = dict(
            await conn.fetch("SELECT key, locked_by FROM graphile_worker.jobs WHERE key = ANY($1::text[])", runs)
        )
        assert locks == {runs[0]: None, runs[1]: "live-worker"}
