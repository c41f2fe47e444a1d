import json

import httpx
import pytest
import respx

from app.contracts.entities import CompanyInput
from app.providers import openai
from app.providers._http import (
    ProviderAuthError,
    ProviderMalformedResponse,
    ProviderRateLimitError,
    ProviderServerError,
    ProviderTimeoutError,
)
from app.providers.base import AttemptStatus
from tests.providers.conftest import TEST_KEY, base_url

URL = base_url("openai") + "/v1/responses"
COMPANY = CompanyInput(name="Acme", domain="https://www.acme.com")


def _response(content: list[dict], *, status: str = "completed", **extra) -> httpx.Response:
    body = {
        "id": "resp_1",
        "object": "response",
        "status": status,
        "error": None,
        "incomplete_details": None,
        "output": [
            {"type": "web_search_call", "id": "ws_1", "status": "completed"},
            {"type": "message", "role": "assistant", "content": content},
        ],
        "usage": {},
        **extra,
    }
    return httpx.Response(200, json=body)


def _url(url: str | None, confidence: str = "high") -> httpx.Response:
    text = json.dumps({"url": url, "confidence": confidence})
    citation = {
        "type": "url_citation",
        "url": "https://www.g2.com/products/other/reviews",
        "title": "G2",
        "start_index": 0,
        "end_index": 0,
    }
    return _response([{"type": "output_text", "text": text, "annotations": [citation]}])


def _error(status: int, code: str, message: str = "boom", **headers: str) -> httpx.Response:
    return httpx.Response(
        status, headers=headers, json={"error": {"message": message, "type": code, "param": None, "code": code}}
    )


