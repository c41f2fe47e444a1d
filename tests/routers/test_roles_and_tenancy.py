"""CONTRACT §5: each role gets exactly what it is allowed (403 otherwise); another org's or
another company's ids are simply not found (404)."""

import pytest

from app.auth.context import Role
from tests.factories import create_tenant

ALL = set(Role)
ADMIN = {Role.org_admin}


SUBMITTERS = {Role.org_admin, Role.company_admin}


def _bodies(t, token_id=None, run_id=None, pipeline=None):
    """Every tenant endpoint with a valid body naming the tenant's own objects."""
    pipeline = pipeline or {}
    return {
        "/api/v1/batch/submit": (
            {
                "blueprint_id": str(t.blueprint.id),
                "company_id": str(t.company_a.id),
                "entities": [{"entity_type": "company", "input": {"domain": "acme.com"}}],
            },
            SUBMITTERS,
        ),
        "/api/v1/batch/submit-csv": (
            {"blueprint_id": str(t.blueprint.id), "company_id": str(t.company_a.id), "file": "domain\nacme.com\n"},
            SUBMITTERS,
        ),
        "/api/v1/batch/export": ({"submission_id": str(pipeline.get("submission_id"))}, ALL),
        "/api/v1/batch/status": ({"submission_id": str(pipeline.get("submission_id"))}, ALL),
        "/api/v1/batch/cancel": ({"submission_id": str(pipeline.get("submission_id"))}, SUBMITTERS),
        "/api/submissions/list": ({}, ALL),
        "/api/submissions/get": ({"submission_id": str(pipeline.get("submission_id"))}, ALL),
        "/api/pipeline-runs/list": ({}, ALL),
        "/api/pipeline-runs/get": ({"pipeline_run_id": str(pipeline.get("run_id"))}, ALL),
        "/api/pipeline-runs/retry": ({"pipeline_run_id": str(pipeline.get("run_id"))}, ADMIN),
        "/api/step-results/list": ({"pipeline_run_id": str(pipeline.get("run_id"))}, ALL),
        "/api/v1/entities/companies": ({}, ALL),
        "/api/v1/entities/persons": ({}, ALL),
        "/api/v1/entities/versions": ({"entity_type": "company", "entity_id": str(pipeline.get("entity_id"))}, ALL),
        "/api/v1/entities/timeline": ({"entity_type": "company", "entity_id": str(pipeline.get("entity_id"))}, ALL),
        "/api/operation-runs/get": ({"run_id": str(run_id)}, ALL),
        "/api/api-tokens/revoke": ({"api_token_id": str(token_id)}, ADMIN),
        "/api/auth/me": ({}, ALL),
        "/api/companies/create": ({"name": "New Co"}, ADMIN),
        "/api/companies/list": ({}, ALL),
        "/api/companies/get": ({"company_id": str(t.company_a.id)}, ALL),
        "/api/users/create": ({"email": "new-user@example.com", "role": "org_admin"}, ADMIN),
        "/api/users/list": ({}, ADMIN),
        "/api/users/get": ({"user_id": str(t.users[Role.member].id)}, ADMIN),
        "/api/api-tokens/create": ({"name": "ci", "role": "member", "company_id": str(t.company_a.id)}, ADMIN),
        "/api/api-tokens/list": ({}, ADMIN),
        "/api/blueprints/create": (
            {"name": "bp", "steps": [{"position": 1, "operation_id": "company.enrich.profile"}]},
            ADMIN,
        ),
        "/api/blueprints/list": ({}, ALL),
        "/api/blueprints/get": ({"blueprint_id": str(t.blueprint.id)}, ALL),
        "/api/blueprints/update": ({"blueprint_id": str(t.blueprint.id), "name": "renamed"}, ADMIN),
        "/api/v1/operations/list": ({}, ALL),
        "/api/v1/execute": (
            {"operation_id": "company.ads.search.linkedin", "entity_type": "company", "input": {"domain": "acme.com"}},
            ALL,
        ),
        "/api/operation-runs/list": ({}, ALL),
        "/api/webhooks/create": (
            {"url": "https://hooks.example.com/in", "events": ["run.failed"], "company_id": str(t.company_a.id)},
            ADMIN,
        ),
        "/api/webhooks/list": ({}, ADMIN),
        "/api/webhooks/delete": ({"webhook_id": str(pipeline.get("webhook_id"))}, ADMIN),
        "/api/webhooks/rotate-secret": ({"webhook_id": str(pipeline.get("webhook_id"))}, ADMIN),
        "/api/webhooks/deliveries": ({"webhook_id": str(pipeline.get("webhook_id"))}, ADMIN),
        "/api/usage/summary": ({"group_by": "provider"}, ALL),
        "/api/budgets/set": ({"limit_usd": 100, "company_id": str(t.company_a.id)}, ADMIN),
        "/api/budgets/get": ({}, ADMIN),
        "/api/provider-keys/set": ({"provider": "leadmagic", "api_key": "lm-role-matrix-key-0001"}, ADMIN),
        "/api/provider-keys/list": ({}, ADMIN),
        "/api/provider-keys/delete": ({"provider": "prospeo"}, ADMIN),
    }


