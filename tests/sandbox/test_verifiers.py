"""MillionVerifier and Reoon: verdicts from the local part, bad keys, triggers, concurrency."""

import asyncio
import time

import pytest

from tests.sandbox import BAD, KEY, sandbox_client

MV = "/millionverifier/api/v3/"


async def _mv(c, email, key=KEY, path=MV):
    r = await c.get(path, params={"api": key, "email": email, "timeout": 10})
    return r


@pytest.mark.parametrize(
    ("local", "result", "code"),
    [
        ("jane.doe", "ok", 1),
        ("catchall.jane", "catch_all", 2),
        ("unknown-x", "unknown", 3),
        ("disposable1", "disposable", 5),
        ("invalid.person", "invalid", 6),
    ],
)
async def test_millionverifier_verdicts(local, result, code):
    async with sandbox_client() as c:
        r = await _mv(c, f"{local}@acme.com")
    assert r.status_code == 200
    body = r.json()
    assert body["result"] == result and body["resultcode"] == code
    assert body["email"] == f"{local}@acme.com" and body["error"] == "" and body["livemode"] is True
    assert set(body) == {
        "email", "quality", "result", "resultcode", "subresult", "free", "role", "didyoumean", "credits",
        "executiontime", "error", "livemode",
    }  # fmt: skip


async def test_millionverifier_path_without_slash_free_and_role_flags():
    async with sandbox_client() as c:
        body = (await _mv(c, "info@gmail.com", path="/millionverifier/api/v3")).json()
    assert body["result"] == "ok" and body["free"] is True and body["role"] is True


async def test_millionverifier_errors_are_http_200_bodies():
    async with sandbox_client() as c:
        bad = await _mv(c, "jane@acme.com", key=BAD)
        nocredit = await _mv(c, "nocredit.jane@acme.com")
        server = await _mv(c, "error500@acme.com")
        limited = await _mv(c, "jane@ratelimit-corp.com")
    assert bad.status_code == 200
    assert bad.json()["result"] == "error" and bad.json()["resultcode"] == 4
    assert bad.json()["error"] == "Apikey not found" and bad.json()["credits"] == 0
    assert nocredit.status_code == 200 and nocredit.json()["result"] == "error"
    assert "credit" in nocredit.json()["error"].lower()
    assert server.status_code == 500 and server.json()["result"] == "error"
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"


async def test_millionverifier_demo_keys():
    async with sandbox_client() as c:
        invalid = (await _mv(c, "jane.doe@acme.com", key="API_KEY_FOR_INVALID")).json()
        unknown = (await _mv(c, "jane.doe@acme.com", key="API_KEY_FOR_UNKOWN")).json()
        test_a = (await _mv(c, "a@acme.com", key="API_KEY_FOR_TEST")).json()
        test_b = (await _mv(c, "a@acme.com", key="API_KEY_FOR_TEST")).json()
    assert invalid["result"] == "invalid" and invalid["livemode"] is False
    assert unknown["result"] == "unknown"
    assert test_a == test_b and test_a["result"] in ("ok", "catch_all", "unknown", "disposable", "invalid")


REOON = "/reoon/api/v1/verify"


@pytest.mark.parametrize(
    ("local", "power", "quick"),
    [
        ("jane.doe", "safe", "valid"),
        ("invalid.x", "invalid", "invalid"),
        ("catchall", "catch_all", "valid"),
        ("unknown.jo", "unknown", "valid"),
        ("disposable", "disposable", "disposable"),
    ],
)
async def test_reoon_statuses_by_mode(local, power, quick):
    async with sandbox_client() as c:
        p = await c.get(REOON, params={"email": f"{local}@acme.com", "key": KEY, "mode": "power"})
        q = await c.get(REOON, params={"email": f"{local}@acme.com", "key": KEY, "mode": "quick"})
    assert p.status_code == q.status_code == 200
    assert p.json()["status"] == power and p.json()["verification_mode"] == "power"
    assert q.json()["status"] == quick and q.json()["verification_mode"] == "quick"
    body = p.json()
    assert body["email"] == f"{local}@acme.com" and body["username"] == local and body["domain"] == "acme.com"
    assert body["is_catch_all"] is (power == "catch_all") and body["is_disposable"] is (power == "disposable")
    assert body["is_safe_to_send"] is (power == "safe")
    assert 0 <= body["overall_score"] <= 100 and isinstance(body["mx_records"], list)


async def test_reoon_bad_key_triggers_and_balance():
    async with sandbox_client() as c:
        bad = await c.get(REOON, params={"email": "a@acme.com", "key": BAD, "mode": "power"})
        server = await c.get(REOON, params={"email": "error500@acme.com", "key": KEY})
        limited = await c.get(REOON, params={"email": "ratelimit@acme.com", "key": KEY})
        nocredit = await c.get(REOON, params={"email": "nocredit@acme.com", "key": KEY})
        balance = await c.get("/reoon/api/v1/check-account-balance/", params={"key": KEY})
    assert bad.status_code == 401 and bad.json() == {"status": "error", "reason": "Invalid API key"}
    assert server.status_code == 500 and server.json()["status"] == "error"
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert nocredit.status_code == 200 and nocredit.json()["status"] == "error"
    assert balance.json()["status"] == "success" and balance.json()["remaining_instant_credits"] > 0


async def test_reoon_power_latency_and_concurrency_limit():
    async with sandbox_client(reoon_power_latency_ms=150, reoon_max_concurrency=2) as c:
        started = time.perf_counter()
        replies = await asyncio.gather(
            *(c.get(REOON, params={"email": f"p{i}@acme.com", "key": KEY, "mode": "power"}) for i in range(4))
        )
        elapsed = time.perf_counter() - started
        quick = await c.get(REOON, params={"email": "q@acme.com", "key": KEY, "mode": "quick"})
        stats = (await c.get("/_sandbox/stats")).json()["providers"]["reoon"]["total"]
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [200, 200, 429, 429]
    assert elapsed >= 0.15
    assert quick.status_code == 200
    assert stats["status_429_rate_limit"] == 2 and stats["status_2xx"] == 3