class TestRequest:
    @respx.mock
    async def test_request_shape_follows_the_documentation(self, provider_ctx):
        route = respx.post(URL).mock(return_value=_url("https://www.g2.com/products/acme/reviews"))
        await openai.resolve_g2_url(COMPANY, provider_ctx("openai"))
        request = route.calls.last.request
        assert request.method == "POST" and request.url.path == "/v1/responses" and not request.url.query
        assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
        assert request.headers["content-type"] == "application/json"
        body = json.loads(request.content)
        assert body["model"] == "gpt-4.1-mini"
        assert "G2" in body["instructions"]
        assert "Acme" in body["input"] and "acme.com" in body["input"]
        text_format = body["text"]["format"]
        assert text_format["type"] == "json_schema" and text_format["name"] == "g2_url"
        assert text_format["strict"] is True
        schema = text_format["schema"]
        assert schema["additionalProperties"] is False and schema["required"] == ["url", "confidence"]
        assert schema["properties"]["url"]["type"] == ["string", "null"]
        assert schema["properties"]["confidence"]["enum"] == ["high", "medium", "low"]
        assert body["tools"] == [{"type": "web_search", "filters": {"allowed_domains": ["g2.com"]}}]

    @respx.mock
    async def test_the_pricing_search_is_limited_to_the_company_domain(self, provider_ctx):
        route = respx.post(URL).mock(return_value=_url("https://acme.com/pricing"))
        await openai.resolve_pricing_page_url(COMPANY, provider_ctx("openai", model="gpt-5"))
        body = json.loads(route.calls.last.request.content)
        assert body["model"] == "gpt-5" and body["text"]["format"]["name"] == "pricing_page_url"
        assert body["tools"] == [{"type": "web_search", "filters": {"allowed_domains": ["acme.com"]}}]

    @pytest.mark.parametrize(
        "refusal",
        [
            {"message": "Unsupported parameter: 'filters'.", "param": "tools[0].filters"},
            {"message": "Unsupported parameter: 'filters' is not supported with this model.", "param": None},
        ],
    )
    @respx.mock
    async def test_a_refused_domain_filter_is_asked_again_once_without_it(self, provider_ctx, refusal):
        unsupported = httpx.Response(
            400,
            json={"error": {**refusal, "type": "invalid_request_error", "code": "unsupported_parameter"}},
        )
        route = respx.post(URL).mock(side_effect=[unsupported, _url("https://acme.com/pricing")])
        outcome = await openai.resolve_pricing_page_url(COMPANY, provider_ctx("openai"))
        assert outcome.status is AttemptStatus.found and route.call_count == 2
        first, second = (json.loads(c.request.content) for c in route.calls)
        assert first["tools"] == [{"type": "web_search", "filters": {"allowed_domains": ["acme.com"]}}]
        assert second["tools"] == [{"type": "web_search"}]
        assert {k: v for k, v in second.items() if k != "tools"} == {k: v for k, v in first.items() if k != "tools"}

    @respx.mock
    async def test_the_answer_without_the_filter_is_still_held_to_the_domain(self, provider_ctx):
        unsupported = _error(400, "unsupported_parameter", "Unsupported parameter: 'filters'.")
        route = respx.post(URL).mock(side_effect=[unsupported, _url("https://pricing-compare.example/acme")])
        outcome = await openai.resolve_pricing_page_url(COMPANY, provider_ctx("openai"))
        assert route.call_count == 2 and outcome.status is AttemptStatus.not_found

    @respx.mock
    async def test_a_second_refusal_is_reported_not_retried_again(self, provider_ctx):
        unsupported = _error(400, "unsupported_parameter", "Unsupported parameter: 'filters'.")
        route = respx.post(URL).mock(return_value=unsupported)
        outcome = await openai.resolve_pricing_page_url(COMPANY, provider_ctx("openai"))
        assert route.call_count == 2 and outcome.status is AttemptStatus.failed
        assert outcome.provider_status == "unsupported_parameter" and outcome.http_status == 400

    @respx.mock
    async def test_another_400_is_not_retried(self, provider_ctx):
        route = respx.post(URL).mock(return_value=_error(400, "invalid_request_error", "Invalid schema"))
        outcome = await openai.resolve_pricing_page_url(COMPANY, provider_ctx("openai"))
        assert route.call_count == 1 and outcome.status is AttemptStatus.failed

    @respx.mock
    async def test_web_search_can_be_turned_off(self, provider_ctx):
        route = respx.post(URL).mock(return_value=_url("https://acme.com/pricing"))
        await openai.resolve_pricing_page_url(COMPANY, provider_ctx("openai", web_search=False))
        body = json.loads(route.calls.last.request.content)
        assert "tools" not in body and body["text"]["format"]["type"] == "json_schema"


