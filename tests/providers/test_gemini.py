import json

import httpx
import pytest
import respx

from app.contracts.entities import CompanyInput, G2Output, PricingOutput
from app.providers import gemini
from app.providers._http import (
    ProviderAuthError,
    ProviderMalformedResponse,
    ProviderServerError,
    ProviderTimeoutError,
)
from app.providers.base import AttemptStatus
from tests.providers.conftest import TEST_KEY, base_url, retry_at

BASE = base_url("gemini")
URL = BASE + "/v1beta/models/gemini-2.5-flash:generateContent"
COMPANY = CompanyInput(name="Acme", website="https://www.Acme.com/about")


def _answer(text: str | dict, *, finish: str = "STOP", **extra) -> httpx.Response:
    if isinstance(text, dict):
        text = json.dumps(text)
    candidate = {
        "content": {"role": "model", "parts": [{"text": text}]},
        "finishReason": finish,
        "groundingMetadata": {
            "webSearchQueries": ["acme g2"],
            "groundingChunks": [{"web": {"uri": "https://vertexaisearch.example/redirect", "title": "g2.com"}}],
        },
    }
    return httpx.Response(200, json={"candidates": [candidate], "usageMetadata": {}, **extra})


def _url(url: str | None, confidence: str = "high") -> httpx.Response:
    return _answer({"url": url, "confidence": confidence})


class TestRequest:
    @respx.mock
    async def test_request_shape_follows_the_documentation(self, provider_ctx):
        route = respx.post(URL).mock(return_value=_url("https://www.g2.com/products/acme/reviews"))
        await gemini.resolve_g2_url(COMPANY, provider_ctx("gemini"))
        request = route.calls.last.request
        assert request.method == "POST"
        assert request.url.path == "/v1beta/models/gemini-2.5-flash:generateContent"
        assert request.headers["x-goog-api-key"] == TEST_KEY and not request.url.query
        body = json.loads(request.content)
        config = body["generationConfig"]
        assert config["responseMimeType"] == "application/json" and config["temperature"] == 0
        assert config["responseSchema"]["type"] == "OBJECT"
        assert config["responseSchema"]["required"] == ["url", "confidence"]
        assert config["responseSchema"]["properties"]["url"]["nullable"] is True
        assert config["responseSchema"]["properties"]["confidence"]["enum"] == ["high", "medium", "low"]
        assert "G2" in body["systemInstruction"]["parts"][0]["text"]
        assert body["contents"][0]["role"] == "user"
        question = body["contents"][0]["parts"][0]["text"]
        assert "Acme" in question and "acme.com" in question
        # Gemini 2.5 refuses tools together with a JSON response type (§10.2)
        assert "tools" not in body

    @respx.mock
    async def test_the_pricing_question_names_the_domain(self, provider_ctx):
        route = respx.post(URL).mock(return_value=_url("https://acme.com/pricing"))
        await gemini.resolve_pricing_page_url(CompanyInput(domain="acme.com"), provider_ctx("gemini"))
        body = json.loads(route.calls.last.request.content)
        assert "pricing page on acme.com" in body["contents"][0]["parts"][0]["text"]
        assert "(name unknown)" in body["contents"][0]["parts"][0]["text"]

    @pytest.mark.parametrize(
        ("model", "setting", "grounded"),
        [
            ("gemini-3-flash-preview", None, True),
            ("gemini-2.5-flash", None, False),
            ("gemini-2.5-flash", True, True),
            ("gemini-3-flash-preview", False, False),
        ],
    )
    @respx.mock
    async def test_google_search_is_added_for_models_that_combine_it_with_a_schema(
        self, provider_ctx, model, setting, grounded
    ):
        route = respx.post(f"{BASE}/v1beta/models/{model}:generateContent").mock(
            return_value=_url("https://www.g2.com/products/acme/reviews")
        )
        ctx = provider_ctx("gemini", model=model, grounded_structured=setting)
        await gemini.resolve_g2_url(COMPANY, ctx)
        body = json.loads(route.calls.last.request.content)
        assert (body.get("tools") == [{"google_search": {}}]) is grounded
        assert body["generationConfig"]["responseMimeType"] == "application/json"