async def _operation_run(conn, org_id, company_id):
    return await conn.fetchval(
        "INSERT INTO operation_runs (org_id, company_id, auth_method, operation_id, entity_type, status, input) "
        "VALUES ($1, $2, 'api_token', 'company.search', 'company', 'not_found', '{}') RETURNING id",
        org_id,
        company_id,
    )


ENDPOINTS = [
    "/api/auth/me",
    "/api/companies/create",
    "/api/companies/list",
    "/api/companies/get",
    "/api/users/create",
    "/api/users/list",
    "/api/users/get",
    "/api/api-tokens/create",
    "/api/api-tokens/list",
    "/api/api-tokens/revoke",
    "/api/blueprints/create",
    "/api/blueprints/list",
    "/api/blueprints/get",
    "/api/blueprints/update",
    "/api/v1/operations/list",
    "/api/v1/execute",
    "/api/operation-runs/list",
    "/api/operation-runs/get",
]
ENDPOINTS += [
    "/api/v1/batch/submit",
    "/api/v1/batch/submit-csv",
    "/api/v1/batch/export",
    "/api/v1/batch/status",
    "/api/v1/batch/cancel",
    "/api/submissions/list",
    "/api/submissions/get",
    "/api/pipeline-runs/list",
    "/api/pipeline-runs/get",
    "/api/pipeline-runs/retry",
    "/api/step-results/list",
    "/api/v1/entities/companies",
    "/api/v1/entities/persons",
    "/api/v1/entities/versions",
    "/api/v1/entities/timeline",
]
ENDPOINTS += [
    "/api/webhooks/create",
    "/api/webhooks/list",
    "/api/webhooks/delete",
    "/api/webhooks/rotate-secret",
    "/api/webhooks/deliveries",
]
ENDPOINTS += ["/api/usage/summary", "/api/budgets/set", "/api/budgets/get"]
ENDPOINTS += ["/api/provider-keys/set", "/api/provider-keys/list", "/api/provider-keys/delete"]


async def _provider_key(conn, org_id, provider="prospeo"):
    # delete never opens the sealed value: any well-formed one stands in
    await conn.execute(
        "INSERT INTO org_provider_keys (org_id, provider, sealed_key, last4) VALUES ($1, $2, 'enc1:x:y:z', 'wxyz')",
        org_id,
        provider,
    )


async def post(client, path, body, headers):
    """JSON, except the multipart form of `batch/submit-csv` (its `file` is the CSV text)."""
    if "file" in body:
        form = {k: v for k, v in body.items() if k != "file"}
        return await client.post(path, data=form, files={"file": ("t.csv", body["file"])}, headers=headers)
    return await client.post(path, json=body, headers=headers)


async def _webhook(conn, org_id):
    return await conn.fetchval(
        "INSERT INTO webhooks (org_id, url, events, secret) "
        "VALUES ($1, 'https://hooks.example.com/in', '{run.failed}', 'whsec_c2VjcmV0') RETURNING id",
        org_id,
    )


async def pipeline_objects(conn, tenant, company=None):
    """A submission of the tenant's company with one failed run (retryable) and its failed step."""
    company_id = (company or tenant.company_a).id
    submission_id = await conn.fetchval(
        "INSERT INTO submissions (org_id, company_id, blueprint_id, status, entity_count) "
        "VALUES ($1, $2, $3, 'running', 1) RETURNING id",
        tenant.org.id,
        company_id,
        tenant.blueprint.id,
    )
    run_id = await conn.fetchval(
        "INSERT INTO pipeline_runs (org_id, company_id, submission_id, entity_index, entity_type, status, "
        "blueprint_snapshot, blueprint_version, input, error_message) VALUES ($1, $2, $3, 0, 'company', 'failed', "
        "'{}', 'v1', '{\"domain\": \"acme.com\"}', 'boom') RETURNING id",
        tenant.org.id,
        company_id,
        submission_id,
    )
    await conn.execute(
        "INSERT INTO step_results (org_id, pipeline_run_id, operation_id, position, status) "
        "SELECT $1, $2, slug, 1, 'failed' FROM steps WHERE slug = 'company.enrich.profile'",
        tenant.org.id,
        run_id,
    )
    entity_id = await conn.fetchval(
        "INSERT INTO company_entities (org_id, company_id, domain, data) VALUES ($1, $2, $3, $4) RETURNING id",
        tenant.org.id,
        company_id,
        f"{run_id}.example",
        {"domain": f"{run_id}.example"},
    )
    return {"submission_id": submission_id, "run_id": run_id, "entity_id": entity_id}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("path", ENDPOINTS)
