import json

import httpx
import pytest
import respx

from app.contracts.entities import CompanyInput, PersonInput
from app.providers import leadmagic
from app.providers._http import (
    ProviderAuthError,
    ProviderCreditsError,
    ProviderMalformedResponse,
    ProviderServerError,
    ProviderStatusError,
    ProviderTimeoutError,
)
from app.providers.base import AttemptStatus
from tests.providers.conftest import TEST_KEY, base_url, retry_at

BASE = base_url("leadmagic")
EMAIL_URL = BASE + "/v1/people/email-finder"
MOBILE_URL = BASE + "/v1/people/mobile-finder"
COMPANY_URL = BASE + "/v1/companies/company-search"

PERSON = PersonInput(first_name="Jane", last_name="Doe", company_domain="https://www.Acme.com", company_name="Acme")
PHONE_PERSON = PersonInput(linkedin_url="linkedin.com/in/JaneDoe", work_email="Jane@Acme.com")
COMPANY = CompanyInput(
    website="https://www.acme.com/about", linkedin_url="https://linkedin.com/company/acme/", name="Acme"
)


def _problem(status: int, code: str, **headers: str) -> httpx.Response:
    body = {
        "success": False,
        "errors": [
            {
                "type": "https://leadmagic.io/errors/" + code,
                "title": code.title(),
                "status": status,
                "code": code,
                "detail": f"detail of {code}",
            }
        ],
        "meta": {"request_id": "req_1", "timestamp": "2025-01-01T00:00:00Z"},
    }
    return httpx.Response(status, json=body, headers=headers)


def _email_answer(email: str | None = "jane.doe@acme.com", status: str = "valid", **extra) -> httpx.Response:
    body = {
        "email": email,
        "status": status,
        "credits_consumed": 1 if email else 0,
        "message": "Valid email found." if email else "No email found for this person at this company.",
        "first_name": "Jane",
        "last_name": "Doe",
        "domain": "acme.com",
        "company_name": "Acme",
        **extra,
    }
    return httpx.Response(200, json=body)


def _mobile_answer(number: str | None = "12077523358") -> httpx.Response:
    body = {
        "profile_url": "https://www.linkedin.com/in/janedoe",
        "email": "jane@acme.com",
        "mobile_number": number,
        "credits_consumed": 5 if number else 0,
        "message": "Mobile number found." if number else "No mobile number found for this contact.",
    }
    return httpx.Response(200, json=body)


COMPANY_BODY = {
    "message": "Company found.",
    "credits_consumed": 1,
    "companyName": "Acme Inc",
    "companyId": 1234,
    "industry": "Software Development",
    "description": "Makes anvils.",
    "employeeCount": 87,
    "employeeCountRange": {"start": 51, "end": 200},
    "websiteUrl": "https://www.acme.com",
    "headquarter": {
        "city": "Springfield",
        "geographicArea": "Illinois",
        "country": "US",
        "postalCode": "62701",
        "line1": "1 Main St",
    },
    "founded_year": "1999",
    "b2b_profile_url": "acmehq",
    "logo_url": "https://cdn.example/acme.png",
    "specialities": ["anvils"],
    "followerCount": 1200,
    "tagline": "Anvils for all",
}


def _company_answer(**changes) -> httpx.Response:
    body = {**COMPANY_BODY, **changes}
    return httpx.Response(200, json={k: v for k, v in body.items() if v is not None})


# one row per action: (url, run, input, a successful answer, the expected status of that answer)
ACTIONS = {
    "email": (EMAIL_URL, leadmagic.resolve_email, PERSON, _email_answer, AttemptStatus.found),
    "mobile": (MOBILE_URL, leadmagic.resolve_mobile_phone, PHONE_PERSON, _mobile_answer, AttemptStatus.found),
    "company": (COMPANY_URL, leadmagic.enrich_company, COMPANY, _company_answer, AttemptStatus.found),
}


