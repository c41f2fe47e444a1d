"""Prospeo: enrich-company, search-company, search-person; error codes in the body."""

from tests.sandbox import BAD, KEY, company_stem, sandbox_client

AUTH = {"X-KEY": KEY}
ENRICH = "/prospeo/enrich-company"
COMPANIES = "/prospeo/search-company"
PEOPLE = "/prospeo/search-person"


def _error(r, status, code):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] is True and body["error_code"] == code
    return body


async def test_enrich_found_no_match_and_headers():
    stem = company_stem("prospeo", found=True, start="globex")
    missing = company_stem("prospeo", found=False, start="globex")
    async with sandbox_client() as c:
        r = await c.post(ENRICH, headers=AUTH, json={"data": {"company_website": f"https://www.{stem}.com/about"}})
        assert r.status_code == 200
        body = r.json()
        assert body["error"] is False and body["free_enrichment"] is False
        company = body["company"]
        assert company["domain"] == f"{stem}.com" and company["website"] == f"https://{stem}.com"
        assert company["linkedin_url"] == f"https://www.linkedin.com/company/{stem}"
        assert company["name"] == stem.capitalize() and company["company_id"].startswith("cmp_")
        assert set(company["location"]) >= {"country", "country_code", "state", "city"}
        assert isinstance(company["employee_count"], int) and company["employee_range"]
        assert int(r.headers["x-minute-request-left"]) < 300 and int(r.headers["x-daily-request-left"]) < 2000
        by_linkedin = await c.post(
            ENRICH, headers=AUTH, json={"data": {"company_linkedin_url": company["linkedin_url"]}}
        )
        assert by_linkedin.json()["company"]["name"] == company["name"]
        _error(
            await c.post(ENRICH, headers=AUTH, json={"data": {"company_website": f"{missing}.com"}}), 400, "NO_MATCH"
        )
        _error(await c.post(ENRICH, headers=AUTH, json={"data": {"company_name": "Notfound Labs"}}), 400, "NO_MATCH")
        _error(await c.post(ENRICH, headers=AUTH, json={"data": {}}), 400, "INVALID_DATAPOINTS")


async def test_auth_content_type_and_triggers():
    async with sandbox_client() as c:
        body = {"data": {"company_website": "acme.com"}}
        _error(await c.post(ENRICH, headers={"X-KEY": BAD}, json=body), 401, "INVALID_API_KEY")
        _error(await c.post(ENRICH, json=body), 401, "INVALID_API_KEY")
        r = await c.post(ENRICH, headers={**AUTH, "Content-Type": "text/plain"}, content=b'{"data": {}}')
        _error(r, 400, "INVALID_REQUEST")
        _error(
            await c.post(ENRICH, headers=AUTH, json={"data": {"company_website": "nocredit.com"}}),
            400,
            "INSUFFICIENT_CREDITS",
        )
        r = await c.post(ENRICH, headers=AUTH, json={"data": {"company_website": "ratelimit.com"}})
        _error(r, 429, "RATE_LIMITED")
        assert r.headers["Retry-After"] == "1"
        _error(
            await c.post(ENRICH, headers=AUTH, json={"data": {"company_website": "error500.com"}}),
            500,
            "INTERNAL_ERROR",
        )


async def test_search_company_pages_of_25():
    filters = {"company_industry": {"include": ["Software Development"]}, "company_location": {"include": ["France"]}}
    async with sandbox_client() as c:
        first = await c.post(COMPANIES, headers=AUTH, json={"page": 1, "filters": filters})
        body = first.json()
        assert first.status_code == 200 and body["error"] is False
        pagination = body["pagination"]
        total = pagination["total_count"]
        assert pagination["per_page"] == 25 and pagination["current_page"] == 1
        assert pagination["total_page"] == (total + 24) // 25
        assert len(body["results"]) == min(25, total)
        assert all(row["company"]["industry"] == "Software Development" for row in body["results"])
        last = await c.post(COMPANIES, headers=AUTH, json={"page": pagination["total_page"], "filters": filters})
        assert len(last.json()["results"]) == total - 25 * (pagination["total_page"] - 1)
        beyond = await c.post(COMPANIES, headers=AUTH, json={"page": pagination["total_page"] + 1, "filters": filters})
        _error(beyond, 400, "NO_RESULTS")
        again = await c.post(COMPANIES, headers=AUTH, json={"page": 1, "filters": filters})
        assert again.json() == body


async def test_search_requires_an_include_filter_and_honours_triggers():
    async with sandbox_client() as c:
        r = await c.post(COMPANIES, headers=AUTH, json={"filters": {"company_industry": {"exclude": ["Retail"]}}})
        assert _error(r, 400, "INVALID_FILTERS")["filter_error"]
        empty = {"filters": {"company": {"websites": {"include": ["notfound.com"]}}}}
        _error(await c.post(COMPANIES, headers=AUTH, json=empty), 400, "NO_RESULTS")
        _error(await c.post(PEOPLE, headers=AUTH, json=empty), 400, "NO_RESULTS")


async def test_search_person_at_explicit_companies():
    filters = {"company": {"websites": {"include": ["found-initech.com", "found-umbrella.com"]}}}
    async with sandbox_client() as c:
        r = await c.post(PEOPLE, headers=AUTH, json={"page": 1, "filters": filters})
    assert r.status_code == 200
    body = r.json()
    domains = {row["company"]["domain"] for row in body["results"]}
    assert domains == {"found-initech.com", "found-umbrella.com"}
    assert body["pagination"]["total_count"] == len(body["results"])
    person = body["results"][0]["person"]
    assert person["linkedin_url"].startswith("https://www.linkedin.com/in/") and person["current_job_title"]
    assert person["full_name"] == f"{person['first_name']} {person['last_name']}"
    assert "email" not in person and "mobile" not in person
