import json

import httpx
import pytest
import respx

from app.contracts.entities import EmailOutput, PersonInput
from app.providers import _research, parallel
from app.providers._http import (
    ProviderAuthError,
    ProviderMalformedResponse,
    ProviderRateLimitError,
    ProviderServerError,
    ProviderStatusError,
    ProviderTimeoutError,
)
from app.providers.base import AttemptStatus
from tests.providers.conftest import TEST_KEY, base_url

RUN_ID = "trun_9907962f83aa4d9d98fd7f4bf745d654"
CREATE_URL = base_url("parallel") + "/v1/tasks/runs"
RESULT_URL = f"{CREATE_URL}/{RUN_ID}/result"
PERSON = PersonInput(first_name="Jane", last_name="Doe", company_domain="www.acme.com", company_name="Acme")


def _created(status: int = 202) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "run_id": RUN_ID,
            "status": "queued",
            "is_active": True,
            "processor": "core",
            "metadata": None,
            "created_at": "2025-04-23T20:21:48Z",
            "modified_at": "2025-04-23T20:21:48Z",
        },
    )


def _result(
    email: str = "Jane.Doe@Acme.com", confidence: str | None = "medium", run_status: str = "completed"
) -> httpx.Response:
    basis = [
        {
            "field": "work_email",
            "citations": [{"url": "https://acme.com/team", "excerpts": ["jane.doe@"]}],
            "reasoning": "Listed on the team page.",
            "confidence": confidence,
        }
    ]
    return httpx.Response(
        200,
        json={
            "run": {"run_id": RUN_ID, "status": run_status, "is_active": False, "processor": "core"},
            "output": {"type": "json", "content": {"work_email": email}, "basis": basis},
        },
    )


def _timed_out() -> httpx.Response:
    return httpx.Response(408, json={"type": "error", "error": {"message": "Request timed out"}})


