"""The search strategy's merged content through /api/v1/execute, provider HTTP mocked with respx
(engine `_search`): providers in order, each asked only for what is still missing, results
de-duplicated across providers (first provider's row wins), order kept, cut to the limit, each
provider's cursor kept."""

import json

import httpx
import pytest
import respx

from app.auth.context import Role
from tests.factories import create_tenant
from tests.providers.conftest import base_url

PROSPEO_SEARCH = base_url("prospeo") + "/search-company"
BLITZ_SEARCH = base_url("blitzapi") + "/v2/search/companies"


def _prospeo_page(*stems: str, total_pages: int = 1) -> httpx.Response:
    results = [
        {
            "company": {
                "company_id": f"id-{stem}",
                "name": stem.title(),
                "website": f"https://{stem}.com",
                "domain": f"{stem}.com",
                "linkedin_url": f"https://www.linkedin.com/company/{stem}",
                "industry": "Software Development",
                "employee_count": 100,
            }
        }
        for stem in stems
    ]
    pagination = {"current_page": 1, "per_page": 25, "total_page": total_pages, "total_count": len(stems)}
    return httpx.Response(200, json={"error": False, "results": results, "pagination": pagination})


def _blitz_page(*stems: str, cursor: str | None = None) -> httpx.Response:
    results = [
        {
            # the same company as Prospeo's, spelled differently: the LinkedIn URL decides identity
            "linkedin_url": f"https://www.linkedin.com/company/{stem.upper()}",
            "name": f"{stem.title()} (blitz)",
            "industry": "Software Development",
            "size": "51-200",
            "domain": f"{stem}.com",
            "website": f"https://{stem}.com",
        }
        for stem in stems
    ]
    body = {"total_results": 40, "results": results, "results_length": len(results), "max_results": 25}
    return httpx.Response(200, json={**body, "cursor": cursor})


@pytest.fixture
async def tenant(conn):
    return await create_tenant(conn)


async def _search(client, tenant, limit: int, order=("prospeo", "blitzapi")):
    r = await client.post(
        "/api/v1/execute",
        json={
            "operation_id": "company.search",
            "entity_type": "company",
            "input": {"company_names": ["Acme", "Beta", "Gamma"], "limit": limit},
            "options": {"providers": list(order)},
        },
        headers=tenant.headers(Role.member),
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]


@respx.mock
async def test_results_are_merged_in_provider_order_without_cross_provider_duplicates(pclient, tenant):
    respx.get(base_url("blitzapi") + "/v2/account/key-info").mock(
        return_value=httpx.Response(200, json={"valid": True})
    )
    respx.post(PROSPEO_SEARCH).mock(return_value=_prospeo_page("acme", "beta"))
    blitz = respx.post(BLITZ_SEARCH).mock(return_value=_blitz_page("beta", "gamma", "acme", cursor="b2"))

    result = await _search(pclient, tenant, limit=5)

    assert result["status"] == "found"
    companies = result["output"]["companies"]
    assert [c["domain"] for c in companies] == ["acme.com", "beta.com", "gamma.com"]
    # a duplicate keeps the first provider's row, not the later provider's spelling
    assert [c["name"] for c in companies] == ["Acme", "Beta", "Gamma (blitz)"]
    assert [c.get("source") for c in companies] == ["prospeo", "prospeo", "blitzapi"]
    assert result["output"]["next_cursors"] == {"prospeo": None, "blitzapi": "b2"}
    # Blitz was asked only for the 3 rows still missing, not for the whole limit of 5
    assert json.loads(blitz.calls.last.request.content)["max_results"] == 3
    assert [a["provider"] for a in result["provider_attempts"]] == ["prospeo", "blitzapi"]


@respx.mock
async def test_a_provider_that_fills_the_limit_ends_the_search_and_the_rows_are_cut_to_it(pclient, tenant):
    respx.post(PROSPEO_SEARCH).mock(return_value=_prospeo_page("acme", "beta", "gamma", total_pages=2))
    blitz = respx.post(BLITZ_SEARCH).mock(return_value=_blitz_page("delta"))

    result = await _search(pclient, tenant, limit=2)

    assert [c["domain"] for c in result["output"]["companies"]] == ["acme.com", "beta.com"]
    assert result["output"]["next_cursors"] == {"prospeo": 2}
    assert blitz.call_count == 0
    assert [a["provider"] for a in result["provider_attempts"]] == ["prospeo"]


@respx.mock
async def test_the_first_provider_is_asked_for_the_callers_limit(pclient, tenant):
    respx.get(base_url("blitzapi") + "/v2/account/key-info").mock(
        return_value=httpx.Response(200, json={"valid": True})
    )
    blitz = respx.post(BLITZ_SEARCH).mock(return_value=_blitz_page("acme"))

    result = await _search(pclient, tenant, limit=7, order=("blitzapi",))

    assert json.loads(blitz.calls.last.request.content)["max_results"] == 7
    assert [c["domain"] for c in result["output"]["companies"]] == ["acme.com"]
