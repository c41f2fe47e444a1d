import json

import httpx
import pytest
import respx

from app.contracts.entities import CompanyInput, CompanyProfile, CompanySearchOutput, PersonSearchOutput, SearchInput
from app.providers import prospeo
from app.providers._http import (
    ProviderAuthError,
    ProviderMalformedResponse,
    ProviderServerError,
    ProviderTimeoutError,
)
from app.providers.base import AttemptStatus
from tests.providers.conftest import TEST_KEY, base_url, retry_at

ENRICH = base_url("prospeo") + "/enrich-company"
SEARCH_PERSON = base_url("prospeo") + "/search-person"
SEARCH_COMPANY = base_url("prospeo") + "/search-company"
COMPANY = CompanyInput(domain="https://www.Acme.com/about", linkedin_url="linkedin.com/company/Acme", name="Acme")
PEOPLE_QUERY = SearchInput(
    company_domains=["www.acme.com"], company_names=["Acme"], job_titles=["Head of Sales"], seniorities=["Director"]
)
COMPANY_QUERY = SearchInput(company_domains=["acme.com", "not a domain"], company_names=["Acme"])

ACME = {
    "company_id": "cccc7c7da6116a8830a07100",
    "name": "Acme",
    "website": "https://acme.com",
    "domain": "acme.com",
    "type": "Private",
    "industry": "Software Development",
    "employee_count": 140,
    "employee_range": "51-200",
    "location": {"country": "United States", "country_code": "US", "state": "Texas", "city": "Austin"},
    "linkedin_url": "https://www.linkedin.com/company/acme",
    "founded": 2015,
    "description": "Workflow software.",
    "logo_url": "https://cdn.example/acme.png",
}


def _error(code: str, status: int = 400, **extra) -> httpx.Response:
    return httpx.Response(status, json={"error": True, "error_code": code, **extra})


def _people_page(rows: int, current: int = 1, total: int = 3) -> httpx.Response:
    results = [
        {
            "person": {
                "person_id": f"p{i}",
                "full_name": f"Jane Doe{i}",
                "current_job_title": "Director of Sales",
                "linkedin_url": f"https://linkedin.com/in/JaneDoe{i}/",
            },
            "company": {"name": "Acme", "domain": "www.acme.com"},
        }
        for i in range(rows)
    ]
    pagination = {"current_page": current, "per_page": 25, "total_page": total, "total_count": 25 * total}
    return httpx.Response(200, json={"error": False, "results": results, "pagination": pagination})


def _company_page(current: int = 1, total: int = 1) -> httpx.Response:
    pagination = {"current_page": current, "per_page": 25, "total_page": total, "total_count": 1}
    return httpx.Response(200, json={"error": False, "results": [{"company": ACME}], "pagination": pagination})


def _enriched() -> httpx.Response:
    return httpx.Response(200, json={"error": False, "free_enrichment": False, "company": ACME})


# (action, input, url, a success answer factory) for the checks every action shares
ACTIONS = [
    pytest.param(prospeo.enrich_company, COMPANY, ENRICH, _enriched, id="enrich_company"),
    pytest.param(prospeo.search_people, PEOPLE_QUERY, SEARCH_PERSON, lambda: _people_page(1), id="search_people"),
    pytest.param(prospeo.search_companies, COMPANY_QUERY, SEARCH_COMPANY, _company_page, id="search_companies"),
]


