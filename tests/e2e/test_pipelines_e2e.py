"""Pipelines end to end through real processes: uvicorn, the graphile-worker host, Postgres and
the provider sandbox. Faults here are real: a SIGKILLed worker, a duplicated callback."""

import time
import uuid

import asyncpg
import httpx
import pytest

from app.db import init_connection
from tests.conftest import TEST_SECRETS
from tests.e2e.stack import data, new_tenant, running_stack, wait_until
from tests.sandbox_server import SANDBOX_ADYNTEL_EMAIL, SANDBOX_KEY, start_sandbox

COMPANY_STEPS = ["company.enrich.profile", "company.ads.search.google", "company.research.resolve_pricing_page_url"]


@pytest.fixture(scope="module")
def stack(admin_dsn, worker_id_str):
    sandbox = start_sandbox(overrides={"reoon": {"reoon_power_latency_ms": 0}})
    with running_stack(admin_dsn, f"dex_e2e_{worker_id_str}_{uuid.uuid4().hex[:8]}", sandbox) as running:
        yield running


@pytest.fixture(scope="module")
def tenant(stack):
    return new_tenant(stack, "E2E")


def _blueprint(tenant, steps, name=None):
    return data(
        tenant["client"].post(
            "/api/blueprints/create",
            json={
                "name": name or f"bp-{uuid.uuid4().hex[:6]}",
                "steps": [{"position": i + 1, "operation_id": op} for i, op in enumerate(steps)],
            },
        )
    )["id"]


def _submit(tenant, blueprint_id, domains):
    return data(
        tenant["client"].post(
            "/api/v1/batch/submit",
            json={
                "blueprint_id": blueprint_id,
                "company_id": tenant["company_id"],
                "entities": [{"entity_type": "company", "input": {"domain": d}} for d in domains],
            },
        )
    )


def _status(tenant, submission_id, limit=500):
    return data(tenant["client"].post("/api/v1/batch/status", json={"submission_id": submission_id, "limit": limit}))


def _wait_done(stack, tenant, submission_id, timeout=90):
    def done():
        return _status(tenant, submission_id, 1)["submission"]["status"] in ("completed", "failed", "canceled")

    try:
        wait_until(done, timeout, f"submission {submission_id} to finish")
    except TimeoutError:
        raise AssertionError(
            f"not finished; worker log:\n{stack.log_tail('worker')}\napi log:\n{stack.log_tail('api')}"
        ) from None
    return _status(tenant, submission_id)


