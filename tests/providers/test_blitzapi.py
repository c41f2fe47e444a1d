import json

import httpx
import pytest
import respx

from app.contracts.entities import (
    CompanyInput,
    CompanyProfile,
    CompanySearchOutput,
    PersonInput,
    PersonSearchOutput,
    PhoneOutput,
    SearchInput,
)
from app.providers import blitzapi
from app.providers._http import (
    ProviderAuthError,
    ProviderCreditsError,
    ProviderMalformedResponse,
    ProviderServerError,
    ProviderTimeoutError,
)
from app.providers.base import AttemptStatus
from tests.providers.conftest import TEST_KEY, base_url

ROOT = base_url("blitzapi")
PHONE = ROOT + "/v2/enrichment/phone"
DOMAIN_TO_LINKEDIN = ROOT + "/v2/enrichment/domain-to-linkedin"
COMPANY = ROOT + "/v2/enrichment/company"
SEARCH_COMPANIES = ROOT + "/v2/search/companies"
SEARCH_PEOPLE = ROOT + "/v2/search/people"
KEY_INFO = ROOT + "/v2/account/key-info"

PERSON = PersonInput(linkedin_url="https://linkedin.com/in/JaneDoe/", work_email="jane@acme.com")
BY_LINKEDIN = CompanyInput(linkedin_url="https://www.linkedin.com/company/acme")
BY_DOMAIN = CompanyInput(website="https://www.acme.com/pricing")
COMPANY_QUERY = SearchInput(
    query="workflow",
    company_names=["Acme"],
    industries=["Software Development"],
    locations=["us", "CA"],
    employee_ranges=["51-200"],
)
PEOPLE_QUERY = SearchInput(
    job_titles=["Head of Sales"], seniorities=["vp", "Director"], locations=["US"], company_names=["Acme"]
)

ACME = {
    "linkedin_url": "https://www.linkedin.com/company/acme",
    "linkedin_id": 108037802,
    "name": "Acme",
    "about": "Workflow software.",
    "specialties": None,
    "industry": "Software Development",
    "type": "Privately Held",
    "size": "51-200",
    "employees_on_linkedin": 131,
    "followers": 5400,
    "founded_year": 2015,
    "hq": {"city": "Austin", "state": "Texas", "country_code": "US", "country_name": "United States"},
    "domain": "acme.com",
    "website": "https://acme.com",
}
JANE = {
    "first_name": "Jane",
    "last_name": "Doe",
    "full_name": "Jane Doe",
    "headline": "Sales leader",
    "location": {"city": "Austin", "state_code": "TX", "country_code": "US", "continent": "North America"},
    "linkedin_url": "https://www.linkedin.com/in/janedoe",
    "experiences": [
        {"job_title": "Sales Rep", "company_name": "Old Co", "company_domain": "old.com", "job_is_current": False},
        {"job_title": "Head of Sales", "company_name": "Acme", "company_domain": "Acme.COM", "job_is_current": True},
    ],
}


def _phone_found() -> httpx.Response:
    return httpx.Response(200, json={"found": True, "phone": "+1 (202) 555-0123"})


def _company_found() -> httpx.Response:
    return httpx.Response(200, json={"found": True, "company": ACME})


def _linkedin_found() -> httpx.Response:
    body = {"found": True, "company_linkedin_url": "https://www.linkedin.com/company/acme", "company_name": "Acme"}
    return httpx.Response(200, json=body)


def _companies_page(cursor: str | None = "c2", rows: int = 1) -> httpx.Response:
    body = {"total_results": 40, "results": [ACME] * rows, "results_length": rows, "max_results": 25, "cursor": cursor}
    return httpx.Response(200, json=body)


def _people_page(cursor: str | None = "p2") -> httpx.Response:
    body = {"total_results": 3, "results": [JANE], "results_length": 1, "max_results": 25, "cursor": cursor}
    return httpx.Response(200, json=body)


@pytest.fixture(autouse=True)
def _forget_checked_keys():
    blitzapi._GOOD_KEYS.clear()
    yield
    blitzapi._GOOD_KEYS.clear()


