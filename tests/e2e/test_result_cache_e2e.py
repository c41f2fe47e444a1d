"""Never pay twice through real processes (CONTRACT §9.2): a batch of five people sharing one
email, run by the real worker at concurrency 8 against one API process, verifies it once; the same
batch again verifies nothing."""

import uuid

import httpx
import pytest

from tests import pg
from tests.conftest import TEST_SECRETS
from tests.e2e.stack import make_stack, wait_until
from tests.sandbox_server import start_sandbox


@pytest.fixture(scope="module")
def stack(admin_dsn, worker_id_str):
    import asyncio

    name = f"dex_cache_{worker_id_str}_{uuid.uuid4().hex[:8]}"
    dsn = asyncio.run(pg.recreate_database(admin_dsn, name, template=pg.TEMPLATE_DB))
    # a slow verifier: the five steps are in flight together, so single flight (not the cache) is tested
    sandbox = start_sandbox(overrides={"millionverifier": {"latency_ms": 400}})
    running = make_stack(dsn, sandbox)
    try:
        running.start_api()
        running.start_worker(concurrency=8)
        yield running
    finally:
        running.stop()
        sandbox.stop()
        asyncio.run(pg.drop_database(admin_dsn, name))


def _data(response: httpx.Response):
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _verifications(stack) -> int:
    providers = stack.sandbox.stats()["providers"]
    return providers["millionverifier"]["total"]["requests"] + providers["reoon"]["total"]["requests"]


def test_five_people_with_one_email_cost_one_verification_and_a_resubmission_none(stack):
    admin = httpx.Client(
        base_url=stack.api_url, timeout=30, headers={"Authorization": f"Bearer {TEST_SECRETS['super_admin_api_key']}"}
    )
    org = _data(admin.post("/api/super-admin/orgs/create", json={"name": "Cache", "slug": f"c-{uuid.uuid4().hex[:8]}"}))
    company = _data(admin.post("/api/super-admin/companies/create", json={"org_id": org["id"], "name": "Client"}))
    token = _data(
        admin.post("/api/super-admin/api-tokens/create", json={"org_id": org["id"], "name": "e2e", "role": "org_admin"})
    )["token"]
    client = httpx.Client(base_url=stack.api_url, timeout=60, headers={"Authorization": f"Bearer {token}"})
    blueprint = _data(
        client.post(
            "/api/blueprints/create",
            json={"name": "verify", "steps": [{"position": 1, "operation_id": "person.contact.verify_email"}]},
        )
    )
    people = [
        {"entity_type": "person", "input": {"full_name": f"Person {i}", "work_email": email}}
        for i, email in enumerate(
            ["jane@acme.com", "JANE@acme.com", " jane@ACME.com", "jane@acme.com", "Jane@Acme.com"]
        )
    ]

    def run_batch() -> dict:
        batch = _data(
            client.post(
                "/api/v1/batch/submit",
                json={"blueprint_id": blueprint["id"], "company_id": company["id"], "entities": people},
            )
        )

        def status():
            return _data(client.post("/api/v1/batch/status", json={"submission_id": batch["submission_id"]}))

        try:
            wait_until(lambda: status()["submission"]["status"] in ("completed", "failed"), 60, "the batch")
        except TimeoutError:
            raise AssertionError(
                f"worker log:\n{stack.log_tail('worker')}\napi log:\n{stack.log_tail('api')}"
            ) from None
        return status()

    before = _verifications(stack)
    first = run_batch()
    assert first["summary"]["succeeded"] == 5, first
    assert _verifications(stack) - before == 1
    again = run_batch()
    assert again["summary"]["succeeded"] == 5
    assert _verifications(stack) - before == 1
    contexts = [r["final_context"] for r in again["runs"]["items"]]
    assert {c["email_verdict"] for c in contexts} == {"deliverable"}
