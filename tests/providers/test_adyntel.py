import json

import httpx
import pytest
import respx

from app.contracts.entities import CompanyInput, GoogleAdsOutput, LinkedInAdsOutput, MetaAdsOutput
from app.providers import adyntel
from app.providers._http import (
    ProviderAuthError,
    ProviderCreditsError,
    ProviderMalformedResponse,
    ProviderServerError,
    ProviderStatusError,
    ProviderTimeoutError,
)
from app.providers.base import AttemptStatus
from tests.providers.conftest import TEST_KEY, base_url

BASE = base_url("adyntel")
COMPANY = CompanyInput(name="Acme", website="https://www.Acme.com/about")
ACTIONS = {
    "linkedin": (adyntel.search_linkedin_ads, "/linkedin"),
    "meta": (adyntel.search_meta_ads, "/facebook"),
    "google": (adyntel.search_google_ads, "/google"),
}

LINKEDIN_AD = {
    "ad_id": "560774026",
    "advertiser": {"name": "Acme", "logo_url": "https://media.licdn.com/logo", "promoted": True},
    "carousel": None,
    "commentary": {"text": "Ship faster with Acme.", "link": "https://acme.com/lp"},
    "creative_type": "SPONSORED_VIDEO",
    "headline": {"title": "Try Acme", "description": "Promoted"},
    "image": {"url": "https://media.licdn.com/img", "alt_text": None},
    "raw": None,
    "type": "image",
    "view_details_link": "https://www.linkedin.com/ad-library/detail/560774026",
}
LINKEDIN_BODY = {
    "ads": [LINKEDIN_AD],
    "continuation_token": "560746476-1730975030000",
    "is_last_page": False,
    "page_id": "10917347",
    "total_ads": 42,
}


def _meta_ad(archive_id: str, **extra) -> dict:
    return {
        "adArchiveID": archive_id,
        "adid": "0",
        "pageID": "219810892023535",
        "pageName": "Acme",
        "isActive": True,
        "publisherPlatform": ["facebook", "instagram"],
        "startDate": 1731398400,
        "endDate": 1732608000,
        "snapshot": {
            "body": {"markup": {"__html": "Meet Acme"}},
            "cta_text": "Sign up",
            "cta_type": "SIGN_UP",
            "display_format": "DCO",
            "link_url": "https://acme.com/signup",
            "page_profile_uri": "https://facebook.com/acme",
        },
        **extra,
    }


META_BODY = {
    "active_status": "active",
    "continuation_token": "q5SkUA7x8o2",
    "country_code": "US",
    "is_result_complete": False,
    "media_types": "all",
    "number_of_ads": 3,
    "page_id": "219810892023535",
    "platform": ["facebook", "instagram"],
    "results": [
        [_meta_ad("1068275031288917"), _meta_ad("1068275031288918", isActive=False, endDate=0)],
        [_meta_ad("1068275031288919")],
    ],
}
GOOGLE_AD = {
    "advertiser_id": "AR14106713362364628993",
    "advertiser_name": "Acme Inc",
    "creative_id": "CR10126761610920853505",
    "format": "Text",
    "last_seen": "2024-11-26",
    "original_url": "https://adstransparency.google.com/advertiser/AR1/creative/CR1?region=anywhere",
    "start": "2023-06-09",
    "variants": [
        {"content": '<img src="https://tpc.googlesyndication.com/archive/simgad/55">', "height": 219, "width": 380}
    ],
}
GOOGLE_BODY = {"ads": [GOOGLE_AD], "continuation_token": "CgoAP7znYM4M", "country_code": "anywhere"}


