import httpx
import pytest
import respx
from pydantic import ValidationError

from app.contracts.entities import PersonInput, VerificationOutput
from app.providers import reoon
from app.providers._http import (
    ProviderAuthError,
    ProviderMalformedResponse,
    ProviderServerError,
    ProviderTimeoutError,
)
from app.providers.base import AttemptStatus
from tests.conftest import make_settings
from tests.providers.conftest import TEST_KEY, base_url, retry_at

URL = base_url("reoon") + "/api/v1/verify"
PERSON = PersonInput(work_email="Jane.Doe@Acme.com")


def _answer(status: str, **extra) -> httpx.Response:
    body = {
        "email": "jane.doe@acme.com",
        "status": status,
        "overall_score": 90,
        "username": "jane.doe",
        "domain": "acme.com",
        "is_safe_to_send": status == "safe",
        "is_valid_syntax": True,
        "is_disposable": False,
        "is_role_account": False,
        "can_connect_smtp": True,
        "has_inbox_full": False,
        "is_catch_all": status == "catch_all",
        "is_deliverable": status == "safe",
        "is_disabled": False,
        "is_spamtrap": False,
        "is_free_email": False,
        "mx_accepts_mail": True,
        "mx_records": ["mx.acme.com"],
        "verification_mode": "power",
        **extra,
    }
    return httpx.Response(200, json=body)


