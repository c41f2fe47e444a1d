"""Adyntel: auth in the body, bare domains, LinkedIn / Meta (204 when nothing) / Google ads."""

import pytest

from tests.sandbox import BAD, KEY, company_stem, sandbox_client

CREDS = {"api_key": KEY, "email": "sandbox@example.com"}


async def test_linkedin_ads_found_and_empty():
    stem = company_stem("adyntel", found=True, start="acme", namespace="linkedin:")
    missing = company_stem("adyntel", found=False, start="acme", namespace="linkedin:")
    async with sandbox_client() as c:
        r = await c.post("/adyntel/linkedin", json={**CREDS, "company_domain": f"{stem}.com"})
        body = r.json()
        assert r.status_code == 200
        assert body["total_ads"] == len(body["ads"]) >= 1
        assert body["is_last_page"] is True and body["continuation_token"] is None and body["page_id"]
        ad = body["ads"][0]
        assert ad["advertiser"]["name"] == stem.capitalize() and ad["ad_id"].isdigit()
        assert set(ad) >= {"commentary", "creative_type", "headline", "image", "type", "view_details_link"}
        empty = await c.post("/adyntel/linkedin", json={**CREDS, "company_domain": f"{missing}.com"})
    assert empty.status_code == 200
    assert empty.json() == {"ads": [], "continuation_token": None, "is_last_page": True, "total_ads": 0}


async def test_meta_nested_results_pagination_and_204():
    async with sandbox_client() as c:
        # find a company with more than one page (30 ads) to exercise the continuation token
        for n in range(60):
            r = await c.post("/adyntel/facebook", json={**CREDS, "company_domain": f"found-brand{n}.com"})
            if r.json()["continuation_token"]:
                break
        body = r.json()
        assert isinstance(body["results"], list) and all(isinstance(group, list) for group in body["results"])
        ads = [ad for group in body["results"] for ad in group]
        assert len(ads) == 30 and body["continuation_token"] and body["is_result_complete"] is False
        assert body["platform"] == ["facebook", "instagram"] and body["active_status"] == "active"
        assert set(ads[0]) >= {
            "adArchiveID",
            "pageID",
            "pageName",
            "isActive",
            "publisherPlatform",
            "startDate",
            "snapshot",
        }
        nxt = await c.post(
            "/adyntel/facebook",
            json={**CREDS, "company_domain": f"found-brand{n}.com", "continuation_token": body["continuation_token"]},
        )
        rest = [ad for group in nxt.json()["results"] for ad in group]
        # `number_of_ads` is the total the search matched, the same on every page, not a page count
        assert body["number_of_ads"] == nxt.json()["number_of_ads"] == len(ads) + len(rest) > 30
        assert len(rest) >= 1 and nxt.json()["continuation_token"] is None
        assert nxt.json()["is_result_complete"] is True
        assert {a["adArchiveID"] for a in ads}.isdisjoint(a["adArchiveID"] for a in rest)
        nothing = await c.post("/adyntel/facebook", json={**CREDS, "company_domain": "notfound-brand.com"})
    assert nothing.status_code == 204 and nothing.content == b""


async def test_google_ads_and_media_type():
    async with sandbox_client() as c:
        r = await c.post("/adyntel/google", json={**CREDS, "company_domain": "found-acme.com", "media_type": "video"})
        empty = await c.post("/adyntel/google", json={**CREDS, "company_domain": "notfound-acme.com"})
    body = r.json()
    assert body["country_code"] == "anywhere" and body["continuation_token"] is None
    assert body["ads"] and all(ad["format"] == "Video" for ad in body["ads"])
    assert all(ad["variants"][0]["height"] is None for ad in body["ads"])
    assert body["ads"][0]["advertiser_name"] == "Found Acme"
    assert empty.json() == {"ads": [], "continuation_token": None, "country_code": "anywhere"}


@pytest.mark.parametrize(
    "creds", [{"api_key": BAD, "email": "sandbox@example.com"}, {"api_key": KEY, "email": "x@y.z"}, {}]
)
async def test_bad_credentials_are_401(creds):
    async with sandbox_client() as c:
        r = await c.post("/adyntel/google", json={**creds, "company_domain": "acme.com"})
    assert r.status_code == 401 and r.json() == {"error": "Invalid credentials"}


async def test_domains_must_be_bare_and_triggers():
    async with sandbox_client() as c:
        for domain in ("https://acme.com", "www.acme.com", "acme.com/about"):
            r = await c.post("/adyntel/linkedin", json={**CREDS, "company_domain": domain})
            assert r.status_code == 400 and "bare domain" in r.json()["error"]
        assert (await c.post("/adyntel/google", json={**CREDS})).status_code == 400
        assert (await c.post("/adyntel/google", json={**CREDS, "company_domain": "nocredit.com"})).status_code == 402
        limited = await c.post("/adyntel/facebook", json={**CREDS, "company_domain": "ratelimit.com"})
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
        server = await c.post("/adyntel/linkedin", json={**CREDS, "company_domain": "error500.com"})
        assert server.status_code == 500 and server.json() == {"error": "Internal server error"}
