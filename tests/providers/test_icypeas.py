import asyncio
import uuid

import httpx
import pytest
import respx

from app.contracts.entities import PersonInput
from app.operations.providers import RateGateDb
from app.providers import icypeas
from app.providers._http import ProviderAuthError, ProviderMalformedResponse, ProviderServerError
from app.providers.base import AttemptStatus
from tests.providers.conftest import TEST_KEY, base_url

START = base_url("icypeas") + "/api/email-search"
READ = base_url("icypeas") + "/api/bulk-single-searchs/read"
PERSON = PersonInput(first_name="Jane", last_name="Doe", company_domain="https://www.acme.com/")


def _item(status: str, emails=None) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "success": True,
            "total": 1,
            "sorts": [[], []],
            "items": [
                {
                    "_id": "s1",
                    "name": "__icypeas__individual",
                    "status": status,
                    "results": {"firstname": "Jane", "lastname": "Doe", "emails": emails or []},
                }
            ],
        },
    )


STARTED = httpx.Response(200, json={"success": True, "item": {"_id": "s1", "status": "NONE"}})


class TestResolveEmail:
    @respx.mock
    async def test_starts_then_reads_with_the_documented_shapes(self, provider_ctx):
        start = respx.post(START).mock(return_value=STARTED)
        read = respx.post(READ).mock(
            side_effect=[
                _item("IN_PROGRESS"),
                _item(
                    "DEBITED",
                    [
                        {"email": "j.doe@acme.com", "certainty": "probable"},
                        {"email": "Jane.Doe@acme.com", "certainty": "ultra_sure"},
                    ],
                ),
            ]
        )
        outcome = await icypeas.resolve_email(PERSON, provider_ctx("icypeas"))
        request = start.calls.last.request
        assert request.headers["authorization"] == TEST_KEY  # no Bearer prefix [I2]
        assert request.headers["content-type"] == "application/json"
        import json

        assert json.loads(request.content) == {"firstname": "Jane", "lastname": "Doe", "domainOrCompany": "acme.com"}
        assert json.loads(read.calls.last.request.content) == {"id": "s1"}
        assert read.call_count == 2
        assert outcome.status is AttemptStatus.found
        assert outcome.output == {
            "work_email": "jane.doe@acme.com",
            "email_confidence": "ultra_sure",
            "email_source": "icypeas",
        }
        assert outcome.provider_status == "DEBITED"

    @pytest.mark.parametrize("status", ["NOT_FOUND", "DEBITED_NOT_FOUND"])
    @respx.mock
    async def test_not_found_statuses(self, provider_ctx, status):
        respx.post(START).mock(return_value=STARTED)
        respx.post(READ).mock(return_value=_item(status))
        outcome = await icypeas.resolve_email(PERSON, provider_ctx("icypeas"))
        assert outcome.status is AttemptStatus.not_found and outcome.provider_status == status

    @pytest.mark.parametrize("status", ["BAD_INPUT", "INSUFFICIENT_FUNDS", "ABORTED", "SOMETHING_NEW"])
    @respx.mock
    async def test_other_final_statuses_fail_with_the_status_kept(self, provider_ctx, status):
        respx.post(START).mock(return_value=STARTED)
        respx.post(READ).mock(return_value=_item(status))
        outcome = await icypeas.resolve_email(PERSON, provider_ctx("icypeas"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == status

    @respx.mock
    async def test_validation_errors_come_with_http_200(self, provider_ctx):
        respx.post(START).mock(
            return_value=httpx.Response(
                200, json={"success": False, "validationErrors": [{"field": "domainOrCompany", "type": "required"}]}
            )
        )
        outcome = await icypeas.resolve_email(PERSON, provider_ctx("icypeas"))
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "validation_error"

    @respx.mock
    async def test_a_bad_key_is_an_auth_error(self, provider_ctx):
        respx.post(START).mock(return_value=httpx.Response(401, text="Unauthorized access."))
        with pytest.raises(ProviderAuthError):
            await icypeas.resolve_email(PERSON, provider_ctx("icypeas"))

    @respx.mock
    async def test_a_429_on_read_is_retried(self, provider_ctx):
        respx.post(START).mock(return_value=STARTED)
        read = respx.post(READ).mock(
            side_effect=[
                httpx.Response(
                    429,
                    headers={"Retry-After": "0"},
                    json={"message": "You have exceeded the max number of requests per minute."},
                ),
                _item("DEBITED", [{"email": "jane@acme.com", "certainty": "sure"}]),
            ]
        )
        outcome = await icypeas.resolve_email(PERSON, provider_ctx("icypeas"))
        assert outcome.status is AttemptStatus.found and read.call_count == 2

    @respx.mock
    async def test_a_retried_read_waits_for_its_turn_on_the_shared_schedule_too(self, provider_ctx):
        respx.post(START).mock(return_value=STARTED)
        read = respx.post(READ).mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "2"}),
                _item("IN_PROGRESS"),
                _item("DEBITED", [{"email": "jane@acme.com", "certainty": "sure"}]),
            ]
        )
        ctx = provider_ctx("icypeas", read_interval_seconds=3.0)
        gate = RecordingGate()
        ctx.gate = gate
        outcome = await icypeas.resolve_email(PERSON, ctx)
        assert outcome.status is AttemptStatus.found and read.call_count == 3
        # one turn per read sent, the retry of the 429'd read included
        assert gate.turns == [(icypeas.READS_KEY, 3.0)] * 3

    @respx.mock
    async def test_reads_are_3_s_apart_by_default(self, provider_ctx):
        respx.post(START).mock(return_value=STARTED)
        respx.post(READ).mock(return_value=_item("DEBITED", [{"email": "jane@acme.com", "certainty": "sure"}]))
        ctx = provider_ctx("icypeas")
        # the read interval left at its default
        ctx.options = icypeas.IcypeasOptions(poll_interval_seconds=0.0)
        gate = RecordingGate()
        ctx.gate = gate
        await icypeas.resolve_email(PERSON, ctx)
        assert gate.turns == [(icypeas.READS_KEY, 3.0)]

    def test_the_setting_defaults_to_3_s(self, settings):
        # [I3, I5] 30 reads a minute and at least 3 s between two
        assert type(settings).model_fields["icypeas_read_interval_seconds"].default == 3.0

    @respx.mock
    async def test_a_5xx_on_start_is_not_re_sent_when_exhausted(self, provider_ctx):
        start = respx.post(START).mock(return_value=httpx.Response(502))
        with pytest.raises(ProviderServerError):
            await icypeas.resolve_email(PERSON, provider_ctx("icypeas"))
        assert start.call_count == 3

    @respx.mock
    async def test_a_start_timeout_is_not_re_sent(self, provider_ctx):
        start = respx.post(START).mock(side_effect=httpx.ReadTimeout("slow"))
        from app.providers._http import ProviderTimeoutError

        with pytest.raises(ProviderTimeoutError):
            await icypeas.resolve_email(PERSON, provider_ctx("icypeas"))
        assert start.call_count == 1

    @respx.mock
    async def test_malformed_json_fails(self, provider_ctx):
        respx.post(START).mock(return_value=httpx.Response(200, text="{not json"))
        with pytest.raises(ProviderMalformedResponse):
            await icypeas.resolve_email(PERSON, provider_ctx("icypeas"))

    @respx.mock
    async def test_the_wait_is_bounded_and_the_search_never_restarted(self, provider_ctx, clock):
        start = respx.post(START).mock(return_value=STARTED)
        read = respx.post(READ).mock(return_value=_item("IN_PROGRESS"))
        ctx = provider_ctx("icypeas", max_wait_seconds=10.0, poll_interval_seconds=3.0)
        began = clock.now
        outcome = await icypeas.resolve_email(PERSON, ctx)
        # reads at 3, 6 and 9 s; the poll that would read at 12 s finds the 10 s budget spent
        assert read.call_count == 3 and clock.sleeps == [3.0] * 4 and clock.now - began == 12.0
        assert outcome.status is AttemptStatus.failed and outcome.provider_status == "timeout"
        assert outcome.raw["search_id"] == "s1" and start.call_count == 1


class RecordingGate:
    def __init__(self) -> None:
        self.turns: list[tuple[str, float]] = []

    async def wait_turn(self, key: str, interval_seconds: float) -> None:
        self.turns.append((key, interval_seconds))


async def test_reads_are_paced_account_wide_across_concurrent_searches(app):
    """Four claims at once share one schedule: their slots are exactly the interval apart, and
    each waits for its own (the sleeps are recorded, not slept)."""
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    gate = RateGateDb(app.state.db, sleep=record)
    key = f"test:{uuid.uuid4()}"
    slots = sorted(s for s, _ in await asyncio.gather(*(gate.claim(key, 0.2) for _ in range(4))))
    assert [round(b - a, 6) for a, b in zip(slots, slots[1:], strict=False)] == [0.2, 0.2, 0.2]
    fifth, _ = await gate.claim(key, 0.2)
    assert round(fifth - slots[-1], 6) == 0.2
    # wait_turn sleeps until its slot: a second turn on an hourly schedule waits about an hour
    hourly = f"test:{uuid.uuid4()}"
    await gate.wait_turn(hourly, 3600.0)
    await gate.wait_turn(hourly, 3600.0)
    assert len(waits) == 1 and 3500 < waits[0] <= 3600
