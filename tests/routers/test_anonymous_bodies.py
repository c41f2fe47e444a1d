"""Bodies are read only for callers who could be authenticated (issue 9 item 5): an anonymous or
implausibly authenticated request with a body is answered 401 before the body is read; login
stays anonymous with a small body limit; authenticated callers keep large bodies up to the limit."""

import json

import pytest

from app.auth.context import Role
from tests.conftest import TEST_SECRETS, own_client
from tests.factories import bearer, create_tenant

HUGE = 9_600_000


async def call_without_body(app, path: str, headers: dict[str, str]) -> tuple[int, dict, dict, list]:
    """Calls the ASGI app with a declared 9.6 MB JSON body and records whether it was ever read."""
    reads: list[str] = []

    async def receive():
        reads.append("body")
        return {"type": "http.request", "body": b"{" + b" " * (HUGE - 2) + b"}", "more_body": False}

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(HUGE).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("198.51.100.7", 40000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body), {k.decode(): v.decode() for k, v in start["headers"]}, reads


FORGED_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2lnbmVkLXdpdGgtYW5vdGhlci1zZWNyZXQ"
)


@pytest.mark.parametrize(
    ("path", "headers", "code"),
    [
        ("/api/v1/batch/submit", {}, "missing_credentials"),
        ("/api/v1/batch/submit", {"Authorization": "Basic dXNlcjpwYXNz"}, "missing_credentials"),
        ("/api/v1/batch/submit", {"Authorization": "Bearer not-a-credential"}, "invalid_credentials"),
        ("/api/v1/batch/submit", {"Authorization": f"Bearer {FORGED_JWT}"}, "invalid_credentials"),
        ("/api/v1/batch/submit", {"Authorization": "Bearer dex_short"}, "invalid_credentials"),
        ("/api/v1/execute", {}, "missing_credentials"),
        ("/api/super-admin/orgs/create", {"Authorization": "Bearer dex_" + "a" * 43}, "invalid_credentials"),
        ("/api/internal/pipeline-runs/finish", {"Authorization": f"Bearer {FORGED_JWT}"}, "invalid_credentials"),
    ],
)
async def test_an_anonymous_huge_body_is_refused_before_it_is_read(app, path, headers, code):
    status, body, response_headers, reads = await call_without_body(app, path, headers)
    assert status == 401, body
    assert body["error"]["code"] == code and set(body["error"]) == {"code", "message", "details"}
    assert response_headers["www-authenticate"] == "Bearer" and "x-request-id" in response_headers
    assert reads == []


async def test_an_unknown_path_is_404_without_reading_the_body(app):
    status, body, _, reads = await call_without_body(app, "/api/no-such-endpoint", {})
    assert (status, body["error"]["code"], reads) == (404, "route_not_found", [])


async def test_the_early_401_matches_the_one_without_a_body(client):
    # a body-less request still reaches the auth dependency: both answers are the same
    r = await client.post("/api/companies/list", content=b"")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    early = await client.post("/api/companies/list", json={})
    assert (early.status_code, early.json()) == (401, r.json())
    r = await client.post("/api/companies/list", content=b"", headers=bearer("nonsense"))
    early = await client.post("/api/companies/list", json={}, headers=bearer("nonsense"))
    assert (early.status_code, early.json()) == (401, r.json())


def entities(n: int, pad: int) -> list[dict]:
    return [{"entity_type": "company", "input": {"domain": f"c{i}.example.com", "name": "n" * pad}} for i in range(n)]


async def test_authenticated_large_bodies_work_up_to_the_limit(database_dsn, conn):
    tenant = await create_tenant(conn)
    limit = 256 * 1024
    async with own_client(database_dsn, conn, max_body_bytes=limit) as client:
        body = {
            "blueprint_id": str(tenant.blueprint.id),
            "company_id": str(tenant.company_a.id),
            "entities": entities(800, 200),
        }
        size = len(json.dumps(body))
        assert limit - 80_000 < size <= limit
        r = await client.post("/api/v1/batch/submit", json=body, headers=tenant.headers(Role.org_admin))
        assert r.status_code == 200, r.text
        assert len(r.json()["data"]["pipeline_run_ids"]) == 800
        body["entities"] = entities(1100, 200)
        r = await client.post("/api/v1/batch/submit", json=body, headers=tenant.headers(Role.org_admin))
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
        # a super-admin body is read too
        r = await client.post(
            "/api/super-admin/orgs/create",
            json={"name": "n" * 100, "slug": "big-org"},
            headers=bearer(TEST_SECRETS["super_admin_api_key"]),
        )
        assert r.status_code == 200, r.text


async def test_login_stays_anonymous_with_a_small_body_limit(client, conn):
    r = await client.post("/api/auth/login", json={"email": "nobody@example.com", "password": "x" * 12})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_login"
    r = await client.post("/api/auth/login", json={"email": "nobody@example.com", "password": "x" * 17_000})
    assert r.status_code == 413, r.text
    assert r.json()["error"]["details"] == {"max_bytes": 16 * 1024}
