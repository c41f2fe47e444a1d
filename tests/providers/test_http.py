"""The shared HTTP policy (app/providers/_http.py): Retry-After parsing and obedience, the cap and
the per-call inline-wait limit, the deadline, pacing hooks and rate buckets. Every wait goes
through the fake clock, so the tests assert the waits asked for."""

from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest
import respx

from app.operations.engine import Engine, ExecutionOptions
from app.operations.providers import Providers
from app.operations.registry import REGISTRY
from app.providers import ADAPTERS, millionverifier
from app.providers._http import (
    RETRY_AFTER_MAX,
    ProviderClient,
    ProviderRateLimitError,
    ProviderServerError,
    RetryPolicy,
    parse_retry_after,
)
from app.providers.base import AttemptStatus
from tests.providers.conftest import TEST_KEY, FakeClock, base_url, options_for

NOW = 1_750_000_000.0
URL = base_url("millionverifier") + "/api/v3/"
PERSON_EMAIL = {"email": "jane.doe@acme.com"}


def _date(epoch: float) -> str:
    return format_datetime(datetime.fromtimestamp(epoch, UTC), usegmt=True)


class TestParseRetryAfter:
    @pytest.mark.parametrize(("value", "seconds"), [("0", 0.0), ("7", 7.0), (" 120 ", 120.0), ("1.5", 1.5)])
    def test_delta_seconds(self, value, seconds):
        assert parse_retry_after(value, now=NOW) == seconds

    def test_an_http_date_is_measured_from_now(self):
        assert parse_retry_after(_date(NOW + 90), now=NOW) == 90.0

    def test_an_http_date_in_the_past_means_now(self):
        assert parse_retry_after(_date(NOW - 30), now=NOW) == 0.0

    def test_the_obsolete_zone_less_date_form_is_gmt(self):
        # RFC 9110 §5.6.7: "-0000" dates are still GMT
        stamp = datetime.fromtimestamp(NOW + 45, UTC).strftime("%a, %d %b %Y %H:%M:%S -0000")
        assert parse_retry_after(stamp, now=NOW) == 45.0

    @pytest.mark.parametrize("value", [None, "", "   ", "soon", "-5", "-0.5", "inf", "nan", "1e3", "12s", "Wed, 99"])
    def test_garbage_and_negative_values_are_ignored(self, value):
        assert parse_retry_after(value, now=NOW) is None

    def test_a_value_above_the_cap_is_kept_not_dropped(self):
        # the policy, not the parser, decides what a long wait means
        assert parse_retry_after("3600", now=NOW) == 3600.0 > RETRY_AFTER_MAX


@pytest.fixture
def client(http_client, clock):
    def make(**kwargs) -> ProviderClient:
        retry = kwargs.pop("retry", RetryPolicy(max_retries=2, initial=0.01, maximum=0.02))
        return ProviderClient(
            name="millionverifier",
            http=http_client,
            base_url=base_url("millionverifier"),
            api_key=TEST_KEY,
            timeout=5.0,
            retry=retry,
            clock=clock.monotonic,
            wall_clock=clock.time,
            sleep=clock.sleep,
            **kwargs,
        )

    return make


def _limited(retry_after: str | None = None) -> httpx.Response:
    return httpx.Response(429, headers={"Retry-After": retry_after} if retry_after is not None else {})


