"""LeadMagic: email finder, mobile finder, company search; problem+json errors."""

import pytest

from app.providers import leadmagic
from sandbox import data
from tests.sandbox import BAD, KEY, company_stem, person_at, sandbox_client

EMAIL = "/leadmagic/v1/people/email-finder"
MOBILE = "/leadmagic/v1/people/mobile-finder"
COMPANY = "/leadmagic/v1/companies/company-search"
AUTH = {"X-API-Key": KEY}


def _problem(r, status, code):
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["success"] is False
    assert body["errors"][0]["code"] == code and body["errors"][0]["status"] == status
    assert body["meta"]["request_id"].startswith("req_") and body["meta"]["timestamp"]
    return body["errors"][0]


async def test_email_finder_found_and_not_found():
    first, last = person_at("leadmagic", found=True)
    nf_first, nf_last = person_at("leadmagic", found=False)
    async with sandbox_client() as c:
        r = await c.post(EMAIL, headers=AUTH, json={"first_name": first, "last_name": last, "domain": "acme.com"})
        assert r.status_code == 200
        body = r.json()
        assert body["email"] == f"{first.lower()}.{last.lower()}@acme.com"
        assert body["status"] in ("valid", "valid_catch_all", "catch_all")
        assert body["credits_consumed"] == 1 and body["message"] == "Valid email found."
        assert body["first_name"] == first and body["domain"] == "acme.com" and body["company_name"] == "Acme"
        assert body["company_profile_url"] == "https://www.linkedin.com/company/acme"
        # full_name is split; the same person gives the same answer
        r2 = await c.post(EMAIL, headers=AUTH, json={"full_name": f"{first} {last}", "domain": "acme.com"})
        assert r2.json() == body
        r = await c.post(EMAIL, headers=AUTH, json={"first_name": nf_first, "last_name": nf_last, "domain": "acme.com"})
        assert r.status_code == 200
        assert r.json() == {
            "email": None,
            "status": "not_found",
            "credits_consumed": 0,
            "message": "No email found for this person at this company.",
        }
        r = await c.post(EMAIL, headers=AUTH, json={"first_name": "Jane", "company_name": "Notfound Industries"})
        assert r.json()["status"] == "not_found"


async def test_email_finder_requires_name_and_company():
    async with sandbox_client() as c:
        error = _problem(await c.post(EMAIL, headers=AUTH, json={"domain": "acme.com"}), 400, "missing_required_field")
        assert error["param"] == ["first_name", "full_name"]
        _problem(await c.post(EMAIL, headers=AUTH, json={"first_name": "Jane"}), 400, "missing_required_field")


async def test_mobile_finder_found_and_not_found():
    async with sandbox_client() as c:
        r = await c.post(MOBILE, headers=AUTH, json={"profile_url": "https://www.linkedin.com/in/found-jane-doe"})
        body = r.json()
        assert r.status_code == 200
        assert body["message"] == "Mobile number found." and body["credits_consumed"] == 5
        assert body["mobile_number"].isdigit() and len(body["mobile_number"]) == 11
        assert body["mobile_number"][0] == "1" and body["mobile_number"][4:9] == "55501"
        assert body["profile_url"] == "https://www.linkedin.com/in/found-jane-doe"
        r = await c.post(MOBILE, headers=AUTH, json={"work_email": "notfound.jane@acme.com"})
        assert r.json() == {
            "profile_url": None,
            "email": "notfound.jane@acme.com",
            "mobile_number": None,
            "credits_consumed": 0,
            "message": "No mobile number found for this contact.",
        }
        _problem(await c.post(MOBILE, headers=AUTH, json={"first_name": "Jane"}), 400, "missing_required_field")


def _company_stem(*, snake: bool) -> str:
    """A found company the sandbox answers in the snake_case (OpenAPI) or camelCase (docs) form."""
    for n in range(200):
        stem = company_stem("leadmagic", found=True, start=f"casing{n}")
        if bool(data.digest("leadmagic-casing", data.company_key(f"{stem}.com")) % 2) == snake:
            return stem
    raise AssertionError("no candidate")


