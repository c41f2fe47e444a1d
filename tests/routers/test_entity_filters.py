"""Entity filters that cannot be read are refused (issue 9 item 12), never silently dropped: a
dropped filter answers with the caller's whole scope as though it had matched."""

import pytest

from app.auth.context import Role
from tests.factories import create_tenant

UNREADABLE = [
    ("/api/v1/entities/companies", "domain", "no such domain"),
    ("/api/v1/entities/companies", "domain", "http://"),
    ("/api/v1/entities/companies", "linkedin_url", "not a profile"),
    ("/api/v1/entities/companies", "linkedin_url", "https://example.com/in/someone"),
    ("/api/v1/entities/persons", "domain", "no such domain"),
    ("/api/v1/entities/persons", "linkedin_url", "linkedin.com/feed"),
    ("/api/v1/entities/persons", "email", "not an email"),
]


async def _seed_company(conn, tenant) -> None:
    await conn.execute(
        "INSERT INTO company_entities (org_id, company_id, name, domain, data, record_version)"
        " VALUES ($1, $2, 'Acme', 'acme.com', '{}'::jsonb, 1)",
        tenant.org.id,
        tenant.company_a.id,
    )


@pytest.mark.parametrize(("path", "field", "value"), UNREADABLE)
async def test_an_unreadable_filter_is_400_naming_it(client, conn, path, field, value):
    tenant = await create_tenant(conn)
    await _seed_company(conn, tenant)
    r = await client.post(path, json={"filters": {field: value}}, headers=tenant.headers(Role.org_admin))
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_filter" and error["details"] == {"field": f"filters.{field}"}, error


async def test_readable_filters_are_normalised_and_applied(client, conn):
    tenant = await create_tenant(conn)
    await _seed_company(conn, tenant)
    headers = tenant.headers(Role.org_admin)
    r = await client.post(
        "/api/v1/entities/companies", json={"filters": {"domain": "https://www.ACME.com/pricing"}}, headers=headers
    )
    assert r.status_code == 200 and [c["domain"] for c in r.json()["data"]["items"]] == ["acme.com"]
    r = await client.post("/api/v1/entities/companies", json={"filters": {"domain": "other.com"}}, headers=headers)
    assert r.status_code == 200 and r.json()["data"]["items"] == []
