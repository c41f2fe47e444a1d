import json

import httpx
import pytest
import respx

from app.contracts.entities import (
    CompanyInput,
    CompanyProfile,
    CompanySearchOutput,
    PersonSearchOutput,
    SearchInput,
    TechnographicsOutput,
)
from app.providers import companyenrich
from app.providers._http import (
    ProviderAuthError,
    ProviderCreditsError,
    ProviderMalformedResponse,
    ProviderServerError,
    ProviderTimeoutError,
)
from app.providers.base import AttemptStatus
from tests.providers.conftest import TEST_KEY, base_url

ROOT = base_url("companyenrich")
ENRICH = ROOT + "/companies/enrich"
SEARCH_COMPANIES = ROOT + "/companies/search"
SEARCH_PEOPLE = ROOT + "/people/search"

COMPANY = CompanyInput(website="https://www.Acme.com/pricing", name="Acme")
COMPANY_QUERY = SearchInput(query="acme", locations=["us"], employee_ranges=["51-200", "1001-5000", "over-10K"])
PEOPLE_QUERY = SearchInput(
    company_domains=["https://www.acme.com", "globex.io"],
    job_titles=["Head of Sales", "VP Sales"],
    seniorities=["Vice President", "C-Suite", "director"],
    locations=["US"],
)

# a vendor-published response shape [§7.1, C2]: `revenue`, `type` and `financial` are left out
ACME = {
    "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "name": "Acme",
    "domain": "acme.com",
    "website": "https://acme.com",
    "industry": "Software",
    "industries": ["Software"],
    "employees": "501-1K",
    "description": "Workflow software.",
    "founded_year": 2015,
    "location": {
        "country": {"code": "US", "name": "United States"},
        "state": {"name": "Texas", "code": "TX"},
        "city": {"name": "Austin"},
        "address": "1 Main St",
    },
    "socials": {"linkedin_url": "https://linkedin.com/company/acme/", "linkedin_id": "48213"},
    "logo_url": "https://cdn.example/acme.png",
    "updated_at": "2026-05-01T00:00:00Z",
}
JANE = {
    "id": 7,
    "name": "Jane Doe",
    "first_name": "Jane",
    "last_name": "Doe",
    "position": "Head of Sales",
    "seniority": "head",
    "department": "sales",
    "location": {"country": {"code": "US", "name": "United States"}},
    "socials": {"linkedin_url": "https://www.linkedin.com/in/JaneDoe"},
    "experiences": [],
}


def _enriched() -> httpx.Response:
    return httpx.Response(200, json=ACME)


def _companies_page(page: int = 1, total_pages: int = 4, items=None) -> httpx.Response:
    items = [ACME] if items is None else items
    return httpx.Response(200, json={"items": items, "page": page, "totalPages": total_pages, "totalItems": 90})


def _people_page(page: int = 1, total_pages: int = 2) -> httpx.Response:
    return httpx.Response(200, json={"items": [JANE], "page": page, "totalPages": total_pages, "totalItems": 30})


# (action, input, method, url, a success answer factory) for the checks every action shares
ACTIONS = [
    pytest.param(companyenrich.enrich_company, COMPANY, "GET", ENRICH, _enriched, id="enrich_company"),
    pytest.param(
        companyenrich.search_companies, COMPANY_QUERY, "POST", SEARCH_COMPANIES, _companies_page, id="search_companies"
    ),
    pytest.param(companyenrich.search_people, PEOPLE_QUERY, "POST", SEARCH_PEOPLE, _people_page, id="search_people"),
]


