"""The waterfall strategy's answer records every attempt up to the provider that found the
entity, including that one (engine `_waterfall`)."""

import httpx
import respx

from app.auth.context import Role
from tests.factories import create_tenant
from tests.pipelines.test_worker_callbacks import PROSPEO, prospeo_company


@respx.mock
async def test_a_found_answer_carries_every_attempt_up_to_the_finder(pclient, conn):
    tenant = await create_tenant(conn)
    respx.post(PROSPEO).mock(side_effect=[httpx.Response(500), prospeo_company("acme.com")])
    body = {
        "operation_id": "company.enrich.profile",
        "entity_type": "company",
        "input": {"domain": "acme.com"},
        "options": {"providers": ["prospeo"]},
    }
    r = await pclient.post("/api/v1/execute", json=body, headers=tenant.headers(Role.member))
    first = r.json()["data"]
    assert first["status"] == "failed"
    assert [(a["provider"], a["status"], a["http_status"]) for a in first["provider_attempts"]] == [
        ("prospeo", "failed", 500)
    ]

    r = await pclient.post("/api/v1/execute", json=body, headers=tenant.headers(Role.member))
    data = r.json()["data"]
    assert data["status"] == "found" and data["output"]["name"] == "Acme Inc"
    assert [(a["provider"], a["status"]) for a in data["provider_attempts"]] == [("prospeo", "found")]
    got = await pclient.post(
        "/api/operation-runs/get", json={"run_id": data["run_id"]}, headers=tenant.headers(Role.member)
    )
    assert [a["provider"] for a in got.json()["data"]["provider_attempts"]] == ["prospeo"]