async def test_each_role_gets_exactly_what_contract_allows(client, conn, path, role):
    tenant = await create_tenant(conn)
    spare_token_id = await conn.fetchval(
        "INSERT INTO api_tokens (org_id, name, role, token_hash, token_prefix) "
        "VALUES ($1, 'spare', 'org_admin', md5(random()::text), 'dex_') RETURNING id",
        tenant.org.id,
    )
    run_id = await _operation_run(conn, tenant.org.id, tenant.company_a.id)
    pipeline = await pipeline_objects(conn, tenant)
    pipeline["webhook_id"] = await _webhook(conn, tenant.org.id)
    await _provider_key(conn, tenant.org.id)
    body, allowed = _bodies(tenant, spare_token_id, run_id, pipeline)[path]
    r = await post(client, path, body, tenant.headers(role))
    if role in allowed:
        assert r.status_code == 200, r.text
    else:
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "forbidden_role"


async def test_every_tenant_endpoint_is_in_the_role_matrix(app):
    tenant_paths = {
        path
        for path in app.openapi()["paths"]
        if path.startswith("/api/")
        and not path.startswith(("/api/super-admin/", "/api/internal/"))
        and path != "/api/auth/login"
    }
    assert tenant_paths == set(ENDPOINTS)


def _foreign_bodies(other, own):
    """Bodies naming objects of `other` (another org, or another company of the same org)."""
    return {
        "/api/companies/get": {"company_id": str(other.company_a.id)},
        "/api/users/get": {"user_id": str(other.users[Role.member].id)},
        "/api/blueprints/get": {"blueprint_id": str(other.blueprint.id)},
        "/api/operation-runs/get": {"run_id": None},
        "/api/submissions/get": {"submission_id": None},
        "/api/v1/batch/status": {"submission_id": None},
        "/api/v1/batch/cancel": {"submission_id": None},
        "/api/v1/batch/export": {"submission_id": None},
        "/api/v1/batch/submit-csv": {
            "blueprint_id": str(other.blueprint.id),
            "company_id": str(other.company_a.id),
            "file": "domain\nx.com\n",
        },
        "/api/v1/batch/submit-csv#company": {
            "blueprint_id": str(own.blueprint.id),
            "company_id": str(other.company_a.id),
            "file": "domain\nx.com\n",
        },
        "/api/pipeline-runs/get": {"pipeline_run_id": None},
        "/api/pipeline-runs/retry": {"pipeline_run_id": None},
        "/api/step-results/list": {"pipeline_run_id": None},
        "/api/v1/entities/versions": {"entity_type": "company", "entity_id": None},
        "/api/v1/entities/timeline": {"entity_type": "company", "entity_id": None},
        "/api/v1/batch/submit": {
            "blueprint_id": str(other.blueprint.id),
            "company_id": str(other.company_a.id),
            "entities": [{"entity_type": "company", "input": {"domain": "x.com"}}],
        },
        "/api/blueprints/update": {"blueprint_id": str(other.blueprint.id), "name": "hijacked"},
        "/api/api-tokens/revoke": {"api_token_id": None},
        # nested references to the other org's objects
        "/api/users/create": {"email": "x-nested@example.com", "role": "member", "company_id": str(other.company_a.id)},
        "/api/api-tokens/create": {"name": "t", "role": "member", "company_id": str(other.company_a.id)},
        "/api/api-tokens/create#user": {
            "name": "t",
            "role": "org_admin",
            "user_id": str(other.users[Role.org_admin].id),
        },
        "/api/webhooks/delete": {"webhook_id": "webhook"},
        "/api/webhooks/rotate-secret": {"webhook_id": "webhook"},
        "/api/webhooks/deliveries": {"webhook_id": "webhook"},
        "/api/webhooks/create": {
            "url": "https://hooks.example.com/in",
            "events": ["run.failed"],
            "company_id": str(other.company_a.id),
        },
        "/api/budgets/set": {"limit_usd": 1, "company_id": str(other.company_a.id)},
        "/api/budgets/get": {"company_id": str(other.company_a.id)},
        # the other org has a key for this provider, the caller's org has none
        "/api/provider-keys/delete": {"provider": "prospeo"},
    }