# (action, input, url of its first call, a success answer factory) for the checks every action shares
ACTIONS = [
    pytest.param(blitzapi.resolve_mobile_phone, PERSON, PHONE, _phone_found, id="resolve_mobile_phone"),
    pytest.param(blitzapi.enrich_company, BY_LINKEDIN, COMPANY, _company_found, id="enrich_company"),
    pytest.param(blitzapi.enrich_company, BY_DOMAIN, DOMAIN_TO_LINKEDIN, None, id="domain_to_linkedin"),
    pytest.param(blitzapi.search_companies, COMPANY_QUERY, SEARCH_COMPANIES, _companies_page, id="search_companies"),
    pytest.param(blitzapi.search_people, PEOPLE_QUERY, SEARCH_PEOPLE, _people_page, id="search_people"),
]


def _mock_success(url: str, answer, first=None) -> respx.Route:
    """Mock the action's first call (optionally failing first) and whatever follows it."""
    if answer is None:  # the domain path: domain-to-linkedin, then company
        respx.post(COMPANY).mock(return_value=_company_found())
        answer = _linkedin_found
    return respx.post(url).mock(side_effect=[first, answer()] if first is not None else [answer()])


class TestEveryAction:
    @pytest.mark.parametrize(("run", "data", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_sends_the_key_in_x_api_key(self, provider_ctx, run, data, url, answer):
        route = _mock_success(url, answer)
        outcome = await run(data, provider_ctx("blitzapi"))
        request = route.calls.last.request
        assert outcome.status is AttemptStatus.found
        assert request.method == "POST"
        assert request.headers["x-api-key"] == TEST_KEY
        assert "authorization" not in request.headers

    @pytest.mark.parametrize(("run", "data", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_an_invalid_key_is_an_auth_failure_without_retry(self, provider_ctx, run, data, url, answer):
        route = respx.post(url).mock(
            return_value=httpx.Response(401, json={"success": False, "message": "Invalid API key"})
        )
        with pytest.raises(ProviderAuthError):
            await run(data, provider_ctx("blitzapi"))
        assert route.call_count == 1

    @pytest.mark.parametrize(("run", "data", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_insufficient_credits_is_not_retried(self, provider_ctx, run, data, url, answer):
        body = {"message": "Insufficient credits balance", "fair_usage": {"next_reset_at": "2026-06-01T00:00:00Z"}}
        route = respx.post(url).mock(return_value=httpx.Response(402, json=body))
        with pytest.raises(ProviderCreditsError) as e:
            await run(data, provider_ctx("blitzapi"))
        assert route.call_count == 1 and e.value.body == body

    @pytest.mark.parametrize(("run", "data", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_a_422_is_an_input_failure_with_the_vendor_code(self, provider_ctx, run, data, url, answer):
        body = {"success": False, "error": {"code": "INVALID_INPUT", "message": "Missing required fields"}}
        respx.post(url).mock(return_value=httpx.Response(422, json=body))
        outcome = await run(data, provider_ctx("blitzapi"))
        assert outcome.status is AttemptStatus.failed and outcome.http_status == 422
        assert outcome.provider_status == "INVALID_INPUT" and outcome.error == "INVALID_INPUT: Missing required fields"

    @pytest.mark.parametrize(("run", "data", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_a_429_then_success_honours_retry_after(self, provider_ctx, clock, run, data, url, answer):
        limited = httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "Rate limit exceeded"})
        route = _mock_success(url, answer, first=limited)
        outcome = await run(data, provider_ctx("blitzapi"))
        assert outcome.status is AttemptStatus.found and route.call_count == 2
        # the provider's Retry-After is the wait, not the short backoff
        assert clock.sleeps == [7.0]

    @pytest.mark.parametrize(("run", "data", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_a_5xx_is_retried_then_reported(self, provider_ctx, run, data, url, answer):
        route = respx.post(url).mock(return_value=httpx.Response(500, json={"success": False, "message": "boom"}))
        with pytest.raises(ProviderServerError) as e:
            await run(data, provider_ctx("blitzapi"))
        assert route.call_count == 3 and e.value.status_code == 500

    @pytest.mark.parametrize(("run", "data", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_a_read_timeout_on_a_billable_post_is_not_resent(self, provider_ctx, run, data, url, answer):
        route = respx.post(url).mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(ProviderTimeoutError):
            await run(data, provider_ctx("blitzapi"))
        assert route.call_count == 1

    @pytest.mark.parametrize(("run", "data", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_a_connect_timeout_is_resent(self, provider_ctx, run, data, url, answer):
        route = _mock_success(url, answer, first=httpx.ConnectTimeout("no route"))
        outcome = await run(data, provider_ctx("blitzapi"))
        assert outcome.status is AttemptStatus.found and route.call_count == 2

    @pytest.mark.parametrize(("run", "data", "url", "answer"), ACTIONS)
    @respx.mock
    async def test_malformed_json_is_a_failure(self, provider_ctx, run, data, url, answer):
        respx.post(url).mock(return_value=httpx.Response(200, text="<html>oops"))
        with pytest.raises(ProviderMalformedResponse):
            await run(data, provider_ctx("blitzapi"))


class TestResolveMobilePhone:
    @respx.mock
    async def test_request_and_found(self, provider_ctx):
        route = respx.post(PHONE).mock(return_value=_phone_found())
        outcome = await blitzapi.resolve_mobile_phone(PERSON, provider_ctx("blitzapi"))
        request = route.calls.last.request
        assert request.url.path == "/v2/enrichment/phone"
        assert json.loads(request.content) == {"person_linkedin_url": "https://www.linkedin.com/in/janedoe"}
        assert outcome.status is AttemptStatus.found and outcome.provider_status == "found:true"
        assert outcome.output == {"mobile_phone": "+12025550123", "phone_source": "blitzapi"}
        PhoneOutput.model_validate(outcome.output)
        assert outcome.raw == {"found": True, "phone": "+1 (202) 555-0123"}

    @respx.mock
    async def test_found_false_is_not_found(self, provider_ctx):
        respx.post(PHONE).mock(return_value=httpx.Response(200, json={"found": False, "phone": None}))
        outcome = await blitzapi.resolve_mobile_phone(PERSON, provider_ctx("blitzapi"))
        assert outcome.status is AttemptStatus.not_found and outcome.provider_status == "found:false"
        assert outcome.http_status == 200 and outcome.output is None

    @respx.mock
    async def test_found_without_a_number_is_a_failure(self, provider_ctx):
        respx.post(PHONE).mock(return_value=httpx.Response(200, json={"found": True, "phone": None}))
        outcome = await blitzapi.resolve_mobile_phone(PERSON, provider_ctx("blitzapi"))
        assert outcome.status is AttemptStatus.failed and outcome.error == "found without a phone number"

    @respx.mock
    async def test_an_answer_without_found_is_a_failure(self, provider_ctx):
        respx.post(PHONE).mock(return_value=httpx.Response(200, json={"success": False, "message": "?"}))
        outcome = await blitzapi.resolve_mobile_phone(PERSON, provider_ctx("blitzapi"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status is None

    @respx.mock
    async def test_a_404_with_a_valid_key_is_not_found_and_the_check_is_remembered(self, provider_ctx):
        respx.post(PHONE).mock(return_value=httpx.Response(404, json={"success": False, "message": "Not Found"}))
        info = respx.get(KEY_INFO).mock(
            return_value=httpx.Response(200, json={"valid": True, "remaining_credits": "unlimited"})
        )
        ctx = provider_ctx("blitzapi")
        first = await blitzapi.resolve_mobile_phone(PERSON, ctx)
        second = await blitzapi.resolve_mobile_phone(PERSON, ctx)
        assert first.status is AttemptStatus.not_found and second.status is AttemptStatus.not_found
        assert first.http_status == 404 and first.provider_status == "http_404"
        assert info.call_count == 1
        assert info.calls.last.request.headers["x-api-key"] == TEST_KEY

    @pytest.mark.parametrize(
        "key_info",
        [httpx.Response(401, json={"message": "Invalid API key"}), httpx.Response(200, json={"valid": False})],
    )
    @respx.mock
    async def test_a_404_with_an_unconfirmed_key_is_an_auth_failure(self, provider_ctx, key_info):
        respx.post(PHONE).mock(return_value=httpx.Response(404, json={"success": False, "message": "Not Found"}))
        respx.get(KEY_INFO).mock(return_value=key_info)
        outcome = await blitzapi.resolve_mobile_phone(PERSON, provider_ctx("blitzapi"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "auth_error"
        assert not blitzapi._GOOD_KEYS

    def test_eligibility_needs_a_linkedin_url(self):
        assert blitzapi.eligible_phone(PERSON) is None
        assert blitzapi.eligible_phone(PersonInput(work_email="jane@acme.com")) == "missing_input:linkedin_url"
        assert blitzapi.ACTIONS["person.contact.resolve_mobile_phone"].eligible is blitzapi.eligible_phone


EXPECTED_PROFILE = {
    "name": "Acme",
    "domain": "acme.com",
    "website": "https://acme.com",
    "linkedin_url": "https://www.linkedin.com/company/acme",
    "industry": "Software Development",
    "employee_count": 131,
    "employee_range": "51-200",
    "founded_year": 2015,
    "description": "Workflow software.",
    "hq_city": "Austin",
    "hq_region": "Texas",
    "hq_country": "US",
    "profile_source": "blitzapi",
}


class TestEnrichCompany:
    @respx.mock
    async def test_a_linkedin_url_goes_straight_to_company_enrichment(self, provider_ctx):
        lookup = respx.post(DOMAIN_TO_LINKEDIN).mock(return_value=_linkedin_found())
        company = respx.post(COMPANY).mock(return_value=_company_found())
        outcome = await blitzapi.enrich_company(BY_LINKEDIN, provider_ctx("blitzapi"))
        assert lookup.call_count == 0
        assert json.loads(company.calls.last.request.content) == {
            "company_linkedin_url": "https://www.linkedin.com/company/acme"
        }
        assert outcome.status is AttemptStatus.found and outcome.output == EXPECTED_PROFILE
        CompanyProfile.model_validate(outcome.output)
        assert outcome.raw == {"domain_to_linkedin": None, "company": {"found": True, "company": ACME}}

    @respx.mock
    async def test_a_domain_is_first_resolved_to_the_linkedin_url(self, provider_ctx):
        lookup = respx.post(DOMAIN_TO_LINKEDIN).mock(return_value=_linkedin_found())
        company = respx.post(COMPANY).mock(return_value=_company_found())
        outcome = await blitzapi.enrich_company(BY_DOMAIN, provider_ctx("blitzapi"))
        assert json.loads(lookup.calls.last.request.content) == {"domain": "acme.com"}
        assert json.loads(company.calls.last.request.content) == {
            "company_linkedin_url": "https://www.linkedin.com/company/acme"
        }
        assert outcome.status is AttemptStatus.found and outcome.output == EXPECTED_PROFILE
        assert outcome.raw["domain_to_linkedin"]["company_linkedin_url"] == "https://www.linkedin.com/company/acme"
        assert outcome.raw["company"]["company"]["name"] == "Acme"

    @respx.mock
    async def test_an_unknown_domain_is_not_found_without_the_second_call(self, provider_ctx):
        respx.post(DOMAIN_TO_LINKEDIN).mock(
            return_value=httpx.Response(200, json={"found": False, "company_linkedin_url": None})
        )
        company = respx.post(COMPANY).mock(return_value=_company_found())
        outcome = await blitzapi.enrich_company(BY_DOMAIN, provider_ctx("blitzapi"))
        assert outcome.status is AttemptStatus.not_found and outcome.provider_status == "found:false"
        assert company.call_count == 0
        assert outcome.raw == {"domain_to_linkedin": {"found": False, "company_linkedin_url": None}, "company": None}

    @respx.mock
    async def test_an_unknown_company_after_a_resolved_domain_is_not_found_with_both_bodies(self, provider_ctx):
        respx.post(DOMAIN_TO_LINKEDIN).mock(return_value=_linkedin_found())
        respx.post(COMPANY).mock(return_value=httpx.Response(200, json={"found": False, "company": None}))
        outcome = await blitzapi.enrich_company(BY_DOMAIN, provider_ctx("blitzapi"))
        assert outcome.status is AttemptStatus.not_found
        assert outcome.raw["domain_to_linkedin"]["found"] is True
        assert outcome.raw["company"] == {"found": False, "company": None}

    @respx.mock
    async def test_a_resolved_domain_without_a_url_is_a_failure(self, provider_ctx):
        respx.post(DOMAIN_TO_LINKEDIN).mock(return_value=httpx.Response(200, json={"found": True}))
        outcome = await blitzapi.enrich_company(BY_DOMAIN, provider_ctx("blitzapi"))
        assert outcome.status is AttemptStatus.failed and outcome.error == "found without a company LinkedIn URL"

    @respx.mock
    async def test_a_404_on_the_domain_lookup_with_a_valid_key_is_not_found(self, provider_ctx):
        respx.post(DOMAIN_TO_LINKEDIN).mock(return_value=httpx.Response(404, json={"message": "Not Found"}))
        respx.get(KEY_INFO).mock(return_value=httpx.Response(200, json={"valid": True}))
        outcome = await blitzapi.enrich_company(BY_DOMAIN, provider_ctx("blitzapi"))
        assert outcome.status is AttemptStatus.not_found and outcome.http_status == 404
        assert outcome.raw == {"domain_to_linkedin": {"message": "Not Found"}, "company": None}

    @respx.mock
    async def test_a_server_error_on_the_second_call_is_retried_then_reported(self, provider_ctx):
        respx.post(DOMAIN_TO_LINKEDIN).mock(return_value=_linkedin_found())
        company = respx.post(COMPANY).mock(return_value=httpx.Response(503, json={"message": "busy"}))
        with pytest.raises(ProviderServerError):
            await blitzapi.enrich_company(BY_DOMAIN, provider_ctx("blitzapi"))
        assert company.call_count == 3

    def test_eligibility_needs_a_linkedin_url_or_a_domain(self):
        assert blitzapi.eligible_company(BY_LINKEDIN) is None
        assert blitzapi.eligible_company(BY_DOMAIN) is None
        assert blitzapi.eligible_company(CompanyInput(name="Acme")) == "missing_input:linkedin_url|domain"
        assert blitzapi.ACTIONS["company.enrich.profile"].eligible is blitzapi.eligible_company


class TestSearchCompanies:
    @respx.mock
    async def test_request_maps_the_filters_and_the_limit(self, provider_ctx):
        route = respx.post(SEARCH_COMPANIES).mock(return_value=_companies_page())
        data = COMPANY_QUERY.model_copy(update={"limit": 80})
        await blitzapi.search_companies(data, provider_ctx("blitzapi"))
        assert route.calls.last.request.url.path == "/v2/search/companies"
        assert json.loads(route.calls.last.request.content) == {
            "company": {
                "name": {"include": ["Acme"]},
                "keywords": {"include": ["workflow"]},
                "industry": {"include": ["Software Development"]},
                "employee_range": ["51-200"],
                "hq": {"country_code": ["US", "CA"]},
            },
            "max_results": 50,
        }

    @respx.mock
    async def test_found_maps_companies_and_keeps_the_cursor(self, provider_ctx):
        respx.post(SEARCH_COMPANIES).mock(return_value=_companies_page(cursor="c2"))
        outcome = await blitzapi.search_companies(COMPANY_QUERY, provider_ctx("blitzapi"))
        assert outcome.status is AttemptStatus.found
        assert outcome.output == {
            "companies": [
                {
                    "name": "Acme",
                    "domain": "acme.com",
                    "linkedin_url": "https://www.linkedin.com/company/acme",
                    "industry": "Software Development",
                    "employee_count": 131,
                    "employee_range": "51-200",
                    "hq_country": "US",
                    "source": "blitzapi",
                }
            ],
            "next_cursors": {"blitzapi": "c2"},
        }
        CompanySearchOutput.model_validate(outcome.output)

    @respx.mock
    async def test_resumes_from_the_cursor_and_ends_when_it_is_null(self, provider_ctx):
        route = respx.post(SEARCH_COMPANIES).mock(return_value=_companies_page(cursor=None, rows=3))
        data = COMPANY_QUERY.model_copy(update={"cursors": {"blitzapi": "c2", "prospeo": 4}, "limit": 2})
        outcome = await blitzapi.search_companies(data, provider_ctx("blitzapi"))
        body = json.loads(route.calls.last.request.content)
        assert body["cursor"] == "c2" and body["max_results"] == 2
        assert outcome.output["next_cursors"] == {"blitzapi": None} and len(outcome.output["companies"]) == 2

    @respx.mock
    async def test_an_empty_page_is_not_found(self, provider_ctx):
        respx.post(SEARCH_COMPANIES).mock(return_value=_companies_page(cursor=None, rows=0))
        outcome = await blitzapi.search_companies(COMPANY_QUERY, provider_ctx("blitzapi"))
        assert outcome.status is AttemptStatus.not_found and outcome.raw["total_results"] == 40

    @respx.mock
    async def test_an_empty_middle_page_with_a_cursor_is_paged_past(self, provider_ctx):
        # a sparse middle page (no results, a forward cursor) does not end the walk [B4 CursorPage]
        route = respx.post(SEARCH_COMPANIES).mock(
            side_effect=[
                _companies_page(cursor="c2", rows=0),
                _companies_page(cursor="c3", rows=0),
                _companies_page("c4"),
            ]
        )
        outcome = await blitzapi.search_companies(COMPANY_QUERY, provider_ctx("blitzapi"))
        assert outcome.status is AttemptStatus.found and len(outcome.output["companies"]) == 1
        assert outcome.output["next_cursors"] == {"blitzapi": "c4"}
        sent = [json.loads(c.request.content).get("cursor") for c in route.calls]
        assert sent == [None, "c2", "c3"]

    @respx.mock
    async def test_empty_pages_end_when_the_cursor_does(self, provider_ctx):
        route = respx.post(SEARCH_COMPANIES).mock(
            side_effect=[_companies_page(cursor="c2", rows=0), _companies_page(cursor=None, rows=0)]
        )
        outcome = await blitzapi.search_companies(COMPANY_QUERY, provider_ctx("blitzapi"))
        assert outcome.status is AttemptStatus.not_found and route.call_count == 2

    @respx.mock
    async def test_the_walk_over_empty_pages_is_bounded_and_resumable(self, provider_ctx):
        counter = iter(range(1, 1000))
        route = respx.post(SEARCH_COMPANIES).mock(
            side_effect=lambda request: _companies_page(cursor=f"e{next(counter)}", rows=0)
        )
        outcome = await blitzapi.search_companies(COMPANY_QUERY, provider_ctx("blitzapi"))
        assert route.call_count == blitzapi.MAX_EMPTY_PAGES
        # nothing this time, but not the end: the last cursor is handed back to resume from
        assert outcome.status is AttemptStatus.found and outcome.provider_status == "empty_pages"
        assert outcome.output == {"companies": [], "next_cursors": {"blitzapi": f"e{blitzapi.MAX_EMPTY_PAGES}"}}

    @respx.mock
    async def test_a_cursor_that_does_not_advance_stops_the_walk(self, provider_ctx):
        route = respx.post(SEARCH_COMPANIES).mock(return_value=_companies_page(cursor="c2", rows=0))
        data = COMPANY_QUERY.model_copy(update={"cursors": {"blitzapi": "c2"}})
        outcome = await blitzapi.search_companies(data, provider_ctx("blitzapi"))
        assert route.call_count == 1 and outcome.status is AttemptStatus.failed
        assert outcome.error == "the search cursor did not advance"

    @respx.mock
    async def test_an_answer_without_results_is_a_failure(self, provider_ctx):
        respx.post(SEARCH_COMPANIES).mock(return_value=httpx.Response(200, json={"message": "?"}))
        outcome = await blitzapi.search_companies(COMPANY_QUERY, provider_ctx("blitzapi"))
        assert outcome.status is AttemptStatus.failed and outcome.error == "no results list in the answer"

    @pytest.mark.parametrize(
        ("data", "reason"),
        [
            (COMPANY_QUERY, None),
            (SearchInput(company_domains=["acme.com"], industries=["Banking"]), "unsupported_filter:company_domains"),
            (SearchInput(locations=["United States"]), "unsupported_filter:locations"),
            (SearchInput(job_titles=["CTO"]), "unsupported_filter:job_titles"),
            (SearchInput(industries=["Banking"], cursors={"blitzapi": 3}), "invalid_cursor"),
            (SearchInput(industries=["Banking"], cursors={"blitzapi": None}), "no_more_results"),
            (
                SearchInput(company_names=[" "]),
                "missing_input:query|company_names|industries|locations|employee_ranges",
            ),
        ],
    )
    def test_eligibility(self, data, reason):
        assert blitzapi.eligible_company_search(data) == reason
        assert blitzapi.ACTIONS["company.search"].eligible is blitzapi.eligible_company_search


class TestSearchPeople:
    @respx.mock
    async def test_request_maps_people_and_company_filters(self, provider_ctx):
        route = respx.post(SEARCH_PEOPLE).mock(return_value=_people_page())
        await blitzapi.search_people(PEOPLE_QUERY, provider_ctx("blitzapi"))
        assert route.calls.last.request.url.path == "/v2/search/people"
        assert json.loads(route.calls.last.request.content) == {
            "company": {"name": {"include": ["Acme"]}},
            "people": {
                "job_title": {"include": ["Head of Sales"]},
                "job_level": ["VP", "Director"],
                "location": {"country_code": ["US"]},
            },
            "max_results": 25,
        }

    @respx.mock
    async def test_found_maps_the_current_job(self, provider_ctx):
        respx.post(SEARCH_PEOPLE).mock(return_value=_people_page(cursor="p2"))
        outcome = await blitzapi.search_people(PEOPLE_QUERY, provider_ctx("blitzapi"))
        assert outcome.status is AttemptStatus.found
        assert outcome.output == {
            "people": [
                {
                    "full_name": "Jane Doe",
                    "first_name": "Jane",
                    "last_name": "Doe",
                    "title": "Head of Sales",
                    "linkedin_url": "https://www.linkedin.com/in/janedoe",
                    "company_name": "Acme",
                    "company_domain": "acme.com",
                    "location": "Austin, TX, US",
                    "source": "blitzapi",
                }
            ],
            "next_cursors": {"blitzapi": "p2"},
        }
        PersonSearchOutput.model_validate(outcome.output)

    @respx.mock
    async def test_a_person_without_experiences_still_maps(self, provider_ctx):
        bare = {"full_name": "Sam Roe", "linkedin_url": None, "experiences": None, "location": None}
        body = {"total_results": 1, "results": [bare], "results_length": 1, "max_results": 25, "cursor": None}
        respx.post(SEARCH_PEOPLE).mock(return_value=httpx.Response(200, json=body))
        outcome = await blitzapi.search_people(PEOPLE_QUERY, provider_ctx("blitzapi"))
        assert outcome.output["people"][0]["full_name"] == "Sam Roe"
        assert outcome.output["people"][0]["title"] is None and outcome.output["people"][0]["location"] is None
        PersonSearchOutput.model_validate(outcome.output)

    @pytest.mark.parametrize(
        ("data", "reason"),
        [
            (PEOPLE_QUERY, None),
            (SearchInput(job_titles=["CTO"], company_domains=["acme.com"]), "unsupported_filter:company_domains"),
            (SearchInput(query="sales"), "unsupported_filter:query"),
            (SearchInput(seniorities=["VP"], locations=["Germany"]), "unsupported_filter:locations"),
        ],
    )
    def test_eligibility(self, data, reason):
        assert blitzapi.eligible_person_search(data) == reason
        assert blitzapi.ACTIONS["person.search"].eligible is blitzapi.eligible_person_search