class TestRequests:
    @pytest.mark.parametrize("kind", ["linkedin", "meta", "google"])
    @respx.mock
    async def test_request_shape_follows_the_documentation(self, provider_ctx, kind):
        action, path = ACTIONS[kind]
        route = respx.post(BASE + path).mock(return_value=httpx.Response(204))
        await action(COMPANY, provider_ctx("adyntel"))
        request = route.calls.last.request
        assert request.method == "POST" and request.url.path == path and not request.url.query
        assert request.headers["content-type"] == "application/json"
        assert "authorization" not in request.headers
        # auth in the body, and the domain bare (no scheme, no www, no path) [§9]
        assert json.loads(request.content) == {
            "api_key": TEST_KEY,
            "email": "ops@example.com",
            "company_domain": "acme.com",
        }

    @pytest.mark.parametrize("kind", ["linkedin", "meta", "google"])
    @pytest.mark.parametrize("email", [None, ""])
    @respx.mock
    async def test_without_the_account_email_the_action_is_skipped_without_a_call(self, provider_ctx, kind, email):
        action, path = ACTIONS[kind]
        route = respx.post(BASE + path).mock(return_value=httpx.Response(204))
        outcome = await action(COMPANY, provider_ctx("adyntel", email=email))
        assert outcome.status is AttemptStatus.skipped
        assert outcome.skip_reason == "not_configured:adyntel_email"
        assert route.call_count == 0

    def test_every_catalog_operation_has_an_action(self):
        assert set(adyntel.ACTIONS) == {
            "company.ads.search.linkedin",
            "company.ads.search.meta",
            "company.ads.search.google",
        }
        assert {a.name for a in adyntel.ACTIONS.values()} == {
            "search_linkedin_ads",
            "search_meta_ads",
            "search_google_ads",
        }


class TestLinkedIn:
    @respx.mock
    async def test_ads_are_mapped_to_canonical_fields(self, provider_ctx):
        respx.post(BASE + "/linkedin").mock(return_value=httpx.Response(200, json=LINKEDIN_BODY))
        outcome = await adyntel.search_linkedin_ads(COMPANY, provider_ctx("adyntel"))
        assert outcome.status is AttemptStatus.found and outcome.http_status == 200
        assert outcome.output == {
            "linkedin_ads": {
                "ads": [
                    {
                        "ad_id": "560774026",
                        "platform": "linkedin",
                        "format": "image",
                        "headline": "Try Acme",
                        "text": "Ship faster with Acme.",
                        "landing_url": "https://acme.com/lp",
                        "preview_url": "https://www.linkedin.com/ad-library/detail/560774026",
                    }
                ],
                "total_ads": 42,
                "next_cursor": "560746476-1730975030000",
            }
        }
        assert LinkedInAdsOutput.model_validate(outcome.output).linkedin_ads.ads[0].ad_id == "560774026"
        assert outcome.raw == LINKEDIN_BODY

    @respx.mock
    async def test_the_last_page_has_no_next_cursor(self, provider_ctx):
        body = {**LINKEDIN_BODY, "is_last_page": True, "continuation_token": "stale"}
        respx.post(BASE + "/linkedin").mock(return_value=httpx.Response(200, json=body))
        outcome = await adyntel.search_linkedin_ads(COMPANY, provider_ctx("adyntel"))
        assert outcome.output["linkedin_ads"]["next_cursor"] is None

    @pytest.mark.parametrize(
        "body", [{"ads": [], "is_last_page": True, "total_ads": 0, "continuation_token": None}, {}, None]
    )
    @respx.mock
    async def test_no_ads_is_not_found(self, provider_ctx, body):
        response = httpx.Response(200, json=body) if body is not None else httpx.Response(200)
        respx.post(BASE + "/linkedin").mock(return_value=response)
        outcome = await adyntel.search_linkedin_ads(COMPANY, provider_ctx("adyntel"))
        assert outcome.status is AttemptStatus.not_found and outcome.output is None
        assert outcome.raw == body


