"""The resolution and person-profile actions (issue 13): request, found, not_found and error
mapping per action, with the provider mocked by respx."""

import json

import httpx
import pytest
import respx

from app.contracts.entities import (
    CompanyDomainOutput,
    CompanyInput,
    CompanyLinkedInOutput,
    PersonInput,
    PersonLinkedInOutput,
    PersonProfile,
)
from app.providers import _resolve, blitzapi, companyenrich, gemini, leadmagic, openai, prospeo
from app.providers._http import ProviderAuthError
from app.providers.base import AttemptStatus
from tests.providers.conftest import base_url

BLITZ = base_url("blitzapi")
PROSPEO = base_url("prospeo")
LEADMAGIC = base_url("leadmagic")
CE = base_url("companyenrich")

BY_NAME = CompanyInput(name="Acme, Inc.")
BY_LINKEDIN = CompanyInput(linkedin_url="https://www.linkedin.com/company/acme")
BY_DOMAIN = CompanyInput(website="https://www.acme.com/about")
BY_EMAIL = PersonInput(work_email="Jane.Doe@Acme.com")
BY_PROFILE = PersonInput(linkedin_url="https://linkedin.com/in/janedoe/")

BLITZ_PERSON = {
    "full_name": "Jane Doe",
    "first_name": "Jane",
    "last_name": "Doe",
    "linkedin_url": "https://www.linkedin.com/in/janedoe",
    "location": {"city": "Austin", "state_code": "TX", "country_code": "US"},
    "experiences": [
        {"job_title": "Rep", "company_name": "Old", "company_domain": "old.com", "job_is_current": False},
        {
            "job_title": "VP Sales",
            "company_name": "Acme",
            "company_domain": "acme.com",
            "company_linkedin_url": "https://www.linkedin.com/company/acme",
            "job_is_current": True,
        },
    ],
}


@pytest.fixture(autouse=True)
def _forget_checked_keys():
    blitzapi._GOOD_KEYS.clear()
    yield
    blitzapi._GOOD_KEYS.clear()


class TestNameMatching:
    @pytest.mark.parametrize(
        ("a", "b", "same"),
        [
            ("Acme, Inc.", "ACME", True),
            ("Acme Corporation", "acme corp", True),
            ("Acme GmbH", "Acme", True),
            ("Acme Labs", "Acme", False),
            ("", "", False),
            ("Inc", "LLC", False),
        ],
    )
    def test_same_name(self, a, b, same):
        assert _resolve.same_name(a, b) is same

    @pytest.mark.parametrize(
        ("url", "domain"),
        [
            ("https://www.acme.com/", "acme.com"),
            ("acme.io", "acme.io"),
            ("https://www.linkedin.com/company/acme", None),
            ("https://en.wikipedia.org/wiki/Acme", None),
            ("ftp://acme.com", None),
            ("not a url", None),
        ],
    )
    def test_website_domain(self, url, domain):
        assert _resolve.website_domain(url) == domain