def _sandbox(stack, provider: str, path: str, body: dict, headers: dict | None = None) -> dict:
    """What the sandbox itself answers for a request (deterministic per input): the expected values."""
    r = httpx.post(stack.sandbox.url(provider) + path, json=body, headers=headers or {}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def _sandbox_profile(stack, domain: str) -> dict:
    body = {"data": {"company_website": domain}}
    return _sandbox(stack, "prospeo", "/enrich-company", body, {"X-KEY": SANDBOX_KEY})["company"]


def _assert_profile(context: dict, profile: dict) -> None:
    """The enriched fields are the sandbox's values, mapped as docs/providers.md says (Prospeo §5)."""
    assert context["name"] == profile["name"]
    assert context["linkedin_url"] == profile["linkedin_url"]
    assert context["industry"] == profile["industry"]
    assert context["employee_count"] == profile["employee_count"]
    assert context["employee_range"] == profile["employee_range"]
    assert context["founded_year"] == profile["founded"]
    assert context["description"] == profile["description"]
    assert context["hq_city"] == profile["location"]["city"]
    assert context["profile_source"] == "prospeo"


async def _db(stack, sql, *args):
    conn = await asyncpg.connect(stack.dsn)
    await init_connection(conn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_a_multi_step_batch_completes_and_one_failing_entity_fails_only_its_run(stack, tenant):
    blueprint_id = _blueprint(tenant, COMPANY_STEPS)
    domains = [f"found-co{i}.com" for i in range(10)] + ["notfound-ghost.com", "error500-broken.com"]
    batch = _submit(tenant, blueprint_id, domains)
    status = _wait_done(stack, tenant, batch["submission_id"])
    assert status["submission"]["status"] == "completed"
    assert status["summary"] == {
        "total": 12,
        "queued": 0,
        "running": 0,
        "succeeded": 11,
        "failed": 1,
        "canceled": 0,
        "children": 0,
    }
    runs = {r["entity_index"]: r for r in status["runs"]["items"]}
    broken = runs[11]
    assert broken["status"] == "failed" and broken["error_message"].startswith("step 1 (company.enrich.profile)")
    assert [s["status"] for s in broken["steps"]] == ["failed", "skipped", "skipped"]
    found = runs[0]
    assert [s["status"] for s in found["steps"]] == ["succeeded"] * 3
    context = found["final_context"]
    assert context["domain"] == "found-co0.com"
    profile = _sandbox_profile(stack, "found-co0.com")
    _assert_profile(context, profile)
    google = _sandbox(
        stack,
        "adyntel",
        "/google",
        {"api_key": SANDBOX_KEY, "email": SANDBOX_ADYNTEL_EMAIL, "company_domain": "found-co0.com"},
    )
    assert google["ads"]
    assert [a["ad_id"] for a in context["google_ads"]["ads"]] == [a["creative_id"] for a in google["ads"]]
    assert [a["first_seen"] for a in context["google_ads"]["ads"]] == [a["start"] for a in google["ads"]]
    assert context["pricing_page_url"].startswith("https://found-co0.com/")

    steps = await _db(
        stack,
        "SELECT s.position, s.context_after, s.operation_run_id FROM step_results s "
        "WHERE s.pipeline_run_id = $1 ORDER BY position",
        uuid.UUID(found["pipeline_run_id"]),
    )
    assert "name" in steps[0]["context_after"] and "google_ads" not in steps[0]["context_after"]
    assert "google_ads" in steps[1]["context_after"]
    assert all(s["operation_run_id"] is not None for s in steps)
    versions = await _db(
        stack,
        "SELECT count(*) AS n, count(DISTINCT pipeline_run_id) AS runs FROM entity_versions WHERE org_id = $1",
        uuid.UUID(tenant["org_id"]),
    )
    assert versions[0]["n"] == versions[0]["runs"] == 11
    entities = data(tenant["client"].post("/api/v1/entities/companies", json={"limit": 500}))["items"]
    assert len(entities) == 11 and {e["record_version"] for e in entities} == {1}
    # every entity row holds what the sandbox says about its company, not merely some value
    for entity in entities:
        if entity["domain"] == "notfound-ghost.com":
            # every provider said not_found: the entity holds the input and nothing made up
            assert entity["name"] is None and "industry" not in entity["data"], entity
            continue
        expected = _sandbox_profile(stack, entity["domain"])
        assert entity["name"] == expected["name"] and entity["linkedin_url"] == expected["linkedin_url"], entity
        assert entity["data"]["industry"] == expected["industry"], entity
        assert entity["data"]["employee_count"] == expected["employee_count"], entity
    row = next(e for e in entities if e["domain"] == "found-co0.com")
    assert row["data"]["google_ads"] == context["google_ads"]
    assert row["data"]["pricing_page_url"] == context["pricing_page_url"]

    # re-enriching two of them merges into the same records
    again = _submit(tenant, blueprint_id, ["found-co0.com", "https://www.FOUND-CO1.com/"])
    _wait_done(stack, tenant, again["submission_id"])
    entities = data(tenant["client"].post("/api/v1/entities/companies", json={"limit": 500}))["items"]
    assert len(entities) == 11
    assert {e["domain"]: e["record_version"] for e in entities if e["record_version"] > 1} == {
        "found-co0.com": 2,
        "found-co1.com": 2,
    }

    # the worker's callback delivered again changes nothing
    internal = httpx.Client(
        base_url=stack.api_url,
        headers={
            "Authorization": f"Bearer {TEST_SECRETS['internal_api_key']}",
            "x-internal-org-id": tenant["org_id"],
            "x-internal-company-id": tenant["company_id"],
        },
    )
    before = await _db(
        stack, "SELECT count(*) FROM operation_runs WHERE pipeline_run_id = $1", uuid.UUID(found["pipeline_run_id"])
    )
    repeat = data(
        internal.post(
            "/api/internal/steps/execute",
            json={"pipeline_run_id": found["pipeline_run_id"], "position": 2, "context": {"domain": "x.com"}},
        )
    )
    assert repeat["status"] == "succeeded" and repeat["context_after"] == steps[1]["context_after"]
    assert (
        data(
            internal.post(
                "/api/internal/pipeline-runs/finish",
                json={"pipeline_run_id": found["pipeline_run_id"], "final_context": {"domain": "x.com"}},
            )
        )["status"]
        == "succeeded"
    )
    after = await _db(
        stack, "SELECT count(*) FROM operation_runs WHERE pipeline_run_id = $1", uuid.UUID(found["pipeline_run_id"])
    )
    assert after == before


async def test_cancel_mid_batch_stops_what_has_not_finished(stack, tenant):
    stack.sandbox.configure("prospeo", latency_ms=300)
    try:
        blueprint_id = _blueprint(tenant, ["company.enrich.profile"])
        batch = _submit(tenant, blueprint_id, [f"found-slow{i}.com" for i in range(40)])
        wait_until(
            lambda: _status(tenant, batch["submission_id"], 1)["summary"]["succeeded"] >= 2,
            30,
            "the first runs to finish",
        )
        data(tenant["client"].post("/api/v1/batch/cancel", json={"submission_id": batch["submission_id"]}))
        # steps already executing when the cancel landed finish, and are recorded
        wait_until(
            lambda: (
                not any(
                    s["status"] in ("queued", "running")
                    for r in _status(tenant, batch["submission_id"])["runs"]["items"]
                    for s in r["steps"]
                )
            ),
            30,
            "in-flight steps to settle",
        )
        status = _status(tenant, batch["submission_id"])
    finally:
        stack.sandbox.configure("prospeo", latency_ms=0)
    summary = status["summary"]
    assert status["submission"]["status"] == "canceled"
    assert summary["canceled"] > 0 and summary["succeeded"] >= 2
    assert summary["succeeded"] + summary["canceled"] == 40 and summary["queued"] == 0
    for run in status["runs"]["items"]:
        if run["status"] == "canceled":
            assert all(s["status"] in ("skipped", "succeeded") for s in run["steps"]), run["steps"]
    time.sleep(1)  # a late in-flight step must not resurrect anything
    later = _status(tenant, batch["submission_id"])
    assert later["summary"] == summary
    versions = await _db(
        stack,
        "SELECT count(*) FROM entity_versions v JOIN pipeline_runs r ON r.id = "
        "v.pipeline_run_id WHERE r.submission_id = $1",
        uuid.UUID(batch["submission_id"]),
    )
    assert versions[0][0] == summary["succeeded"]


async def test_a_killed_worker_is_replaced_and_every_run_finishes_exactly_once(stack, tenant):
    stack.sandbox.configure("prospeo", latency_ms=150)
    try:
        blueprint_id = _blueprint(tenant, ["company.enrich.profile", "company.ads.search.meta"])
        batch = _submit(tenant, blueprint_id, [f"found-kill{i}.com" for i in range(60)])
        wait_until(
            lambda: _status(tenant, batch["submission_id"], 1)["summary"]["succeeded"] >= 5, 30, "some runs to finish"
        )
        for worker in list(stack.workers):
            if worker.poll() is None:
                stack.kill_worker(worker)
        killed_at = time.monotonic()
        assert _status(tenant, batch["submission_id"], 1)["submission"]["status"] == "running"
        stack.start_worker()
        status = _wait_done(stack, tenant, batch["submission_id"], timeout=120)
        recovery = time.monotonic() - killed_at
    finally:
        stack.sandbox.configure("prospeo", latency_ms=0)
    assert status["submission"]["status"] == "completed"
    assert status["summary"]["succeeded"] == 60, status["summary"]
    assert recovery < 60, f"recovery took {recovery:.1f} s"
    sid = uuid.UUID(batch["submission_id"])
    per_run = await _db(
        stack,
        "SELECT r.id, (SELECT count(*) FROM entity_versions v WHERE v.pipeline_run_id = r.id)"
        " AS versions FROM pipeline_runs r WHERE r.submission_id = $1",
        sid,
    )
    assert {row["versions"] for row in per_run} == {1}
    steps = await _db(
        stack,
        "SELECT s.status, count(*) FROM step_results s JOIN pipeline_runs r ON r.id = "
        "s.pipeline_run_id WHERE r.submission_id = $1 GROUP BY s.status",
        sid,
    )
    assert {row[0]: row[1] for row in steps} == {"succeeded": 120}
    entities = await _db(
        stack, "SELECT domain, name, data, record_version FROM company_entities WHERE domain LIKE 'found-kill%'"
    )
    assert len(entities) == 60 and {e["record_version"] for e in entities} == {1}
    for entity in entities:
        expected = _sandbox_profile(stack, entity["domain"])
        assert entity["name"] == expected["name"] and entity["data"]["industry"] == expected["industry"], entity
        # step 2's output made it into the entity next to step 1's
        assert "meta_ads" in entity["data"], entity["domain"]
