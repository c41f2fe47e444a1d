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
            # each test's answers differ from the last for the same input: never the result cache
            "options": {"providers": list(order), "cache": False},
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


PROSPEO_PEOPLE = base_url("prospeo") + "/search-person"
BLITZ_PEOPLE = base_url("blitzapi") + "/v2/search/people"
KEY_INFO = base_url("blitzapi") + "/v2/account/key-info"


def _prospeo_people(*people: tuple[str, str | None, str | None]) -> httpx.Response:
    """(full name, LinkedIn URL or None, company domain or None) per row."""
    results = [
        {
            "person": {"person_id": f"p{i}", "full_name": name, "current_job_title": "CEO", "linkedin_url": url},
            "company": {"name": "Co", "domain": domain},
        }
        for i, (name, url, domain) in enumerate(people)
    ]
    pagination = {"current_page": 1, "per_page": 25, "total_page": 1, "total_count": len(results)}
    return httpx.Response(200, json={"error": False, "results": results, "pagination": pagination})


def _blitz_people(*people: tuple[str, str | None, str]) -> httpx.Response:
    results = [
        {
            "first_name": name.split()[0],
            "last_name": name.split()[-1],
            "full_name": name,
            "linkedin_url": url,
            "experiences": [
                {"job_title": "CEO", "company_name": "X", "company_domain": domain, "job_is_current": True}
            ],
        }
        for name, url, domain in people
    ]
    body = {"total_results": len(results), "results": results, "results_length": len(results), "max_results": 25}
    return httpx.Response(200, json={**body, "cursor": None})


async def _people(client, tenant, limit: int | None = 10):
    r = await client.post(
        "/api/v1/execute",
        json={
            "operation_id": "person.search",
            "entity_type": "person",
            "input": {"job_titles": ["CEO"], **({"limit": limit} if limit else {})},
            "options": {"providers": ["prospeo", "blitzapi"]},
        },
        headers=tenant.headers(Role.member),
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]


@respx.mock
async def test_people_are_one_by_linkedin_url_else_by_name_and_company_domain(pclient, tenant):
    respx.get(KEY_INFO).mock(return_value=httpx.Response(200, json={"valid": True}))
    respx.post(PROSPEO_PEOPLE).mock(
        return_value=_prospeo_people(
            ("Ada Lovelace", "https://www.linkedin.com/in/ada", "acme.com"),
            ("Alan Turing", None, "bletchley.org"),
            # neither a LinkedIn URL nor a company domain: no identity, kept as is
            ("Solo Person", None, None),
        )
    )
    respx.post(BLITZ_PEOPLE).mock(
        return_value=_blitz_people(
            # the same LinkedIn profile, another company domain (a job change): still Ada
            ("Ada King", "https://www.linkedin.com/in/ADA", "other.com"),
            # no LinkedIn URL: the same name at the same company, spelled in another case, is Alan
            ("ALAN TURING", None, "Bletchley.org"),
            # the same name at another company is someone else
            ("Alan Turing", None, "manchester.ac.uk"),
            ("Grace Hopper", "https://www.linkedin.com/in/grace", "navy.mil"),
        )
    )

    result = await _people(pclient, tenant)

    people = result["output"]["people"]
    assert [(p["full_name"], p["source"]) for p in people] == [
        ("Ada Lovelace", "prospeo"),
        ("Alan Turing", "prospeo"),
        ("Solo Person", "prospeo"),
        ("Alan Turing", "blitzapi"),
        ("Grace Hopper", "blitzapi"),
    ]
    assert people[3]["company_domain"] == "manchester.ac.uk"


