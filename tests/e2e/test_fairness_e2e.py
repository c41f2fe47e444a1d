"""Fair scheduling on real processes (docs/decisions/0031-fair-scheduling.md): a one-entity
submission sent right after a 300-entity batch, by another org or by the same org, finishes
while most of the batch is still waiting. An ordering assertion on the runs' recorded times,
not a wall-clock one."""

import asyncio
import uuid

import asyncpg
import pytest

from tests.e2e.stack import data, new_tenant, running_stack, wait_until
from tests.sandbox_server import start_sandbox

BIG = 300
ONE_STEP = {
    "name": "one step",
    "steps": [{"position": 1, "operation_id": "company.enrich.profile", "step_config": {"providers": ["prospeo"]}}],
}


@pytest.fixture(scope="module")
def stack(admin_dsn, worker_id_str):
    sandbox = start_sandbox()
    # every run waits on its provider a little, so the batch stays queued long enough to overtake
    sandbox.configure("prospeo", latency_ms=20)
    name = f"dex_e2e_{worker_id_str}_{uuid.uuid4().hex[:8]}"
    with running_stack(admin_dsn, name, sandbox, worker_concurrency=2) as running:
        yield running


def _tenant(stack):
    tenant = new_tenant(stack, "F")
    tenant["blueprint_id"] = data(tenant["client"].post("/api/blueprints/create", json=ONE_STEP))["id"]
    return tenant


def _submit(tenant, n, tag):
    return data(
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