COUNTED_TABLES = (
    "companies",
    "users",
    "api_tokens",
    "blueprints",
    "blueprint_steps",
    "submissions",
    "pipeline_runs",
    "step_results",
    "operation_runs",
    "webhooks",
    "webhook_deliveries",
    "budgets",
    "org_provider_keys",
)


async def _row_counts(conn, *tenants) -> dict[tuple[str, str], int]:
    """Rows per table and org: a write into either org, or a row moved between them, shows."""
    counts = {}
    for table in COUNTED_TABLES:
        for tenant in tenants:
            counts[(table, str(tenant.org.id))] = await conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE org_id = $1", tenant.org.id
            )
    return counts


@pytest.mark.parametrize("role", list(Role))
async def test_another_orgs_ids_are_not_found(client, conn, role):
    own = await create_tenant(conn)
    other = await create_tenant(conn)
    other_token_id = await conn.fetchval("SELECT id FROM api_tokens WHERE org_id = $1 LIMIT 1", other.org.id)
    # every foreign object the requests name exists before the counts are taken, so any row a
    # request writes (into either org) changes a count
    foreign = await pipeline_objects(conn, other)
    foreign_run = await _operation_run(conn, other.org.id, other.company_a.id)
    bodies = _foreign_bodies(other, own)
    foreign_webhooks = [await _webhook(conn, other.org.id) for b in bodies.values() if b.get("webhook_id") == "webhook"]
    await _provider_key(conn, other.org.id)
    before = await _row_counts(conn, own, other)
    for key, body in bodies.items():
        path = key.split("#")[0]
        if path == "/api/api-tokens/revoke":
            body = {"api_token_id": str(other_token_id)}
        if path == "/api/operation-runs/get":
            body = {"run_id": str(foreign_run)}
        if body.get("webhook_id") == "webhook":
            body = {"webhook_id": str(foreign_webhooks.pop())}
        if None in body.values():
            key = next(k for k, v in body.items() if v is None)
            body = {**body, key: str(foreign[key if key in ("submission_id", "entity_id") else "run_id"])}
        r = await post(client, path, body, own.headers(role))
        allowed = _bodies(own).get(path, ({}, ADMIN))[1]
        expected = 404 if role in allowed else 403
        assert r.status_code == expected, (path, role, r.text)
        assert str(other.org.id) not in r.text
    assert await _row_counts(conn, own, other) == before
    assert await conn.fetchval("SELECT name FROM blueprints WHERE id = $1", other.blueprint.id) != "hijacked"
    assert await conn.fetchval("SELECT revoked_at FROM api_tokens WHERE id = $1", other_token_id) is None
    # another org's webhooks are neither deleted nor given a new secret
    kept = await conn.fetch("SELECT secret FROM webhooks WHERE org_id = $1", other.org.id)
    assert [r["secret"] for r in kept] == ["whsec_c2VjcmV0"] * 3


async def test_lists_never_show_another_orgs_rows(client, conn):
    own = await create_tenant(conn)
    other = await create_tenant(conn)
    for path in ("/api/companies/list", "/api/users/list", "/api/api-tokens/list", "/api/blueprints/list"):
        r = await client.post(path, json={"limit": 500}, headers=own.headers(Role.org_admin))
        assert r.status_code == 200
        items = r.json()["data"]["items"]
        assert items and all(i.get("org_id") == str(own.org.id) for i in items)
        assert str(other.org.id) not in r.text


@pytest.mark.parametrize("role", [Role.company_admin, Role.member])
async def test_a_company_scoped_caller_sees_only_its_company(client, conn, role):
    tenant = await create_tenant(conn)
    r = await client.post(
        "/api/companies/get", json={"company_id": str(tenant.company_b.id)}, headers=tenant.headers(role)
    )
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "company_not_found"
    r = await client.post("/api/companies/list", json={}, headers=tenant.headers(role))
    assert [c["id"] for c in r.json()["data"]["items"]] == [str(tenant.company_a.id)]