class TestAnswers:
    @respx.mock
    async def test_a_g2_url_is_found_and_citations_are_not_the_answer(self, provider_ctx):
        respx.post(URL).mock(return_value=_url("https://g2.com/products/acme/features"))
        outcome = await openai.resolve_g2_url(COMPANY, provider_ctx("openai"))
        assert outcome.status is AttemptStatus.found
        assert outcome.output == {"g2_url": "https://www.g2.com/products/acme/reviews"}
        assert outcome.provider_status == "completed" and outcome.http_status == 200 and outcome.raw["id"] == "resp_1"

    @respx.mock
    async def test_a_pricing_url_on_a_subdomain_is_found(self, provider_ctx):
        respx.post(URL).mock(return_value=_url("https://www.acme.com/pricing"))
        outcome = await openai.resolve_pricing_page_url(COMPANY, provider_ctx("openai"))
        assert outcome.output == {"pricing_page_url": "https://www.acme.com/pricing"}

    @pytest.mark.parametrize(
        ("action", "url"),
        [
            (openai.resolve_g2_url, "https://www.capterra.com/p/1/acme"),
            (openai.resolve_pricing_page_url, "https://www.g2.com/products/acme/pricing"),
        ],
    )
    @respx.mock
    async def test_an_invalid_url_is_rejected_with_the_raw_kept(self, provider_ctx, action, url):
        respx.post(URL).mock(return_value=_url(url))
        outcome = await action(COMPANY, provider_ctx("openai"))
        assert outcome.status is AttemptStatus.not_found and outcome.provider_status == "rejected_url"
        assert url in outcome.raw["output"][1]["content"][0]["text"]

    @respx.mock
    async def test_a_null_url_is_not_found(self, provider_ctx):
        respx.post(URL).mock(return_value=_url(None, "low"))
        outcome = await openai.resolve_g2_url(COMPANY, provider_ctx("openai"))
        assert outcome.status is AttemptStatus.not_found and outcome.provider_status == "no_answer"

    @respx.mock
    async def test_a_low_confidence_answer_is_not_accepted_by_default(self, provider_ctx):
        respx.post(URL).mock(return_value=_url("https://acme.com/pricing", "low"))
        outcome = await openai.resolve_pricing_page_url(COMPANY, provider_ctx("openai"))
        assert outcome.status is AttemptStatus.not_found and outcome.provider_status == "low_confidence"
        respx.post(URL).mock(return_value=_url("https://acme.com/pricing", "low"))
        outcome = await openai.resolve_pricing_page_url(COMPANY, provider_ctx("openai", min_confidence="low"))
        assert outcome.status is AttemptStatus.found

    @respx.mock
    async def test_the_last_message_is_the_answer(self, provider_ctx):
        first = {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": '{"url": null, "confidence": "low"}'}],
        }
        response = _url("https://acme.com/pricing")
        body = response.json()
        body["output"].insert(0, first)
        respx.post(URL).mock(return_value=httpx.Response(200, json=body))
        outcome = await openai.resolve_pricing_page_url(COMPANY, provider_ctx("openai"))
        assert outcome.output == {"pricing_page_url": "https://acme.com/pricing"}


