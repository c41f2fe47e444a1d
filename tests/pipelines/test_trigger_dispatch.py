"""Trigger mode: runs go to Trigger.dev's batch trigger after commit (orchestration.md A3), with
the run id as idempotency key; unacknowledged runs are re-sent by the sweeper. Trigger.dev's HTTP
is mocked with respx; everything else is real."""

import json
import uuid

import httpx
import pytest
import respx

from app.auth.context import Role
from app.services.dispatch import TRIGGER_API_VERSION, TriggerDispatcher
from tests.conftest import SavepointDb
from tests.factories import create_tenant

TRIGGER = "https://trigger.example.test"
BATCH = f"{TRIGGER}/api/v1/tasks/run-pipeline/batch"


@pytest.fixture
async def dispatcher(conn):
    async with httpx.AsyncClient() as http:
        yield TriggerDispatcher(SavepointDb(conn), http, TRIGGER, "tr_test_secret_key_0123456789")


async def _submit(client, conn, tenant, n=3):
    r = await client.post(
        "/api/v1/batch/submit",
        json={
            "blueprint_id": str(tenant.blueprint.id),
            "company_id": str(tenant.company_a.id),
            "entities": [{"entity_type": "company", "input": {"domain": f"t{i}.com"}} for i in range(n)],
        },
        headers=tenant.headers(Role.org_admin),
    )
    assert r.status_code == 200
    return [uuid.UUID(i) for i in r.json()["data"]["pipeline_run_ids"]]


async def _undispatch(conn, run_ids):
    # runs as a trigger-mode submit leaves them: committed, queued, not yet acknowledged
    await conn.execute(
        "UPDATE pipeline_runs SET dispatched_at = NULL, created_at = now() - interval '1 minute' "
        "WHERE id = ANY($1::uuid[])",
        run_ids,
    )


@respx.mock
async def test_runs_are_sent_with_the_documented_shape_and_marked_dispatched(client, conn, dispatcher):
    tenant = await create_tenant(conn)
    run_ids = await _submit(client, conn, tenant)
    route = respx.post(BATCH).mock(
        return_value=httpx.Response(200, json={"batchId": "batch_1", "runs": [f"run_{i}" for i in range(3)]})
    )
    await dispatcher.dispatch_after_commit(run_ids, tenant.org.id, tenant.company_a.id)
    request = route.calls.last.request
    assert request.headers["authorization"] == "Bearer tr_test_secret_key_0123456789"
    assert request.headers["x-trigger-api-version"] == TRIGGER_API_VERSION
    items = json.loads(request.content)["items"]
    assert [i["options"]["idempotencyKey"] for i in items] == [str(r) for r in run_ids]
    assert items[0]["payload"] == {
        "pipeline_run_id": str(run_ids[0]),
        "org_id": str(tenant.org.id),
        "company_id": str(tenant.company_a.id),
    }
    assert items[0]["options"]["concurrencyKey"] == str(tenant.org.id)
    # fairness within the org's queue: run n counts as triggered n seconds after its submission
    assert [i["options"]["priority"] for i in items] == [10_000, 9_999, 9_998]
    rows = await conn.fetch(
        "SELECT id, external_id, dispatched_at FROM pipeline_runs WHERE id = ANY($1::uuid[])", run_ids
    )
    assert {r["id"]: r["external_id"] for r in rows} == {run_ids[i]: f"run_{i}" for i in range(3)}
    assert all(r["dispatched_at"] is not None for r in rows)


@respx.mock
async def test_large_batches_go_in_chunks_of_one_hundred(client, conn, dispatcher):
    tenant = await create_tenant(conn)
    run_ids = await _submit(client, conn, tenant, 250)
    route = respx.post(BATCH).mock(
        side_effect=lambda request: httpx.Response(
            200, json={"batchId": "b", "runs": [f"run_{i}" for i in range(len(json.loads(request.content)["items"]))]}
        )
    )
    await dispatcher.dispatch_after_commit(run_ids, tenant.org.id, tenant.company_a.id)
    assert [len(json.loads(c.request.content)["items"]) for c in route.calls] == [100, 100, 50]


@respx.mock
async def test_a_failed_dispatch_loses_nothing_and_the_sweeper_re_sends(client, conn, dispatcher):
    tenant = await create_tenant(conn)
    run_ids = await _submit(client, conn, tenant)
    await _undispatch(conn, run_ids)
    route = respx.post(BATCH).mock(
        side_effect=[
            httpx.Response(503, json={"error": "down"}),
            httpx.Response(200, json={"batchId": "b", "runs": ["a", "b", "c"]}),
        ]
    )
    await dispatcher.dispatch_after_commit(run_ids, tenant.org.id, tenant.company_a.id)  # logged, not raised
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM pipeline_runs WHERE id = ANY($1::uuid[]) AND dispatched_at IS NULL", run_ids
        )
        == 3
    )
    sent = await dispatcher.sweep(older_than_seconds=0)
    assert sent >= 3
    resent = {i["options"]["idempotencyKey"] for i in json.loads(route.calls.last.request.content)["items"]}
    assert {str(r) for r in run_ids} <= resent
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM pipeline_runs WHERE id = ANY($1::uuid[]) AND dispatched_at IS NULL", run_ids
        )
        == 0
    )
