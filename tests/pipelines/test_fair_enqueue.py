"""Local fairness (docs/decisions/0031-fair-scheduling.md): graphile-worker takes the ready job
with the lowest priority, then the earliest run_at. The API numbers each submission's runs from
the level the queue is serving, so a later small submission is taken before the deep ranks of an
earlier big one, whichever org sent either. The real worker is exercised by
tests/e2e/test_fairness_e2e.py; here the order is read the way graphile-worker reads it."""

import pytest

from app.auth.context import Role
from tests.factories import create_tenant

# graphile-worker 0.17.3 getJobs: `order by priority asc, run_at asc` over available jobs
GRAPHILE_ORDER = """
SELECT key FROM graphile_worker.jobs
WHERE task_identifier = 'run-pipeline' AND locked_at IS NULL AND run_at <= now() AND key = ANY($1::text[])
ORDER BY priority, run_at, id
"""


async def _submit(client, tenant, n, company=None):
    r = await client.post(
        "/api/v1/batch/submit",
        json={
            "blueprint_id": str(tenant.blueprint.id),
            "company_id": str((company or tenant.company_a).id),
            "entities": [{"entity_type": "company", "input": {"domain": f"f{i}.com"}} for i in range(n)],
        },
        headers=tenant.headers(Role.org_admin),
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]["pipeline_run_ids"]


@pytest.mark.parametrize("same_org", [False, True])
async def test_a_small_submission_is_taken_before_the_rest_of_a_big_one(client, conn, same_org):
    a = await create_tenant(conn)
    b = a if same_org else await create_tenant(conn)
    big = await _submit(client, a, 6)
    # the worker has taken the first three of the big batch
    await conn.execute("DELETE FROM graphile_worker._private_jobs WHERE key = ANY($1::text[])", big[:3])
    small = await _submit(client, b, 1, company=b.company_b if same_org else None)

    order = [r["key"] for r in await conn.fetch(GRAPHILE_ORDER, big + small)]

    assert order == [big[3], small[0], big[4], big[5]]


async def test_an_empty_queue_numbers_from_zero(client, conn):
    tenant = await create_tenant(conn)
    await conn.execute("DELETE FROM graphile_worker._private_jobs")
    runs = await _submit(client, tenant, 3)
    priorities = await conn.fetch("SELECT key, priority FROM graphile_worker.jobs WHERE key = ANY($1::text[])", runs)
    assert sorted(r["priority"] for r in priorities) == [0, 1, 2]