class TestRetryAfter:
    @respx.mock
    async def test_a_retry_after_in_seconds_is_the_wait(self, client, clock):
        route = respx.get(URL).mock(side_effect=[_limited("7"), httpx.Response(200, json={})])
        await client().request("GET", "/api/v3/")
        assert route.call_count == 2 and clock.sleeps == [7.0]

    @respx.mock
    async def test_a_retry_after_date_is_the_wait(self, client, clock):
        route = respx.get(URL).mock(side_effect=[_limited(_date(clock.time() + 42)), httpx.Response(200, json={})])
        await client().request("GET", "/api/v3/")
        assert route.call_count == 2 and clock.sleeps == [42.0]

    @respx.mock
    async def test_a_retry_after_above_60_s_is_honoured_up_to_the_cap(self, client, clock):
        route = respx.get(URL).mock(side_effect=[_limited("90"), httpx.Response(200, json={})])
        await client().request("GET", "/api/v3/")
        assert route.call_count == 2 and clock.sleeps == [90.0]

    @respx.mock
    async def test_a_retry_after_above_the_cap_fails_at_once_with_the_wait_kept(self, client, clock):
        route = respx.get(URL).mock(return_value=_limited("600"))
        with pytest.raises(ProviderRateLimitError) as e:
            await client().request("GET", "/api/v3/")
        # not replaced by a short backoff that burns the retries in seconds
        assert route.call_count == 1 and clock.sleeps == []
        assert e.value.retry_after == 600.0 and "600" in e.value.message

    @respx.mock
    async def test_the_cap_is_a_setting(self, client, clock):
        route = respx.get(URL).mock(side_effect=[_limited("600"), httpx.Response(200, json={})])
        await client(retry=RetryPolicy(retry_after_max=900.0)).request("GET", "/api/v3/")
        assert route.call_count == 2 and clock.sleeps == [600.0]

    @respx.mock
    async def test_above_the_inline_wait_limit_the_error_comes_at_once(self, client, clock):
        route = respx.get(URL).mock(return_value=_limited("30"))
        with pytest.raises(ProviderRateLimitError) as e:
            await client().request("GET", "/api/v3/", max_inline_wait=5.0)
        assert route.call_count == 1 and clock.sleeps == [] and e.value.retry_after == 30.0

    @respx.mock
    async def test_within_the_inline_wait_limit_the_wait_is_slept(self, client, clock):
        route = respx.get(URL).mock(side_effect=[_limited("3"), httpx.Response(200, json={})])
        await client().request("GET", "/api/v3/", max_inline_wait=5.0)
        assert route.call_count == 2 and clock.sleeps == [3.0]

    @respx.mock
    async def test_no_wait_runs_past_the_deadline(self, client, clock):
        route = respx.get(URL).mock(return_value=_limited("20"))
        with pytest.raises(ProviderRateLimitError) as e:
            await client().request("GET", "/api/v3/", deadline=clock.now + 10)
        assert route.call_count == 1 and clock.sleeps == [] and e.value.retry_after == 20.0

    @respx.mock
    async def test_without_retry_after_the_backoff_applies(self, client, clock):
        route = respx.get(URL).mock(return_value=httpx.Response(503))
        with pytest.raises(ProviderServerError):
            await client().request("GET", "/api/v3/")
        assert route.call_count == 3 and len(clock.sleeps) == 2 and all(0 < s <= 0.03 for s in clock.sleeps)

    @respx.mock
    async def test_before_attempt_runs_before_every_attempt_retries_included(self, client):
        route = respx.get(URL).mock(side_effect=[_limited("1"), _limited("1"), httpx.Response(200, json={})])
        turns: list[int] = []

        async def take_turn() -> None:
            turns.append(route.call_count)

        await client().request("GET", "/api/v3/", before_attempt=take_turn)
        assert turns == [0, 1, 2]


class TestRateBuckets:
    def test_the_default_pace_is_one_for_the_provider(self, client):
        c = client(rate_per_second=5.0)
        assert c._limiter("/a") is c._limiter("/b") is not None

    def test_a_per_endpoint_pace_has_one_limiter_per_path(self, client):
        c = client(rate_per_second=5.0, rate_per_endpoint=True)
        assert c._limiter("/a") is not c._limiter("/b") and c._limiter("/a") is c._limiter("/a")
        assert c._limiter("/a").time_period == pytest.approx(0.2)

    def test_paths_of_one_bucket_share_its_pace(self, client):
        c = client(rate_per_second=5.0, path_rates={"/s1": ("search", 1.0), "/s2": ("search", 1.0)})
        assert c._limiter("/s1") is c._limiter("/s2") is not c._limiter("/enrich")
        assert c._limiter("/s1").time_period == 1.0 and c._limiter("/enrich").time_period == pytest.approx(0.2)

    def test_no_rate_means_unpaced(self, client):
        assert client()._limiter("/a") is None