def test_the_actions_cover_the_catalog_operations():
    assert set(leadmagic.ACTIONS) == {
        "person.contact.resolve_email",
        "person.contact.resolve_mobile_phone",
        "company.enrich.profile",
        # catalog growth, part 1 (issue 13)
        "company.resolve.domain_from_name",
        "company.resolve.domain_from_linkedin",
        "company.resolve.linkedin_from_domain",
        "person.resolve.linkedin_from_email",
        "person.enrich.profile",
    }
    assert leadmagic.ACTIONS["person.contact.resolve_email"].run is leadmagic.resolve_email
    assert leadmagic.ACTIONS["person.contact.resolve_mobile_phone"].run is leadmagic.resolve_mobile_phone
    assert leadmagic.ACTIONS["company.enrich.profile"].run is leadmagic.enrich_company
    assert leadmagic.BASE_URL == "https://api.leadmagic.io"


class TestTransport:
    """The HTTP conventions every LeadMagic action shares (§2.4)."""

    @pytest.mark.parametrize("action", list(ACTIONS))
    @respx.mock
    async def test_the_key_goes_in_the_x_api_key_header(self, provider_ctx, action):
        url, run, data, answer, _ = ACTIONS[action]
        route = respx.post(url).mock(return_value=answer())
        await run(data, provider_ctx("leadmagic"))
        request = route.calls.last.request
        assert request.method == "POST"
        assert request.headers["x-api-key"] == TEST_KEY
        assert request.headers["content-type"] == "application/json"
        assert "authorization" not in request.headers

    @pytest.mark.parametrize("action", list(ACTIONS))
    @respx.mock
    async def test_a_bad_key_is_an_auth_error_and_not_retried(self, provider_ctx, action):
        url, run, data, _, _ = ACTIONS[action]
        route = respx.post(url).mock(return_value=_problem(401, "invalid_api_key"))
        with pytest.raises(ProviderAuthError) as e:
            await run(data, provider_ctx("leadmagic"))
        assert route.call_count == 1 and e.value.status_code == 401
        assert e.value.body["errors"][0]["code"] == "invalid_api_key"

    @pytest.mark.parametrize("action", list(ACTIONS))
    @respx.mock
    async def test_no_credits_is_a_credits_error_and_not_retried(self, provider_ctx, action):
        url, run, data, _, _ = ACTIONS[action]
        route = respx.post(url).mock(return_value=_problem(402, "insufficient_credits"))
        with pytest.raises(ProviderCreditsError) as e:
            await run(data, provider_ctx("leadmagic"))
        assert route.call_count == 1 and e.value.body["errors"][0]["code"] == "insufficient_credits"

    @pytest.mark.parametrize("action", list(ACTIONS))
    @respx.mock
    async def test_a_429_then_success_honours_retry_after(self, provider_ctx, clock, action):
        url, run, data, answer, expected = ACTIONS[action]
        route = respx.post(url).mock(
            side_effect=[_problem(429, "rate_limit_exceeded", **{"Retry-After": retry_at(clock, 42)}), answer()]
        )
        outcome = await run(data, provider_ctx("leadmagic"))
        assert outcome.status is expected and route.call_count == 2
        # the provider's Retry-After is the wait, not the short backoff
        assert clock.sleeps == [42.0]

    @pytest.mark.parametrize("action", list(ACTIONS))
    @respx.mock
    async def test_a_5xx_is_retried_then_reported(self, provider_ctx, action):
        url, run, data, _, _ = ACTIONS[action]
        route = respx.post(url).mock(return_value=_problem(503, "service_unavailable"))
        with pytest.raises(ProviderServerError) as e:
            await run(data, provider_ctx("leadmagic"))
        assert route.call_count == 3 and e.value.status_code == 503

    @pytest.mark.parametrize("action", list(ACTIONS))
    @respx.mock
    async def test_a_read_timeout_on_a_billable_post_is_not_resent(self, provider_ctx, action):
        url, run, data, _, _ = ACTIONS[action]
        route = respx.post(url).mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(ProviderTimeoutError):
            await run(data, provider_ctx("leadmagic"))
        assert route.call_count == 1

    @pytest.mark.parametrize("action", list(ACTIONS))
    @respx.mock
    async def test_a_connect_timeout_is_retried(self, provider_ctx, action):
        url, run, data, answer, expected = ACTIONS[action]
        route = respx.post(url).mock(side_effect=[httpx.ConnectTimeout("no route"), answer()])
        outcome = await run(data, provider_ctx("leadmagic"))
        assert outcome.status is expected and route.call_count == 2

    @pytest.mark.parametrize("action", list(ACTIONS))
    @respx.mock
    async def test_malformed_json_is_a_failure(self, provider_ctx, action):
        url, run, data, _, _ = ACTIONS[action]
        respx.post(url).mock(return_value=httpx.Response(200, text="<html>gateway</html>"))
        with pytest.raises(ProviderMalformedResponse):
            await run(data, provider_ctx("leadmagic"))

    @pytest.mark.parametrize("action", list(ACTIONS))
    @respx.mock
    async def test_a_validation_error_keeps_the_vendor_code(self, provider_ctx, action):
        url, run, data, _, _ = ACTIONS[action]
        route = respx.post(url).mock(return_value=_problem(400, "missing_required_field"))
        outcome = await run(data, provider_ctx("leadmagic"))
        assert outcome.status is AttemptStatus.failed and route.call_count == 1
        assert outcome.provider_status == "missing_required_field" and outcome.http_status == 400
        assert outcome.error == "detail of missing_required_field"
        assert outcome.raw["meta"]["request_id"] == "req_1"

    @pytest.mark.parametrize("action", list(ACTIONS))
    @respx.mock
    async def test_an_error_reported_with_http_200_is_a_failure(self, provider_ctx, action):
        url, run, data, _, _ = ACTIONS[action]
        error = _problem(200, "external_service_error")
        respx.post(url).mock(return_value=error)
        outcome = await run(data, provider_ctx("leadmagic"))
        assert outcome.status is AttemptStatus.failed
        assert outcome.provider_status == "external_service_error" and outcome.http_status == 200


