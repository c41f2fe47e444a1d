"""The platform endpoints end to end: an operator builds a tenant that can then work alone."""

from app.auth.context import Role
from tests.factories import bearer, create_tenant


async def _post(client, path, body, headers):
    r = await client.post(path, json=body, headers=headers)
    assert r.status_code == 200, (path, r.text)
    return r.json()["data"]


async def test_an_operator_builds_a_working_tenant(client, conn, settings):
    admin = bearer(settings.secret("super_admin_api_key"))
    org = await _post(client, "/api/super-admin/orgs/create", {"name": "Acme", "slug": "acme-sa"}, admin)
    assert org["slug"] == "acme-sa" and org["is_active"] is True
    assert (await _post(client, "/api/super-admin/orgs/get", {"org_id": org["id"]}, admin))["id"] == org["id"]
    renamed = await _post(client, "/api/super-admin/orgs/update", {"org_id": org["id"], "name": "Acme Inc"}, admin)
    assert renamed["name"] == "Acme Inc" and renamed["slug"] == "acme-sa"
    listed = await _post(client, "/api/super-admin/orgs/list", {"limit": 500}, admin)
    assert org["id"] in {o["id"] for o in listed["items"]}

    company = await _post(
        client,
        "/api/super-admin/companies/create",
        {"org_id": org["id"], "name": "Client", "external_ref": "c-1"},
        admin,
    )
    assert (await _post(client, "/api/super-admin/companies/get", {"company_id": company["id"]}, admin)) == company
    companies = await _post(client, "/api/super-admin/companies/list", {"org_id": org["id"]}, admin)
    assert [c["id"] for c in companies["items"]] == [company["id"]]

    user = await _post(
        client,
        "/api/super-admin/users/create",
        {
            "org_id": org["id"],
            "email": "ops@acme.example",
            "role": "company_admin",
            "company_id": company["id"],
            "password": "a long enough password",
        },
        admin,
    )
    assert user["has_password"] is True and "password" not in user and "password_hash" not in user
    assert (await _post(client, "/api/super-admin/users/get", {"user_id": user["id"]}, admin))[
        "email"
    ] == "ops@acme.example"
    users = await _post(client, "/api/super-admin/users/list", {"org_id": org["id"]}, admin)
    assert [u["id"] for u in users["items"]] == [user["id"]]

    token = await _post(
        client,
        "/api/super-admin/api-tokens/create",
        {
            "org_id": org["id"],
            "name": "ci",
            "role": "company_admin",
            "company_id": company["id"],
            "user_id": user["id"],
        },
        admin,
    )
    me = await _post(client, "/api/auth/me", {}, bearer(token["token"]))
    assert me["auth"]["company_id"] == company["id"] and me["auth"]["role"] == "company_admin"
    tokens = await _post(client, "/api/super-admin/api-tokens/list", {"org_id": org["id"]}, admin)
    assert [t["id"] for t in tokens["items"]] == [token["id"]] and "token" not in tokens["items"][0]

    blueprint = await _post(
        client,
        "/api/super-admin/blueprints/create",
        {
            "org_id": org["id"],
            "name": "Emails",
            "steps": [
                {"position": 2, "operation_id": "person.contact.verify_email"},
                {
                    "position": 1,
                    "operation_id": "person.contact.resolve_email",
                    "step_config": {"providers": ["icypeas"]},
                },
            ],
        },
        admin,
    )
    assert blueprint["entity_type"] == "person" and blueprint["version"] == 1
    assert [s["position"] for s in blueprint["steps"]] == [1, 2]
    got = await _post(client, "/api/super-admin/blueprints/get", {"blueprint_id": blueprint["id"]}, admin)
    assert got == blueprint
    updated = await _post(
        client,
        "/api/super-admin/blueprints/update",
        {
            "blueprint_id": blueprint["id"],
            "description": "v2",
            "steps": [{"position": 1, "operation_id": "company.enrich.profile"}],
        },
        admin,
    )
    assert updated["version"] == 2 and updated["entity_type"] == "company" and updated["description"] == "v2"
    assert [s["operation_id"] for s in updated["steps"]] == ["company.enrich.profile"]
    blueprints = await _post(client, "/api/super-admin/blueprints/list", {"org_id": org["id"]}, admin)
    assert [b["id"] for b in blueprints["items"]] == [blueprint["id"]]

    # the tenant's company admin reads the blueprint but cannot change it
    r = await client.post("/api/blueprints/get", json={"blueprint_id": blueprint["id"]}, headers=bearer(token["token"]))
    assert r.status_code == 200
    seen = r.json()["data"]
    r = await client.post(
        "/api/blueprints/update",
        json={
            "blueprint_id": blueprint["id"],
            "name": "hijacked",
            "steps": [{"position": 1, "operation_id": "company.ads.search.meta"}],
        },
        headers=bearer(token["token"]),
    )
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "forbidden_role"
    r = await client.post("/api/blueprints/get", json={"blueprint_id": blueprint["id"]}, headers=bearer(token["token"]))
    assert r.json()["data"] == seen
    assert seen["name"] != "hijacked" and seen["version"] == 2
    assert [s["operation_id"] for s in seen["steps"]] == ["company.enrich.profile"]

    revoked = await _post(client, "/api/super-admin/api-tokens/revoke", {"api_token_id": token["id"]}, admin)
    assert revoked["revoked_at"] is not None
    r = await client.post("/api/auth/me", headers=bearer(token["token"]))
    assert r.status_code == 401

    deactivated = await _post(client, "/api/super-admin/users/deactivate", {"user_id": user["id"]}, admin)
    assert deactivated["is_active"] is False
    r = await client.post("/api/auth/login", json={"email": "ops@acme.example", "password": "a long enough password"})
    assert r.status_code == 401


async def test_unknown_ids_are_not_found_for_the_operator(client, conn, settings):
    admin = bearer(settings.secret("super_admin_api_key"))
    missing = "00000000-0000-4000-8000-000000000000"
    for path, key in [
        ("/api/super-admin/orgs/get", "org_id"),
        ("/api/super-admin/companies/get", "company_id"),
        ("/api/super-admin/users/get", "user_id"),
        ("/api/super-admin/users/deactivate", "user_id"),
        ("/api/super-admin/api-tokens/revoke", "api_token_id"),
        ("/api/super-admin/blueprints/get", "blueprint_id"),
        ("/api/super-admin/orgs/update", "org_id"),
        ("/api/super-admin/blueprints/update", "blueprint_id"),
    ]:
        r = await client.post(path, json={key: missing}, headers=admin)
        assert r.status_code == 404, path
        assert r.json()["error"]["code"].endswith("_not_found")


async def test_tenant_blueprint_update_keeps_unnamed_fields(client, conn):
    tenant = await create_tenant(conn)
    headers = tenant.headers(Role.org_admin)
    r = await client.post(
        "/api/blueprints/update",
        json={"blueprint_id": str(tenant.blueprint.id), "description": "about"},
        headers=headers,
    )
    data = r.json()["data"]
    assert data["name"] == tenant.blueprint.name and data["description"] == "about"
    assert [s["operation_id"] for s in data["steps"]] == [s.operation_id for s in tenant.blueprint.steps]
    r = await client.post(
        "/api/blueprints/update", json={"blueprint_id": str(tenant.blueprint.id), "description": None}, headers=headers
    )
    assert r.json()["data"]["description"] is None and r.json()["data"]["version"] == 3