class TestVerifyEmail:
    @respx.mock
    async def test_request_shape_follows_the_documentation(self, provider_ctx):
        route = respx.get(URL).mock(return_value=_answer("safe"))
        await reoon.verify_email(PERSON, provider_ctx("reoon"))
        request = route.calls.last.request
        assert request.method == "GET"
        assert request.url.path == "/api/v1/verify"
        assert dict(request.url.params) == {"email": "jane.doe@acme.com", "key": TEST_KEY, "mode": "power"}
        assert reoon.BASE_URL == "https://emailverifier.reoon.com"

    @respx.mock
    async def test_the_mode_comes_from_the_options(self, provider_ctx):
        route = respx.get(URL).mock(return_value=_answer("valid"))
        await reoon.verify_email(PersonInput(email="a@b.io"), provider_ctx("reoon", mode="quick"))
        assert route.calls.last.request.url.params["mode"] == "quick"
        assert route.calls.last.request.url.params["email"] == "a@b.io"

    @respx.mock
    async def test_the_mode_defaults_to_power(self, provider_ctx, settings):
        route = respx.get(URL).mock(return_value=_answer("safe"))
        ctx = provider_ctx("reoon")
        # the options as the app builds them from settings without DATA_ENGINE_REOON_MODE
        ctx.options = settings.provider_options("reoon")
        await reoon.verify_email(PERSON, ctx)
        assert route.calls.last.request.url.params["mode"] == "power"

    def test_an_unsupported_mode_is_refused_at_start(self):
        # the adapter never sees one: the setting is refused when the settings load
        with pytest.raises(ValidationError, match="reoon_mode"):
            make_settings("postgresql://unused@127.0.0.1:1/unused", reoon_mode="turbo")
        with pytest.raises(ValidationError):
            reoon.ReoonOptions(mode="turbo")  # type: ignore[arg-type]

    @respx.mock
    async def test_power_mode_waits_at_least_90_seconds(self, provider_ctx):
        route = respx.get(URL).mock(return_value=_answer("safe"))
        await reoon.verify_email(PERSON, provider_ctx("reoon", timeout=5.0))
        assert route.calls.last.request.extensions["timeout"]["read"] == 90.0
        assert reoon.TIMEOUT_SECONDS >= 90

    @respx.mock
    async def test_quick_mode_keeps_the_client_timeout(self, provider_ctx):
        route = respx.get(URL).mock(return_value=_answer("valid"))
        await reoon.verify_email(PERSON, provider_ctx("reoon", timeout=5.0, mode="quick"))
        assert route.calls.last.request.extensions["timeout"]["read"] == 5.0

    @respx.mock
    async def test_the_wait_never_passes_the_operation_deadline(self, provider_ctx, clock):
        route = respx.get(URL).mock(return_value=_answer("safe"))
        ctx = provider_ctx("reoon")
        ctx.deadline = clock.now + 20
        await reoon.verify_email(PERSON, ctx)
        assert route.calls.last.request.extensions["timeout"]["read"] == 20

    @pytest.mark.parametrize(
        ("status", "verdict", "conclusive"),
        [
            ("safe", "deliverable", True),
            ("invalid", "undeliverable", True),
            ("disabled", "undeliverable", True),
            ("spamtrap", "undeliverable", True),
            ("disposable", "undeliverable", True),
            ("catch_all", "risky", False),
            ("role_account", "risky", True),
            ("inbox_full", "risky", True),
            ("unknown", "unknown", False),
            ("valid", "deliverable", False),
        ],
    )
    @respx.mock
    async def test_statuses_map_to_verdicts(self, provider_ctx, status, verdict, conclusive):
        respx.get(URL).mock(return_value=_answer(status))
        outcome = await reoon.verify_email(PERSON, provider_ctx("reoon"))
        assert outcome.status is AttemptStatus.verified
        assert outcome.conclusive is conclusive
        assert outcome.output == {
            "email_verdict": verdict,
            "email_verification_status": status,
            "email_verified_by": "reoon",
        }
        VerificationOutput.model_validate(outcome.output)
        assert outcome.provider_status == status and outcome.raw["status"] == status and outcome.http_status == 200

    @pytest.mark.parametrize(
        ("reason", "code"),
        [
            ("Invalid API key", "auth_error"),
            ("Not enough credits", "insufficient_credits"),
            ("Something went wrong", "error"),
        ],
    )
    @respx.mock
    async def test_errors_reported_with_http_200_are_failures(self, provider_ctx, reason, code):
        respx.get(URL).mock(return_value=httpx.Response(200, json={"status": "error", "reason": reason}))
        outcome = await reoon.verify_email(PERSON, provider_ctx("reoon"))
        assert outcome.status is AttemptStatus.failed
        assert outcome.provider_status == code and outcome.error == reason and outcome.raw["reason"] == reason

    @pytest.mark.parametrize("field", ["reason", "message", "error"])
    @respx.mock
    async def test_the_error_text_is_read_from_whichever_field_carries_it(self, provider_ctx, field):
        respx.get(URL).mock(return_value=httpx.Response(200, json={"status": "error", field: "Invalid API key"}))
        outcome = await reoon.verify_email(PERSON, provider_ctx("reoon"))
        assert outcome.status is AttemptStatus.failed
        assert outcome.error == "Invalid API key" and outcome.provider_status == "auth_error"

    @respx.mock
    async def test_an_error_without_text_is_still_a_failure(self, provider_ctx):
        respx.get(URL).mock(return_value=httpx.Response(200, json={"status": "error", "message": ""}))
        outcome = await reoon.verify_email(PERSON, provider_ctx("reoon"))
        assert outcome.status is AttemptStatus.failed and outcome.error == "error"

    @respx.mock
    async def test_a_bad_key_is_an_auth_error_and_not_retried(self, provider_ctx):
        route = respx.get(URL).mock(
            return_value=httpx.Response(401, json={"status": "error", "reason": "Invalid API key"})
        )
        with pytest.raises(ProviderAuthError) as e:
            await reoon.verify_email(PERSON, provider_ctx("reoon"))
        assert route.call_count == 1 and e.value.body["reason"] == "Invalid API key"

    @respx.mock
    async def test_a_5xx_is_retried_then_reported(self, provider_ctx):
        route = respx.get(URL).mock(return_value=httpx.Response(502, text="bad gateway"))
        with pytest.raises(ProviderServerError) as e:
            await reoon.verify_email(PERSON, provider_ctx("reoon"))
        assert route.call_count == 3 and e.value.status_code == 502

    @respx.mock
    async def test_a_429_then_success_honours_retry_after(self, provider_ctx, clock):
        route = respx.get(URL).mock(
            side_effect=[httpx.Response(429, headers={"Retry-After": retry_at(clock, 42)}), _answer("safe")]
        )
        outcome = await reoon.verify_email(PERSON, provider_ctx("reoon"))
        assert outcome.status is AttemptStatus.verified and route.call_count == 2
        # the provider's Retry-After is the wait, not the short backoff
        assert clock.sleeps == [42.0]

    @respx.mock
    async def test_a_timeout_on_a_get_is_retried_then_reported(self, provider_ctx):
        route = respx.get(URL).mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(ProviderTimeoutError):
            await reoon.verify_email(PERSON, provider_ctx("reoon"))
        assert route.call_count == 3

    @respx.mock
    async def test_malformed_json_is_a_failure(self, provider_ctx):
        respx.get(URL).mock(return_value=httpx.Response(200, text="<html>oops"))
        with pytest.raises(ProviderMalformedResponse):
            await reoon.verify_email(PERSON, provider_ctx("reoon"))

    @pytest.mark.parametrize("body", [{"email": "jane.doe@acme.com"}, ["safe"], {"status": ""}])
    @respx.mock
    async def test_an_answer_without_a_status_is_a_failure(self, provider_ctx, body):
        respx.get(URL).mock(return_value=httpx.Response(200, json=body))
        outcome = await reoon.verify_email(PERSON, provider_ctx("reoon"))
        assert outcome.status is AttemptStatus.failed and outcome.error == "unexpected response shape"
        assert outcome.raw == body

    @respx.mock
    async def test_an_unknown_status_is_a_failure_with_the_value_kept(self, provider_ctx):
        respx.get(URL).mock(return_value=_answer("mystery"))
        outcome = await reoon.verify_email(PERSON, provider_ctx("reoon"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "mystery"

    def test_the_action_serves_verify_email(self):
        action = reoon.ACTIONS["person.contact.verify_email"]
        assert set(reoon.ACTIONS) == {"person.contact.verify_email"}
        assert action.run is reoon.verify_email and action.provider == "reoon" and action.eligible is None