class TestEveryAction:
    @pytest.mark.parametrize(("run", "data", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_sends_the_key_and_the_json_content_type(self, provider_ctx, run, data, url, answer):
        route = respx.post(url).mock(return_value=answer())
        outcome = await run(data, provider_ctx("prospeo"))
        request = route.calls.last.request
        assert outcome.status is AttemptStatus.found
        assert request.method == "POST"
        assert request.headers["x-key"] == TEST_KEY
        assert request.headers["content-type"] == "application/json"

    @pytest.mark.parametrize(("run", "data", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_an_invalid_key_is_an_auth_failure_without_retry(self, provider_ctx, run, data, url, answer):
        route = respx.post(url).mock(return_value=_error("INVALID_API_KEY", 401))
        with pytest.raises(ProviderAuthError) as e:
            await run(data, provider_ctx("prospeo"))
        assert route.call_count == 1 and e.value.body == {"error": True, "error_code": "INVALID_API_KEY"}

    @pytest.mark.parametrize(("run", "data", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_a_429_then_success_honours_retry_after(self, provider_ctx, clock, run, data, url, answer):
        limited = httpx.Response(
            429, headers={"Retry-After": retry_at(clock, 42)}, json={"error": True, "error_code": "RATE_LIMITED"}
        )
        route = respx.post(url).mock(side_effect=[limited, answer()])
        outcome = await run(data, provider_ctx("prospeo"))
        assert outcome.status is AttemptStatus.found and route.call_count == 2
        # the provider's Retry-After is the wait, not the short backoff
        assert clock.sleeps == [42.0]

    @pytest.mark.parametrize(("run", "data", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_a_5xx_is_retried_then_reported(self, provider_ctx, run, data, url, answer):
        route = respx.post(url).mock(return_value=httpx.Response(502, text="bad gateway"))
        with pytest.raises(ProviderServerError) as e:
            await run(data, provider_ctx("prospeo"))
        assert route.call_count == 3 and e.value.status_code == 502

    @pytest.mark.parametrize(("run", "data", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_a_read_timeout_on_the_post_is_not_resent(self, provider_ctx, run, data, url, answer):
        route = respx.post(url).mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(ProviderTimeoutError):
            await run(data, provider_ctx("prospeo"))
        assert route.call_count == 1

    @pytest.mark.parametrize(("run", "data", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_malformed_json_is_a_failure(self, provider_ctx, run, data, url, answer):
        respx.post(url).mock(return_value=httpx.Response(200, text="<html>maintenance</html>"))
        with pytest.raises(ProviderMalformedResponse):
            await run(data, provider_ctx("prospeo"))

    @pytest.mark.parametrize(("run", "data", "url", "answer"), ACTIONS)
    @pytest.mark.parametrize(
        "code", ["INSUFFICIENT_CREDITS", "INVALID_DATAPOINTS", "INVALID_REQUEST", "ACCOUNT_RESTRICTED"]
    )
    @respx.mock
    async def test_other_400_codes_are_failures_with_the_code_kept(self, provider_ctx, run, data, url, answer, code):
        route = respx.post(url).mock(return_value=_error(code))
        outcome = await run(data, provider_ctx("prospeo"))
        assert outcome.status is AttemptStatus.failed and route.call_count == 1
        assert outcome.provider_status == code and outcome.error == code and outcome.http_status == 400
        assert outcome.raw == {"error": True, "error_code": code}

    @pytest.mark.parametrize(("run", "data", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_an_error_reported_with_http_200_is_a_failure(self, provider_ctx, run, data, url, answer):
        respx.post(url).mock(return_value=_error("INSUFFICIENT_CREDITS", 200))
        outcome = await run(data, provider_ctx("prospeo"))
        assert outcome.status is AttemptStatus.failed
        assert outcome.provider_status == "INSUFFICIENT_CREDITS" and outcome.http_status == 200

    @pytest.mark.parametrize(("run", "data", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_internal_error_is_resent_then_succeeds(self, provider_ctx, run, data, url, answer):
        route = respx.post(url).mock(side_effect=[_error("INTERNAL_ERROR"), answer()])
        outcome = await run(data, provider_ctx("prospeo"))
        assert outcome.status is AttemptStatus.found and route.call_count == 2

    @pytest.mark.parametrize(("run", "data", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_internal_error_exhausted_is_a_failure(self, provider_ctx, run, data, url, answer):
        route = respx.post(url).mock(return_value=_error("INTERNAL_ERROR"))
        outcome = await run(data, provider_ctx("prospeo"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "INTERNAL_ERROR"
        assert route.call_count == 3


class TestEnrichCompany:
    @respx.mock
    async def test_request_body_carries_every_known_datapoint(self, provider_ctx):
        route = respx.post(ENRICH).mock(return_value=_enriched())
        await prospeo.enrich_company(COMPANY, provider_ctx("prospeo"))
        assert json.loads(route.calls.last.request.content) == {
            "data": {
                "company_website": "acme.com",
                "company_linkedin_url": "https://www.linkedin.com/company/acme",
                "company_name": "Acme",
            }
        }

    @respx.mock
    async def test_a_name_alone_is_sent_alone(self, provider_ctx):
        route = respx.post(ENRICH).mock(return_value=_enriched())
        await prospeo.enrich_company(CompanyInput(name="Acme"), provider_ctx("prospeo"))
        assert json.loads(route.calls.last.request.content) == {"data": {"company_name": "Acme"}}

    @respx.mock
    async def test_found_maps_to_the_canonical_profile(self, provider_ctx):
        respx.post(ENRICH).mock(return_value=_enriched())
        outcome = await prospeo.enrich_company(COMPANY, provider_ctx("prospeo"))
        assert outcome.status is AttemptStatus.found and outcome.http_status == 200
        assert outcome.output == {
            "name": "Acme",
            "domain": "acme.com",
            "website": "https://acme.com",
            "linkedin_url": "https://www.linkedin.com/company/acme",
            "industry": "Software Development",
            "employee_count": 140,
            "employee_range": "51-200",
            "founded_year": 2015,
            "description": "Workflow software.",
            "hq_city": "Austin",
            "hq_region": "Texas",
            "hq_country": "US",
            "logo_url": "https://cdn.example/acme.png",
            "profile_source": "prospeo",
        }
        CompanyProfile.model_validate(outcome.output)
        assert outcome.raw["company"]["company_id"] == "cccc7c7da6116a8830a07100"

    @respx.mock
    async def test_null_properties_stay_null(self, provider_ctx):
        sparse = {"name": "Acme", "domain": None, "website": "https://www.acme.com", "location": None, "founded": None}
        respx.post(ENRICH).mock(return_value=httpx.Response(200, json={"error": False, "company": sparse}))
        outcome = await prospeo.enrich_company(COMPANY, provider_ctx("prospeo"))
        assert outcome.status is AttemptStatus.found
        assert outcome.output["domain"] == "acme.com"  # from the website when `domain` is null
        assert outcome.output["hq_country"] is None and outcome.output["founded_year"] is None
        CompanyProfile.model_validate(outcome.output)

    @respx.mock
    async def test_no_match_is_not_found(self, provider_ctx):
        respx.post(ENRICH).mock(return_value=_error("NO_MATCH"))
        outcome = await prospeo.enrich_company(COMPANY, provider_ctx("prospeo"))
        assert outcome.status is AttemptStatus.not_found
        assert outcome.provider_status == "NO_MATCH" and outcome.http_status == 400 and outcome.output is None

    @respx.mock
    async def test_a_success_without_a_company_is_a_failure(self, provider_ctx):
        respx.post(ENRICH).mock(return_value=httpx.Response(200, json={"error": False}))
        outcome = await prospeo.enrich_company(COMPANY, provider_ctx("prospeo"))
        assert outcome.status is AttemptStatus.failed and outcome.error == "no company in the answer"


class TestSearchPeople:
    @respx.mock
    async def test_request_maps_only_the_documented_filters(self, provider_ctx):
        route = respx.post(SEARCH_PERSON).mock(return_value=_people_page(1))
        await prospeo.search_people(PEOPLE_QUERY, provider_ctx("prospeo"))
        request = route.calls.last.request
        assert request.url.path == "/search-person"
        assert json.loads(request.content) == {
            "page": 1,
            "filters": {
                "company": {"websites": {"include": ["acme.com"]}, "names": {"include": ["Acme"]}},
                "person_job_title": {"include": ["Head of Sales"]},
                "person_seniority": {"include": ["Director"]},
            },
        }

    @respx.mock
    async def test_found_maps_people_and_gives_the_next_page(self, provider_ctx):
        respx.post(SEARCH_PERSON).mock(return_value=_people_page(2, current=1, total=3))
        outcome = await prospeo.search_people(PEOPLE_QUERY, provider_ctx("prospeo"))
        assert outcome.status is AttemptStatus.found
        assert outcome.output["next_cursors"] == {"prospeo": 2}
        assert outcome.output["people"][0] == {
            "full_name": "Jane Doe0",
            "title": "Director of Sales",
            "linkedin_url": "https://www.linkedin.com/in/janedoe0",
            "company_name": "Acme",
            "company_domain": "acme.com",
            "source": "prospeo",
        }
        PersonSearchOutput.model_validate(outcome.output)

    @respx.mock
    async def test_resumes_from_the_cursor_and_ends_on_the_last_page(self, provider_ctx):
        route = respx.post(SEARCH_PERSON).mock(return_value=_people_page(1, current=3, total=3))
        data = PEOPLE_QUERY.model_copy(update={"cursors": {"prospeo": 3, "blitzapi": "abc"}})
        outcome = await prospeo.search_people(data, provider_ctx("prospeo"))
        assert json.loads(route.calls.last.request.content)["page"] == 3
        assert outcome.output["next_cursors"] == {"prospeo": None}

    @respx.mock
    async def test_a_page_is_cut_to_the_limit(self, provider_ctx):
        respx.post(SEARCH_PERSON).mock(return_value=_people_page(25))
        data = PEOPLE_QUERY.model_copy(update={"limit": 10})
        outcome = await prospeo.search_people(data, provider_ctx("prospeo"))
        assert len(outcome.output["people"]) == 10 and len(outcome.raw["results"]) == 25

    @respx.mock
    async def test_no_results_is_not_found(self, provider_ctx):
        respx.post(SEARCH_PERSON).mock(return_value=_error("NO_RESULTS"))
        outcome = await prospeo.search_people(PEOPLE_QUERY, provider_ctx("prospeo"))
        assert outcome.status is AttemptStatus.not_found and outcome.provider_status == "NO_RESULTS"

    @respx.mock
    async def test_an_empty_page_is_not_found(self, provider_ctx):
        respx.post(SEARCH_PERSON).mock(return_value=_people_page(0))
        outcome = await prospeo.search_people(PEOPLE_QUERY, provider_ctx("prospeo"))
        assert outcome.status is AttemptStatus.not_found

    @respx.mock
    async def test_invalid_filters_keep_the_filter_error(self, provider_ctx):
        respx.post(SEARCH_PERSON).mock(
            return_value=_error("INVALID_FILTERS", filter_error="person_seniority: unknown value 'vp'")
        )
        outcome = await prospeo.search_people(PEOPLE_QUERY, provider_ctx("prospeo"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "INVALID_FILTERS"
        assert outcome.error == "INVALID_FILTERS: person_seniority: unknown value 'vp'"

    @pytest.mark.parametrize(
        ("data", "reason"),
        [
            (PEOPLE_QUERY, None),
            (SearchInput(job_titles=["CTO"]), None),
            (SearchInput(job_titles=["CTO"], locations=["US"]), "unsupported_filter:locations"),
            (SearchInput(query="fintech", industries=["Banking"]), "unsupported_filter:query,industries"),
            (
                SearchInput(company_domains=["not a domain"]),
                "missing_input:company_domains|company_names|job_titles|seniorities",
            ),
            (SearchInput(job_titles=["CTO"], cursors={"prospeo": "next"}), "invalid_cursor"),
            (SearchInput(job_titles=["CTO"], cursors={"prospeo": 1001}), "invalid_cursor"),
            (SearchInput(job_titles=["CTO"], cursors={"prospeo": None}), "no_more_results"),
        ],
    )
    def test_eligibility(self, data, reason):
        assert prospeo.eligible_person_search(data) == reason
        assert prospeo.ACTIONS["person.search"].eligible is prospeo.eligible_person_search


class TestSearchCompanies:
    @respx.mock
    async def test_request_and_mapping(self, provider_ctx):
        route = respx.post(SEARCH_COMPANY).mock(return_value=_company_page(current=1, total=1))
        outcome = await prospeo.search_companies(COMPANY_QUERY, provider_ctx("prospeo"))
        assert route.calls.last.request.url.path == "/search-company"
        assert json.loads(route.calls.last.request.content) == {
            "page": 1,
            "filters": {"company": {"websites": {"include": ["acme.com"]}, "names": {"include": ["Acme"]}}},
        }
        assert outcome.status is AttemptStatus.found
        assert outcome.output == {
            "companies": [
                {
                    "name": "Acme",
                    "domain": "acme.com",
                    "linkedin_url": "https://www.linkedin.com/company/acme",
                    "industry": "Software Development",
                    "employee_count": 140,
                    "employee_range": "51-200",
                    "hq_country": "US",
                    "source": "prospeo",
                }
            ],
            "next_cursors": {"prospeo": None},
        }
        CompanySearchOutput.model_validate(outcome.output)

    @respx.mock
    async def test_no_results_is_not_found(self, provider_ctx):
        respx.post(SEARCH_COMPANY).mock(return_value=_error("NO_RESULTS"))
        outcome = await prospeo.search_companies(COMPANY_QUERY, provider_ctx("prospeo"))
        assert outcome.status is AttemptStatus.not_found and outcome.http_status == 400

    @pytest.mark.parametrize(
        ("data", "reason"),
        [
            (COMPANY_QUERY, None),
            (SearchInput(company_names=["Acme"], job_titles=["CTO"]), "unsupported_filter:job_titles"),
            (SearchInput(employee_ranges=["51-200"]), "unsupported_filter:employee_ranges"),
        ],
    )
    def test_eligibility(self, data, reason):
        assert prospeo.eligible_company_search(data) == reason
        assert prospeo.ACTIONS["company.search"].eligible is prospeo.eligible_company_search
