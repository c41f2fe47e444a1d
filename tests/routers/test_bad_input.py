"""Bad input on every create endpoint: the documented 4xx, and nothing written."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.auth.context import Role
from tests.factories import bearer, create_tenant, create_user

COUNTED = ("orgs", "companies", "users", "api_tokens", "blueprints", "blueprint_steps")


async def _counts(conn):
    return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in COUNTED}


async def _expect(client, conn, path, body, headers, status, code=None):
    before = await _counts(conn)
    r = await client.post(path, json=body, headers=headers)
    assert r.status_code == status, (path, body, r.text)
    error = r.json()["error"]
    assert set(error) == {"code", "message", "details"}
    if code:
        assert error["code"] == code, error
    assert await _counts(conn) == before, (path, body)
    return error


@pytest.fixture
async def tenant(conn):
    return await create_tenant(conn)


TENANT_CASES = [
    # companies
    ("/api/companies/create", {}, 422, "validation_error"),
    ("/api/companies/create", {"name": ""}, 422, None),
    ("/api/companies/create", {"name": "   "}, 422, None),
    ("/api/companies/create", {"name": 123}, 422, None),
    ("/api/companies/create", {"name": "x" * 201}, 422, None),
    ("/api/companies/create", {"name": "ok", "org_id": str(uuid.uuid4())}, 422, None),
    # users
    ("/api/users/create", {"role": "member"}, 422, None),
    ("/api/users/create", {"email": "not-an-email", "role": "org_admin"}, 422, None),
    ("/api/users/create", {"email": "a@example.com", "role": "owner"}, 422, None),
    ("/api/users/create", {"email": "a@example.com", "role": "member"}, 400, "company_required"),
    ("/api/users/create", {"email": "a@example.com", "role": "org_admin", "password": "short"}, 422, None),
    ("/api/users/create", {"email": "a@example.com", "role": "member", "company_id": "nope"}, 422, None),
    (
        "/api/users/create",
        {"email": "a@example.com", "role": "member", "company_id": str(uuid.uuid4())},
        404,
        "company_not_found",
    ),
    # api tokens
    ("/api/api-tokens/create", {"role": "org_admin"}, 422, None),
    ("/api/api-tokens/create", {"name": "t", "role": "superuser"}, 422, None),
    ("/api/api-tokens/create", {"name": "t", "role": "member"}, 400, "company_required"),
    (
        "/api/api-tokens/create",
        {"name": "t", "role": "org_admin", "expires_at": "2020-01-01T00:00:00Z"},
        400,
        "expires_in_past",
    ),
    ("/api/api-tokens/create", {"name": "t", "role": "org_admin", "expires_at": "2099-01-01T00:00:00"}, 422, None),
    ("/api/api-tokens/create", {"name": "t", "role": "org_admin", "user_id": str(uuid.uuid4())}, 404, "user_not_found"),
    # blueprints
    ("/api/blueprints/create", {"name": "bp"}, 422, None),
    ("/api/blueprints/create", {"name": "bp", "steps": []}, 422, None),
    (
        "/api/blueprints/create",
        {"name": "bp", "steps": [{"position": 1, "operation_id": "nope.nope"}]},
        400,
        "unknown_operation",
    ),
    ("/api/blueprints/create", {"name": "bp", "steps": [{"position": 0, "operation_id": "company.search"}]}, 422, None),
    (
        "/api/blueprints/create",
        {
            "name": "bp",
            "steps": [
                {"position": 1, "operation_id": "company.search"},
                {"position": 1, "operation_id": "company.search"},
            ],
        },
        400,
        "duplicate_step_position",
    ),
    (
        "/api/blueprints/create",
        {
            "name": "bp",
            "steps": [
                {"position": 1, "operation_id": "company.search"},
                {"position": 2, "operation_id": "person.search"},
            ],
        },
        400,
        "mixed_entity_types",
    ),
    (
        "/api/blueprints/create",
        {"name": "bp", "steps": [{"position": 1, "operation_id": "company.search", "step_config": "fast"}]},
        422,
        None,
    ),
    (
        "/api/blueprints/create",
        {"name": "bp", "steps": [{"position": 1, "operation_id": "company.search", "is_enabled": "maybe"}]},
        422,
        None,
    ),
]


@pytest.mark.parametrize(("path", "body", "status", "code"), TENANT_CASES)
async def test_tenant_create_rejects_bad_input_and_writes_nothing(client, conn, tenant, path, body, status, code):
    await _expect(client, conn, path, body, tenant.headers(Role.org_admin), status, code)


async def test_malformed_json_is_400_and_a_non_json_body_is_415(client, conn, tenant):
    headers = tenant.headers(Role.org_admin)
    before = await _counts(conn)
    r = await client.post(
        "/api/companies/create", content=b'{"name": ', headers={**headers, "content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = await client.post(
        "/api/companies/create",
        content=b"name=x",
        headers={**headers, "content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    r = await client.post("/api/companies/create", json=["name"], headers=headers)
    assert r.status_code == 422
    assert await _counts(conn) == before


async def test_duplicates_conflict(client, conn, tenant, settings):
    headers = tenant.headers(Role.org_admin)
    await _expect(
        client,
        conn,
        "/api/users/create",
        {"email": tenant.users[Role.member].email.upper(), "role": "org_admin"},
        headers,
        409,
        "email_taken",
    )
    r = await client.post("/api/companies/create", json={"name": "A", "external_ref": "crm-1"}, headers=headers)
    assert r.status_code == 200
    await _expect(
        client,
        conn,
        "/api/companies/create",
        {"name": "B", "external_ref": "crm-1"},
        headers,
        409,
        "external_ref_taken",
    )
    admin = bearer(settings.secret("super_admin_api_key"))
    await _expect(
        client, conn, "/api/super-admin/orgs/create", {"name": "Dup", "slug": tenant.org.slug}, admin, 409, "slug_taken"
    )


async def test_another_orgs_company_or_user_in_a_body_is_not_found(client, conn, tenant):
    other = await create_tenant(conn)
    headers = tenant.headers(Role.org_admin)
    await _expect(
        client,
        conn,
        "/api/users/create",
        {"email": "n@example.com", "role": "member", "company_id": str(other.company_a.id)},
        headers,
        404,
        "company_not_found",
    )
    await _expect(
        client,
        conn,
        "/api/api-tokens/create",
        {"name": "t", "role": "member", "company_id": str(other.company_a.id)},
        headers,
        404,
        "company_not_found",
    )
    await _expect(
        client,
        conn,
        "/api/api-tokens/create",
        {"name": "t", "role": "org_admin", "user_id": str(other.users[Role.org_admin].id)},
        headers,
        404,
        "user_not_found",
    )


async def test_token_rules_for_a_user(client, conn, tenant):
    headers = tenant.headers(Role.org_admin)
    member = tenant.users[Role.member]
    await _expect(
        client,
        conn,
        "/api/api-tokens/create",
        {"name": "t", "role": "org_admin", "user_id": str(member.id)},
        headers,
        400,
        "role_exceeds_user",
    )
    await _expect(
        client,
        conn,
        "/api/api-tokens/create",
        {"name": "t", "role": "member", "company_id": str(tenant.company_b.id), "user_id": str(member.id)},
        headers,
        400,
        "company_mismatch",
    )
    await _expect(
        client,
        conn,
        "/api/users/create",
        {"email": "m@example.com", "role": "org_admin", "company_id": str(tenant.company_a.id)},
        headers,
        400,
        "company_not_allowed",
    )
    inactive = await create_user(conn, tenant.org.id, password=None)
    await conn.execute("UPDATE users SET is_active = false WHERE id = $1", inactive.id)
    await _expect(
        client,
        conn,
        "/api/api-tokens/create",
        {"name": "t", "role": "org_admin", "user_id": str(inactive.id)},
        headers,
        400,
        "user_inactive",
    )


SUPER_CASES = [
    ("/api/super-admin/orgs/create", {"name": "X"}, 422, None),
    ("/api/super-admin/orgs/create", {"name": "X", "slug": "Not A Slug"}, 422, None),
    ("/api/super-admin/orgs/create", {"name": "X", "slug": "-bad"}, 422, None),
    ("/api/super-admin/companies/create", {"name": "X"}, 422, None),
    ("/api/super-admin/companies/create", {"name": "X", "org_id": str(uuid.uuid4())}, 404, "org_not_found"),
    (
        "/api/super-admin/users/create",
        {"email": "u@example.com", "role": "org_admin", "org_id": str(uuid.uuid4())},
        404,
        "org_not_found",
    ),
    (
        "/api/super-admin/api-tokens/create",
        {"name": "t", "role": "org_admin", "org_id": str(uuid.uuid4())},
        404,
        "org_not_found",
    ),
    (
        "/api/super-admin/blueprints/create",
        {"name": "b", "org_id": str(uuid.uuid4()), "steps": [{"position": 1, "operation_id": "company.search"}]},
        404,
        "org_not_found",
    ),
]


@pytest.mark.parametrize(("path", "body", "status", "code"), SUPER_CASES)
async def test_super_admin_create_rejects_bad_input(client, conn, settings, path, body, status, code):
    await _expect(client, conn, path, body, bearer(settings.secret("super_admin_api_key")), status, code)


async def test_super_admin_cross_org_references_are_not_found(client, conn, settings, tenant):
    other = await create_tenant(conn)
    admin = bearer(settings.secret("super_admin_api_key"))
    await _expect(
        client,
        conn,
        "/api/super-admin/users/create",
        {
            "org_id": str(tenant.org.id),
            "email": "z@example.com",
            "role": "member",
            "company_id": str(other.company_a.id),
        },
        admin,
        404,
        "company_not_found",
    )
    await _expect(
        client,
        conn,
        "/api/super-admin/api-tokens/create",
        {
            "org_id": str(tenant.org.id),
            "name": "t",
            "role": "org_admin",
            "user_id": str(other.users[Role.org_admin].id),
        },
        admin,
        404,
        "user_not_found",
    )


async def test_a_valid_future_expiry_is_accepted(client, conn, tenant):
    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r = await client.post(
        "/api/api-tokens/create",
        json={"name": "t", "role": "org_admin", "expires_at": expires},
        headers=tenant.headers(Role.org_admin),
    )
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["token"].startswith("dex_") and data["expires_at"] is not None
    listed = await client.post("/api/api-tokens/list", json={}, headers=tenant.headers(Role.org_admin))
    assert data["token"] not in listed.text
