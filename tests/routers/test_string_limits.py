"""String limits as the OpenAPI schema states them (decision 0012): maxLength and pattern apply to
the string as sent; surrounding whitespace is trimmed afterwards. The fuzzer found the opposite
order: a 201-character name starting with a tab was accepted while the schema refuses it."""

import pytest

from app.auth.context import Role
from tests.factories import create_tenant


@pytest.fixture
async def tenant(conn):
    return await create_tenant(conn)


def _schema_of(app, name: str) -> dict:
    return app.openapi()["components"]["schemas"][name]["properties"]


async def test_the_schema_states_the_limit_the_api_applies(app):
    name = _schema_of(app, "CompanyCreateRequest")["name"]
    assert name["maxLength"] == 200 and name["minLength"] == 1


@pytest.mark.parametrize("padding", ["\t", " ", "\n", "\u00a0"])
async def test_a_name_longer_than_the_schema_allows_is_refused_even_with_leading_whitespace(
    client, conn, tenant, padding
):
    before = await conn.fetchval("SELECT count(*) FROM companies WHERE org_id = $1", tenant.org.id)
    r = await client.post(
        "/api/companies/create", json={"name": padding + "x" * 200}, headers=tenant.headers(Role.org_admin)
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
    assert await conn.fetchval("SELECT count(*) FROM companies WHERE org_id = $1", tenant.org.id) == before


async def test_a_name_at_the_limit_is_accepted_and_stored_trimmed(client, conn, tenant):
    r = await client.post(
        "/api/companies/create",
        json={"name": "\t" + "x" * 198 + " ", "external_ref": " ref-1 "},
        headers=tenant.headers(Role.org_admin),
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["name"] == "x" * 198
    assert r.json()["data"]["external_ref"] == "ref-1"


async def test_the_other_name_fields_apply_the_same_rule(client, tenant):
    headers = tenant.headers(Role.org_admin)
    too_long = "\t" + "n" * 200
    for path, body in [
        ("/api/api-tokens/create", {"name": too_long, "role": "org_admin"}),
        ("/api/blueprints/create", {"name": too_long, "steps": [{"position": 1, "operation_id": "x"}]}),
        ("/api/companies/create", {"name": "ok", "external_ref": too_long}),
    ]:
        r = await client.post(path, json=body, headers=headers)
        assert r.status_code == 422, (path, r.text)


async def test_a_whitespace_only_name_is_refused(client, tenant):
    r = await client.post("/api/companies/create", json={"name": " \t "}, headers=tenant.headers(Role.org_admin))
    assert r.status_code == 422, r.text


async def test_an_email_with_surrounding_whitespace_is_refused_as_the_schema_pattern_says(client, tenant):
    r = await client.post(
        "/api/users/create",
        json={"email": " ada@example.com", "role": "org_admin", "password": "correct horse battery"},
        headers=tenant.headers(Role.org_admin),
    )
    assert r.status_code == 422, r.text
    r = await client.post(
        "/api/users/create",
        json={"email": "Ada@Example.com", "role": "org_admin", "password": "correct horse battery"},
        headers=tenant.headers(Role.org_admin),
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["email"] == "ada@example.com"