class TestMeta:
    @respx.mock
    async def test_nested_results_are_flattened_and_mapped(self, provider_ctx):
        respx.post(BASE + "/facebook").mock(return_value=httpx.Response(200, json=META_BODY))
        outcome = await adyntel.search_meta_ads(COMPANY, provider_ctx("adyntel"))
        assert outcome.status is AttemptStatus.found
        result = outcome.output["meta_ads"]
        assert [a["ad_id"] for a in result["ads"]] == ["1068275031288917", "1068275031288918", "1068275031288919"]
        assert result["ads"][0] == {
            "ad_id": "1068275031288917",
            "platform": "meta",
            "format": "dco",
            "text": "Meet Acme",
            "landing_url": "https://acme.com/signup",
            "first_seen": "2024-11-12",
            "last_seen": "2024-11-26",
            "is_active": True,
        }
        # endDate 0 means no end date
        assert result["ads"][1]["is_active"] is False and result["ads"][1]["last_seen"] is None
        assert result["total_ads"] == 3 and result["next_cursor"] == "q5SkUA7x8o2"
        assert len(MetaAdsOutput.model_validate(outcome.output).meta_ads.ads) == 3

    @respx.mock
    async def test_the_ad_text_is_read_from_snapshot_body_text(self, provider_ctx):
        # the vendor's own fixture (Adyntel/adyntel-n8n-node test.md) carries the text there
        ad = _meta_ad("1", snapshot={"body": {"text": "Breaking news from the world of work!"}})
        body = {**META_BODY, "results": [[ad]]}
        respx.post(BASE + "/facebook").mock(return_value=httpx.Response(200, json=body))
        outcome = await adyntel.search_meta_ads(COMPANY, provider_ctx("adyntel"))
        assert outcome.output["meta_ads"]["ads"][0]["text"] == "Breaking news from the world of work!"

    @respx.mock
    async def test_number_of_ads_is_the_total_not_the_page_count(self, provider_ctx):
        # the vendor fixture: 669 ads matched, a page of about 30 returned, a token for the rest
        body = {**META_BODY, "number_of_ads": 669, "is_result_complete": False}
        respx.post(BASE + "/facebook").mock(return_value=httpx.Response(200, json=body))
        outcome = await adyntel.search_meta_ads(COMPANY, provider_ctx("adyntel"))
        result = outcome.output["meta_ads"]
        assert result["total_ads"] == 669 and len(result["ads"]) == 3 and result["next_cursor"] == "q5SkUA7x8o2"

    @respx.mock
    async def test_204_with_an_empty_body_is_not_found(self, provider_ctx):
        respx.post(BASE + "/facebook").mock(return_value=httpx.Response(204))
        outcome = await adyntel.search_meta_ads(COMPANY, provider_ctx("adyntel"))
        assert outcome.status is AttemptStatus.not_found and outcome.http_status == 204
        assert outcome.raw is None

    @pytest.mark.parametrize(
        "body", [{}, {**META_BODY, "results": [], "number_of_ads": 0}, {**META_BODY, "results": [[]]}]
    )
    @respx.mock
    async def test_an_empty_answer_is_not_found(self, provider_ctx, body):
        respx.post(BASE + "/facebook").mock(return_value=httpx.Response(200, json=body))
        outcome = await adyntel.search_meta_ads(COMPANY, provider_ctx("adyntel"))
        assert outcome.status is AttemptStatus.not_found and outcome.http_status == 200


class TestGoogle:
    @respx.mock
    async def test_ads_are_mapped_to_canonical_fields(self, provider_ctx):
        respx.post(BASE + "/google").mock(return_value=httpx.Response(200, json=GOOGLE_BODY))
        outcome = await adyntel.search_google_ads(COMPANY, provider_ctx("adyntel"))
        assert outcome.status is AttemptStatus.found
        assert outcome.output == {
            "google_ads": {
                "ads": [
                    {
                        "ad_id": "CR10126761610920853505",
                        "platform": "google",
                        "format": "text",
                        "preview_url": "https://adstransparency.google.com/advertiser/AR1/creative/CR1?region=anywhere",
                        "first_seen": "2023-06-09",
                        "last_seen": "2024-11-26",
                    }
                ],
                "total_ads": None,
                "next_cursor": "CgoAP7znYM4M",
            }
        }
        assert GoogleAdsOutput.model_validate(outcome.output).google_ads.ads[0].format == "text"

    @respx.mock
    async def test_no_ads_is_not_found(self, provider_ctx):
        body = {"ads": [], "continuation_token": None, "country_code": "anywhere"}
        respx.post(BASE + "/google").mock(return_value=httpx.Response(200, json=body))
        outcome = await adyntel.search_google_ads(COMPANY, provider_ctx("adyntel"))
        assert outcome.status is AttemptStatus.not_found and outcome.raw == body


