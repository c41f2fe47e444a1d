"""CompanyEnrich: enrich by domain (404 when unknown), company and people search pages."""

from tests.sandbox import BAD, KEY, company_stem, sandbox_client

AUTH = {"Authorization": f"Bearer {KEY}"}


async def test_enrich_found_top_level_and_404():
    stem = company_stem("companyenrich", found=True, start="vandelay")
    missing = company_stem("companyenrich", found=False, start="vandelay")
    async with sandbox_client() as c:
        r = await c.get("/companyenrich/companies/enrich", headers=AUTH, params={"domain": f"{stem}.com"})
        assert r.status_code == 200
        body = r.json()
        assert body["domain"] == f"{stem}.com" and body["name"] == stem.capitalize()
        assert body["socials"]["linkedin_url"] == f"https://www.linkedin.com/company/{stem}"
        assert body["location"]["country"]["code"] and body["location"]["city"]["name"]
        assert body["employees"] in ("1-10", "11-50", "51-200", "201-500", "501-1K", "1K-5K", "5K-10K", "over-10K")
        assert None not in body.values()  # unknown values are left out, never null
        nf = await c.get("/companyenrich/companies/enrich", headers=AUTH, params={"domain": f"{missing}.com"})
        assert nf.status_code == 404 and nf.json() == {"title": "Not Found", "status": 404}


async def test_some_companies_leave_unknown_keys_out():
    async with sandbox_client() as c:
        bodies = [
            (await c.get("/companyenrich/companies/enrich", headers=AUTH, params={"domain": f"found-co{i}.com"})).json()
            for i in range(12)
        ]
    with_revenue = [b for b in bodies if "revenue" in b]
    assert 0 < len(with_revenue) < len(bodies)


async def test_auth_and_triggers():
    async with sandbox_client() as c:
        for headers in ({"Authorization": f"Bearer {BAD}"}, {"Authorization": KEY}, {}):
            r = await c.get("/companyenrich/companies/enrich", headers=headers, params={"domain": "acme.com"})
            assert r.status_code == 401 and r.json()["title"] == "Unauthorized"
        r = await c.get("/companyenrich/companies/enrich", headers=AUTH, params={"domain": "nocredit.com"})
        assert r.status_code == 402
        r = await c.get("/companyenrich/companies/enrich", headers=AUTH, params={"domain": "ratelimit.com"})
        assert r.status_code == 429 and r.headers["Retry-After"] == "1"
        r = await c.get("/companyenrich/companies/enrich", headers=AUTH, params={"domain": "error500.com"})
        assert r.status_code == 500 and r.json()["status"] == 500


async def test_company_search_pages_and_validation():
    query = {"query": "data infrastructure", "countries": ["US"]}
    async with sandbox_client() as c:
        r = await c.post("/companyenrich/companies/search", headers=AUTH, json={**query, "page": 1, "pageSize": 7})
        body = r.json()
        assert r.status_code == 200
        assert body["page"] == 1 and body["totalPages"] == (body["totalItems"] + 6) // 7
        assert len(body["items"]) == min(7, body["totalItems"])
        assert all(item["domain"].endswith(".com") and item["socials"]["linkedin_url"] for item in body["items"])
        for bad in ({"pageSize": 0}, {"pageSize": 101}, {"page": 0}, {"page": 200, "pageSize": 100}):
            r = await c.post("/companyenrich/companies/search", headers=AUTH, json={**query, **bad})
            assert r.status_code == 422, bad
        empty = await c.post("/companyenrich/companies/search", headers=AUTH, json={"query": "notfound things"})
        assert empty.status_code == 200
        assert empty.json() == {"items": [], "page": 1, "totalPages": 0, "totalItems": 0}


async def test_people_search_by_domain_and_position():
    body = {"domains": ["found-wayne.com"], "positionQuery": ["VP of Sales"], "page": 1, "pageSize": 100}
    async with sandbox_client() as c:
        r = await c.post("/companyenrich/people/search", headers=AUTH, json=body)
    result = r.json()
    assert r.status_code == 200 and 1 <= result["totalItems"] <= 6
    assert len(result["items"]) == result["totalItems"]
    for person in result["items"]:
        assert person["position"] == "VP of Sales" and person["seniority"] == "vp" and person["department"] == "sales"
        assert person["experiences"][0]["company"]["domain"] == "found-wayne.com"
        assert person["name"] == f"{person['first_name']} {person['last_name']}"
        assert "email" not in person
