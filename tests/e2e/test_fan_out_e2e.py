"""Fan-out end to end through real processes (uvicorn, the graphile-worker host, Postgres, the
provider sandbox): a company list → each company's people → their emails → verdicts, in one
submission; and a worker SIGKILLed while parents' search steps are in flight loses or doubles
no child."""

import uuid

import pytest

from tests.e2e.stack import data
from tests.e2e.test_pipelines_e2e import _db, _status, _submit, _wait_done, stack, tenant  # noqa: F401

pytestmark = pytest.mark.usefixtures("stack")

PERSON_STEPS = ["person.contact.resolve_email", "person.contact.verify_email"]


def _blueprints(tenant, max_children: int):  # noqa: F811
    client = tenant["client"]
    person = data(
        client.post(
            "/api/blueprints/create",
            json={
                "name": f"people-{uuid.uuid4().hex[:6]}",
                "steps": [{"position": i + 1, "operation_id": op} for i, op in enumerate(PERSON_STEPS)],
            },
        )
    )
    company = data(
        client.post(
            "/api/blueprints/create",
            json={
                "name": f"companies-{uuid.uuid4().hex[:6]}",
                "steps": [
                    {"position": 1, "operation_id": "company.enrich.profile"},
                    {
                        "position": 2,
                        "operation_id": "person.search",
                        "fan_out": {"blueprint_id": person["id"], "max_children": max_children},
                    },
                ],
            },
        )
    )
    return company["id"], person["id"]


async def _children(stack, submission_id):  # noqa: F811
    return await _db(
        stack,
        "SELECT id, parent_pipeline_run_id, depth, child_key, status FROM pipeline_runs "
        "WHERE submission_id = $1 AND parent_pipeline_run_id IS NOT NULL",
        uuid.UUID(submission_id),
    )


async def _fan_out_reports(stack, submission_id):  # noqa: F811
    return await _db(
        stack,
        "SELECT s.pipeline_run_id, s.fan_out FROM step_results s JOIN pipeline_runs r ON r.id = s.pipeline_run_id "
        "WHERE r.submission_id = $1 AND s.fan_out IS NOT NULL",
        uuid.UUID(submission_id),
    )


async def test_companies_to_people_to_emails_and_verdicts_in_one_submission(stack, tenant):  # noqa: F811
    company_bp, _ = _blueprints(tenant, max_children=3)
    batch = _submit(tenant, company_bp, [f"found-fan{i}.com" for i in range(4)])
    status = _wait_done(stack, tenant, batch["submission_id"], timeout=120)
    summary = status["summary"]
    assert status["submission"]["status"] == "completed", summary
    assert summary["children"] > 0 and summary["total"] == 4 + summary["children"]
    assert summary["succeeded"] == summary["total"], summary

    items = status["runs"]["items"]
    roots = {i["pipeline_run_id"] for i in items if i["depth"] == 0}
    kids = [i for i in items if i["depth"] == 1]
    assert len(roots) == 4 and len(kids) == summary["children"]
    assert {k["parent_pipeline_run_id"] for k in kids} <= roots
    assert all(len([k for k in kids if k["parent_pipeline_run_id"] == r]) <= 3 for r in roots)
    person = kids[0]["final_context"]
    assert person["work_email"] and person["email_verdict"] and person["company_domain"].startswith("found-fan")

    linked = await _db(
        stack,
        "SELECT p.company_domain::text, c.domain::text AS employer FROM person_entities p "
        "JOIN company_entities c ON c.id = p.company_entity_id WHERE p.org_id = $1",
        uuid.UUID(tenant["org_id"]),
    )
    assert len(linked) == len(kids)
    assert all(row["company_domain"] == row["employer"] for row in linked)


async def test_a_worker_killed_during_fan_out_loses_and_doubles_no_child(stack, tenant):  # noqa: F811
    company_bp, _ = _blueprints(tenant, max_children=5)
    # slow searches: the kill lands while parents wait on their person.search answer
    stack.sandbox.configure("prospeo", latency_ms=1500)
    try:
        batch = _submit(tenant, company_bp, [f"found-crash{i}.com" for i in range(8)])
        sid = batch["submission_id"]

        async def searching():
            rows = await _db(
                stack,
                "SELECT count(*) FROM step_results s JOIN pipeline_runs r ON r.id = s.pipeline_run_id "
                "WHERE r.submission_id = $1 AND s.position = 2 AND s.status = 'running'",
                uuid.UUID(sid),
            )
            return rows[0][0] > 0

        import asyncio

        deadline = asyncio.get_running_loop().time() + 60
        while not await searching():
            assert asyncio.get_running_loop().time() < deadline, stack.log_tail("worker")
            await asyncio.sleep(0.05)
        for worker in list(stack.workers):
            if worker.poll() is None:
                stack.kill_worker(worker)
        stack.sandbox.configure("prospeo", latency_ms=0)
        stack.start_worker()
        status = _wait_done(stack, tenant, sid, timeout=150)
    finally:
        stack.sandbox.configure("prospeo", latency_ms=0)

    assert status["submission"]["status"] == "completed", status["summary"]
    children = await _children(stack, sid)
    reports = await _fan_out_reports(stack, sid)
    # every parent's search step recorded its children exactly once, and exactly those exist
    assert len(reports) == 8
    assert sum(r["fan_out"]["children"] for r in reports) == len(children) > 0
    per_parent = {}
    for c in children:
        per_parent[c["parent_pipeline_run_id"]] = per_parent.get(c["parent_pipeline_run_id"], 0) + 1
    assert per_parent == {r["pipeline_run_id"]: r["fan_out"]["children"] for r in reports if r["fan_out"]["children"]}
    assert len({c["child_key"] for c in children}) == len(children)
    assert {c["status"] for c in children} == {"succeeded"}
    versions = await _db(
        stack,
        "SELECT r.id, (SELECT count(*) FROM entity_versions v WHERE v.pipeline_run_id = r.id) AS n "
        "FROM pipeline_runs r WHERE r.submission_id = $1",
        uuid.UUID(sid),
    )
    assert {v["n"] for v in versions} == {1}
