"""Every endpoint × {bad key, notfound…, error500…, ratelimit…, nocredit…}: status and vendor shape."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.sandbox import BAD, KEY, sandbox_client

ADYNTEL_EMAIL = "sandbox@example.com"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    build: Callable[[str, str], dict[str, Any]]  # (subject, key) → httpx kwargs
    bad_key_status: int
    not_found: Callable[[Any], bool]  # response → is the vendor's not-found shape
    credits: tuple[int, Callable[[Any], bool]]  # nocredit trigger: status, body check


def _json(r):
    return r.json()


def icypeas(subject, key):
    return {
        "headers": {"Authorization": key},
        "json": {"firstname": "Jane", "lastname": "Doe", "domainOrCompany": f"{subject}.com"},
    }


def lm(body):
    return lambda subject, key: {"headers": {"X-API-Key": key}, "json": body(subject)}


def prospeo(body):
    return lambda subject, key: {"headers": {"X-KEY": key}, "json": body(subject)}


def blitz(body):
    return lambda subject, key: {"headers": {"x-api-key": key}, "json": body(subject)}


def ce_post(body):
    return lambda subject, key: {"headers": {"Authorization": f"Bearer {key}"}, "json": body(subject)}


def adyntel(subject, key):
    return {"json": {"api_key": key, "email": ADYNTEL_EMAIL, "company_domain": f"{subject}.com"}}


def gemini(subject, key):
    return {
        "headers": {"x-goog-api-key": key},
        "json": {"contents": [{"parts": [{"text": f"Pricing page of {subject}.com"}]}]},
    }


def openai(subject, key):
    return {"headers": {"Authorization": f"Bearer {key}"}, "json": {"model": "m", "input": f"G2 page of {subject}.com"}}


def lm_problem(code):
    return lambda r: _json(r)["errors"][0]["code"] == code


def prospeo_code(code):
    return lambda r: _json(r) == {"error": True, "error_code": code}


def llm_text(r, provider):
    body = _json(r)
    text = (
        body["candidates"][0]["content"]["parts"][0]["text"]
        if provider == "gemini"
        else body["output"][-1]["content"][0]["text"]
    )
    return json.loads(text)


CALLS = {
    # Icypeas is asynchronous: not-found and no-credit searches are accepted and end as NOT_FOUND /
    # INSUFFICIENT_FUNDS on read (test_icypeas.py checks the final items)
    "icypeas start": Call(
        "POST",
        "/icypeas/api/email-search",
        icypeas,
        401,
        lambda r: _json(r)["success"] is True and _json(r)["item"]["status"] == "NONE",
        (200, lambda r: _json(r)["success"] is True),
    ),
    "leadmagic email": Call(
        "POST",
        "/leadmagic/v1/people/email-finder",
        lm(lambda s: {"first_name": "Jane", "last_name": "Doe", "domain": f"{s}.com"}),
        401,
        lambda r: r.status_code == 200 and _json(r)["status"] == "not_found" and _json(r)["email"] is None,
        (402, lm_problem("insufficient_credits")),
    ),
    "leadmagic mobile": Call(
        "POST",
        "/leadmagic/v1/people/mobile-finder",
        lm(lambda s: {"profile_url": f"https://www.linkedin.com/in/{s}"}),
        401,
        lambda r: r.status_code == 200 and _json(r)["mobile_number"] is None and _json(r)["credits_consumed"] == 0,
        (402, lm_problem("insufficient_credits")),
    ),
    "leadmagic company": Call(
        "POST",
        "/leadmagic/v1/companies/company-search",
        lm(lambda s: {"company_domain": f"{s}.com"}),
        401,
        lambda r: r.status_code == 404 and _json(r)["errors"][0]["code"] == "resource_not_found",
        (402, lm_problem("insufficient_credits")),
    ),
    "millionverifier": Call(
        "GET",
        "/millionverifier/api/v3/",
        lambda s, key: {"params": {"api": key, "email": f"{s}@acme.com"}},
        200,
        lambda r: r.status_code == 200 and _json(r)["result"] == "ok",  # no not-found for a verifier
        (200, lambda r: _json(r)["result"] == "error" and "credit" in _json(r)["error"].lower()),
    ),
    "reoon": Call(
        "GET",
        "/reoon/api/v1/verify",
        lambda s, key: {"params": {"key": key, "email": f"{s}@acme.com", "mode": "quick"}},
        401,
        lambda r: r.status_code == 200 and _json(r)["status"] == "valid",
        (200, lambda r: _json(r)["status"] == "error"),
    ),
    "prospeo enrich": Call(
        "POST",
        "/prospeo/enrich-company",
        prospeo(lambda s: {"data": {"company_website": f"{s}.com"}}),
        401,
        lambda r: r.status_code == 400 and prospeo_code("NO_MATCH")(r),
        (400, prospeo_code("INSUFFICIENT_CREDITS")),
    ),
    "prospeo companies": Call(
        "POST",
        "/prospeo/search-company",
        prospeo(lambda s: {"filters": {"company": {"websites": {"include": [f"{s}.com"]}}}}),
        401,
        lambda r: r.status_code == 400 and prospeo_code("NO_RESULTS")(r),
        (400, prospeo_code("INSUFFICIENT_CREDITS")),
    ),
    "prospeo people": Call(
        "POST",
        "/prospeo/search-person",
        prospeo(lambda s: {"filters": {"company": {"names": {"include": [s]}}}}),
        401,
        lambda r: r.status_code == 400 and prospeo_code("NO_RESULTS")(r),
        (400, prospeo_code("INSUFFICIENT_CREDITS")),
    ),
}
BLITZ_CREDITS = (402, lambda r: _json(r)["message"] == "Insufficient credits balance")
CALLS |= {
    "blitz domain": Call(
        "POST",
        "/blitzapi/v2/enrichment/domain-to-linkedin",
        blitz(lambda s: {"domain": f"{s}.com"}),
        401,
        lambda r: _json(r) == {"found": False, "company_linkedin_url": None},
        BLITZ_CREDITS,
    ),
    "blitz company": Call(
        "POST",
        "/blitzapi/v2/enrichment/company",
        blitz(lambda s: {"company_linkedin_url": f"https://www.linkedin.com/company/{s}"}),
        401,
        lambda r: _json(r) == {"found": False, "company": None},
        BLITZ_CREDITS,
    ),
    "blitz phone": Call(
        "POST",
        "/blitzapi/v2/enrichment/phone",
        blitz(lambda s: {"person_linkedin_url": f"https://www.linkedin.com/in/{s}"}),
        401,
        lambda r: _json(r) == {"found": False, "phone": None},
        BLITZ_CREDITS,
    ),
    "blitz email": Call(
        "POST",
        "/blitzapi/v2/enrichment/email",
        blitz(lambda s: {"person_linkedin_url": f"https://www.linkedin.com/in/{s}"}),
        401,
        lambda r: _json(r)["found"] is False and _json(r)["email"] is None,
        BLITZ_CREDITS,
    ),
    "blitz search companies": Call(
        "POST",
        "/blitzapi/v2/search/companies",
        blitz(lambda s: {"company": {"name": {"include": [s]}}}),
        401,
        lambda r: _json(r)["results"] == [] and _json(r)["total_results"] == 0 and _json(r)["cursor"] is None,
        BLITZ_CREDITS,
    ),
    "blitz search people": Call(
        "POST",
        "/blitzapi/v2/search/people",
        blitz(lambda s: {"company": {"name": {"include": [s]}}}),
        401,
        lambda r: _json(r)["results"] == [] and _json(r)["results_length"] == 0,
        BLITZ_CREDITS,
    ),
    "blitz employee finder": Call(
        "POST",
        "/blitzapi/v2/search/employee-finder",
        blitz(lambda s: {"company_linkedin_url": f"https://www.linkedin.com/company/{s}"}),
        401,
        lambda r: _json(r)["results"] == [] and _json(r)["total_pages"] == 0,
        BLITZ_CREDITS,
    ),
    "companyenrich enrich": Call(
        "GET",
        "/companyenrich/companies/enrich",
        lambda s, key: {"headers": {"Authorization": f"Bearer {key}"}, "params": {"domain": f"{s}.com"}},
        401,
        lambda r: r.status_code == 404,
        (402, lambda r: _json(r)["status"] == 402),
    ),
    "companyenrich companies": Call(
        "POST",
        "/companyenrich/companies/search",
        ce_post(lambda s: {"query": s}),
        401,
        lambda r: r.status_code == 200 and _json(r)["items"] == [] and _json(r)["totalItems"] == 0,
        (402, lambda r: _json(r)["status"] == 402),
    ),
    "companyenrich people": Call(
        "POST",
        "/companyenrich/people/search",
        ce_post(lambda s: {"domains": [f"{s}.com"]}),
        401,
        lambda r: r.status_code == 200 and _json(r)["items"] == [] and _json(r)["totalItems"] == 0,
        (402, lambda r: _json(r)["status"] == 402),
    ),
    "parallel create": Call(
        "POST",
        "/parallel/v1/tasks/runs",
        lambda s, key: {
            "headers": {"x-api-key": key},
            "json": {"input": {"full_name": "Jane Doe", "company_domain": f"{s}.com"}, "processor": "core"},
        },
        401,
        lambda r: r.status_code == 202,  # the not-found shows in the result (test_parallel)
        (402, lambda r: _json(r)["type"] == "error"),
    ),
    "adyntel linkedin": Call(
        "POST",
        "/adyntel/linkedin",
        adyntel,
        401,
        lambda r: _json(r)["ads"] == [] and _json(r)["total_ads"] == 0,
        (402, lambda r: _json(r) == {"error": "Insufficient credits"}),
    ),
    "adyntel meta": Call(
        "POST",
        "/adyntel/facebook",
        adyntel,
        401,
        lambda r: r.status_code == 204 and r.content == b"",
        (402, lambda r: _json(r) == {"error": "Insufficient credits"}),
    ),
    "adyntel google": Call(
        "POST",
        "/adyntel/google",
        adyntel,
        401,
        lambda r: _json(r) == {"ads": [], "continuation_token": None, "country_code": "anywhere"},
        (402, lambda r: _json(r) == {"error": "Insufficient credits"}),
    ),
    "gemini": Call(
        "POST",
        "/gemini/v1beta/models/gemini-2.5-flash:generateContent",
        gemini,
        400,
        lambda r: llm_text(r, "gemini") == {"url": None, "confidence": "low"},
        (429, lambda r: "quota" in _json(r)["error"]["message"]),
    ),
    "openai": Call(
        "POST",
        "/openai/v1/responses",
        openai,
        401,
        lambda r: llm_text(r, "openai") == {"url": None, "confidence": "low"},
        (429, lambda r: _json(r)["error"]["code"] == "insufficient_quota"),
    ),
}


def _error_shaped(name, r):
    body = _json(r)
    provider = name.split()[0]
    checks = {
        "icypeas": lambda: "message" in body,
        "leadmagic": lambda: body["success"] is False and body["errors"][0]["status"] == r.status_code,
        "millionverifier": lambda: body["result"] == "error",
        "reoon": lambda: body["status"] == "error",
        "prospeo": lambda: body["error"] is True and body["error_code"],
        "blitz": lambda: bool(body["message"]),
        "companyenrich": lambda: body["status"] == r.status_code,
        "parallel": lambda: body["type"] == "error",
        "adyntel": lambda: bool(body["error"]),
        "gemini": lambda: body["error"]["code"] == r.status_code,
        "openai": lambda: bool(body["error"]["message"]),
    }
    return checks[provider]()


async def _call(c, call, subject, key=KEY):
    return await c.request(call.method, call.path, **call.build(subject, key))


@pytest.mark.parametrize("name", list(CALLS))
async def test_each_endpoint_against_every_trigger(name):
    call = CALLS[name]
    async with sandbox_client() as c:
        ok = await _call(c, call, "found-subject")
        bad = await _call(c, call, "found-subject", BAD)
        not_found = await _call(c, call, "notfound-subject")
        server = await _call(c, call, "error500-subject")
        limited = await _call(c, call, "ratelimit-subject")
        credits = await _call(c, call, "nocredit-subject")
    assert ok.status_code in (200, 202), ok.text
    assert bad.status_code == call.bad_key_status
    if name == "millionverifier":  # the vendor answers a bad key with HTTP 200
        assert _json(bad)["error"] == "Apikey not found"
    else:
        assert bad.status_code >= 400
    assert call.not_found(not_found), not_found.text
    assert server.status_code == 500 and _error_shaped(name, server)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1" and _error_shaped(name, limited)
    status, check = call.credits
    assert credits.status_code == status and check(credits), credits.text