class TestResolveEmail:
    @respx.mock
    async def test_request_shape_follows_the_documentation(self, provider_ctx):
        route = respx.post(EMAIL_URL).mock(return_value=_email_answer())
        await leadmagic.resolve_email(PERSON, provider_ctx("leadmagic"))
        request = route.calls.last.request
        assert request.url.path == "/v1/people/email-finder"
        assert json.loads(request.content) == {
            "first_name": "Jane",
            "last_name": "Doe",
            "domain": "acme.com",
            "company_name": "Acme",
        }

    @respx.mock
    async def test_a_full_name_alone_is_sent_as_full_name(self, provider_ctx):
        route = respx.post(EMAIL_URL).mock(return_value=_email_answer())
        await leadmagic.resolve_email(
            PersonInput(full_name="Jane Q Doe", company_name="Acme"), provider_ctx("leadmagic")
        )
        assert json.loads(route.calls.last.request.content) == {"full_name": "Jane Q Doe", "company_name": "Acme"}

    @pytest.mark.parametrize("status", ["valid", "valid_catch_all", "catch_all"])
    @respx.mock
    async def test_an_email_is_found_with_the_status_as_confidence(self, provider_ctx, status):
        respx.post(EMAIL_URL).mock(return_value=_email_answer("Jane.Doe@Acme.com", status))
        outcome = await leadmagic.resolve_email(PERSON, provider_ctx("leadmagic"))
        assert outcome.status is AttemptStatus.found
        assert outcome.output == {
            "work_email": "jane.doe@acme.com",
            "email_confidence": status,
            "email_verdict": None,
            "email_source": "leadmagic",
        }
        assert outcome.provider_status == status and outcome.http_status == 200
        assert outcome.raw["credits_consumed"] == 1

    @respx.mock
    async def test_status_not_found_is_not_found(self, provider_ctx):
        respx.post(EMAIL_URL).mock(return_value=_email_answer(None, "not_found"))
        outcome = await leadmagic.resolve_email(PERSON, provider_ctx("leadmagic"))
        assert outcome.status is AttemptStatus.not_found and outcome.output is None
        assert outcome.provider_status == "not_found" and outcome.raw["credits_consumed"] == 0

    @respx.mock
    async def test_an_empty_email_is_not_found_whatever_the_status(self, provider_ctx):
        respx.post(EMAIL_URL).mock(return_value=_email_answer("", "valid"))
        outcome = await leadmagic.resolve_email(PERSON, provider_ctx("leadmagic"))
        assert outcome.status is AttemptStatus.not_found and outcome.provider_status == "valid"

    @respx.mock
    async def test_an_unknown_status_is_a_failure_with_the_value_kept(self, provider_ctx):
        respx.post(EMAIL_URL).mock(return_value=_email_answer("jane@acme.com", "mystery"))
        outcome = await leadmagic.resolve_email(PERSON, provider_ctx("leadmagic"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "mystery"

    @respx.mock
    async def test_an_invalid_email_in_the_answer_is_a_failure(self, provider_ctx):
        respx.post(EMAIL_URL).mock(return_value=_email_answer("not-an-email", "valid"))
        outcome = await leadmagic.resolve_email(PERSON, provider_ctx("leadmagic"))
        assert outcome.status is AttemptStatus.failed and outcome.output is None

    @respx.mock
    async def test_a_404_is_a_failure_not_a_not_found(self, provider_ctx):
        # §2.4: 404 means "not found" on company search only
        respx.post(EMAIL_URL).mock(return_value=_problem(404, "resource_not_found"))
        with pytest.raises(ProviderStatusError) as e:
            await leadmagic.resolve_email(PERSON, provider_ctx("leadmagic"))
        assert e.value.status_code == 404 and e.value.code == "http_error"

    @pytest.mark.parametrize(
        ("data", "reason"),
        [
            (PersonInput(first_name="Jane", company_domain="acme.com"), None),
            (PersonInput(full_name="Jane Doe", company_domain="acme.com"), None),
            (PersonInput(last_name="Doe", company_domain="acme.com"), "missing_input:first_name|full_name"),
        ],
    )
    def test_eligibility_needs_a_first_name_or_a_full_name(self, data, reason):
        action = leadmagic.ACTIONS["person.contact.resolve_email"]
        assert action.eligible is not None and action.eligible(data) == reason


class TestResolveMobilePhone:
    @respx.mock
    async def test_request_shape_follows_the_documentation(self, provider_ctx):
        route = respx.post(MOBILE_URL).mock(return_value=_mobile_answer())
        await leadmagic.resolve_mobile_phone(PHONE_PERSON, provider_ctx("leadmagic"))
        request = route.calls.last.request
        assert request.url.path == "/v1/people/mobile-finder"
        assert json.loads(request.content) == {
            "profile_url": "https://www.linkedin.com/in/janedoe",
            "work_email": "jane@acme.com",
        }

    @respx.mock
    async def test_a_generic_email_goes_as_personal_email(self, provider_ctx):
        route = respx.post(MOBILE_URL).mock(return_value=_mobile_answer())
        await leadmagic.resolve_mobile_phone(PersonInput(email="jane@gmail.com"), provider_ctx("leadmagic"))
        assert json.loads(route.calls.last.request.content) == {"personal_email": "jane@gmail.com"}

    @respx.mock
    async def test_a_number_is_found_in_e164_form(self, provider_ctx):
        respx.post(MOBILE_URL).mock(return_value=_mobile_answer("12077523358"))
        outcome = await leadmagic.resolve_mobile_phone(PHONE_PERSON, provider_ctx("leadmagic"))
        assert outcome.status is AttemptStatus.found
        assert outcome.output == {"mobile_phone": "+12077523358", "phone_source": "leadmagic"}
        assert outcome.provider_status == "Mobile number found." and outcome.raw["credits_consumed"] == 5

    @respx.mock
    async def test_a_null_number_is_not_found(self, provider_ctx):
        respx.post(MOBILE_URL).mock(return_value=_mobile_answer(None))
        outcome = await leadmagic.resolve_mobile_phone(PHONE_PERSON, provider_ctx("leadmagic"))
        assert outcome.status is AttemptStatus.not_found and outcome.output is None
        assert outcome.provider_status == "No mobile number found for this contact."

    @respx.mock
    async def test_an_answer_without_the_number_field_is_a_failure(self, provider_ctx):
        respx.post(MOBILE_URL).mock(return_value=httpx.Response(200, json={"message": "?"}))
        outcome = await leadmagic.resolve_mobile_phone(PHONE_PERSON, provider_ctx("leadmagic"))
        assert outcome.status is AttemptStatus.failed and outcome.error == "unexpected response shape"

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("12077523358", "+12077523358"),
            ("+44 20 7946 0958", "+442079460958"),
            ("1 (207) 752-3358", "+12077523358"),
            ("call 207-752 ext 4", "call 207-752 ext 4"),
        ],
    )
    def test_phone_normalisation(self, raw, expected):
        assert leadmagic.normalize_phone(raw) == expected

    def test_no_optional_input_is_needed_beyond_the_operation_minimum(self):
        assert leadmagic.ACTIONS["person.contact.resolve_mobile_phone"].eligible is None