class TestErrors:
    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"error": "Not enough credits"}, "insufficient_credits"),
            ({"error": "Invalid credentials"}, "auth_error"),
            ({"message": "Something went wrong"}, "error"),
        ],
    )
    @pytest.mark.parametrize("kind", ["linkedin", "meta", "google"])
    @respx.mock
    async def test_an_error_reported_with_http_200_is_a_failure(self, provider_ctx, kind, body, code):
        action, path = ACTIONS[kind]
        respx.post(BASE + path).mock(return_value=httpx.Response(200, json=body))
        outcome = await action(COMPANY, provider_ctx("adyntel"))
        assert outcome.status is AttemptStatus.failed
        assert outcome.provider_status == code and outcome.error == next(iter(body.values()))
        assert outcome.raw == body

    @pytest.mark.parametrize("body", [[1, 2], {"ads": ["not an ad"]}, {"ads": {"ad_id": "1"}}])
    @respx.mock
    async def test_an_unexpected_shape_is_a_failure(self, provider_ctx, body):
        respx.post(BASE + "/linkedin").mock(return_value=httpx.Response(200, json=body))
        outcome = await adyntel.search_linkedin_ads(COMPANY, provider_ctx("adyntel"))
        assert outcome.status is AttemptStatus.failed and outcome.raw == body

    @respx.mock
    async def test_bad_credentials_are_an_auth_error_and_not_retried(self, provider_ctx):
        route = respx.post(BASE + "/google").mock(
            return_value=httpx.Response(401, json={"error": "Invalid credentials"})
        )
        with pytest.raises(ProviderAuthError) as e:
            await adyntel.search_google_ads(COMPANY, provider_ctx("adyntel"))
        assert route.call_count == 1 and e.value.status_code == 401
        assert e.value.body == {"error": "Invalid credentials"}

    @respx.mock
    async def test_402_is_a_credits_error(self, provider_ctx):
        route = respx.post(BASE + "/linkedin").mock(return_value=httpx.Response(402, json={"error": "No credits"}))
        with pytest.raises(ProviderCreditsError):
            await adyntel.search_linkedin_ads(COMPANY, provider_ctx("adyntel"))
        assert route.call_count == 1

    @respx.mock
    async def test_another_4xx_is_a_failure_not_retried(self, provider_ctx):
        route = respx.post(BASE + "/facebook").mock(return_value=httpx.Response(400, json={"error": "bad domain"}))
        with pytest.raises(ProviderStatusError) as e:
            await adyntel.search_meta_ads(COMPANY, provider_ctx("adyntel"))
        assert route.call_count == 1 and e.value.status_code == 400

    @respx.mock
    async def test_a_429_then_success_honours_retry_after(self, provider_ctx, clock):
        route = respx.post(BASE + "/linkedin").mock(
            side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json=LINKEDIN_BODY)]
        )
        outcome = await adyntel.search_linkedin_ads(COMPANY, provider_ctx("adyntel"))
        assert outcome.status is AttemptStatus.found and route.call_count == 2
        # the provider's Retry-After is the wait, not the short backoff
        assert clock.sleeps == [7.0]

    @respx.mock
    async def test_a_5xx_is_retried_then_reported(self, provider_ctx):
        route = respx.post(BASE + "/google").mock(return_value=httpx.Response(502, text="bad gateway"))
        with pytest.raises(ProviderServerError) as e:
            await adyntel.search_google_ads(COMPANY, provider_ctx("adyntel"))
        assert route.call_count == 3 and e.value.status_code == 502

    @respx.mock
    async def test_a_read_timeout_on_the_billable_post_is_not_resent(self, provider_ctx):
        route = respx.post(BASE + "/facebook").mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(ProviderTimeoutError):
            await adyntel.search_meta_ads(COMPANY, provider_ctx("adyntel"))
        assert route.call_count == 1

    @respx.mock
    async def test_malformed_json_is_a_failure(self, provider_ctx):
        respx.post(BASE + "/linkedin").mock(return_value=httpx.Response(200, text="<html>oops"))
        with pytest.raises(ProviderMalformedResponse):
            await adyntel.search_linkedin_ads(COMPANY, provider_ctx("adyntel"))
