"""Knobs (latency, error rate, rate limit, deliberate 429s, malformed bodies), the control API,
statistics, reset, and start values from the environment and the command line."""

import pytest

from sandbox.__main__ import settings_from
from sandbox.knobs import KnobError, Knobs, KnobStore, from_environment
from sandbox.runtime import Counters, TokenBucket
from tests.providers.conftest import FakeClock
from tests.sandbox import KEY, is_json, sandbox_client

CREDS = {"api_key": KEY, "email": "sandbox@example.com"}
# one ordinary request per provider: (method, path, httpx kwargs)
PROBES = {
    "icypeas": (
        "POST",
        "/icypeas/api/email-search",
        {
            "headers": {"Authorization": KEY},
            "json": {"firstname": "Jo", "lastname": "Li", "domainOrCompany": "found.com"},
        },
    ),
    "leadmagic": (
        "POST",
        "/leadmagic/v1/people/email-finder",
        {"headers": {"X-API-Key": KEY}, "json": {"first_name": "Jo", "domain": "found.com"}},
    ),
    "millionverifier": ("GET", "/millionverifier/api/v3/", {"params": {"api": KEY, "email": "jo@found.com"}}),
    "reoon": ("GET", "/reoon/api/v1/verify", {"params": {"key": KEY, "email": "jo@found.com", "mode": "power"}}),
    "prospeo": (
        "POST",
        "/prospeo/enrich-company",
        {"headers": {"X-KEY": KEY}, "json": {"data": {"company_website": "found.com"}}},
    ),
    "blitzapi": (
        "POST",
        "/blitzapi/v2/enrichment/domain-to-linkedin",
        {"headers": {"x-api-key": KEY}, "json": {"domain": "found.com"}},
    ),
    "companyenrich": (
        "GET",
        "/companyenrich/companies/enrich",
        {"headers": {"Authorization": f"Bearer {KEY}"}, "params": {"domain": "found.com"}},
    ),
    "parallel": (
        "POST",
        "/parallel/v1/tasks/runs",
        {"headers": {"x-api-key": KEY}, "json": {"input": "Jo Li at found.com", "processor": "core"}},
    ),
    "adyntel": ("POST", "/adyntel/google", {"json": {**CREDS, "company_domain": "found.com"}}),
    "gemini": (
        "POST",
        "/gemini/v1beta/models/m:generateContent",
        {"headers": {"x-goog-api-key": KEY}, "json": {"contents": [{"parts": [{"text": "G2 of found.com"}]}]}},
    ),
    "openai": (
        "POST",
        "/openai/v1/responses",
        {"headers": {"Authorization": f"Bearer {KEY}"}, "json": {"model": "m", "input": "G2 of found.com"}},
    ),
}


def _vendor_shaped(provider, body):
    """The fault bodies follow each vendor's error shape (docs/providers.md §13)."""
    checks = {
        "icypeas": lambda b: "message" in b,
        "leadmagic": lambda b: b["success"] is False and b["errors"][0]["code"],
        "millionverifier": lambda b: b["result"] == "error" and b["error"],
        "reoon": lambda b: b["status"] == "error" and b["reason"],
        "prospeo": lambda b: b["error"] is True and b["error_code"],
        "blitzapi": lambda b: b["message"],
        "companyenrich": lambda b: b["status"] >= 400 and b["title"],
        "parallel": lambda b: b["type"] == "error" and b["error"]["message"],
        "adyntel": lambda b: b["error"],
        "gemini": lambda b: b["error"]["status"] in ("INTERNAL", "UNAVAILABLE", "RESOURCE_EXHAUSTED"),
        "openai": lambda b: b["error"]["message"] and "type" in b["error"],
    }
    return bool(checks[provider](body))


async def _probe(c, provider):
    method, path, kwargs = PROBES[provider]
    return await c.request(method, path, **kwargs)


@pytest.mark.parametrize("provider", list(PROBES))
async def test_probe_succeeds_without_faults(provider):
    async with sandbox_client() as c:
        r = await _probe(c, provider)
    assert r.status_code in (200, 202), r.text


@pytest.mark.parametrize("provider", list(PROBES))
async def test_error_rate_one_gives_only_vendor_shaped_5xx(provider):
    async with sandbox_client(error_rate=1.0) as c:
        replies = [await _probe(c, provider) for _ in range(12)]
        stats = (await c.get("/_sandbox/stats")).json()["providers"][provider]["total"]
    assert {r.status_code for r in replies} <= {500, 503}
    assert {r.status_code for r in replies} == {500, 503}  # both appear in 12 seeded draws
    assert all(_vendor_shaped(provider, r.json()) for r in replies)
    assert stats["status_5xx"] == 12 and stats["status_2xx"] == 0


