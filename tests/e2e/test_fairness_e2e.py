"""Fair scheduling on real processes (docs/decisions/0031-fair-scheduling.md): a one-entity
submission sent right after a 300-entity batch, by another org or by the same org, finishes
while most of the batch is still waiting. An ordering assertion on the runs' recorded times,
not a wall-clock one."""

import asyncio
import uuid

import asyncpg
import httpx
import pytest

from tests import pg
from tests.conftest import TEST_SECRETS
from tests.e2e.stack import make_stack, wait_until
from tests.sandbox_server import start_sandbox

BIG = 300


@pytest.fixture(scope="module")
def stack(admin_dsn, worker_id_str):
    name = f"dex_e2e_{worker_id_str}_{uuid.uuid4().hex[:8]}"
    dsn = asyncio.run(pg.recreate_database(admin_dsn, name, template=pg.TEMPLATE_DB))
    sandbox = start_sandbox()
    # every run waits on its provider a little, so the batch stays queued long enough to overtake
    sandbox.configure("prospeo", latency_ms=20)
    running = make_stack(dsn, sandbox)
    try:
        running.start_api()
        running.start_worker(concurrency=2)
        yield running
    finally:
        running.stop()
        sandbox.stop()
        asyncio.run(pg.drop_database(admin_dsn, name))


def _data(response: httpx.Response):
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _tenant(stack):
    admin = httpx.Client(
        base_url=stack.api_url, timeout=30, headers={"Authorization": f"Bearer {TEST_SECRETS['super_admin_api_key']}"}
    )
    org = _data(admin.post("/api/super-admin/orgs/create", json={"name": "F", "slug": f"f-{uuid.uuid4().hex[:8]}"}))
    company = _data(admin.post("/api/super-admin/companies/create", json={"org_id": org["id"], "name": "Client"}))
    token = _data(
        admin.post("/api/super-admin/api-tokens/create", json={"org_id": org["id"], "name": "f", "role": "org_admin"})
    )["token"]
    client = httpx.Client(base_url=stack.api_url, timeout=60, headers={"Authorization": f"Bearer {token}"})
    blueprint = _data(
        client.post(
            "/api/blueprints/create",
            json={
                "name": "one step",
                "steps": [
                    {"position": 1, "operation_id": "company.enrich.profile", "step_config": {"providers": ["prospeo"]}}
                ],
            },
        )
    )["id"]
    return {"client": client, "company_id": company["id"], "blueprint_id": blueprint}


def _submit(tenant, n, tag):
    return _data(
        tenant["client"].post(
            "/api/v1/batch/submit",
            json={
                "blueprint_id": tenant["blueprint_id"],
                "company_id": tenant["company_id"],
                "entities": [{"entity_type": "company", "input": {"domain": f"found-{tag}{i}.com"}} for i in range(n)],
            },
        )
    )


async def _finished(dsn, submission_ids):
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT submission_id, status, finished_at FROM pipeline_runs WHERE submission_id = ANY($1::uuid[])",
            [uuid.UUID(s) for s in submission_ids],
        )
    finally:
        await conn.close()
    return rows


@pytest.mark.parametrize("same_org", [False, True], ids=["other_org", "same_org"])
def test_a_small_submission_overtakes_a_big_one(stack, same_org):
    a = _tenant(stack)
    b = a if same_org else _tenant(stack)
    big = _submit(a, BIG, f"big{uuid.uuid4().hex[:4]}-")["submission_id"]
    small = _submit(b, 1, f"small{uuid.uuid4().hex[:4]}-")["submission_id"]

    def all_done() -> bool:
        rows = asyncio.run(_finished(stack.dsn, [big, small]))
        return len(rows) == BIG + 1 and all(r["status"] == "succeeded" for r in rows)

    wait_until(all_done, 300, "both submissions to finish")
    rows = asyncio.run(_finished(stack.dsn, [big, small]))
    small_done = next(r["finished_at"] for r in rows if str(r["submission_id"]) == small)
    big_after = sum(1 for r in rows if str(r["submission_id"]) == big and r["finished_at"] > small_done)
    # FIFO made the small run wait for the whole batch (0 after it); fair scheduling runs it
    # within the first few jobs, so nearly all of the batch finishes after it
    assert big_after > BIG * 2 // 3, f"only {big_after} of {BIG} batch runs finished after the small one"
