"""One attempt, one shape: what /api/v1/execute answers and what it records are both the engine's
attempt, with the engine's internals (`retry_after`, the raw body) kept out of the answer."""

import httpx
import respx

from app.auth.context import Role
from tests.factories import create_tenant
from tests.operations.test_execute import MV, REOON, execute, mv

PUBLIC_ATTEMPT_FIELDS = {
    "provider",
    "action",
    "status",
    "skip_reason",
    "http_status",
    "provider_status",
    "duration_ms",
    "cost_credits",
    "cost_usd",
}


@respx.mock
async def test_a_rate_limited_attempt_is_answered_without_its_internals_and_recorded_with_its_error(pclient, conn):
    tenant = await create_tenant(conn)
    headers = tenant.headers(Role.member)
    respx.get(MV).mock(return_value=mv("catch_all"))
    # far above the deployment's inline-wait cap: the attempt fails at once, with retry_after set
    respx.get(REOON).mock(return_value=httpx.Response(429, headers={"Retry-After": "100000"}, json={"status": "x"}))
    r = await execute(pclient, headers, "person.contact.verify_email", "person", {"work_email": "jane@acme.com"})
    data = r.json()["data"]
    assert [(a["provider"], a["status"]) for a in data["provider_attempts"]] == [
        ("millionverifier", "verified"),
        ("reoon", "failed"),
    ]
    assert all(set(a) == PUBLIC_ATTEMPT_FIELDS for a in data["provider_attempts"])
    limited = data["provider_attempts"][1]
    assert limited["http_status"] == 429

    run = (await pclient.post("/api/operation-runs/get", json={"run_id": data["run_id"]}, headers=headers)).json()
    recorded = run["data"]["provider_attempts"]
    assert [{k: a[k] for k in PUBLIC_ATTEMPT_FIELDS} for a in recorded] == data["provider_attempts"]
    assert recorded[0]["raw_response"]["result"] == "catch_all"
    # a failed attempt keeps the provider's body beside our reading of it
    assert set(recorded[1]["raw_response"]) == {"error", "body"}
    assert recorded[1]["raw_response"]["body"] == {"status": "x"}