class TestEveryAction:
    @pytest.mark.parametrize(("run", "data", "method", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_sends_the_key_as_a_bearer_token(self, provider_ctx, run, data, method, url, answer):
        route = respx.route(method=method, url__startswith=url).mock(return_value=answer())
        outcome = await run(data, provider_ctx("companyenrich"))
        request = route.calls.last.request
        assert outcome.status is AttemptStatus.found
        assert request.method == method
        assert request.headers["authorization"] == f"Bearer {TEST_KEY}"

    @pytest.mark.parametrize(("run", "data", "method", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_an_invalid_key_is_an_auth_failure_without_retry(self, provider_ctx, run, data, method, url, answer):
        route = respx.route(method=method, url__startswith=url).mock(
            return_value=httpx.Response(401, json={"title": "Unauthorized", "status": 401})
        )
        with pytest.raises(ProviderAuthError):
            await run(data, provider_ctx("companyenrich"))
        assert route.call_count == 1

    @pytest.mark.parametrize(("run", "data", "method", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_no_credits_is_not_retried(self, provider_ctx, run, data, method, url, answer):
        route = respx.route(method=method, url__startswith=url).mock(
            return_value=httpx.Response(402, json={"title": "Payment Required", "status": 402})
        )
        with pytest.raises(ProviderCreditsError):
            await run(data, provider_ctx("companyenrich"))
        assert route.call_count == 1

    @pytest.mark.parametrize(("run", "data", "method", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_a_422_is_an_input_failure_with_the_message(self, provider_ctx, run, data, method, url, answer):
        problem = {"title": "Unprocessable Entity", "status": 422, "detail": "pageSize must be between 1 and 100"}
        respx.route(method=method, url__startswith=url).mock(
            return_value=httpx.Response(422, json=problem, headers={"content-type": "application/problem+json"})
        )
        outcome = await run(data, provider_ctx("companyenrich"))
        assert outcome.status is AttemptStatus.failed and outcome.http_status == 422
        assert outcome.provider_status == "validation_error"
        assert outcome.error == "pageSize must be between 1 and 100" and outcome.raw == problem

    @pytest.mark.parametrize(("run", "data", "method", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_a_400_is_a_failure_with_the_message(self, provider_ctx, run, data, method, url, answer):
        respx.route(method=method, url__startswith=url).mock(
            return_value=httpx.Response(400, json={"error": "Bad Request", "message": "invalid domain"})
        )
        outcome = await run(data, provider_ctx("companyenrich"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "bad_request"
        assert outcome.error == "Bad Request"

    @pytest.mark.parametrize(("run", "data", "method", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_a_429_then_success_honours_retry_after(self, provider_ctx, clock, run, data, method, url, answer):
        route = respx.route(method=method, url__startswith=url).mock(
            side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), answer()]
        )
        outcome = await run(data, provider_ctx("companyenrich"))
        assert outcome.status is AttemptStatus.found and route.call_count == 2
        # the provider's Retry-After is the wait, not the short backoff
        assert clock.sleeps == [7.0]

    @pytest.mark.parametrize(("run", "data", "method", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_a_5xx_is_retried_then_reported(self, provider_ctx, run, data, method, url, answer):
        route = respx.route(method=method, url__startswith=url).mock(return_value=httpx.Response(503, text="busy"))
        with pytest.raises(ProviderServerError) as e:
            await run(data, provider_ctx("companyenrich"))
        assert route.call_count == 3 and e.value.status_code == 503

    @pytest.mark.parametrize(
        ("run", "data", "method", "url", "calls"),
        [
            pytest.param(companyenrich.enrich_company, COMPANY, "GET", ENRICH, 3, id="enrich_get_is_retried"),
            pytest.param(
                companyenrich.search_companies, COMPANY_QUERY, "POST", SEARCH_COMPANIES, 1, id="search_post_is_not"
            ),
            pytest.param(companyenrich.search_people, PEOPLE_QUERY, "POST", SEARCH_PEOPLE, 1, id="people_post_is_not"),
        ],
    )
    @respx.mock
    async def test_a_read_timeout(self, provider_ctx, run, data, method, url, calls):
        route = respx.route(method=method, url__startswith=url).mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(ProviderTimeoutError):
            await run(data, provider_ctx("companyenrich"))
        assert route.call_count == calls

    @pytest.mark.parametrize(("run", "data", "method", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_malformed_json_is_a_failure(self, provider_ctx, run, data, method, url, answer):
        respx.route(method=method, url__startswith=url).mock(return_value=httpx.Response(200, text="<html>oops"))
        with pytest.raises(ProviderMalformedResponse):
            await run(data, provider_ctx("companyenrich"))


EXPECTED_PROFILE = {
    "name": "Acme",
    "domain": "acme.com",
    "website": "https://acme.com",
    "linkedin_url": "https://www.linkedin.com/company/acme",
    "industry": "Software",
    "employee_range": "501-1000",
    "founded_year": 2015,
    "description": "Workflow software.",
    "hq_city": "Austin",
    "hq_region": "Texas",
    "hq_country": "US",
    "logo_url": "https://cdn.example/acme.png",
    "profile_source": "companyenrich",
}


class TestEnrichCompany:
    @respx.mock
    async def test_request_is_a_get_with_the_bare_domain(self, provider_ctx):
        route = respx.get(ENRICH).mock(return_value=_enriched())
        await companyenrich.enrich_company(COMPANY, provider_ctx("companyenrich"))
        request = route.calls.last.request
        assert request.url.path == "/companies/enrich"
        assert dict(request.url.params) == {"domain": "acme.com"}
        assert request.content == b""

    @respx.mock
    async def test_found_maps_to_the_canonical_profile(self, provider_ctx):
        respx.get(ENRICH).mock(return_value=_enriched())
        outcome = await companyenrich.enrich_company(COMPANY, provider_ctx("companyenrich"))
        assert outcome.status is AttemptStatus.found and outcome.http_status == 200
        assert outcome.output == EXPECTED_PROFILE
        CompanyProfile.model_validate(outcome.output)
        assert outcome.raw["id"] == "3fa85f64-5717-4562-b3fc-2c963f66afa6"

    @respx.mock
    async def test_missing_keys_are_nulls(self, provider_ctx):
        respx.get(ENRICH).mock(return_value=httpx.Response(200, json={"name": "Acme", "domain": "acme.com"}))
        outcome = await companyenrich.enrich_company(COMPANY, provider_ctx("companyenrich"))
        assert outcome.status is AttemptStatus.found
        assert outcome.output == {
            "name": "Acme",
            "domain": "acme.com",
            "website": None,
            "linkedin_url": None,
            "industry": None,
            "employee_range": None,
            "founded_year": None,
            "description": None,
            "hq_city": None,
            "hq_region": None,
            "hq_country": None,
            "logo_url": None,
            "profile_source": "companyenrich",
        }

    @pytest.mark.parametrize("wrapper", ["company", "data"])
    @respx.mock
    async def test_a_wrapped_company_is_unwrapped(self, provider_ctx, wrapper):
        respx.get(ENRICH).mock(return_value=httpx.Response(200, json={wrapper: ACME}))
        outcome = await companyenrich.enrich_company(COMPANY, provider_ctx("companyenrich"))
        assert outcome.status is AttemptStatus.found and outcome.output == EXPECTED_PROFILE

    @pytest.mark.parametrize(
        "answer",
        [httpx.Response(404, json={"title": "Not Found", "status": 404}), httpx.Response(404, text="Not Found")],
    )
    @respx.mock
    async def test_a_404_is_not_found(self, provider_ctx, answer):
        route = respx.get(ENRICH).mock(return_value=answer)
        outcome = await companyenrich.enrich_company(COMPANY, provider_ctx("companyenrich"))
        assert outcome.status is AttemptStatus.not_found and route.call_count == 1
        assert outcome.http_status == 404 and outcome.provider_status == "http_404" and outcome.output is None

    @pytest.mark.parametrize("body", [{"updated_at": "2026-05-01T00:00:00Z"}, ["acme.com"]])
    @respx.mock
    async def test_an_answer_naming_no_company_is_a_failure(self, provider_ctx, body):
        respx.get(ENRICH).mock(return_value=httpx.Response(200, json=body))
        outcome = await companyenrich.enrich_company(COMPANY, provider_ctx("companyenrich"))
        assert outcome.status is AttemptStatus.failed and outcome.raw == body

    def test_eligibility_needs_a_domain(self):
        assert companyenrich.eligible_company(COMPANY) is None
        assert companyenrich.eligible_company(CompanyInput(name="Acme")) == "missing_input:domain"
        assert (
            companyenrich.eligible_company(CompanyInput(linkedin_url="https://www.linkedin.com/company/acme"))
            == "missing_input:domain"
        )
        assert companyenrich.ACTIONS["company.enrich.profile"].eligible is companyenrich.eligible_company


class TestSearchCompanies:
    @respx.mock
    async def test_request_maps_the_filters_and_the_page_size(self, provider_ctx):
        route = respx.post(SEARCH_COMPANIES).mock(return_value=_companies_page())
        await companyenrich.search_companies(COMPANY_QUERY, provider_ctx("companyenrich"))
        request = route.calls.last.request
        assert request.url.path == "/companies/search"
        assert json.loads(request.content) == {
            "page": 1,
            "pageSize": 25,
            "query": "acme",
            "countries": ["US"],
            "employees": ["51-200", "1K-5K", "over-10K"],
        }

    @respx.mock
    async def test_found_maps_companies_and_gives_the_next_page(self, provider_ctx):
        respx.post(SEARCH_COMPANIES).mock(return_value=_companies_page(page=1, total_pages=4))
        outcome = await companyenrich.search_companies(COMPANY_QUERY, provider_ctx("companyenrich"))
        assert outcome.status is AttemptStatus.found
        assert outcome.output == {
            "companies": [
                {
                    "name": "Acme",
                    "domain": "acme.com",
                    "linkedin_url": "https://www.linkedin.com/company/acme",
                    "industry": "Software",
                    "employee_range": "501-1000",
                    "hq_country": "US",
                    "source": "companyenrich",
                }
            ],
            "next_cursors": {"companyenrich": 2},
        }
        CompanySearchOutput.model_validate(outcome.output)

    @respx.mock
    async def test_resumes_from_the_cursor_and_ends_on_the_last_page(self, provider_ctx):
        route = respx.post(SEARCH_COMPANIES).mock(return_value=_companies_page(page=4, total_pages=4))
        data = COMPANY_QUERY.model_copy(update={"cursors": {"companyenrich": 4}, "limit": 100})
        outcome = await companyenrich.search_companies(data, provider_ctx("companyenrich"))
        body = json.loads(route.calls.last.request.content)
        assert body["page"] == 4 and body["pageSize"] == 100
        assert outcome.output["next_cursors"] == {"companyenrich": None}

    @respx.mock
    async def test_paging_stops_at_the_ten_thousand_result_window(self, provider_ctx):
        respx.post(SEARCH_COMPANIES).mock(return_value=_companies_page(page=100, total_pages=500))
        data = COMPANY_QUERY.model_copy(update={"cursors": {"companyenrich": 100}, "limit": 100})
        outcome = await companyenrich.search_companies(data, provider_ctx("companyenrich"))
        assert outcome.output["next_cursors"] == {"companyenrich": None}

    @respx.mock
    async def test_an_empty_page_is_not_found(self, provider_ctx):
        respx.post(SEARCH_COMPANIES).mock(return_value=_companies_page(total_pages=0, items=[]))
        outcome = await companyenrich.search_companies(COMPANY_QUERY, provider_ctx("companyenrich"))
        assert outcome.status is AttemptStatus.not_found and outcome.http_status == 200

    @respx.mock
    async def test_an_answer_without_items_is_a_failure(self, provider_ctx):
        respx.post(SEARCH_COMPANIES).mock(return_value=httpx.Response(200, json={"message": "?"}))
        outcome = await companyenrich.search_companies(COMPANY_QUERY, provider_ctx("companyenrich"))
        assert outcome.status is AttemptStatus.failed and outcome.error == "no items list in the answer"

    @pytest.mark.parametrize(
        ("data", "reason"),
        [
            (COMPANY_QUERY, None),
            (SearchInput(company_domains=["acme.com"]), "unsupported_filter:company_domains"),
            (SearchInput(query="acme", industries=["Software"]), "unsupported_filter:industries"),
            (SearchInput(locations=["United States"]), "unsupported_filter:locations"),
            (SearchInput(employee_ranges=["10-20"]), "unsupported_filter:employee_ranges"),
            (SearchInput(query="acme", cursors={"companyenrich": "two"}), "invalid_cursor"),
            (SearchInput(query="acme", cursors={"companyenrich": None}), "no_more_results"),
            (SearchInput(query=" "), "missing_input:query|locations|employee_ranges"),
        ],
    )
    def test_eligibility(self, data, reason):
        assert companyenrich.eligible_company_search(data) == reason
        assert companyenrich.ACTIONS["company.search"].eligible is companyenrich.eligible_company_search


class TestSearchPeople:
    @respx.mock
    async def test_request_maps_the_filters(self, provider_ctx):
        route = respx.post(SEARCH_PEOPLE).mock(return_value=_people_page())
        await companyenrich.search_people(PEOPLE_QUERY, provider_ctx("companyenrich"))
        request = route.calls.last.request
        assert request.url.path == "/people/search"
        assert json.loads(request.content) == {
            "page": 1,
            "pageSize": 25,
            "domains": ["acme.com", "globex.io"],
            "positionQuery": ["Head of Sales", "VP Sales"],
            "seniority": ["vp", "c-suite", "director"],
            "countries": ["US"],
        }

    @respx.mock
    async def test_found_maps_people(self, provider_ctx):
        respx.post(SEARCH_PEOPLE).mock(return_value=_people_page(page=1, total_pages=2))
        outcome = await companyenrich.search_people(PEOPLE_QUERY, provider_ctx("companyenrich"))
        assert outcome.status is AttemptStatus.found
        assert outcome.output == {
            "people": [
                {
                    "full_name": "Jane Doe",
                    "first_name": "Jane",
                    "last_name": "Doe",
                    "title": "Head of Sales",
                    "linkedin_url": "https://www.linkedin.com/in/janedoe",
                    "location": "United States",
                    "source": "companyenrich",
                }
            ],
            "next_cursors": {"companyenrich": 2},
        }
        PersonSearchOutput.model_validate(outcome.output)

    @respx.mock
    async def test_resumes_from_the_cursor(self, provider_ctx):
        route = respx.post(SEARCH_PEOPLE).mock(return_value=_people_page(page=2, total_pages=2))
        data = PEOPLE_QUERY.model_copy(update={"cursors": {"companyenrich": "2"}, "limit": 10})
        outcome = await companyenrich.search_people(data, provider_ctx("companyenrich"))
        body = json.loads(route.calls.last.request.content)
        assert body["page"] == 2 and body["pageSize"] == 10
        assert outcome.output["next_cursors"] == {"companyenrich": None}

    @pytest.mark.parametrize(
        ("data", "reason"),
        [
            (PEOPLE_QUERY, None),
            (SearchInput(job_titles=["CTO"], company_names=["Acme"]), "unsupported_filter:company_names"),
            (SearchInput(job_titles=["CTO"], employee_ranges=["51-200"]), "unsupported_filter:employee_ranges"),
            (SearchInput(seniorities=["big boss"]), "unsupported_filter:seniorities"),
            (
                SearchInput(company_domains=["not a domain"]),
                "missing_input:company_domains|job_titles|seniorities|locations",
            ),
        ],
    )
    def test_eligibility(self, data, reason):
        assert companyenrich.eligible_person_search(data) == reason
        assert companyenrich.ACTIONS["person.search"].eligible is companyenrich.eligible_person_search


class TestTechnographics:
    """company.enrich.technographics: the enrich answer's `technologies[]` [§7.1, C2]."""

    @respx.mock
    async def test_technologies_are_read_from_the_enrich_answer(self, provider_ctx):
        route = respx.get(ENRICH).mock(
            return_value=httpx.Response(
                200, json={**ACME, "technologies": ["React", " Stripe ", "react", 7, "", "HubSpot"]}
            )
        )
        outcome = await companyenrich.technographics(COMPANY, provider_ctx("companyenrich"))
        assert route.calls.last.request.url.params["domain"] == "acme.com"
        assert outcome.status is AttemptStatus.found
        assert outcome.output == {
            "technologies": ["React", "Stripe", "HubSpot"],
            "technologies_source": "companyenrich",
        }
        TechnographicsOutput.model_validate(outcome.output)

    @pytest.mark.parametrize("technologies", [[], None, "React", [None, 3]])
    @respx.mock
    async def test_no_list_of_names_is_not_found(self, provider_ctx, technologies):
        body = {**ACME, "technologies": technologies}
        respx.get(ENRICH).mock(return_value=httpx.Response(200, json=body))
        outcome = await companyenrich.technographics(COMPANY, provider_ctx("companyenrich"))
        assert outcome.status is AttemptStatus.not_found and outcome.provider_status == "no_technologies"

    @respx.mock
    async def test_an_unknown_domain_is_not_found(self, provider_ctx):
        respx.get(ENRICH).mock(return_value=httpx.Response(404, text="Not Found"))
        outcome = await companyenrich.technographics(COMPANY, provider_ctx("companyenrich"))
        assert outcome.status is AttemptStatus.not_found and outcome.provider_status == "http_404"

    @respx.mock
    async def test_out_of_credit_raises_for_the_engine(self, provider_ctx):
        respx.get(ENRICH).mock(return_value=httpx.Response(402, json={"error": "no credits"}))
        with pytest.raises(ProviderCreditsError):
            await companyenrich.technographics(COMPANY, provider_ctx("companyenrich"))

    def test_the_action_needs_a_domain(self):
        action = companyenrich.ACTIONS["company.enrich.technographics"]
        assert action.eligible is not None and action.eligible(CompanyInput(name="Acme")) == "missing_input:domain"