class TestG2:
    @pytest.mark.parametrize(
        ("given", "accepted"),
        [
            ("https://www.g2.com/products/acme/reviews", "https://www.g2.com/products/acme/reviews"),
            ("https://g2.com/products/acme-crm", "https://www.g2.com/products/acme-crm/reviews"),
            (
                "https://www.g2.com/products/acme-crm/pricing?utm=x#plans",
                "https://www.g2.com/products/acme-crm/reviews",
            ),
            (
                "  https://WWW.G2.COM/products/acme_2.0/reviews/acme-review-123  ",
                "https://www.g2.com/products/acme_2.0/reviews",
            ),
        ],
    )
    @respx.mock
    async def test_a_g2_product_url_is_found_and_normalised(self, provider_ctx, given, accepted):
        respx.post(URL).mock(return_value=_url(given))
        outcome = await gemini.resolve_g2_url(COMPANY, provider_ctx("gemini"))
        assert outcome.status is AttemptStatus.found
        assert outcome.output == {"g2_url": accepted} and G2Output.model_validate(outcome.output)
        assert outcome.provider_status == "STOP" and outcome.http_status == 200
        assert outcome.raw["candidates"][0]["finishReason"] == "STOP"

    @pytest.mark.parametrize(
        "given",
        [
            "http://www.g2.com/products/acme/reviews",
            "https://www.g2.com/categories/crm",
            "https://www.g2.com/products/",
            "https://www.g2.com/products",
            "https://g2.com.evil.com/products/acme",
            "https://evilg2.com/products/acme",
            "https://www.capterra.com/products/acme",
            "https://user@www.g2.com/products/acme",
            "https://www.g2.com:8443/products/acme",
            "https://www.g2.com/products/-acme",
            "www.g2.com/products/acme",
            "not a url",
            "https://www.g2.com/products/acme crm/reviews",
        ],
    )
    @respx.mock
    async def test_a_url_that_is_not_a_g2_product_page_is_rejected(self, provider_ctx, given):
        respx.post(URL).mock(return_value=_url(given))
        outcome = await gemini.resolve_g2_url(COMPANY, provider_ctx("gemini"))
        assert outcome.status is AttemptStatus.not_found and outcome.output is None
        assert outcome.provider_status == "rejected_url"
        assert json.loads(outcome.raw["candidates"][0]["content"]["parts"][0]["text"])["url"] == given

    @pytest.mark.parametrize("url", [None, "", "   "])
    @respx.mock
    async def test_a_null_url_is_not_found(self, provider_ctx, url):
        respx.post(URL).mock(return_value=_url(url))
        outcome = await gemini.resolve_g2_url(COMPANY, provider_ctx("gemini"))
        assert outcome.status is AttemptStatus.not_found and outcome.provider_status == "no_answer"
        # the grounding sources are kept for the audit log, never taken as the answer
        assert outcome.raw["candidates"][0]["groundingMetadata"]["groundingChunks"]

    @pytest.mark.parametrize(
        ("setting", "status"),
        [(None, AttemptStatus.not_found), ("low", AttemptStatus.found), ("high", AttemptStatus.not_found)],
    )
    @respx.mock
    async def test_a_low_confidence_answer_is_not_accepted_unless_configured(self, provider_ctx, setting, status):
        respx.post(URL).mock(return_value=_url("https://www.g2.com/products/acme/reviews", "low"))
        # None: the setting left at its default
        options = {} if setting is None else {"min_confidence": setting}
        outcome = await gemini.resolve_g2_url(COMPANY, provider_ctx("gemini", **options))
        assert outcome.status is status
        if status is AttemptStatus.not_found:
            assert outcome.provider_status == "low_confidence"

    @respx.mock
    async def test_a_medium_answer_passes_the_default_bar(self, provider_ctx):
        respx.post(URL).mock(return_value=_url("https://www.g2.com/products/acme/reviews", "medium"))
        outcome = await gemini.resolve_g2_url(COMPANY, provider_ctx("gemini"))
        assert outcome.status is AttemptStatus.found