@respx.mock
async def test_companies_without_a_linkedin_url_are_one_by_domain(pclient, tenant):
    respx.get(KEY_INFO).mock(return_value=httpx.Response(200, json={"valid": True}))
    respx.post(PROSPEO_SEARCH).mock(return_value=_prospeo_page("acme"))
    page = _blitz_page("acme", "zeta").json()
    for row in page["results"]:
        row["linkedin_url"] = None
    page["results"][0]["domain"] = "ACME.com"
    respx.post(BLITZ_SEARCH).mock(return_value=httpx.Response(200, json=page))

    result = await _search(pclient, tenant, limit=5)

    # Prospeo's acme has a LinkedIn URL, Blitz's has none: they share no key, so both stay;
    # Blitz's two rows have only domains, and zeta is new
    assert [c["domain"] for c in result["output"]["companies"]] == ["acme.com", "acme.com", "zeta.com"]


@respx.mock
async def test_rows_with_only_a_domain_are_merged_across_providers(pclient, tenant):
    respx.get(KEY_INFO).mock(return_value=httpx.Response(200, json={"valid": True}))
    prospeo_page = _prospeo_page("acme", "beta").json()
    for row in prospeo_page["results"]:
        row["company"]["linkedin_url"] = None
    respx.post(PROSPEO_SEARCH).mock(return_value=httpx.Response(200, json=prospeo_page))
    blitz_page = _blitz_page("beta", "gamma").json()
    for row in blitz_page["results"]:
        row["linkedin_url"] = None
    blitz_page["results"][0]["domain"] = "BETA.com"
    respx.post(BLITZ_SEARCH).mock(return_value=httpx.Response(200, json=blitz_page))

    result = await _search(pclient, tenant, limit=5)

    assert [c["domain"] for c in result["output"]["companies"]] == ["acme.com", "beta.com", "gamma.com"]
    assert [c["source"] for c in result["output"]["companies"]] == ["prospeo", "prospeo", "blitzapi"]


@respx.mock
async def test_an_exhausted_provider_gets_no_cursor_and_a_failing_one_does_not_stop_the_rest(pclient, tenant):
    respx.get(KEY_INFO).mock(return_value=httpx.Response(200, json={"valid": True}))
    respx.post(PROSPEO_SEARCH).mock(return_value=httpx.Response(200, json={"error": True, "error_code": "NO_RESULTS"}))
    respx.post(BLITZ_SEARCH).mock(return_value=_blitz_page("acme", cursor="b2"))

    result = await _search(pclient, tenant, limit=5)

    assert result["status"] == "found"
    assert result["output"]["next_cursors"] == {"prospeo": None, "blitzapi": "b2"}
    assert [c["domain"] for c in result["output"]["companies"]] == ["acme.com"]

    respx.post(PROSPEO_SEARCH).mock(return_value=httpx.Response(500))
    result = await _search(pclient, tenant, limit=5)
    assert result["status"] == "found"
    assert [a["status"] for a in result["provider_attempts"]] == ["failed", "found"]
    assert result["output"]["next_cursors"] == {"blitzapi": "b2"}


@respx.mock
async def test_no_rows_anywhere_is_not_found_with_every_attempt(pclient, tenant):
    respx.get(KEY_INFO).mock(return_value=httpx.Response(200, json={"valid": True}))
    respx.post(PROSPEO_SEARCH).mock(return_value=httpx.Response(200, json={"error": True, "error_code": "NO_RESULTS"}))
    respx.post(BLITZ_SEARCH).mock(return_value=httpx.Response(500))

    result = await _search(pclient, tenant, limit=5)

    assert result["status"] == "not_found" and result["output"] is None
    assert [(a["provider"], a["status"]) for a in result["provider_attempts"]] == [
        ("prospeo", "not_found"),
        ("blitzapi", "failed"),
    ]


@respx.mock
async def test_the_default_limit_is_25(pclient, tenant):
    respx.get(KEY_INFO).mock(return_value=httpx.Response(200, json={"valid": True}))
    respx.post(PROSPEO_PEOPLE).mock(return_value=_prospeo_people(("Ada Lovelace", None, "acme.com")))
    blitz = respx.post(BLITZ_PEOPLE).mock(return_value=_blitz_people(("Grace Hopper", None, "navy.mil")))

    result = await _people(pclient, tenant, limit=None)

    assert json.loads(blitz.calls.last.request.content)["max_results"] == 24
    assert len(result["output"]["people"]) == 2
