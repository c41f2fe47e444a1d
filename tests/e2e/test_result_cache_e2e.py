"""Never pay twice through real processes (CONTRACT §9.2): a batch of five people sharing one
email, run by the real worker at concurrency 8 against one API process, verifies it once; the same
batch again verifies nothing."""

import uuid

import pytest

from tests.e2e.stack import data, new_tenant, running_stack, wait_until
from tests.sandbox_server import start_sandbox


@pytest.fixture(scope="module")
def stack(admin_dsn, worker_id_str):
    # a slow verifier: the five steps are in flight together, so single flight (not the cache) is tested
    sandbox = start_sandbox(overrides={"millionverifier": {"latency_ms": 400}})
    name = f"dex_cache_{worker_id_str}_{uuid.uuid4().hex[:8]}"
    with running_stack(admin_dsn, name, sandbox, worker_concurrency=8) as running:
        yield running


def _verifications(stack) -> int:
    providers = stack.sandbox.stats()["providers"]
    return providers["millionverifier"]["total"]["requests"] + providers["reoon"]["total"]["requests"]


def test_five_people_with_one_email_cost_one_verification_and_a_resubmission_none(stack):
    tenant = new_tenant(stack, "Cache")
    client = tenant["client"]
    blueprint = data(
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
        batch = data(
            client.post(
                "/api/v1/batch/submit",
                json={"blueprint_id": blueprint["id"], "company_id": tenant["company_id"], "entities": people},
            )
        )

        def status():
            return data(client.post("/api/v1/batch/status", json={"submission_id": batch["submission_id"]}))

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