class TestCreateRun:
    @respx.mock
    async def test_request_shape_follows_the_documentation(self, provider_ctx):
        create = respx.post(CREATE_URL).mock(return_value=_created())
        respx.get(RESULT_URL).mock(return_value=_result())
        await parallel.resolve_email(PERSON, provider_ctx("parallel"))
        request = create.calls.last.request
        assert request.method == "POST" and request.url.path == "/v1/tasks/runs"
        assert request.headers["x-api-key"] == TEST_KEY and request.headers["content-type"] == "application/json"
        body = json.loads(request.content)
        assert body["processor"] == "core"
        assert body["input"] == {
            "first_name": "Jane",
            "last_name": "Doe",
            "full_name": "Jane Doe",
            "company_name": "Acme",
            "company_domain": "acme.com",
        }
        output_schema = body["task_spec"]["output_schema"]
        assert output_schema["type"] == "json"
        assert output_schema["json_schema"]["required"] == ["work_email"]
        assert output_schema["json_schema"]["additionalProperties"] is False
        assert list(output_schema["json_schema"]["properties"]) == ["work_email"]
        assert "NOT_FOUND" in output_schema["json_schema"]["properties"]["work_email"]["description"]
        input_schema = body["task_spec"]["input_schema"]
        assert input_schema["type"] == "json"
        assert set(input_schema["json_schema"]["properties"]) == set(body["input"])
        assert parallel.BASE_URL == "https://api.parallel.ai"

    @respx.mock
    async def test_the_processor_comes_from_the_options(self, provider_ctx):
        create = respx.post(CREATE_URL).mock(return_value=_created())
        respx.get(RESULT_URL).mock(return_value=_result())
        await parallel.resolve_email(PERSON, provider_ctx("parallel", processor="base-fast"))
        assert json.loads(create.calls.last.request.content)["processor"] == "base-fast"

    @respx.mock
    async def test_a_bad_key_is_an_auth_error_and_not_retried(self, provider_ctx):
        create = respx.post(CREATE_URL).mock(return_value=httpx.Response(401, json={"error": "unauthorized"}))
        result = respx.get(RESULT_URL).mock(return_value=_result())
        with pytest.raises(ProviderAuthError):
            await parallel.resolve_email(PERSON, provider_ctx("parallel"))
        assert create.call_count == 1 and result.call_count == 0

    @respx.mock
    async def test_an_invalid_processor_is_refused_and_not_retried(self, provider_ctx):
        # §8.3: 403 means an invalid processor
        create = respx.post(CREATE_URL).mock(return_value=httpx.Response(403, json={"error": "bad processor"}))
        with pytest.raises(ProviderAuthError) as e:
            await parallel.resolve_email(PERSON, provider_ctx("parallel", processor="nope"))
        assert create.call_count == 1 and e.value.status_code == 403

    @respx.mock
    async def test_a_validation_error_is_not_retried(self, provider_ctx):
        create = respx.post(CREATE_URL).mock(return_value=httpx.Response(422, json={"detail": "bad spec"}))
        with pytest.raises(ProviderStatusError) as e:
            await parallel.resolve_email(PERSON, provider_ctx("parallel"))
        assert create.call_count == 1 and e.value.status_code == 422

    @respx.mock
    async def test_a_429_then_success_honours_retry_after(self, provider_ctx, clock):
        create = respx.post(CREATE_URL).mock(
            side_effect=[httpx.Response(429, headers={"Retry-After": "2"}), _created()]
        )
        respx.get(RESULT_URL).mock(return_value=_result())
        outcome = await parallel.resolve_email(PERSON, provider_ctx("parallel"))
        assert outcome.status is AttemptStatus.found and create.call_count == 2
        # the provider's Retry-After is the wait, not the short backoff
        assert clock.sleeps[0] == 2.0

    @respx.mock
    async def test_a_retry_after_longer_than_the_budget_is_not_slept(self, provider_ctx, clock):
        create = respx.post(CREATE_URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "30"}))
        with pytest.raises(ProviderRateLimitError) as e:
            await parallel.resolve_email(PERSON, provider_ctx("parallel", max_wait_seconds=5.0))
        assert create.call_count == 1 and clock.sleeps == [] and e.value.retry_after == 30.0

    @respx.mock
    async def test_a_5xx_is_retried_then_reported(self, provider_ctx):
        create = respx.post(CREATE_URL).mock(return_value=httpx.Response(500, text="oops"))
        with pytest.raises(ProviderServerError):
            await parallel.resolve_email(PERSON, provider_ctx("parallel"))
        assert create.call_count == 3

    @respx.mock
    async def test_a_read_timeout_on_the_billable_create_is_not_resent(self, provider_ctx):
        create = respx.post(CREATE_URL).mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(ProviderTimeoutError):
            await parallel.resolve_email(PERSON, provider_ctx("parallel"))
        assert create.call_count == 1

    @respx.mock
    async def test_malformed_json_is_a_failure(self, provider_ctx):
        respx.post(CREATE_URL).mock(return_value=httpx.Response(202, text="<html>"))
        with pytest.raises(ProviderMalformedResponse):
            await parallel.resolve_email(PERSON, provider_ctx("parallel"))

    @respx.mock
    async def test_an_answer_without_a_run_id_is_a_failure(self, provider_ctx):
        respx.post(CREATE_URL).mock(return_value=httpx.Response(202, json={"status": "queued"}))
        result = respx.get(RESULT_URL).mock(return_value=_result())
        outcome = await parallel.resolve_email(PERSON, provider_ctx("parallel"))
        assert outcome.status is AttemptStatus.failed and outcome.error == "no run_id in the create response"
        assert result.call_count == 0

    @respx.mock
    async def test_no_run_is_started_without_time_to_wait_for_it(self, provider_ctx, clock):
        create = respx.post(CREATE_URL).mock(return_value=_created())
        ctx = provider_ctx("parallel")
        ctx.deadline = clock.now + 0.5
        outcome = await parallel.resolve_email(PERSON, ctx)
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "timeout"
        assert create.call_count == 0


