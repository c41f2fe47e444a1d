"""The resolution and change-detection operations (issue 13) as blueprint steps: a list that
starts from company names, and a job change seen between two runs on the same person."""

import httpx
import respx

from app.auth.context import Role
from tests.factories import create_tenant
from tests.pipelines.test_worker_callbacks import PROSPEO, drive, internal, prospeo_company
from tests.providers.conftest import base_url

PROSPEO_SEARCH = base_url("prospeo") + "/search-company"


async def _blueprint(client, tenant, steps: list[dict]) -> dict:
    numbered = [{"position": i + 1} | step for i, step in enumerate(steps)]
    r = await client.post(
        "/api/blueprints/create", json={"name": "growth", "steps": numbered}, headers=tenant.headers(Role.org_admin)
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def _submit(client, tenant, blueprint, entity_type: str, entity: dict) -> str:
    r = await client.post(
        "/api/v1/batch/submit",
        json={
            "blueprint_id": blueprint["id"],
            "company_id": str(tenant.company_a.id),
            "entities": [{"entity_type": entity_type, "input": entity}],
        },
        headers=tenant.headers(Role.org_admin),
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]["pipeline_run_ids"][0]


@respx.mock
async def test_a_company_known_by_name_is_resolved_then_enriched(pclient, conn, settings):
    tenant = await create_tenant(conn)
    rows = [
        {"company": {"name": "Acme Labs", "domain": "acmelabs.com"}},
        {"company": {"name": "Acme Inc", "domain": "acme.com"}},
    ]
    search = respx.post(PROSPEO_SEARCH).mock(
        return_value=httpx.Response(200, json={"error": False, "results": rows, "pagination": {}})
    )
    enrich = respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com"))
    bp = await _blueprint(
        pclient,
        tenant,
        [
            {"operation_id": "company.resolve.domain_from_name", "step_config": {"providers": ["prospeo"]}},
            {"operation_id": "company.enrich.profile", "step_config": {"providers": ["prospeo"]}},
        ],
    )
    run_id = await _submit(pclient, tenant, bp, "company", {"name": "Acme"})

    done = await drive(pclient, internal(settings, tenant), run_id)

    assert done["status"] == "succeeded", done
    assert search.call_count == 1 and enrich.call_count == 1
    # the second step was asked with the domain the first one found
    assert b'"company_website":"acme.com"' in enrich.calls.last.request.content.replace(b" ", b"")
    entity = await conn.fetchrow(
        "SELECT domain, data FROM company_entities WHERE org_id = $1 AND company_id = $2",
        tenant.org.id,
        tenant.company_a.id,
    )
    assert entity["domain"] == "acme.com"
    assert entity["data"]["domain_source"] == "prospeo" and entity["data"]["industry"] == "Software"


async def test_detect_changes_sees_a_new_title_on_the_second_run(pclient, conn, settings):
    tenant = await create_tenant(conn)
    bp = await _blueprint(pclient, tenant, [{"operation_id": "person.derive.detect_changes"}])
    person = {"linkedin_url": "https://www.linkedin.com/in/janedoe", "full_name": "Jane Doe", "title": "VP Sales"}

    first = await _submit(pclient, tenant, bp, "person", person)
    done = await drive(pclient, internal(settings, tenant), first)
    assert done["status"] == "succeeded", done
    output = await conn.fetchval("SELECT output FROM step_results WHERE pipeline_run_id = $1 AND position = 1", first)
    # no record of Jane yet: nothing to compare with
    assert output == {"changed": [], "compared_to_version": None, "job_changed": False}

    second = await _submit(pclient, tenant, bp, "person", {**person, "title": "Chief Revenue Officer"})
    done = await drive(pclient, internal(settings, tenant), second)
    assert done["status"] == "succeeded", done
    output = await conn.fetchval("SELECT output FROM step_results WHERE pipeline_run_id = $1 AND position = 1", second)
    assert output == {
        "changed": [{"field": "title", "from": "VP Sales", "to": "Chief Revenue Officer"}],
        "compared_to_version": 1,
        "job_changed": True,
    }
    attempts = await conn.fetch(
        "SELECT a.provider FROM operation_attempts a JOIN operation_runs r ON r.id = a.run_id "
        "WHERE r.pipeline_run_id = $1",
        second,
    )
    assert [a["provider"] for a in attempts] == ["local"]
