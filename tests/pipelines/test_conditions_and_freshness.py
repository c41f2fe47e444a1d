"""Conditional steps and skip_if_fresh (CONTRACT §9.1) through the real API: validated and stored
at blueprint create, evaluated by the API at step time, a skipped step calls no provider."""

import respx

from app.auth.context import Role
from tests.factories import create_tenant
from tests.pipelines.test_worker_callbacks import (
    ADYNTEL_GOOGLE,
    GOOGLE_ADS,
    PROSPEO,
    drive,
    internal,
    prospeo_company,
)

ONLY_SOFTWARE = {"field": "industry", "op": "eq", "value": "Software"}


async def _blueprint(client, tenant, second_step: dict, first_step: dict | None = None) -> dict:
    steps = [
        {"position": 1, "operation_id": "company.enrich.profile", "step_config": {"providers": ["prospeo"]}}
        | (first_step or {}),
        {"position": 2, "operation_id": "company.ads.search.google"} | second_step,
    ]
    r = await client.post(
        "/api/blueprints/create", json={"name": "conditional", "steps": steps}, headers=tenant.headers(Role.org_admin)
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def _submit(client, tenant, blueprint, domain):
    r = await client.post(
        "/api/v1/batch/submit",
        json={
            "blueprint_id": blueprint["id"],
            "company_id": str(tenant.company_a.id),
            "entities": [{"entity_type": "company", "input": {"domain": domain}}],
        },
        headers=tenant.headers(Role.org_admin),
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]["pipeline_run_ids"][0]


async def test_a_condition_is_stored_and_a_bad_one_names_its_node(pclient, conn):
    tenant = await create_tenant(conn)
    bp = await _blueprint(pclient, tenant, {"condition": {"all": [ONLY_SOFTWARE, {"field": "domain", "op": "exists"}]}})
    assert bp["steps"][1]["condition"] == {"all": [ONLY_SOFTWARE, {"field": "domain", "op": "exists"}]}
    before = await conn.fetchval("SELECT count(*) FROM blueprints WHERE org_id = $1", tenant.org.id)
    steps = [
        {"position": 1, "operation_id": "company.enrich.profile"},
        {
            "position": 2,
            "operation_id": "company.ads.search.google",
            "condition": {"all": [{"field": "x", "op": "near"}]},
        },
    ]
    r = await pclient.post(
        "/api/blueprints/create", json={"name": "bad", "steps": steps}, headers=tenant.headers(Role.org_admin)
    )
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "invalid_condition" and error["details"]["field"] == "steps[1].condition.all[0].op"
    steps[1].pop("condition")
    steps[1]["skip_if_fresh"] = {"max_age_hours": 0}
    r = await pclient.post(
        "/api/blueprints/create", json={"name": "bad", "steps": steps}, headers=tenant.headers(Role.org_admin)
    )
    assert r.status_code == 422
    assert await conn.fetchval("SELECT count(*) FROM blueprints WHERE org_id = $1", tenant.org.id) == before


@respx.mock
async def test_a_false_condition_skips_the_step_without_a_provider_call(pclient, conn, settings):
    tenant = await create_tenant(conn)
    respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com", industry="Retail"))
    ads = respx.post(ADYNTEL_GOOGLE).mock(return_value=GOOGLE_ADS)
    bp = await _blueprint(pclient, tenant, {"condition": ONLY_SOFTWARE})
    run_id = await _submit(pclient, tenant, bp, "acme.com")

    done = await drive(pclient, internal(settings, tenant), run_id)

    assert done["status"] == "succeeded"
    assert ads.call_count == 0
    step = await conn.fetchrow(
        "SELECT status::text, skip_reason, operation_run_id, context_after FROM step_results "
        "WHERE pipeline_run_id = $1 AND position = 2",
        run_id,
    )
    assert step["status"] == "skipped" and step["skip_reason"] == "condition_not_met"
    assert step["operation_run_id"] is None and step["context_after"]["industry"] == "Retail"
    status = await pclient.post(
        "/api/v1/batch/status",
        json={
            "submission_id": str(await conn.fetchval("SELECT submission_id FROM pipeline_runs WHERE id = $1", run_id))
        },
        headers=tenant.headers(Role.org_admin),
    )
    (run,) = status.json()["data"]["runs"]["items"]
    assert [(s["status"], s["skip_reason"]) for s in run["steps"]] == [
        ("succeeded", None),
        ("skipped", "condition_not_met"),
    ]
    assert run["final_context"]["industry"] == "Retail"


@respx.mock
async def test_a_true_condition_runs_the_step(pclient, conn, settings):
    tenant = await create_tenant(conn)
    respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com", industry="Software"))
    ads = respx.post(ADYNTEL_GOOGLE).mock(return_value=GOOGLE_ADS)
    bp = await _blueprint(pclient, tenant, {"condition": ONLY_SOFTWARE})
    run_id = await _submit(pclient, tenant, bp, "acme.com")

    done = await drive(pclient, internal(settings, tenant), run_id)

    assert done["status"] == "succeeded" and ads.call_count == 1
    assert (
        await conn.fetchval("SELECT status::text FROM step_results WHERE pipeline_run_id = $1 AND position = 2", run_id)
        == "succeeded"
    )


@respx.mock
async def test_skip_if_fresh_reuses_what_the_record_holds(pclient, conn, settings):
    tenant = await create_tenant(conn)
    enrich = respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com", industry="Software"))
    respx.post(ADYNTEL_GOOGLE).mock(return_value=GOOGLE_ADS)
    # the result cache off, so the window of skip_if_fresh alone decides whether the provider is asked
    fresh_only = {"skip_if_fresh": {"max_age_hours": 24}, "step_config": {"providers": ["prospeo"], "cache": False}}
    bp = await _blueprint(pclient, tenant, {"is_enabled": False}, first_step=fresh_only)
    headers = internal(settings, tenant)
    first = await drive(pclient, headers, await _submit(pclient, tenant, bp, "acme.com"))
    assert first["status"] == "succeeded" and enrich.call_count == 1

    second_run = await _submit(pclient, tenant, bp, "ACME.com")
    second = await drive(pclient, headers, second_run)

    assert second["status"] == "succeeded" and enrich.call_count == 1  # no second purchase
    step = await conn.fetchrow(
        "SELECT status::text, skip_reason, context_after FROM step_results WHERE pipeline_run_id = $1 AND position = 1",
        second_run,
    )
    assert step["status"] == "skipped" and step["skip_reason"] == "fresh"
    assert step["context_after"]["name"] == "Acme Inc" and step["context_after"]["industry"] == "Software"
    assert second["entity_id"] == first["entity_id"]

    # outside the window the provider is asked again
    await conn.execute(
        "UPDATE step_results SET finished_at = now() - interval '25 hours' WHERE org_id = $1", tenant.org.id
    )
    third = await drive(pclient, headers, await _submit(pclient, tenant, bp, "acme.com"))
    assert third["status"] == "succeeded" and enrich.call_count == 2


@respx.mock
async def test_another_orgs_fresh_record_is_not_used(pclient, conn, settings):
    ours, theirs = await create_tenant(conn), await create_tenant(conn)
    enrich = respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com"))
    for tenant in (theirs, ours):
        bp = await _blueprint(
            pclient, tenant, {"is_enabled": False}, first_step={"skip_if_fresh": {"max_age_hours": 24}}
        )
        await drive(pclient, internal(settings, tenant), await _submit(pclient, tenant, bp, "acme.com"))
    assert enrich.call_count == 2