class TestPricing:
    @pytest.mark.parametrize(
        ("given", "accepted"),
        [
            ("https://acme.com/pricing", "https://acme.com/pricing"),
            ("https://www.acme.com/pricing#enterprise", "https://www.acme.com/pricing"),
            ("http://shop.ACME.com/plans?currency=eur", "http://shop.acme.com/plans?currency=eur"),
            ("https://acme.com:443/pricing", "https://acme.com/pricing"),
        ],
    )
    @respx.mock
    async def test_a_url_on_the_company_domain_is_found(self, provider_ctx, given, accepted):
        respx.post(URL).mock(return_value=_url(given))
        outcome = await gemini.resolve_pricing_page_url(COMPANY, provider_ctx("gemini"))
        assert outcome.status is AttemptStatus.found
        assert outcome.output == {"pricing_page_url": accepted} and PricingOutput.model_validate(outcome.output)

    @pytest.mark.parametrize(
        "given",
        [
            "https://notacme.com/pricing",
            "https://acme.com.evil.com/pricing",
            "https://www.g2.com/products/acme/pricing",
            "ftp://acme.com/pricing",
            "https://acme.co/pricing",
            "https://acme.com@evil.com/pricing",
            "/pricing",
        ],
    )
    @respx.mock
    async def test_a_url_off_the_company_domain_is_rejected(self, provider_ctx, given):
        respx.post(URL).mock(return_value=_url(given))
        outcome = await gemini.resolve_pricing_page_url(COMPANY, provider_ctx("gemini"))
        assert outcome.status is AttemptStatus.not_found and outcome.provider_status == "rejected_url"


