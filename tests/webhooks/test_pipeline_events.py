"""Pipeline state changes queue webhook events in the transaction that makes them (CONTRACT §9.6):
each run's end once, the submission's end once, a cancel once; repeats and other orgs get none."""

import json

import respx

from app.auth.context import Role
from tests.pipelines.test_worker_callbacks import (
    ADYNTEL_GOOGLE,
    GOOGLE_ADS,
    PROSPEO,
    call,
    drive,
    internal,
    prospeo_company,
    setup,  # noqa: F401 - fixture
    submit,
)

ALL_EVENTS = ["submission.completed", "submission.failed", "submission.canceled", "run.succeeded", "run.failed"]


async def _subscribe(client, tenant, **extra):
    r = await client.post(
        "/api/webhooks/create",
        json={"url": "https://hooks.example.com/in", "events": ALL_EVENTS, **extra},
        headers=tenant.headers(Role.org_admin),
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]["id"]


async def _events(conn, org_id):
    rows = await conn.fetch(
        "SELECT event_type, body FROM webhook_deliveries WHERE org_id = $1 ORDER BY created_at, event_type", org_id
    )
    return [(r["event_type"], json.loads(r["body"])) for r in rows]


@respx.mock
async def test_runs_and_the_submission_each_queue_their_event_once(pclient, conn, settings, setup):  # noqa: F811
    tenant, blueprint = setup
    respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com"))
    respx.post(ADYNTEL_GOOGLE).mock(return_value=GOOGLE_ADS)
    await _subscribe(pclient, tenant)
    batch = await submit(pclient, tenant, blueprint, ["acme.com", "beta.com"])
    headers = internal(settings, tenant)
    first, second = batch["pipeline_run_ids"]
    await drive(pclient, headers, first)
    assert [e for e, _ in await _events(conn, tenant.org.id)] == ["run.succeeded"]
    await drive(pclient, headers, second)
    # a repeated finish changes nothing, so it queues nothing
    await call(pclient, "pipeline-runs/finish", {"pipeline_run_id": second}, headers)
    events = await _events(conn, tenant.org.id)
    assert sorted(e for e, _ in events) == ["run.succeeded", "run.succeeded", "submission.completed"]
    runs = {body["data"]["pipeline_run_id"]: body["data"] for e, body in events if e == "run.succeeded"}
    assert set(runs) == {first, second}
    assert runs[first]["entity_index"] == 0 and runs[second]["entity_index"] == 1
    assert runs[first]["submission_id"] == batch["submission_id"] and runs[first]["error_message"] is None
    (done,) = [body for e, body in events if e == "submission.completed"]
    assert done["type"] == "submission.completed"
    assert done["data"]["submission_id"] == batch["submission_id"] and done["data"]["status"] == "completed"
    assert done["data"]["summary"] == {
        "total": 2,
        "queued": 0,
        "running": 0,
        "succeeded": 2,
        "failed": 0,
        "canceled": 0,
    }


@respx.mock
async def test_a_failed_run_and_a_failed_submission_are_told(pclient, conn, settings, setup):  # noqa: F811
    tenant, blueprint = setup
    respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com"))
    await _subscribe(pclient, tenant)
    batch = await submit(pclient, tenant, blueprint, ["acme.com"])
    run_id = batch["pipeline_run_ids"][0]
    headers = internal(settings, tenant)
    await call(pclient, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
    await call(pclient, "pipeline-runs/fail", {"pipeline_run_id": run_id, "error": "worker gave up"}, headers)
    await call(pclient, "pipeline-runs/fail", {"pipeline_run_id": run_id, "error": "worker gave up"}, headers)
    events = await _events(conn, tenant.org.id)
    assert [e for e, _ in events] == ["run.failed", "submission.failed"]
    assert events[0][1]["data"]["error_message"] == "worker gave up"
    assert events[1][1]["data"]["summary"]["failed"] == 1


async def test_a_cancel_is_told_once_and_only_to_its_org(pclient, conn, settings, setup):  # noqa: F811
    tenant, blueprint = setup
    await _subscribe(pclient, tenant)
    batch = await submit(pclient, tenant, blueprint, ["acme.com", "beta.com"])
    admin = tenant.headers(Role.org_admin)
    r = await pclient.post("/api/v1/batch/cancel", json={"submission_id": batch["submission_id"]}, headers=admin)
    assert r.status_code == 200, r.text
    again = await pclient.post("/api/v1/batch/cancel", json={"submission_id": batch["submission_id"]}, headers=admin)
    # a repeated cancel answers the canceled submission again and queues nothing more
    assert again.status_code == 200 and again.json()["data"]["status"] == "canceled"
    events = await _events(conn, tenant.org.id)
    assert [e for e, _ in events] == ["submission.canceled"]
    assert events[0][1]["data"]["summary"]["canceled"] == 2
    assert await conn.fetchval("SELECT count(*) FROM webhook_deliveries WHERE org_id <> $1", tenant.org.id) == 0
