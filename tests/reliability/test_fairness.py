"""Fairness between tenants on real processes (issue 9, docs/decisions/0031-fair-scheduling.md):
the latency of a one-entity, one-step submission alone, then sent just after another org's
N-entity batch, then just after its own org's (N = 300 under `make test`, 2,000 under `make
reliability`), and how many of the batch's runs finished after it.

The assertion is the ordering, never a duration: the small run finishes while most of the batch
is still waiting. Latency is submit to run finished, both read from Postgres (`created_at` is the
submit transaction's time, `finished_at` the worker's last callback), so polling adds nothing.
The batch is not waited for: every run still open when the small one finished finishes after it,
so each scenario runs on a fresh database and stack that is torn down with the rest of the batch
still queued."""

import asyncio
import statistics
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg

from tests.e2e.stack import E2EStack, data, new_tenant, running_stack, wait_until
from tests.e2e.test_fairness_e2e import ONE_STEP
from tests.reliability.conftest import record, size
from tests.sandbox_server import start_sandbox

BATCH = size(300, 2_000)
SOLO_SAMPLES = 3


@contextmanager
def fresh_stack(admin_dsn: str, worker: str) -> Iterator[E2EStack]:
    sandbox = start_sandbox()
    # every run waits on its provider a little, as a real one does
    sandbox.configure("prospeo", latency_ms=20)
    # the worker as deployed (make_stack: 8 slots)
    with running_stack(admin_dsn, f"dex_fair_{worker}_{uuid.uuid4().hex[:8]}", sandbox) as running:
        yield running


def _tenant(stack: E2EStack) -> dict[str, Any]:
    tenant = new_tenant(stack, "F", timeout=120)
    tenant["blueprint_id"] = data(tenant["client"].post("/api/blueprints/create", json=ONE_STEP))["id"]
    return tenant


def _submit(tenant: dict[str, Any], n: int) -> str:
    tag = uuid.uuid4().hex[:8]
    body = {
        "blueprint_id": tenant["blueprint_id"],
        "company_id": tenant["company_id"],
        "entities": [{"entity_type": "company", "input": {"domain": f"found-{tag}-{i}.com"}} for i in range(n)],
    }
    return str(data(tenant["client"].post("/api/v1/batch/submit", json=body))["submission_id"])


async def _runs(dsn: str, submission_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(
            "SELECT status, created_at, finished_at FROM pipeline_runs WHERE submission_id = $1",
            uuid.UUID(submission_id),
        )
    finally:
        await conn.close()


def _small_run(stack: E2EStack, submission_id: str) -> asyncpg.Record:
    """Waits for the one-entity submission's run to finish; returns it."""

    def done() -> bool:
        return all(r["finished_at"] is not None for r in asyncio.run(_runs(stack.dsn, submission_id)))

    wait_until(done, size(60, 600), "the one-entity submission to finish")
    [run] = asyncio.run(_runs(stack.dsn, submission_id))
    assert run["status"] == "succeeded", run
    return run


def _latency_ms(run: asyncpg.Record) -> float:
    return round((run["finished_at"] - run["created_at"]).total_seconds() * 1000, 1)


def _behind_batch(stack: E2EStack, big_tenant: dict[str, Any], small_tenant: dict[str, Any]) -> dict[str, Any]:
    big = _submit(big_tenant, BATCH)
    small = _small_run(stack, _submit(small_tenant, 1))
    batch = asyncio.run(_runs(stack.dsn, big))
    assert len(batch) == BATCH
    # still open then, or finished later (a run committed after the small one's finish)
    after = sum(1 for r in batch if r["finished_at"] is None or r["finished_at"] > small["finished_at"])
    return {"latency_ms": _latency_ms(small), "batch": BATCH, "batch_finished_after": after}


def test_a_small_submission_is_not_stuck_behind_a_big_batch(admin_dsn, worker_id_str):
    with fresh_stack(admin_dsn, worker_id_str) as stack:
        a, b = _tenant(stack), _tenant(stack)
        solo = [_latency_ms(_small_run(stack, _submit(b, 1))) for _ in range(SOLO_SAMPLES)]
        other_org = _behind_batch(stack, a, b)
    with fresh_stack(admin_dsn, worker_id_str) as stack:
        a = _tenant(stack)
        same_org = _behind_batch(stack, a, a)

    record(
        "fairness",
        batch_entities=BATCH,
        solo_ms=statistics.median(solo),
        solo_samples_ms=solo,
        other_org=other_org,
        same_org=same_org,
    )
    # FIFO would run the small submission after the whole batch (0 after it); fair scheduling
    # runs it within the first jobs, so nearly all of the batch finishes after it
    for name, figures in (("another org's", other_org), ("its own org's", same_org)):
        assert figures["batch_finished_after"] >= BATCH * 2 // 3, (
            f"behind {name} batch: only {figures['batch_finished_after']} of {BATCH} batch runs finished after it"
        )