async def test_company_search_speaks_both_documented_casings():
    async with sandbox_client() as c:
        for snake in (True, False):
            stem = _company_stem(snake=snake)
            body = (await c.post(COMPANY, headers=AUTH, json={"company_domain": f"{stem}.com"})).json()
            assert ("company_name" in body, "companyName" in body) == (snake, not snake)
            # the adapter reads either into the same canonical profile
            profile = leadmagic.company_profile(body)
            assert profile["name"] == stem.capitalize() and profile["domain"] == f"{stem}.com"
            assert profile["hq_city"] and profile["founded_year"] and profile["employee_count"]
            assert profile["employee_range"] and profile["linkedin_url"]


async def test_company_search_found_and_404_not_found():
    stem = _company_stem(snake=False)
    missing = company_stem("leadmagic", found=False)
    async with sandbox_client() as c:
        r = await c.post(COMPANY, headers=AUTH, json={"company_domain": f"{stem}.com"})
        assert r.status_code == 200
        body = r.json()
        assert body["message"] == "Company found." and body["credits_consumed"] == 1
        assert body["companyName"] == stem.capitalize() and body["b2b_profile_url"] == stem
        assert body["websiteUrl"] == f"https://{stem}.com"
        assert body["employeeCountRange"]["start"] <= body["employeeCount"] <= body["employeeCountRange"]["end"]
        assert set(body["headquarter"]) >= {"city", "geographicArea", "country", "postalCode", "line1"}
        assert body["founded_year"].isdigit() and body["industry"]
        # the LinkedIn slug names the same company
        by_slug = await c.post(COMPANY, headers=AUTH, json={"profile_url": stem})
        assert by_slug.json()["companyName"] == body["companyName"]
        error = _problem(
            await c.post(COMPANY, headers=AUTH, json={"company_domain": f"{missing}.com"}), 404, "resource_not_found"
        )
        assert error["detail"] == "Company not found"


async def test_auth_and_error_triggers():
    async with sandbox_client() as c:
        body = {"first_name": "Jane", "domain": "acme.com"}
        _problem(await c.post(EMAIL, json=body), 401, "missing_authentication")
        _problem(await c.post(EMAIL, headers={"x-api-key": BAD}, json=body), 401, "invalid_api_key")
        assert (
            await c.post(EMAIL, headers={"x-api-key": KEY}, json=body)
        ).status_code == 200  # name is case-insensitive
        _problem(
            await c.post(EMAIL, headers=AUTH, json={"first_name": "Jane", "domain": "error500.com"}),
            500,
            "INTERNAL_ERROR",
        )
        r = await c.post(COMPANY, headers=AUTH, json={"company_domain": "ratelimit.com"})
        error = _problem(r, 429, "rate_limit_exceeded")
        assert r.headers["Retry-After"] == "1" and error["context"] == {"retry_after_seconds": 1}
        error = _problem(
            await c.post(MOBILE, headers=AUTH, json={"work_email": "nocredit@acme.com"}), 402, "insufficient_credits"
        )
        assert error["context"]["credits_available"] == 0
        _problem(await c.post(EMAIL, headers=AUTH, content=b"{not json"), 400, "invalid_json")


@pytest.mark.parametrize("path", [EMAIL, MOBILE, COMPANY])
async def test_every_endpoint_is_deterministic(path):
    payload = {
        EMAIL: {"first_name": "Priya", "last_name": "Patel", "domain": "found-globex.com"},
        MOBILE: {"profile_url": "linkedin.com/in/found-priya-patel"},
        COMPANY: {"company_domain": "found-globex.com"},
    }[path]
    async with sandbox_client() as c:
        first = await c.post(path, headers=AUTH, json=payload)
        second = await c.post(path, headers=AUTH, json=payload)
    assert first.status_code == 200 and first.content == second.content
