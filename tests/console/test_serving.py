"""How the API serves the operator console's build (app/console.py): the single-page-app fallback,
cache headers, and a clear 503 (never a 500) when the console was not built."""

import uuid

import httpx
import pytest

from app import metrics
from app.main import create_app
from app.middleware import UNMATCHED_ROUTE
from tests.conftest import make_settings

INDEX = "<!doctype html><title>console</title><div id=app></div>"


def _client(dist):
    app = create_app(make_settings("postgresql://unused@127.0.0.1:1/unused"), console_dist=dist)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test")


@pytest.fixture
def dist(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    return tmp_path


async def test_without_a_build_the_console_answers_503_saying_what_to_run(tmp_path):
    async with _client(tmp_path / "missing") as client:
        for path in ("/console", "/console/", "/console/submissions", "/console/assets/index-abc123.js"):
            r = await client.get(path, follow_redirects=True)
            assert r.status_code == 503, path
            assert "make console" in r.text


async def test_a_build_made_after_the_api_started_is_served(tmp_path):
    async with _client(tmp_path) as client:
        assert (await client.get("/console/")).status_code == 503
        (tmp_path / "index.html").write_text(INDEX)
        assert (await client.get("/console/")).text == INDEX


async def test_index_and_every_client_route_answer_the_app(dist):
    async with _client(dist) as client:
        r = await client.get("/console")
        assert r.status_code in (301, 307) and r.headers["location"].endswith("/console/")
        for path in ("/console/", "/console/submissions/5d0c8a52-0f8e-4f43-9f43-0d3f0c7f0a11", "/console/login"):
            r = await client.get(path)
            assert r.status_code == 200 and r.text == INDEX, path
            assert r.headers["content-type"].startswith("text/html")
            assert r.headers["cache-control"] == "no-cache"
            assert "x-request-id" in r.headers


async def test_assets_are_cached_for_good_and_a_missing_one_is_a_404_not_the_app(dist):
    async with _client(dist) as client:
        r = await client.get("/console/assets/index-abc123.js")
        assert r.status_code == 200 and r.text == "console.log(1)"
        assert "immutable" in r.headers["cache-control"]
        r = await client.get("/console/assets/index-gone.js")
        assert r.status_code == 404
        r = await client.get("/console/%2e%2e/%2e%2e/app/config.py")
        assert "REPO_ROOT" not in r.text


async def test_metrics_count_console_pages_and_unknown_paths_under_one_key_each(dist):
    """Keyed on the raw path, every console page and every path a scanner tried was a counter kept
    for the life of the process."""
    before = set(metrics.snapshot()["requests"])
    async with _client(dist) as client:
        for i in range(20):
            await client.get(f"/console/submissions/{uuid.uuid4()}")
            await client.get(f"/console/assets/gone-{i}.js")
            await client.get(f"/no-such-page-{i}")
            await client.post(f"/api/no-such-verb-{i}", json={})
        assert (await client.get("/openapi.json")).status_code == 200
        # a known route refused before routing (the credential gate) keeps its own name
        await client.post("/api/v1/batch/status", json={"submission_id": str(uuid.uuid4())})
    added = set(metrics.snapshot()["requests"]) - before
    assert added <= {
        "/console/* 2xx",
        "/console/* 4xx",
        f"{UNMATCHED_ROUTE} 4xx",
        "/api/v1/batch/status 4xx",
        "/openapi.json 2xx",
    }, added
    counts = metrics.snapshot()["requests"]
    assert counts["/api/v1/batch/status 4xx"] >= 1
    assert counts["/openapi.json 2xx"] >= 1
    assert counts[f"{UNMATCHED_ROUTE} 4xx"] >= 40