class TestDocumentedDefaultRates:
    def test_blitzapi_is_paced_at_5_per_second_per_endpoint(self, settings, http_client):
        c = Providers.from_settings(settings, http_client, gate=None).clients["blitzapi"]
        assert c.rate_per_second == 5.0 and c.rate_per_endpoint

    def test_prospeo_search_and_enrichment_are_paced_apart(self, settings, http_client):
        c = Providers.from_settings(settings, http_client, gate=None).clients["prospeo"]
        assert c.rate_per_second == 5.0
        assert c.path_rates == {"/search-company": ("search", 1.0), "/search-person": ("search", 1.0)}

    def test_the_retry_after_cap_comes_from_settings(self, settings, http_client):
        clients = Providers.from_settings(
            settings.model_copy(update={"provider_retry_after_max_seconds": 30.0}), http_client, gate=None
        ).clients
        assert {c.retry.retry_after_max for c in clients.values()} == {30.0}


class TestEngineReportsTheWait:
    """What a pipeline step reads to reschedule instead of holding a worker (ExecutionOptions
    .max_inline_wait_seconds → OperationResult.retry_after and Attempt.retry_after)."""

    @pytest.fixture
    def engine(self, http_client, app):
        clock = FakeClock()
        clients = {
            name: ProviderClient(
                name=name,
                http=http_client,
                base_url=base_url(name),
                api_key=TEST_KEY,
                timeout=5.0,
                retry=RetryPolicy(max_retries=2, initial=0.01, maximum=0.02),
                clock=clock.monotonic,
                wall_clock=clock.time,
                sleep=clock.sleep,
            )
            for name in ADAPTERS
        }
        providers = Providers(clients=clients, gate=None, options={n: options_for(n) for n in ADAPTERS}, secrets=[])
        return Engine(providers, {}), clock

    @respx.mock
    async def test_a_long_retry_after_fails_the_attempt_at_once_with_the_wait(self, engine):
        engine, clock = engine
        mv = respx.get(URL).mock(return_value=_limited("40"))
        reoon = respx.get(base_url("reoon") + "/api/v1/verify").mock(return_value=_limited("25"))
        operation = REGISTRY["person.contact.verify_email"]
        data = operation.spec.input_model.model_validate(PERSON_EMAIL)
        result = await engine.run(operation, data, ExecutionOptions(max_inline_wait_seconds=10.0))
        assert mv.call_count == 1 and reoon.call_count == 1 and clock.sleeps == []
        assert [(a.provider, a.status, a.provider_status, a.http_status, a.retry_after) for a in result.attempts] == [
            ("millionverifier", AttemptStatus.failed, "rate_limited", 429, 40.0),
            ("reoon", AttemptStatus.failed, "rate_limited", 429, 25.0),
        ]
        # the soonest the operation may succeed again
        assert result.status == "failed" and result.retry_after == 25.0
        assert "Retry-After 40 s" in result.attempts[0].error

    @respx.mock
    async def test_within_the_limit_the_wait_is_slept_and_nothing_is_reported(self, engine):
        engine, clock = engine
        respx.get(URL).mock(side_effect=[_limited("4"), httpx.Response(200, json=_mv_ok())])
        operation = REGISTRY["person.contact.verify_email"]
        data = operation.spec.input_model.model_validate(PERSON_EMAIL)
        result = await engine.run(operation, data, ExecutionOptions(max_inline_wait_seconds=10.0))
        assert result.status == "verified" and result.retry_after is None and clock.sleeps == [4.0]
        assert result.attempts[0].retry_after is None


def _mv_ok() -> dict:
    assert millionverifier.NAME == "millionverifier"
    return {"email": "jane.doe@acme.com", "result": "ok", "resultcode": 1, "error": "", "credits": 9}
