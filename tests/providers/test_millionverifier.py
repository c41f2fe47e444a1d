import httpx
import pytest
import respx

from app.contracts.entities import PersonInput
from app.providers import millionverifier
from app.providers._http import ProviderServerError, ProviderTimeoutError
from app.providers.base import AttemptStatus
from tests.providers.conftest import TEST_KEY, base_url

URL = base_url("millionverifier") + "/api/v3/"
PERSON = PersonInput(work_email="Jane.Doe@Acme.com")


def _answer(result: str, **extra) -> httpx.Response:
    body = {
        "email": "jane.doe@acme.com",
        "quality": "good",
        "result": result,
        "resultcode": 1,
        "subresult": "",
        "free": False,
        "role": False,
        "didyoumean": "",
        "credits": 100,
        "executiontime": 1,
        "error": "",
        "livemode": True,
        **extra,
    }
    return httpx.Response(200, json=body)


class TestVerifyEmail:
    @respx.mock
    async def test_request_shape_follows_the_documentation(self, provider_ctx):
        route = respx.get(URL).mock(return_value=_answer("ok"))
        await millionverifier.verify_email(PERSON, provider_ctx("millionverifier"))
        request = route.calls.last.request
        assert request.method == "GET"
        assert request.url.path == "/api/v3/"
        assert dict(request.url.params) == {"api": TEST_KEY, "email": "jane.doe@acme.com", "timeout": "10"}

    @pytest.mark.parametrize(
        ("result", "verdict", "conclusive"),
        [
            ("ok", "deliverable", True),
            ("invalid", "undeliverable", True),
            ("disposable", "undeliverable", True),
            ("catch_all", "risky", False),
            ("unknown", "unknown", False),
        ],
    )
    @respx.mock
    async def test_results_map_to_verdicts(self, provider_ctx, result, verdict, conclusive):
        respx.get(URL).mock(return_value=_answer(result))
        outcome = await millionverifier.verify_email(PERSON, provider_ctx("millionverifier"))
        assert outcome.status is AttemptStatus.verified
        assert outcome.conclusive is conclusive
        assert outcome.output == {
            "email_verdict": verdict,
            "email_verification_status": result,
            "email_verified_by": "millionverifier",
        }
        assert outcome.provider_status == result and outcome.raw["result"] == result

    @pytest.mark.parametrize(
        ("message", "code"),
        [
            ("Apikey not found", "auth_error"),
            ("Insufficient credits", "insufficient_credits"),
            ("IP address blocked", "auth_error"),
            ("Internal", "error"),
        ],
    )
    @respx.mock
    async def test_errors_reported_with_http_200_are_failures(self, provider_ctx, message, code):
        respx.get(URL).mock(return_value=_answer("error", error=message, resultcode=4))
        outcome = await millionverifier.verify_email(PERSON, provider_ctx("millionverifier"))
        assert outcome.status is AttemptStatus.failed
        assert outcome.provider_status == code and outcome.error == message

    @respx.mock
    async def test_a_5xx_is_retried_then_reported(self, provider_ctx):
        route = respx.get(URL).mock(return_value=httpx.Response(503, text="busy"))
        with pytest.raises(ProviderServerError) as e:
            await millionverifier.verify_email(PERSON, provider_ctx("millionverifier"))
        assert route.call_count == 3 and e.value.status_code == 503

    @respx.mock
    async def test_a_429_then_success_honours_retry_after(self, provider_ctx, clock):
        route = respx.get(URL).mock(side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), _answer("ok")])
        outcome = await millionverifier.verify_email(PERSON, provider_ctx("millionverifier"))
        assert outcome.status is AttemptStatus.verified and route.call_count == 2
        # the provider's Retry-After is the wait, not the short backoff
        assert clock.sleeps == [7.0]

    @respx.mock
    async def test_a_timeout_on_a_get_is_retried_then_reported(self, provider_ctx):
        route = respx.get(URL).mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(ProviderTimeoutError):
            await millionverifier.verify_email(PERSON, provider_ctx("millionverifier"))
        assert route.call_count == 3

    @respx.mock
    async def test_malformed_json_is_a_failure(self, provider_ctx):
        respx.get(URL).mock(return_value=httpx.Response(200, text="<html>oops"))
        from app.providers._http import ProviderMalformedResponse

        with pytest.raises(ProviderMalformedResponse):
            await millionverifier.verify_email(PERSON, provider_ctx("millionverifier"))

    @respx.mock
    async def test_an_unknown_result_is_a_failure_with_the_value_kept(self, provider_ctx):
        respx.get(URL).mock(return_value=_answer("mystery"))
        outcome = await millionverifier.verify_email(PERSON, provider_ctx("millionverifier"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "mystery"