class TestResult:
    @respx.mock
    async def test_the_result_is_read_with_a_timeout_within_the_budget(self, provider_ctx):
        respx.post(CREATE_URL).mock(return_value=_created())
        result = respx.get(RESULT_URL).mock(return_value=_result())
        await parallel.resolve_email(PERSON, provider_ctx("parallel", max_wait_seconds=5.0))
        request = result.calls.last.request
        assert request.method == "GET" and request.url.path == f"/v1/tasks/runs/{RUN_ID}/result"
        assert request.headers["x-api-key"] == TEST_KEY
        assert int(request.url.params["timeout"]) == 5
        # the HTTP read timeout outlasts the server-side wait
        assert request.extensions["timeout"]["read"] > int(request.url.params["timeout"])

    @respx.mock
    async def test_the_operation_deadline_caps_the_wait(self, provider_ctx, clock):
        respx.post(CREATE_URL).mock(return_value=_created())
        result = respx.get(RESULT_URL).mock(return_value=_result())
        ctx = provider_ctx("parallel", max_wait_seconds=100.0)
        ctx.deadline = clock.now + 3.5
        await parallel.resolve_email(PERSON, ctx)
        assert int(result.calls.last.request.url.params["timeout"]) == 3

    @respx.mock
    async def test_a_found_email_carries_the_basis_confidence(self, provider_ctx):
        respx.post(CREATE_URL).mock(return_value=_created())
        respx.get(RESULT_URL).mock(return_value=_result("Jane.Doe@Acme.com", "high"))
        outcome = await parallel.resolve_email(PERSON, provider_ctx("parallel"))
        assert outcome.status is AttemptStatus.found
        assert outcome.output == {
            "work_email": "jane.doe@acme.com",
            "email_confidence": "high",
            "email_verdict": None,
            "email_source": "parallel",
        }
        EmailOutput.model_validate(outcome.output)
        assert outcome.provider_status == "completed" and outcome.http_status == 200
        assert outcome.raw["run"]["run_id"] == RUN_ID

    @respx.mock
    async def test_a_missing_confidence_is_kept_as_none(self, provider_ctx):
        respx.post(CREATE_URL).mock(return_value=_created())
        respx.get(RESULT_URL).mock(return_value=_result(confidence=None))
        outcome = await parallel.resolve_email(PERSON, provider_ctx("parallel"))
        assert outcome.status is AttemptStatus.found and outcome.output["email_confidence"] is None

    @pytest.mark.parametrize(
        ("email", "confidence"),
        [("NOT_FOUND", "medium"), ("not_found", None), ("unknown", "high"), ("", "high"), ("jane.doe@acme.com", "low")],
    )
    @respx.mock
    async def test_not_found_answers(self, provider_ctx, email, confidence):
        respx.post(CREATE_URL).mock(return_value=_created())
        respx.get(RESULT_URL).mock(return_value=_result(email, confidence))
        outcome = await parallel.resolve_email(PERSON, provider_ctx("parallel"))
        assert outcome.status is AttemptStatus.not_found and outcome.output is None
        assert outcome.provider_status == "completed" and outcome.raw["output"]["content"]["work_email"] == email

    @respx.mock
    async def test_a_408_means_keep_waiting_on_the_same_run(self, provider_ctx):
        create = respx.post(CREATE_URL).mock(return_value=_created())
        result = respx.get(RESULT_URL).mock(side_effect=[_timed_out(), _timed_out(), _result()])
        outcome = await parallel.resolve_email(PERSON, provider_ctx("parallel"))
        assert outcome.status is AttemptStatus.found
        assert create.call_count == 1 and result.call_count == 3

    @respx.mock
    async def test_the_budget_running_out_is_a_timeout_with_the_run_id(self, provider_ctx, clock):
        create = respx.post(CREATE_URL).mock(return_value=_created())

        def early_408(request: httpx.Request) -> httpx.Response:
            # the server holds each call half a second, then answers "not done yet"
            clock.advance(0.5)
            return _timed_out()

        result = respx.get(RESULT_URL).mock(side_effect=early_408)
        started = clock.now
        outcome = await parallel.resolve_email(PERSON, provider_ctx("parallel", max_wait_seconds=3.0))
        # the whole wait, server holds and pauses between calls, fits the 3 s budget exactly
        assert clock.now - started == 3.0 and clock.sleeps == [0.5, 0.5, 0.5]
        assert [int(c.request.url.params["timeout"]) for c in result.calls] == [3, 2, 1]
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "timeout"
        assert outcome.raw["run_id"] == RUN_ID and outcome.http_status == 408
        assert RUN_ID in outcome.error
        # never a second run
        assert create.call_count == 1 and result.call_count >= 2

    @respx.mock
    async def test_a_transient_error_while_waiting_is_retried_within_the_budget(self, provider_ctx):
        create = respx.post(CREATE_URL).mock(return_value=_created())
        result = respx.get(RESULT_URL).mock(
            side_effect=[
                httpx.Response(503),
                httpx.ReadTimeout("slow"),
                httpx.Response(429, headers={"Retry-After": "0"}),
                _result(),
            ]
        )
        outcome = await parallel.resolve_email(PERSON, provider_ctx("parallel"))
        assert outcome.status is AttemptStatus.found
        assert create.call_count == 1 and result.call_count == 4

    @respx.mock
    async def test_a_result_endpoint_failing_until_the_end_is_a_timeout_with_the_run_id(self, provider_ctx):
        create = respx.post(CREATE_URL).mock(return_value=_created())
        respx.get(RESULT_URL).mock(return_value=httpx.Response(502))
        outcome = await parallel.resolve_email(PERSON, provider_ctx("parallel", max_wait_seconds=1.3))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "timeout"
        assert outcome.raw["run_id"] == RUN_ID and outcome.http_status == 502
        assert create.call_count == 1

    @pytest.mark.parametrize(("status", "code"), [(401, "auth_error"), (404, "http_error"), (410, "http_error")])
    @respx.mock
    async def test_a_final_error_while_waiting_is_reported_with_the_run_id(self, provider_ctx, status, code):
        create = respx.post(CREATE_URL).mock(return_value=_created())
        result = respx.get(RESULT_URL).mock(return_value=httpx.Response(status, json={"error": "gone"}))
        outcome = await parallel.resolve_email(PERSON, provider_ctx("parallel"))
        assert outcome.status is AttemptStatus.failed
        assert outcome.provider_status == code and outcome.http_status == status
        assert outcome.raw == {"run_id": RUN_ID, "run": json.loads(_created().content), "body": {"error": "gone"}}
        assert create.call_count == 1 and result.call_count == 1

    @respx.mock
    async def test_a_malformed_result_is_a_failure_with_the_run_id(self, provider_ctx):
        respx.post(CREATE_URL).mock(return_value=_created())
        respx.get(RESULT_URL).mock(return_value=httpx.Response(200, text="<html>"))
        outcome = await parallel.resolve_email(PERSON, provider_ctx("parallel"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "malformed_response"
        assert outcome.raw["run_id"] == RUN_ID

    @pytest.mark.parametrize("run_status", ["failed", "cancelled", "action_required"])
    @respx.mock
    async def test_a_run_that_did_not_complete_is_a_failure_with_its_status(self, provider_ctx, run_status):
        respx.post(CREATE_URL).mock(return_value=_created())
        respx.get(RESULT_URL).mock(return_value=_result(run_status=run_status))
        outcome = await parallel.resolve_email(PERSON, provider_ctx("parallel"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == run_status

    @pytest.mark.parametrize("body", [{"run": {"status": "completed"}}, {"output": {"type": "text", "content": "x"}}])
    @respx.mock
    async def test_an_unexpected_result_shape_is_a_failure(self, provider_ctx, body):
        respx.post(CREATE_URL).mock(return_value=_created())
        respx.get(RESULT_URL).mock(return_value=httpx.Response(200, json=body))
        outcome = await parallel.resolve_email(PERSON, provider_ctx("parallel"))
        assert outcome.status is AttemptStatus.failed and outcome.output is None and outcome.raw == body


def test_the_action_serves_resolve_email():
    action = parallel.ACTIONS["person.contact.resolve_email"]
    assert set(parallel.ACTIONS) == {"person.contact.resolve_email", *_research.STRUCTURED_TASKS}
    assert action.run is parallel.resolve_email and action.provider == "parallel" and action.eligible is None