class TestEnrichCompany:
    @respx.mock
    async def test_request_shape_follows_the_documentation(self, provider_ctx):
        route = respx.post(COMPANY_URL).mock(return_value=_company_answer())
        await leadmagic.enrich_company(COMPANY, provider_ctx("leadmagic"))
        request = route.calls.last.request
        assert request.url.path == "/v1/companies/company-search"
        assert json.loads(request.content) == {
            "company_domain": "acme.com",
            "profile_url": "https://www.linkedin.com/company/acme",
            "company_name": "Acme",
        }

    @respx.mock
    async def test_a_company_maps_to_the_canonical_profile(self, provider_ctx):
        respx.post(COMPANY_URL).mock(return_value=_company_answer())
        outcome = await leadmagic.enrich_company(COMPANY, provider_ctx("leadmagic"))
        assert outcome.status is AttemptStatus.found and outcome.provider_status == "Company found."
        assert outcome.output == {
            "name": "Acme Inc",
            "domain": "acme.com",
            "website": "https://www.acme.com",
            "linkedin_url": "https://www.linkedin.com/company/acmehq",
            "industry": "Software Development",
            "employee_count": 87,
            "employee_range": "51-200",
            "founded_year": 1999,
            "description": "Makes anvils.",
            "hq_city": "Springfield",
            "hq_region": "Illinois",
            "hq_country": "US",
            "logo_url": "https://cdn.example/acme.png",
            "profile_source": "leadmagic",
        }

    @respx.mock
    async def test_optional_fields_fall_back_to_their_alternatives(self, provider_ctx):
        respx.post(COMPANY_URL).mock(
            return_value=_company_answer(
                b2b_profile_url="https://linkedin.com/company/AcmeHQ/about",
                founded_year=None,
                foundedOn={"year": 2001},
                employeeCountRange=None,
                employee_range="51-200 employees",
            )
        )
        outcome = await leadmagic.enrich_company(COMPANY, provider_ctx("leadmagic"))
        assert outcome.output["linkedin_url"] == "https://www.linkedin.com/company/acmehq"
        assert outcome.output["founded_year"] == 2001
        assert outcome.output["employee_range"] == "51-200 employees"

    @respx.mock
    async def test_url_is_used_only_when_it_is_a_linkedin_url(self, provider_ctx):
        respx.post(COMPANY_URL).mock(
            side_effect=[
                _company_answer(b2b_profile_url=None, url="https://www.linkedin.com/company/acme-co"),
                _company_answer(b2b_profile_url=None, url="https://acme.com"),
            ]
        )
        ctx = provider_ctx("leadmagic")
        first = await leadmagic.enrich_company(COMPANY, ctx)
        second = await leadmagic.enrich_company(COMPANY, ctx)
        assert first.output["linkedin_url"] == "https://www.linkedin.com/company/acme-co"
        assert second.output["linkedin_url"] is None

    @pytest.mark.parametrize("code", ["resource_not_found", "profile_not_found"])
    @respx.mock
    async def test_a_404_not_found_code_is_not_found(self, provider_ctx, code):
        route = respx.post(COMPANY_URL).mock(return_value=_problem(404, code))
        outcome = await leadmagic.enrich_company(COMPANY, provider_ctx("leadmagic"))
        assert outcome.status is AttemptStatus.not_found and route.call_count == 1
        assert outcome.provider_status == code and outcome.http_status == 404

    @respx.mock
    async def test_a_404_with_another_code_is_a_failure(self, provider_ctx):
        respx.post(COMPANY_URL).mock(return_value=_problem(404, "route_not_found"))
        outcome = await leadmagic.enrich_company(COMPANY, provider_ctx("leadmagic"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "route_not_found"

    @respx.mock
    async def test_a_200_company_not_found_message_is_not_found(self, provider_ctx):
        respx.post(COMPANY_URL).mock(
            return_value=httpx.Response(200, json={"message": "Company not found", "credits_consumed": 0})
        )
        outcome = await leadmagic.enrich_company(COMPANY, provider_ctx("leadmagic"))
        assert outcome.status is AttemptStatus.not_found and outcome.provider_status == "Company not found"

    @respx.mock
    async def test_a_200_without_company_and_without_charge_is_not_found(self, provider_ctx):
        respx.post(COMPANY_URL).mock(return_value=httpx.Response(200, json={"message": "", "credits_consumed": 0}))
        outcome = await leadmagic.enrich_company(COMPANY, provider_ctx("leadmagic"))
        assert outcome.status is AttemptStatus.not_found

    @respx.mock
    async def test_the_snake_case_answer_of_the_openapi_file_is_read(self, provider_ctx):
        # the DetailedCompany schema of LeadMagic's OpenAPI file and MCP server (docs/providers.md
        # §2.3 L2, L7): snake_case, the headquarters as the flagged entry of `locations`
        body = {
            "credits_consumed": 1,
            "company_name": "Acme Inc",
            "company_id": 1234,
            "locations": [
                {"country": "US", "city": "Chicago", "geographic_area": "Illinois", "headquarter": False},
                {"country": "US", "city": "Springfield", "geographic_area": "Illinois", "headquarter": True},
            ],
            "employee_count": 87,
            "employee_count_range": {"start": 51, "end": 200},
            "industry": "Software Development",
            "description": "Makes anvils.",
            "website_url": "https://www.acme.com",
            "founded_on": {"month": None, "year": 1999, "day": None},
            "universal_name": "acmehq",
            "url": "https://www.linkedin.com/company/acmehq/",
        }
        respx.post(COMPANY_URL).mock(return_value=httpx.Response(200, json=body))
        outcome = await leadmagic.enrich_company(COMPANY, provider_ctx("leadmagic"))
        assert outcome.status is AttemptStatus.found
        assert outcome.output == {
            "name": "Acme Inc",
            "domain": "acme.com",
            "website": "https://www.acme.com",
            "linkedin_url": "https://www.linkedin.com/company/acmehq",
            "industry": "Software Development",
            "employee_count": 87,
            "employee_range": "51-200",
            "founded_year": 1999,
            "description": "Makes anvils.",
            "hq_city": "Springfield",
            "hq_region": "Illinois",
            "hq_country": "US",
            "logo_url": None,
            "profile_source": "leadmagic",
        }

    @respx.mock
    async def test_the_docs_example_fields_are_read(self, provider_ctx):
        # the docs page's example names `employeeRange`, `founded` and `headquarters` (L2 llms-full.txt)
        body = {
            "credits_consumed": 1,
            "companyName": "Acme Inc",
            "employeeRange": "51-200",
            "founded": "1999",
            "headquarters": {"city": "Springfield", "geographicArea": "Illinois", "country": "US"},
        }
        respx.post(COMPANY_URL).mock(return_value=httpx.Response(200, json=body))
        outcome = await leadmagic.enrich_company(COMPANY, provider_ctx("leadmagic"))
        assert outcome.status is AttemptStatus.found
        output = outcome.output
        assert (output["employee_range"], output["founded_year"]) == ("51-200", 1999)
        assert (output["hq_city"], output["hq_region"], output["hq_country"]) == ("Springfield", "Illinois", "US")

    @pytest.mark.parametrize(("founded", "year"), [(1999, 1999), ("1999-04-01", 1999), ("soon", None), ("12", None)])
    @respx.mock
    async def test_a_founding_year_is_taken_only_when_it_is_one(self, provider_ctx, founded, year):
        body = {"credits_consumed": 1, "company_name": "Acme Inc", "founded": founded}
        respx.post(COMPANY_URL).mock(return_value=httpx.Response(200, json=body))
        outcome = await leadmagic.enrich_company(COMPANY, provider_ctx("leadmagic"))
        assert outcome.output["founded_year"] == year

    @respx.mock
    async def test_a_charged_answer_without_a_company_is_a_failure(self, provider_ctx):
        respx.post(COMPANY_URL).mock(
            return_value=httpx.Response(200, json={"message": "Company found.", "credits_consumed": 1})
        )
        outcome = await leadmagic.enrich_company(COMPANY, provider_ctx("leadmagic"))
        assert outcome.status is AttemptStatus.failed and outcome.error == "charged answer without a company"

    @respx.mock
    async def test_only_the_known_identifiers_are_sent(self, provider_ctx):
        route = respx.post(COMPANY_URL).mock(return_value=_company_answer())
        await leadmagic.enrich_company(CompanyInput(name="Acme"), provider_ctx("leadmagic"))
        assert json.loads(route.calls.last.request.content) == {"company_name": "Acme"}