class TestBlitz:
    @respx.mock
    async def test_linkedin_to_domain(self, provider_ctx):
        route = respx.post(BLITZ + "/v2/enrichment/linkedin-to-domain").mock(
            return_value=httpx.Response(200, json={"found": True, "email_domain": "Acme.com"})
        )
        outcome = await blitzapi.domain_from_linkedin(BY_LINKEDIN, provider_ctx("blitzapi"))
        assert json.loads(route.calls.last.request.content) == {
            "company_linkedin_url": "https://www.linkedin.com/company/acme"
        }
        assert outcome.status is AttemptStatus.found
        assert CompanyDomainOutput.model_validate(outcome.output).domain == "acme.com"
        assert outcome.output["domain_source"] == "blitzapi"

    @respx.mock
    async def test_linkedin_to_domain_not_found(self, provider_ctx):
        respx.post(BLITZ + "/v2/enrichment/linkedin-to-domain").mock(
            return_value=httpx.Response(200, json={"found": False, "email_domain": None})
        )
        outcome = await blitzapi.domain_from_linkedin(BY_LINKEDIN, provider_ctx("blitzapi"))
        assert outcome.status is AttemptStatus.not_found and outcome.provider_status == "found:false"

    @respx.mock
    async def test_domain_to_linkedin(self, provider_ctx):
        route = respx.post(BLITZ + "/v2/enrichment/domain-to-linkedin").mock(
            return_value=httpx.Response(
                200, json={"found": True, "company_linkedin_url": "https://linkedin.com/company/Acme/"}
            )
        )
        outcome = await blitzapi.linkedin_from_domain(BY_DOMAIN, provider_ctx("blitzapi"))
        assert json.loads(route.calls.last.request.content) == {"domain": "acme.com"}
        assert outcome.output == {
            "linkedin_url": "https://www.linkedin.com/company/acme",
            "linkedin_source": "blitzapi",
        }
        CompanyLinkedInOutput.model_validate(outcome.output)

    @respx.mock
    async def test_a_422_is_an_input_failure(self, provider_ctx):
        body = {"success": False, "error": {"code": "INVALID_INPUT", "message": "bad"}}
        respx.post(BLITZ + "/v2/enrichment/domain-to-linkedin").mock(return_value=httpx.Response(422, json=body))
        outcome = await blitzapi.linkedin_from_domain(BY_DOMAIN, provider_ctx("blitzapi"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "INVALID_INPUT"

    @respx.mock
    async def test_name_search_takes_only_an_exact_name(self, provider_ctx):
        rows = [{"name": "Acme Labs", "domain": "acmelabs.com"}, {"name": "ACME", "website": "https://www.acme.com"}]
        route = respx.post(BLITZ + "/v2/search/companies").mock(
            return_value=httpx.Response(200, json={"results": rows, "cursor": None})
        )
        outcome = await blitzapi.domain_from_name(BY_NAME, provider_ctx("blitzapi"))
        assert json.loads(route.calls.last.request.content)["company"] == {"name": {"include": ["Acme, Inc."]}}
        assert outcome.status is AttemptStatus.found and outcome.output["domain"] == "acme.com"

    @respx.mock
    async def test_name_search_without_an_exact_name_is_not_found(self, provider_ctx):
        rows = [{"name": "Acme Labs", "domain": "acmelabs.com"}]
        respx.post(BLITZ + "/v2/search/companies").mock(
            return_value=httpx.Response(200, json={"results": rows, "cursor": None})
        )
        outcome = await blitzapi.domain_from_name(BY_NAME, provider_ctx("blitzapi"))
        assert outcome.status is AttemptStatus.not_found and outcome.provider_status == "no_exact_match"

    @respx.mock
    async def test_email_to_person_profile(self, provider_ctx):
        route = respx.post(BLITZ + "/v2/enrichment/email-to-person").mock(
            return_value=httpx.Response(200, json={"found": True, "person": BLITZ_PERSON})
        )
        outcome = await blitzapi.enrich_person(BY_EMAIL, provider_ctx("blitzapi"))
        assert json.loads(route.calls.last.request.content) == {"email": "jane.doe@acme.com"}
        profile = PersonProfile.model_validate(outcome.output)
        assert (profile.title, profile.company_domain, profile.location) == ("VP Sales", "acme.com", "Austin, TX, US")
        assert profile.company_linkedin_url == "https://www.linkedin.com/company/acme"
        assert profile.linkedin_url == "https://www.linkedin.com/in/janedoe"

    @respx.mock
    async def test_email_to_person_linkedin_and_miss(self, provider_ctx):
        respx.post(BLITZ + "/v2/enrichment/email-to-person").mock(
            side_effect=[
                httpx.Response(200, json={"found": True, "person": BLITZ_PERSON}),
                httpx.Response(200, json={"found": False, "person": None}),
            ]
        )
        hit = await blitzapi.linkedin_from_email(BY_EMAIL, provider_ctx("blitzapi"))
        assert PersonLinkedInOutput.model_validate(hit.output).linkedin_url == "https://www.linkedin.com/in/janedoe"
        miss = await blitzapi.linkedin_from_email(BY_EMAIL, provider_ctx("blitzapi"))
        assert miss.status is AttemptStatus.not_found

    def test_profile_needs_an_email(self):
        assert blitzapi.eligible_email(BY_PROFILE) == "missing_input:work_email|email"

    @respx.mock
    async def test_a_bad_key_raises_auth(self, provider_ctx):
        respx.post(BLITZ + "/v2/enrichment/email-to-person").mock(
            return_value=httpx.Response(401, json={"message": "Invalid API key"})
        )
        with pytest.raises(ProviderAuthError):
            await blitzapi.enrich_person(BY_EMAIL, provider_ctx("blitzapi"))


def _prospeo_company(**company):
    return httpx.Response(200, json={"error": False, "company": company})


class TestProspeo:
    @respx.mock
    async def test_domain_from_linkedin(self, provider_ctx):
        route = respx.post(PROSPEO + "/enrich-company").mock(
            return_value=_prospeo_company(name="Acme", website="https://www.acme.com", domain=None)
        )
        outcome = await prospeo.domain_from_linkedin(BY_LINKEDIN, provider_ctx("prospeo"))
        assert json.loads(route.calls.last.request.content) == {
            "data": {"company_linkedin_url": "https://www.linkedin.com/company/acme"}
        }
        assert outcome.output == {"domain": "acme.com", "domain_source": "prospeo"}

    @respx.mock
    async def test_linkedin_from_domain_and_no_match(self, provider_ctx):
        respx.post(PROSPEO + "/enrich-company").mock(
            side_effect=[
                _prospeo_company(name="Acme", linkedin_url="https://www.linkedin.com/company/acme"),
                httpx.Response(400, json={"error": True, "error_code": "NO_MATCH"}),
                _prospeo_company(name="Acme", linkedin_url=None),
            ]
        )
        hit = await prospeo.linkedin_from_domain(BY_DOMAIN, provider_ctx("prospeo"))
        assert hit.output == {"linkedin_url": "https://www.linkedin.com/company/acme", "linkedin_source": "prospeo"}
        miss = await prospeo.linkedin_from_domain(BY_DOMAIN, provider_ctx("prospeo"))
        assert miss.status is AttemptStatus.not_found and miss.provider_status == "NO_MATCH"
        bare = await prospeo.linkedin_from_domain(BY_DOMAIN, provider_ctx("prospeo"))
        assert bare.status is AttemptStatus.not_found and bare.provider_status == "no_linkedin_url"

    @respx.mock
    async def test_domain_from_name_search(self, provider_ctx):
        rows = [{"company": {"name": "Acme Inc", "domain": "acme.com"}}]
        route = respx.post(PROSPEO + "/search-company").mock(
            return_value=httpx.Response(200, json={"error": False, "results": rows, "pagination": {}})
        )
        outcome = await prospeo.domain_from_name(BY_NAME, provider_ctx("prospeo"))
        assert json.loads(route.calls.last.request.content) == {
            "page": 1,
            "filters": {"company": {"names": {"include": ["Acme, Inc."]}}},
        }
        assert outcome.output == {"domain": "acme.com", "domain_source": "prospeo"}

    @respx.mock
    async def test_domain_from_name_no_results_and_credits(self, provider_ctx):
        respx.post(PROSPEO + "/search-company").mock(
            side_effect=[
                httpx.Response(400, json={"error": True, "error_code": "NO_RESULTS"}),
                httpx.Response(400, json={"error": True, "error_code": "INSUFFICIENT_CREDITS"}),
            ]
        )
        miss = await prospeo.domain_from_name(BY_NAME, provider_ctx("prospeo"))
        assert miss.status is AttemptStatus.not_found
        broke = await prospeo.domain_from_name(BY_NAME, provider_ctx("prospeo"))
        assert broke.status is AttemptStatus.failed and broke.provider_status == "INSUFFICIENT_CREDITS"

    @respx.mock
    async def test_enrich_person(self, provider_ctx):
        body = {
            "error": False,
            "person": {
                "full_name": "Jane Doe",
                "first_name": "Jane",
                "last_name": "Doe",
                "linkedin_url": "https://www.linkedin.com/in/janedoe",
                "current_job_title": "VP Sales",
                "job_history": [{"title": "VP Sales", "company_name": "Acme", "current": True, "seniority": "VP"}],
                "location": {"city": "Austin", "state": "Texas", "country": "United States"},
            },
            "company": {"name": "Acme", "domain": "acme.com", "linkedin_url": "https://www.linkedin.com/company/acme"},
        }
        route = respx.post(PROSPEO + "/enrich-person").mock(return_value=httpx.Response(200, json=body))
        data = PersonInput(full_name="Jane Doe", company_domain="acme.com")
        outcome = await prospeo.enrich_person(data, provider_ctx("prospeo"))
        sent = json.loads(route.calls.last.request.content)
        assert sent == {
            "only_verified_email": False,
            "enrich_mobile": False,
            "data": {"full_name": "Jane Doe", "company_website": "acme.com"},
        }
        profile = PersonProfile.model_validate(outcome.output)
        assert (profile.title, profile.seniority, profile.company_domain) == ("VP Sales", "VP", "acme.com")
        assert profile.location == "Austin, Texas, United States"

    @respx.mock
    async def test_linkedin_from_email_sends_only_the_email(self, provider_ctx):
        body = {"error": False, "person": {"linkedin_url": "https://www.linkedin.com/in/janedoe"}}
        route = respx.post(PROSPEO + "/enrich-person").mock(
            side_effect=[
                httpx.Response(200, json=body),
                httpx.Response(400, json={"error": True, "error_code": "NO_MATCH"}),
            ]
        )
        data = PersonInput(work_email="jane@acme.com", full_name="Jane Doe")
        hit = await prospeo.linkedin_from_email(data, provider_ctx("prospeo"))
        assert json.loads(route.calls[0].request.content)["data"] == {"email": "jane@acme.com"}
        assert hit.output == {"linkedin_url": "https://www.linkedin.com/in/janedoe", "linkedin_source": "prospeo"}
        miss = await prospeo.linkedin_from_email(data, provider_ctx("prospeo"))
        assert miss.status is AttemptStatus.not_found


class TestLeadMagic:
    @respx.mock
    async def test_domain_from_name_needs_the_same_name(self, provider_ctx):
        route = respx.post(LEADMAGIC + "/v1/companies/company-search").mock(
            side_effect=[
                httpx.Response(
                    200, json={"companyName": "ACME", "websiteUrl": "https://acme.com", "credits_consumed": 1}
                ),
                httpx.Response(
                    200, json={"companyName": "Acme Labs", "websiteUrl": "https://x.io", "credits_consumed": 1}
                ),
            ]
        )
        hit = await leadmagic.domain_from_name(BY_NAME, provider_ctx("leadmagic"))
        assert json.loads(route.calls[0].request.content) == {"company_name": "Acme, Inc."}
        assert hit.output == {"domain": "acme.com", "domain_source": "leadmagic"}
        other = await leadmagic.domain_from_name(BY_NAME, provider_ctx("leadmagic"))
        assert other.status is AttemptStatus.not_found and other.provider_status == "no_exact_match"

    @respx.mock
    async def test_linkedin_and_domain_lookups(self, provider_ctx):
        route = respx.post(LEADMAGIC + "/v1/companies/company-search").mock(
            side_effect=[
                httpx.Response(200, json={"companyName": "Acme", "b2b_profile_url": "acme", "credits_consumed": 1}),
                httpx.Response(
                    200, json={"companyName": "Acme", "websiteUrl": "https://acme.com", "credits_consumed": 1}
                ),
                httpx.Response(200, json={"companyName": "Acme", "credits_consumed": 1}),
            ]
        )
        by_domain = await leadmagic.linkedin_from_domain(BY_DOMAIN, provider_ctx("leadmagic"))
        assert json.loads(route.calls[0].request.content) == {"company_domain": "acme.com"}
        assert by_domain.output == {
            "linkedin_url": "https://www.linkedin.com/company/acme",
            "linkedin_source": "leadmagic",
        }
        by_linkedin = await leadmagic.domain_from_linkedin(BY_LINKEDIN, provider_ctx("leadmagic"))
        assert json.loads(route.calls[1].request.content) == {"profile_url": "https://www.linkedin.com/company/acme"}
        assert by_linkedin.output == {"domain": "acme.com", "domain_source": "leadmagic"}
        without = await leadmagic.domain_from_linkedin(BY_LINKEDIN, provider_ctx("leadmagic"))
        assert without.status is AttemptStatus.not_found and without.provider_status == "field_missing"

    @respx.mock
    async def test_b2b_profile(self, provider_ctx):
        route = respx.post(LEADMAGIC + "/v1/people/b2b-profile").mock(
            side_effect=[
                httpx.Response(
                    200,
                    json={
                        "profile_url": "https://www.linkedin.com/in/janedoe",
                        "message": "Profile URL found",
                        "credits_consumed": 10,
                    },
                ),
                httpx.Response(200, json={"profile_url": None, "message": "Not found", "credits_consumed": 0}),
                httpx.Response(
                    404,
                    json={"success": False, "errors": [{"code": "profile_not_found", "title": "Not found"}]},
                ),
                httpx.Response(400, json={"success": False, "errors": [{"code": "validation_error"}]}),
            ]
        )
        hit = await leadmagic.linkedin_from_email(BY_EMAIL, provider_ctx("leadmagic"))
        assert json.loads(route.calls[0].request.content) == {"work_email": "jane.doe@acme.com"}
        assert hit.output == {"linkedin_url": "https://www.linkedin.com/in/janedoe", "linkedin_source": "leadmagic"}
        assert (
            await leadmagic.linkedin_from_email(BY_EMAIL, provider_ctx("leadmagic"))
        ).status is AttemptStatus.not_found
        gone = await leadmagic.linkedin_from_email(BY_EMAIL, provider_ctx("leadmagic"))
        assert gone.status is AttemptStatus.not_found and gone.provider_status == "profile_not_found"
        bad = await leadmagic.linkedin_from_email(BY_EMAIL, provider_ctx("leadmagic"))
        assert bad.status is AttemptStatus.failed and bad.provider_status == "validation_error"

    @respx.mock
    async def test_profile_search(self, provider_ctx):
        body = {
            "profile_url": "https://www.linkedin.com/in/janedoe",
            "full_name": "Jane Doe",
            "first_name": "Jane",
            "last_name": "Doe",
            "headline": "Helping teams sell",
            "company_name": "Acme",
            "company_website": "acme.com",
            "company_linkedin_url": "linkedin.com/company/acme",
            "location": "Austin, Texas, United States",
            "experiences": [{"title": "VP Sales", "subtitle": "Acme"}],
            "credits_consumed": 1,
        }
        route = respx.post(LEADMAGIC + "/v1/people/profile-search").mock(return_value=httpx.Response(200, json=body))
        outcome = await leadmagic.enrich_person(BY_PROFILE, provider_ctx("leadmagic"))
        assert json.loads(route.calls.last.request.content) == {"profile_url": "https://www.linkedin.com/in/janedoe"}
        profile = PersonProfile.model_validate(outcome.output)
        assert (profile.title, profile.company_domain) == ("VP Sales", "acme.com")
        assert profile.company_linkedin_url == "https://www.linkedin.com/company/acme"

    @respx.mock
    async def test_profile_search_empty_is_not_found(self, provider_ctx):
        respx.post(LEADMAGIC + "/v1/people/profile-search").mock(
            return_value=httpx.Response(200, json={"credits_consumed": 0})
        )
        outcome = await leadmagic.enrich_person(BY_PROFILE, provider_ctx("leadmagic"))
        assert outcome.status is AttemptStatus.not_found


class TestCompanyEnrich:
    @respx.mock
    async def test_linkedin_from_domain(self, provider_ctx):
        respx.get(CE + "/companies/enrich").mock(
            side_effect=[
                httpx.Response(
                    200,
                    json={
                        "name": "Acme",
                        "domain": "acme.com",
                        "socials": {"linkedin_url": "linkedin.com/company/acme"},
                    },
                ),
                httpx.Response(200, json={"name": "Acme", "domain": "acme.com"}),
                httpx.Response(404, text="not found"),
            ]
        )
        hit = await companyenrich.linkedin_from_domain(BY_DOMAIN, provider_ctx("companyenrich"))
        assert hit.output == {
            "linkedin_url": "https://www.linkedin.com/company/acme",
            "linkedin_source": "companyenrich",
        }
        bare = await companyenrich.linkedin_from_domain(BY_DOMAIN, provider_ctx("companyenrich"))
        assert bare.status is AttemptStatus.not_found and bare.provider_status == "no_linkedin_url"
        gone = await companyenrich.linkedin_from_domain(BY_DOMAIN, provider_ctx("companyenrich"))
        assert gone.status is AttemptStatus.not_found and gone.provider_status == "http_404"


def _gemini_answer(url):
    text = json.dumps({"url": url, "confidence": "high"})
    return httpx.Response(200, json={"candidates": [{"content": {"parts": [{"text": text}]}, "finishReason": "STOP"}]})


def _openai_answer(url):
    text = json.dumps({"url": url, "confidence": "high"})
    output = [{"type": "message", "content": [{"type": "output_text", "text": text}]}]
    return httpx.Response(200, json={"status": "completed", "output": output})


class TestResearch:
    """The website a model names becomes the domain only when it resolves in DNS (the resolver is
    the network boundary here and is replaced; no HTTP fetch is ever made)."""

    @pytest.fixture
    def dns(self, monkeypatch):
        live: set[str] = {"acme.com"}

        async def resolves(domain: str) -> bool:
            return domain in live

        monkeypatch.setattr(_resolve, "domain_resolves", resolves)
        return live

    @respx.mock
    async def test_gemini_found_and_checked(self, provider_ctx, dns):
        route = respx.post(url__regex=r".*:generateContent").mock(return_value=_gemini_answer("https://www.acme.com/"))
        outcome = await gemini.domain_from_name(BY_NAME, provider_ctx("gemini"))
        assert "Acme, Inc." in json.loads(route.calls.last.request.content)["contents"][0]["parts"][0]["text"]
        assert outcome.status is AttemptStatus.found
        assert outcome.output == {"domain": "acme.com", "domain_source": "gemini"}

    @respx.mock
    async def test_gemini_unresolvable_domain_is_not_found(self, provider_ctx, dns):
        respx.post(url__regex=r".*:generateContent").mock(return_value=_gemini_answer("https://acme-made-up.com"))
        outcome = await gemini.domain_from_name(BY_NAME, provider_ctx("gemini"))
        assert outcome.status is AttemptStatus.not_found and outcome.provider_status == "unresolvable_domain"

    @respx.mock
    async def test_a_directory_page_is_rejected(self, provider_ctx, dns):
        respx.post(url__regex=r".*:generateContent").mock(
            return_value=_gemini_answer("https://www.linkedin.com/company/acme")
        )
        outcome = await gemini.domain_from_name(BY_NAME, provider_ctx("gemini"))
        assert outcome.status is AttemptStatus.not_found and outcome.provider_status == "rejected_url"

    @respx.mock
    async def test_openai_searches_without_a_domain_filter(self, provider_ctx, dns):
        route = respx.post(base_url("openai") + "/v1/responses").mock(return_value=_openai_answer("acme.com"))
        outcome = await openai.domain_from_name(BY_NAME, provider_ctx("openai"))
        sent = json.loads(route.calls.last.request.content)
        assert sent["tools"] == [{"type": "web_search"}]
        assert outcome.output == {"domain": "acme.com", "domain_source": "openai"}

    async def test_dns_check_refuses_a_private_address(self, monkeypatch):
        async def fake_getaddrinfo(*_args, **_kwargs):
            return [(2, 1, 6, "", ("10.0.0.5", 443))]

        import asyncio

        loop = asyncio.get_running_loop()
        monkeypatch.setattr(loop, "getaddrinfo", fake_getaddrinfo)
        assert await _resolve.domain_resolves("intranet.example") is False