@pytest.mark.parametrize("provider", list(PROBES))
async def test_http429_rate_one_gives_deliberate_429s_with_retry_after(provider):
    async with sandbox_client(http429_rate=1.0) as c:
        r = await _probe(c, provider)
        stats = (await c.get("/_sandbox/stats")).json()["providers"][provider]["total"]
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert _vendor_shaped(provider, r.json())
    assert stats["status_429_deliberate"] == 1 and stats["status_429_rate_limit"] == 0


async def test_malformed_rate_answers_200_with_invalid_json():
    async with sandbox_client(malformed_rate=1.0) as c:
        replies = [await _probe(c, p) for p in PROBES]
        stats = (await c.get("/_sandbox/stats")).json()
    assert all(r.status_code == 200 for r in replies)
    assert not any(is_json(r.content) for r in replies)
    assert stats["total"]["malformed"] == len(PROBES)


async def test_fractions_are_roughly_honoured_and_reproducible():
    async def statuses(seed):
        async with sandbox_client(seed=seed, error_rate=0.3, http429_rate=0.2) as c:
            return [(await _probe(c, "millionverifier")).status_code for _ in range(200)]

    first, again, other = await statuses(5), await statuses(5), await statuses(6)
    assert first == again and first != other
    errors = sum(s >= 500 for s in first)
    limited = first.count(429)
    assert 40 <= errors <= 80 and 20 <= limited <= 60


async def test_latency_is_added_and_can_be_set_per_provider():
    clock = FakeClock()
    async with sandbox_client(latency_ms=250, clock=clock) as c:
        await _probe(c, "adyntel")
        slow = list(clock.sleeps)
        await c.post("/_sandbox/config", json={"provider": "adyntel", "latency_ms": 0})
        await _probe(c, "adyntel")
        fast = clock.sleeps[len(slow) :]
        await _probe(c, "prospeo")
        still_slow = clock.sleeps[len(slow) + len(fast) :]
    assert slow == [0.25] and still_slow == [0.25]
    assert fast == []


async def test_rate_limit_token_bucket_gives_429_counted_as_rate_limit():
    clock = FakeClock()
    async with sandbox_client(overrides={"blitzapi": {"rate_limit_per_second": 2}}, clock=clock) as c:
        replies = [await _probe(c, "blitzapi") for _ in range(8)]
        others = [await _probe(c, "adyntel") for _ in range(8)]
        stats = (await c.get("/_sandbox/stats")).json()
        # half a second later one token is back
        clock.advance(0.5)
        refilled = [(await _probe(c, "blitzapi")).status_code for _ in range(2)]
    codes = [r.status_code for r in replies]
    # a burst of 2 tokens, then one every 0.5 s: the rest of a burst of 8 in one instant is refused
    assert codes[:2] == [200] * 2 and codes[2:] == [429] * 6
    assert refilled == [200, 429]
    assert all(r.headers["Retry-After"] == "1" for r in replies[2:])
    assert replies[2].json()["message"].startswith("Rate limit exceeded")
    assert all(r.status_code == 200 for r in others)
    blitz = stats["providers"]["blitzapi"]
    assert blitz["total"]["status_429_rate_limit"] == 6 and blitz["total"]["status_429_deliberate"] == 0
    assert blitz["endpoints"]["POST /v2/enrichment/domain-to-linkedin"]["requests"] == 8
    assert blitz["total"]["peak_rps"] >= 8 and stats["total"]["requests"] == 16