@pytest.mark.parametrize("role", [Role.company_admin, Role.member])
async def test_a_company_scoped_caller_sees_only_its_companys_operation_runs(client, conn, role):
    tenant = await create_tenant(conn)
    own = await _operation_run(conn, tenant.org.id, tenant.company_a.id)
    other = await _operation_run(conn, tenant.org.id, tenant.company_b.id)
    org_level = await _operation_run(conn, tenant.org.id, None)
    r = await client.post("/api/operation-runs/get", json={"run_id": str(other)}, headers=tenant.headers(role))
    assert r.status_code == 404
    r = await client.post("/api/operation-runs/list", json={}, headers=tenant.headers(role))
    assert [i["id"] for i in r.json()["data"]["items"]] == [str(own)]
    r = await client.post("/api/operation-runs/list", json={}, headers=tenant.headers(Role.org_admin))
    assert {i["id"] for i in r.json()["data"]["items"]} == {str(own), str(other), str(org_level)}


@pytest.mark.parametrize("role", [Role.company_admin, Role.member])
async def test_a_company_scoped_caller_sees_only_its_companys_pipelines(client, conn, role):
    tenant = await create_tenant(conn)
    own = await pipeline_objects(conn, tenant)
    other = await pipeline_objects(conn, tenant, tenant.company_b)
    headers = tenant.headers(role)
    for path, body in [
        ("/api/submissions/get", {"submission_id": str(other["submission_id"])}),
        ("/api/v1/batch/status", {"submission_id": str(other["submission_id"])}),
        ("/api/v1/batch/export", {"submission_id": str(other["submission_id"])}),
        ("/api/pipeline-runs/get", {"pipeline_run_id": str(other["run_id"])}),
        ("/api/step-results/list", {"pipeline_run_id": str(other["run_id"])}),
    ]:
        r = await client.post(path, json=body, headers=headers)
        assert r.status_code == 404, path
    r = await client.post("/api/pipeline-runs/list", json={}, headers=headers)
    assert [i["id"] for i in r.json()["data"]["items"]] == [str(own["run_id"])]
    r = await client.post("/api/submissions/list", json={}, headers=headers)
    assert [i["id"] for i in r.json()["data"]["items"]] == [str(own["submission_id"])]


async def test_an_org_admin_sees_every_company_of_the_org(client, conn):
    tenant = await create_tenant(conn)
    r = await client.post("/api/companies/list", json={}, headers=tenant.headers(Role.org_admin))
    assert {c["id"] for c in r.json()["data"]["items"]} == {str(tenant.company_a.id), str(tenant.company_b.id)}
    r = await client.post(
        "/api/companies/get", json={"company_id": str(tenant.company_b.id)}, headers=tenant.headers(Role.org_admin)
    )
    assert r.status_code == 200


async def _entities(conn, tenant, company) -> tuple[str, str]:
    stem = f"e{str(company.id)[:8]}"
    company_entity = await conn.fetchval(
        "INSERT INTO company_entities (org_id, company_id, name, domain, data, record_version) "
        "VALUES ($1, $2, $3, $4, '{}', 1) RETURNING id",
        tenant.org.id,
        company.id,
        stem,
        f"{stem}.com",
    )
    person_entity = await conn.fetchval(
        "INSERT INTO person_entities (org_id, company_id, full_name, work_email, company_domain, data, record_version) "
        "VALUES ($1, $2, $3, $4, $5, '{}', 1) RETURNING id",
        tenant.org.id,
        company.id,
        f"Jane {stem}",
        f"jane@{stem}.com",
        f"{stem}.com",
    )
    return str(company_entity), str(person_entity)


@pytest.mark.parametrize("role", [Role.company_admin, Role.member])
async def test_a_company_scoped_caller_sees_only_its_companys_entities(client, conn, role):
    tenant = await create_tenant(conn)
    own_company, own_person = await _entities(conn, tenant, tenant.company_a)
    other_company, other_person = await _entities(conn, tenant, tenant.company_b)
    headers = tenant.headers(role)
    for path, own in [("/api/v1/entities/companies", own_company), ("/api/v1/entities/persons", own_person)]:
        r = await client.post(path, json={}, headers=headers)
        assert r.status_code == 200, r.text
        assert [i["id"] for i in r.json()["data"]["items"]] == [own], path
        # naming the other company in the filter does not widen the scope
        r = await client.post(path, json={"filters": {"company_id": str(tenant.company_b.id)}}, headers=headers)
        assert r.status_code == 200 and r.json()["data"]["items"] == [], path
    for path, both in [
        ("/api/v1/entities/companies", {own_company, other_company}),
        ("/api/v1/entities/persons", {own_person, other_person}),
    ]:
        r = await client.post(path, json={}, headers=tenant.headers(Role.org_admin))
        assert {i["id"] for i in r.json()["data"]["items"]} == both, path
