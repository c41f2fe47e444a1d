"""Dates Postgres cannot take (issue 9 item 8): a crafted cursor, `updated_since` or `expires_at` whose
instant falls outside year 1..9999 once in UTC is refused with 400 and the envelope, never a 500
from the database driver."""

import base64
import json
import uuid

import pytest

from app.auth.context import Role
from tests.conftest import TEST_SECRETS
from tests.factories import bearer, create_tenant

# each is a valid ISO 8601 text that Python parses, but whose UTC instant is outside year 1..9999
# (or has no offset, so it names no instant at all)
OUT_OF_RANGE = [
    "9999-12-31T23:59:59-05:00",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59.999999",
    "0001-01-01T00:00:00",
]


def crafted_cursor(at: str) -> str:
    raw = json.dumps([at, str(uuid.uuid4())]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


TENANT_LISTS = [
    ("/api/companies/list", {}),
    ("/api/users/list", {}),
    ("/api/api-tokens/list", {}),
    ("/api/blueprints/list", {}),
    ("/api/submissions/list", {}),
    ("/api/pipeline-runs/list", {}),
    ("/api/operation-runs/list", {}),
    ("/api/v1/entities/companies", {}),
    ("/api/v1/entities/persons", {}),
]
SUPER_ADMIN_LISTS = ["orgs", "companies", "users", "api-tokens", "blueprints"]


def assert_bad_date(r, code: str) -> None:
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert set(error) == {"code", "message", "details"} and error["code"] == code, error


@pytest.mark.parametrize("at", OUT_OF_RANGE)
@pytest.mark.parametrize(("path", "body"), TENANT_LISTS)
async def test_tenant_list_with_an_out_of_range_cursor_is_400(client, conn, path, body, at):
    tenant = await create_tenant(conn)
    r = await client.post(path, json={**body, "cursor": crafted_cursor(at)}, headers=tenant.headers(Role.org_admin))
    assert_bad_date(r, "invalid_cursor")


@pytest.mark.parametrize("at", OUT_OF_RANGE[:2])
@pytest.mark.parametrize("noun", SUPER_ADMIN_LISTS)
async def test_super_admin_list_with_an_out_of_range_cursor_is_400(client, conn, noun, at):
    tenant = await create_tenant(conn)
    body = {} if noun == "orgs" else {"org_id": str(tenant.org.id)}
    r = await client.post(
        f"/api/super-admin/{noun}/list",
        json={**body, "cursor": crafted_cursor(at)},
        headers=bearer(TEST_SECRETS["super_admin_api_key"]),
    )
    assert_bad_date(r, "invalid_cursor")


@pytest.mark.parametrize("at", OUT_OF_RANGE[:2])
@pytest.mark.parametrize("path", ["/api/v1/entities/companies", "/api/v1/entities/persons"])
async def test_updated_since_out_of_range_is_400(client, conn, path, at):
    tenant = await create_tenant(conn)
    r = await client.post(path, json={"filters": {"updated_since": at}}, headers=tenant.headers(Role.org_admin))
    assert_bad_date(r, "invalid_date")
    assert r.json()["error"]["details"]["field"] == "filters.updated_since"


@pytest.mark.parametrize("at", OUT_OF_RANGE[:2])
async def test_expires_at_out_of_range_is_400_and_writes_nothing(client, conn, at):
    tenant = await create_tenant(conn)
    before = await conn.fetchval("SELECT count(*) FROM api_tokens")
    r = await client.post(
        "/api/api-tokens/create",
        json={"name": "far", "role": "org_admin", "expires_at": at},
        headers=tenant.headers(Role.org_admin),
    )
    assert_bad_date(r, "invalid_date")
    assert r.json()["error"]["details"]["field"] == "expires_at"
    assert await conn.fetchval("SELECT count(*) FROM api_tokens") == before


async def test_the_edges_of_the_range_still_work(client, conn):
    tenant = await create_tenant(conn)
    headers = tenant.headers(Role.org_admin)
    for at in ("9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00", "2026-01-01T00:00:00+02:00"):
        r = await client.post("/api/companies/list", json={"cursor": crafted_cursor(at)}, headers=headers)
        assert r.status_code == 200, r.text
        r = await client.post("/api/v1/entities/companies", json={"filters": {"updated_since": at}}, headers=headers)
        assert r.status_code == 200, r.text
    r = await client.post(
        "/api/api-tokens/create",
        json={"name": "far", "role": "org_admin", "expires_at": "9999-12-31T23:59:59+00:00"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