async def test_control_api_config_reset_and_stats():
    async with sandbox_client(latency_ms=1, seed=3) as c:
        health = (await c.get("/_sandbox/health")).json()
        assert health["status"] == "ok" and len(health["providers"]) == 11 and health["seed"] == 3
        r = await c.post("/_sandbox/config", json={"provider": None, "error_rate": 0.25, "latency_ms": 0})
        assert r.status_code == 200 and r.json()["global"]["error_rate"] == 0.25
        r = await c.post("/_sandbox/config", json={"provider": "reoon", "http429_rate": 1})
        assert r.json()["effective"]["reoon"]["http429_rate"] == 1.0
        assert r.json()["effective"]["reoon"]["error_rate"] == 0.25
        assert r.json()["effective"]["gemini"]["http429_rate"] == 0.0
        r = await c.post("/_sandbox/config", json={"provider": "reoon", "http429_rate": None})
        assert r.json()["effective"]["reoon"]["http429_rate"] == 0.0 and "reoon" not in r.json()["overrides"]
        for bad in (
            {"error_rate": 2},
            {"nonsense": 1},
            {"latency_ms": -1},
            {"provider": "acme", "latency_ms": 1},
            {"latency_ms": "x"},
        ):
            r = await c.post("/_sandbox/config", json=bad)
            assert r.status_code == 400 and r.json()["error"], bad
        await _probe(c, "prospeo")
        assert (await c.get("/_sandbox/stats")).json()["total"]["requests"] == 1
        r = await c.post("/_sandbox/reset")
        assert r.status_code == 200 and r.json()["global"]["latency_ms"] == 1 and r.json()["global"]["error_rate"] == 0
        stats = (await c.get("/_sandbox/stats")).json()
        assert stats["total"]["requests"] == 0 and stats["providers"]["prospeo"]["endpoints"] == {}
        assert (await c.get("/_sandbox/config")).json()["seed"] == 3
        assert (await c.post("/_sandbox/reset", json={"seed": 9})).json()["seed"] == 9


async def test_reset_clears_async_state():
    async with sandbox_client(parallel_delay_ms=10_000) as c:
        run = (await _probe(c, "parallel")).json()
        assert (await c.get(f"/parallel/v1/tasks/runs/{run['run_id']}", headers={"x-api-key": KEY})).status_code == 200
        await c.post("/_sandbox/reset")
        assert (await c.get(f"/parallel/v1/tasks/runs/{run['run_id']}", headers={"x-api-key": KEY})).status_code == 404


async def test_unknown_paths_are_json_404():
    async with sandbox_client() as c:
        r = await c.get("/icypeas/api/nothing")
        assert r.status_code == 404 and r.json()["error"] == "no sandbox endpoint"
        index = (await c.get("/")).json()
    assert index["providers"]["gemini"]["base_url"] == "http://sandbox/gemini"
    assert "POST /v1/responses" in index["providers"]["openai"]["endpoints"]


def test_counters_track_peak_requests_per_second():
    counters = Counters()
    for second, n in ((10, 3), (11, 7), (12, 2)):
        for _ in range(n):
            counters.arrive(second)
            counters.answer(200, None)
    assert counters.as_dict()["peak_rps"] == 7 and counters.as_dict()["requests"] == 12


def test_token_bucket_refills_at_the_rate():
    bucket = TokenBucket()
    assert [bucket.take(0.0, 2) for _ in range(3)][:2] == [0.0, 0.0]
    assert bucket.take(0.0, 2) == pytest.approx(0.5)
    assert bucket.take(0.5, 2) == 0.0


def test_knob_store_overrides_and_validation():
    store = KnobStore(Knobs(latency_ms=5), {"gemini": {"error_rate": 0.5}})
    assert store.effective("gemini").error_rate == 0.5 and store.effective("gemini").latency_ms == 5
    store.update(None, {"latency_ms": 7})
    assert store.effective("gemini").latency_ms == 7
    store.reset()
    assert store.effective("openai").latency_ms == 5
    with pytest.raises(KnobError):
        store.update("gemini", {"icypeas_reads_per_minute": 1.5})


def test_start_values_from_environment_and_command_line():
    environ = {
        "SANDBOX_LATENCY_MS": "20",
        "SANDBOX_RATE_LIMIT": "50",
        "SANDBOX_ICYPEAS_DELAY_MS": "100",
        "SANDBOX_ICYPEAS_LATENCY_MS": "300",
        "SANDBOX_SEED": "4",
        "UNRELATED": "1",
    }
    global_values, overrides = from_environment(environ)
    assert global_values == {"latency_ms": 20.0, "rate_limit_per_second": 50.0, "icypeas_delay_ms": 100.0}
    assert overrides == {"icypeas": {"latency_ms": 300.0}}
    args, knobs, overrides = settings_from(
        ["--port", "9200", "--latency-ms", "5", "--error-rate", "0.1", "--set", "reoon.reoon_power_latency_ms=0"],
        environ,
    )
    assert args.port == 9200 and args.seed == 4 and args.access_log is False
    assert knobs.latency_ms == 5 and knobs.error_rate == 0.1 and knobs.rate_limit_per_second == 50
    assert overrides == {"icypeas": {"latency_ms": 300.0}, "reoon": {"reoon_power_latency_ms": 0.0}}
    with pytest.raises(SystemExit):
        settings_from(["--error-rate", "3"], {})