class TestFailures:
    @respx.mock
    async def test_a_refusal_is_a_failure(self, provider_ctx):
        respx.post(URL).mock(return_value=_response([{"type": "refusal", "refusal": "I can't help with that."}]))
        outcome = await openai.resolve_g2_url(COMPANY, provider_ctx("openai"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "refusal"
        assert "I can't help with that." in outcome.error

    @respx.mock
    async def test_an_incomplete_response_is_a_failure_with_its_reason(self, provider_ctx):
        respx.post(URL).mock(
            return_value=_response(
                [{"type": "output_text", "text": '{"url": "https://acme'}],
                status="incomplete",
                incomplete_details={"reason": "max_output_tokens"},
            )
        )
        outcome = await openai.resolve_pricing_page_url(COMPANY, provider_ctx("openai"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "incomplete"
        assert "max_output_tokens" in outcome.error

    @respx.mock
    async def test_a_failed_response_is_a_failure_with_its_error(self, provider_ctx):
        respx.post(URL).mock(
            return_value=_response([], status="failed", error={"code": "server_error", "message": "model crashed"})
        )
        outcome = await openai.resolve_pricing_page_url(COMPANY, provider_ctx("openai"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "failed"
        assert "model crashed" in outcome.error

    @pytest.mark.parametrize(
        ("content", "code"),
        [
            ([], "no_output"),
            ([{"type": "output_text", "text": "The G2 page is https://www.g2.com/products/acme"}], "invalid_answer"),
            ([{"type": "output_text", "text": '{"url": "https://www.g2.com/products/acme"}'}], "invalid_answer"),
        ],
    )
    @respx.mock
    async def test_an_answer_outside_the_schema_is_a_failure(self, provider_ctx, content, code):
        respx.post(URL).mock(return_value=_response(content))
        outcome = await openai.resolve_g2_url(COMPANY, provider_ctx("openai"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == code

    @respx.mock
    async def test_a_response_without_a_status_is_a_failure(self, provider_ctx):
        respx.post(URL).mock(return_value=httpx.Response(200, json={"output": []}))
        outcome = await openai.resolve_g2_url(COMPANY, provider_ctx("openai"))
        assert outcome.status is AttemptStatus.failed and outcome.error == "unexpected response shape"

    @respx.mock
    async def test_a_bad_key_is_an_auth_error_not_retried(self, provider_ctx):
        route = respx.post(URL).mock(return_value=_error(401, "invalid_api_key", "Incorrect API key provided"))
        with pytest.raises(ProviderAuthError) as e:
            await openai.resolve_g2_url(COMPANY, provider_ctx("openai"))
        assert route.call_count == 1 and e.value.body["error"]["code"] == "invalid_api_key"

    @respx.mock
    async def test_an_exhausted_quota_is_a_credits_failure_not_retried(self, provider_ctx):
        route = respx.post(URL).mock(return_value=_error(429, "insufficient_quota", "You exceeded your current quota"))
        outcome = await openai.resolve_g2_url(COMPANY, provider_ctx("openai"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "insufficient_quota"
        assert outcome.http_status == 429 and outcome.error == "You exceeded your current quota"
        assert route.call_count == 1

    @respx.mock
    async def test_a_rate_limit_then_success_honours_retry_after(self, provider_ctx, clock):
        route = respx.post(URL).mock(
            side_effect=[_error(429, "rate_limit_exceeded", **{"Retry-After": "7"}), _url("https://acme.com/pricing")]
        )
        outcome = await openai.resolve_pricing_page_url(COMPANY, provider_ctx("openai"))
        assert outcome.status is AttemptStatus.found and route.call_count == 2
        # the provider's Retry-After is the wait, not the short backoff
        assert clock.sleeps == [7.0]

    @respx.mock
    async def test_a_rate_limit_is_retried_by_the_policy_then_reported(self, provider_ctx):
        route = respx.post(URL).mock(return_value=_error(429, "rate_limit_exceeded", **{"Retry-After": "0"}))
        with pytest.raises(ProviderRateLimitError):
            await openai.resolve_pricing_page_url(COMPANY, provider_ctx("openai"))
        assert route.call_count == 3

    @respx.mock
    async def test_a_rate_limit_without_retries_left_is_reported_at_once(self, provider_ctx):
        route = respx.post(URL).mock(return_value=_error(429, "rate_limit_exceeded"))
        with pytest.raises(ProviderRateLimitError):
            await openai.resolve_pricing_page_url(COMPANY, provider_ctx("openai", max_retries=0))
        assert route.call_count == 1

    @pytest.mark.parametrize(("status", "code"), [(400, "invalid_request_error"), (404, "model_not_found")])
    @respx.mock
    async def test_a_request_error_is_a_failure_with_its_code(self, provider_ctx, status, code):
        route = respx.post(URL).mock(return_value=_error(status, code, "nope"))
        outcome = await openai.resolve_g2_url(COMPANY, provider_ctx("openai"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == code
        assert outcome.http_status == status and outcome.error == "nope" and route.call_count == 1

    @respx.mock
    async def test_a_5xx_is_retried_then_reported(self, provider_ctx):
        route = respx.post(URL).mock(return_value=_error(503, "server_error"))
        with pytest.raises(ProviderServerError) as e:
            await openai.resolve_g2_url(COMPANY, provider_ctx("openai"))
        assert route.call_count == 3 and e.value.status_code == 503

    @respx.mock
    async def test_a_read_timeout_on_the_billable_post_is_not_resent(self, provider_ctx):
        route = respx.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(ProviderTimeoutError):
            await openai.resolve_g2_url(COMPANY, provider_ctx("openai"))
        assert route.call_count == 1

    @respx.mock
    async def test_malformed_json_is_a_failure(self, provider_ctx):
        respx.post(URL).mock(return_value=httpx.Response(200, text="<html>oops"))
        with pytest.raises(ProviderMalformedResponse):
            await openai.resolve_g2_url(COMPANY, provider_ctx("openai"))