class TestFailures:
    @pytest.mark.parametrize("finish", ["SAFETY", "MAX_TOKENS", "RECITATION"])
    @respx.mock
    async def test_a_finish_reason_other_than_stop_is_a_failure(self, provider_ctx, finish):
        respx.post(URL).mock(
            return_value=_answer({"url": "https://www.g2.com/products/acme", "confidence": "high"}, finish=finish)
        )
        outcome = await gemini.resolve_g2_url(COMPANY, provider_ctx("gemini"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == finish
        assert finish in outcome.error and outcome.raw["candidates"][0]["finishReason"] == finish

    @respx.mock
    async def test_a_blocked_prompt_is_a_failure_with_the_block_reason(self, provider_ctx):
        body = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {}}
        respx.post(URL).mock(return_value=httpx.Response(200, json=body))
        outcome = await gemini.resolve_g2_url(COMPANY, provider_ctx("gemini"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "SAFETY"
        assert outcome.raw == body

    @respx.mock
    async def test_no_candidates_is_a_failure(self, provider_ctx):
        respx.post(URL).mock(return_value=httpx.Response(200, json={"candidates": [], "usageMetadata": {}}))
        outcome = await gemini.resolve_g2_url(COMPANY, provider_ctx("gemini"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "no_candidates"

    @pytest.mark.parametrize(
        "text",
        [
            "Acme is on G2 at https://www.g2.com/products/acme",
            "",
            '{"url": 5, "confidence": "high"}',
            '{"confidence": "high"}',
            '{"url": null, "confidence": "certain"}',
            '["https://www.g2.com/products/a"]',
        ],
    )
    @respx.mock
    async def test_an_answer_outside_the_schema_is_a_failure(self, provider_ctx, text):
        respx.post(URL).mock(return_value=_answer(text))
        outcome = await gemini.resolve_g2_url(COMPANY, provider_ctx("gemini"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "invalid_answer"

    @respx.mock
    async def test_the_answer_may_come_in_several_parts_and_thoughts_are_skipped(self, provider_ctx):
        body = {
            "candidates": [
                {
                    "finishReason": "STOP",
                    "content": {
                        "role": "model",
                        "parts": [
                            {"text": "thinking about https://www.g2.com/products/wrong", "thought": True},
                            {"text": '{"url": "https://www.g2.com/products/acme",'},
                            {"text": ' "confidence": "high"}'},
                        ],
                    },
                }
            ]
        }
        respx.post(URL).mock(return_value=httpx.Response(200, json=body))
        outcome = await gemini.resolve_g2_url(COMPANY, provider_ctx("gemini"))
        assert outcome.output == {"g2_url": "https://www.g2.com/products/acme/reviews"}

    @respx.mock
    async def test_an_invalid_key_is_an_auth_failure_not_retried(self, provider_ctx):
        body = {
            "error": {
                "code": 400,
                "message": "API key not valid. Please pass a valid API key.",
                "status": "INVALID_ARGUMENT",
                "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}],
            }
        }
        route = respx.post(URL).mock(return_value=httpx.Response(400, json=body))
        outcome = await gemini.resolve_g2_url(COMPANY, provider_ctx("gemini"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "API_KEY_INVALID"
        assert outcome.http_status == 400 and "API key not valid" in outcome.error and outcome.raw == body
        assert route.call_count == 1

    @respx.mock
    async def test_another_400_is_a_failure_with_the_error_status(self, provider_ctx):
        body = {
            "error": {
                "code": 400,
                "message": "User location is not supported for the API use.",
                "status": "FAILED_PRECONDITION",
            }
        }
        respx.post(URL).mock(return_value=httpx.Response(400, json=body))
        outcome = await gemini.resolve_pricing_page_url(COMPANY, provider_ctx("gemini"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "FAILED_PRECONDITION"
        assert outcome.error == "User location is not supported for the API use."

    @respx.mock
    async def test_403_is_an_auth_error(self, provider_ctx):
        route = respx.post(URL).mock(
            return_value=httpx.Response(
                403, json={"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "denied"}}
            )
        )
        with pytest.raises(ProviderAuthError):
            await gemini.resolve_g2_url(COMPANY, provider_ctx("gemini"))
        assert route.call_count == 1

    @respx.mock
    async def test_a_429_then_success_honours_retry_after(self, provider_ctx, clock):
        limited = httpx.Response(
            429,
            headers={"Retry-After": retry_at(clock, 42)},
            json={"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "slow"}},
        )
        route = respx.post(URL).mock(side_effect=[limited, _url("https://acme.com/pricing")])
        outcome = await gemini.resolve_pricing_page_url(COMPANY, provider_ctx("gemini"))
        assert outcome.status is AttemptStatus.found and route.call_count == 2
        # the provider's Retry-After is the wait, not the short backoff
        assert clock.sleeps == [42.0]

    @respx.mock
    async def test_a_5xx_is_retried_then_reported(self, provider_ctx):
        route = respx.post(URL).mock(return_value=httpx.Response(503, json={"error": {"status": "UNAVAILABLE"}}))
        with pytest.raises(ProviderServerError) as e:
            await gemini.resolve_g2_url(COMPANY, provider_ctx("gemini"))
        assert route.call_count == 3 and e.value.status_code == 503

    @respx.mock
    async def test_a_read_timeout_on_the_billable_post_is_not_resent(self, provider_ctx):
        route = respx.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(ProviderTimeoutError):
            await gemini.resolve_g2_url(COMPANY, provider_ctx("gemini"))
        assert route.call_count == 1

    @respx.mock
    async def test_malformed_json_is_a_failure(self, provider_ctx):
        respx.post(URL).mock(return_value=httpx.Response(200, text="<html>oops"))
        with pytest.raises(ProviderMalformedResponse):
            await gemini.resolve_g2_url(COMPANY, provider_ctx("gemini"))
