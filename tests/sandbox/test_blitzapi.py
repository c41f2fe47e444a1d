"""BlitzAPI: enrichment (found flag), search with cursors, key-info, errors."""

from tests.sandbox import BAD, KEY, company_stem, sandbox_client

AUTH = {"x-api-key": KEY}
V2 = "/blitzapi/v2"


async def test_domain_to_linkedin_then_company_agree():
    stem = company_stem("blitzapi", found=True, start="hooli")
    async with sandbox_client() as c:
        r = await c.post(
            f"{V2}/enrichment/domain-to-linkedin", headers=AUTH, json={"domain": f"https://www.{stem}.com"}
        )
        assert r.status_code == 200
        link = r.json()
        assert link["found"] is True and link["company_linkedin_url"] == f"https://www.linkedin.com/company/{stem}"
        assert link["company_name"] == stem.capitalize()
        r = await c.post(
            f"{V2}/enrichment/company", headers=AUTH, json={"company_linkedin_url": link["company_linkedin_url"]}
        )
        body = r.json()
    assert body["found"] is True
    company = body["company"]
    assert company["linkedin_url"] == link["company_linkedin_url"] and company["domain"] == f"{stem}.com"
    assert company["website"] == f"https://{stem}.com" and isinstance(company["linkedin_id"], int)
    assert set(company["hq"]) >= {"city", "state", "country_code", "country_name", "continent"}
    assert company["size"] and company["founded_year"] > 1900


async def test_not_found_is_200_found_false():
    missing = company_stem("blitzapi", found=False, start="hooli")
    async with sandbox_client() as c:
        link = await c.post(f"{V2}/enrichment/domain-to-linkedin", headers=AUTH, json={"domain": f"{missing}.com"})
        company = await c.post(
            f"{V2}/enrichment/company",
            headers=AUTH,
            json={"company_linkedin_url": f"https://www.linkedin.com/company/{missing}"},
        )
        phone = await c.post(
            f"{V2}/enrichment/phone",
            headers=AUTH,
            json={"person_linkedin_url": "https://www.linkedin.com/in/notfound-jo"},
        )
    assert link.status_code == 200 and link.json() == {"found": False, "company_linkedin_url": None}
    assert company.status_code == 200 and company.json() == {"found": False, "company": None}
    assert phone.status_code == 200 and phone.json() == {"found": False, "phone": None}


async def test_phone_is_us_e164():
    async with sandbox_client() as c:
        r = await c.post(
            f"{V2}/enrichment/phone",
            headers=AUTH,
            json={"person_linkedin_url": "https://www.linkedin.com/in/found-ana-silva"},
        )
    body = r.json()
    assert body["found"] is True and body["phone"].startswith("+1") and len(body["phone"]) == 12


async def test_search_companies_pages_with_a_cursor_until_null():
    query = {"company": {"industry": {"include": ["Financial Services"]}}, "max_results": 50}
    async with sandbox_client() as c:
        seen, cursor, pages, total = [], None, 0, None
        while True:
            r = await c.post(f"{V2}/search/companies", headers=AUTH, json={**query, "cursor": cursor})
            assert r.status_code == 200
            body = r.json()
            total = body["total_results"] if total is None else total
            assert body["results_length"] == len(body["results"]) and body["max_results"] == 50
            seen += [row["linkedin_url"] for row in body["results"]]
            pages += 1
            cursor = body["cursor"]
            if cursor is None:
                break
        bad_cursor = await c.post(f"{V2}/search/companies", headers=AUTH, json={**query, "cursor": "garbage"})
    assert total > 0 and len(seen) == total and pages == (total + 49) // 50
    assert bad_cursor.status_code == 422 and bad_cursor.json()["error"]["code"] == "INVALID_INPUT"


async def test_search_people_and_employee_finder():
    async with sandbox_client() as c:
        r = await c.post(
            f"{V2}/search/people",
            headers=AUTH,
            json={"people": {"job_title": {"include": ["Head of Growth"]}}, "max_results": 5},
        )
        body = r.json()
        assert r.status_code == 200 and body["results_length"] <= 5
        assert all(p["experiences"][0]["job_title"] == "Head of Growth" for p in body["results"])
        person = body["results"][0]
        assert person["full_name"] == f"{person['first_name']} {person['last_name']}"
        assert person["linkedin_url"].startswith("https://www.linkedin.com/in/")
        empty = await c.post(
            f"{V2}/search/people", headers=AUTH, json={"company": {"name": {"include": ["Notfound Co"]}}}
        )
        assert empty.json()["results"] == [] and empty.json()["cursor"] is None
        finder = await c.post(
            f"{V2}/search/employee-finder",
            headers=AUTH,
            json={"company_linkedin_url": "https://www.linkedin.com/company/found-acme", "max_results": 10},
        )
        assert finder.status_code == 200
        assert all(p["experiences"][0]["company_domain"] == "found-acme.com" for p in finder.json()["results"])


async def test_key_info_auth_validation_and_triggers():
    async with sandbox_client() as c:
        info = await c.get(f"{V2}/account/key-info", headers=AUTH)
        assert info.json()["valid"] is True and info.json()["max_requests_per_seconds"] == 5
        bad = await c.post(f"{V2}/enrichment/domain-to-linkedin", headers={"x-api-key": BAD}, json={"domain": "a.com"})
        assert bad.status_code == 401 and bad.json() == {"success": False, "message": "Invalid API key"}
        bearer = await c.post(
            f"{V2}/enrichment/domain-to-linkedin", headers={"Authorization": f"Bearer {KEY}"}, json={"domain": "a.com"}
        )
        assert bearer.status_code == 401 and bearer.json()["message"] == "Missing API key"
        missing = await c.post(f"{V2}/enrichment/domain-to-linkedin", headers=AUTH, json={})
        assert missing.status_code == 422
        assert missing.json() == {"success": False, "error": {"code": "INVALID_INPUT", "message": "domain is required"}}
        nocredit = await c.post(f"{V2}/enrichment/domain-to-linkedin", headers=AUTH, json={"domain": "nocredit.com"})
        assert nocredit.status_code == 402 and nocredit.json()["message"] == "Insufficient credits balance"
        assert nocredit.json()["fair_usage"]["next_reset_at"]
        limited = await c.post(
            f"{V2}/search/companies", headers=AUTH, json={"company": {"name": {"include": ["ratelimit"]}}}
        )
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
        server = await c.post(
            f"{V2}/enrichment/phone", headers=AUTH, json={"person_linkedin_url": "linkedin.com/in/error500"}
        )
        assert server.status_code == 500 and server.json() == {"message": "Internal server error"}
