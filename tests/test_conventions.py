"""CONTRACT §3: envelopes, request ids, pagination, body-size limit, OpenAPI."""

import asyncpg
import httpx
import pytest

from app.auth.context import Role
from app.db import ConnDep
from app.errors import Conflict
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import create_company, create_tenant


async def test_request_ids_are_generated_or_echoed(client):
    r = await client.get("/health")
    generated = r.headers["x-request-id"]
    assert len(generated) == 32
    r = await client.get("/health", headers={"x-request-id": "client-id-123"})
    assert r.headers["x-request-id"] == "client-id-123"
    r = await client.get("/health", headers={"x-request-id": "bad id\twith spaces" + "x" * 200})
    assert r.headers["x-request-id"] != "bad id\twith spaces" and len(r.headers["x-request-id"]) == 32


async def test_errors_use_the_envelope_and_carry_the_request_id(client):
    r = await client.post("/api/nothing-here", json={}, headers={"x-request-id": "abc"})
    assert r.status_code == 404
    assert r.json() == {"error": {"code": "route_not_found", "message": "Not Found", "details": None}}
    assert r.headers["x-request-id"] == "abc"
    r = await client.get("/api/companies/list")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


async def test_bodies_over_the_limit_get_413(client, conn, settings):
    tenant = await create_tenant(conn)
    big = b'{"name": "' + b"x" * (settings.max_body_bytes + 10) + b'"}'
    r = await client.post(
        "/api/companies/create",
        content=big,
        headers={**tenant.headers(Role.org_admin), "content-type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"

    async def chunks():
        for _ in range(11):
            yield b"x" * (1024 * 1024)

    r = await client.post(
        "/api/companies/create",
        content=chunks(),
        headers={**tenant.headers(Role.org_admin), "content-type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    assert r.headers.get("x-request-id")


async def test_lists_page_with_cursors(client, conn):
    tenant = await create_tenant(conn)
    for _ in range(5):
        await create_company(conn, tenant.org.id)
    headers = tenant.headers(Role.org_admin)
    seen, cursor, pages = [], None, 0
    while True:
        r = await client.post("/api/companies/list", json={"limit": 2, "cursor": cursor}, headers=headers)
        body = r.json()["data"]
        seen += [c["id"] for c in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 4 and len(seen) == 7 and len(set(seen)) == 7
    all_at_once = await client.post("/api/companies/list", json={"limit": 500}, headers=headers)
    assert [c["id"] for c in all_at_once.json()["data"]["items"]] == seen


@pytest.mark.parametrize("body", [{"limit": 0}, {"limit": 501}, {"limit": "ten"}])
async def test_list_limits_are_validated(client, conn, body):
    tenant = await create_tenant(conn)
    r = await client.post("/api/companies/list", json=body, headers=tenant.headers(Role.org_admin))
    assert r.status_code == 422


async def test_a_forged_cursor_is_400(client, conn):
    tenant = await create_tenant(conn)
    for cursor in ["garbage", "eyJ4IjoxfQ", "W10"]:
        r = await client.post("/api/companies/list", json={"cursor": cursor}, headers=tenant.headers(Role.org_admin))
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "invalid_cursor"


async def test_openapi_documents_every_endpoint_as_post_with_the_error_envelope(client):
    r = await client.get("/openapi.json")
    schema = r.json()
    paths = schema["paths"]
    for path, methods in paths.items():
        if path == "/health":
            assert set(methods) == {"get"}
            continue
        assert set(methods) == {"post"}, path
        responses = methods["post"]["responses"]
        assert "401" in responses and "422" in responses, path
    assert "ErrorResponse" in schema["components"]["schemas"]
    expected = {
        f"/api/super-admin/{p}"
        for p in [
            "orgs/create",
            "orgs/list",
            "orgs/get",
            "orgs/update",
            "companies/create",
            "companies/list",
            "companies/get",
            "users/create",
            "users/list",
            "users/get",
            "users/deactivate",
            "api-tokens/create",
            "api-tokens/list",
            "api-tokens/revoke",
            "blueprints/create",
            "blueprints/list",
            "blueprints/get",
            "blueprints/update",
        ]
    }
    assert expected <= set(paths)


class _Boom(Exception):
    pass


async def test_a_failing_request_writes_nothing_and_a_fault_is_a_500_envelope(database_dsn):
    """The real per-request transaction (no test override): an error after a write rolls it back."""
    app = create_app(make_settings(database_dsn))
    slug = "rollback-probe"

    @app.post("/probe/conflict")
    async def conflict(conn: ConnDep) -> dict:
        await conn.execute("INSERT INTO orgs (name, slug) VALUES ('probe', $1)", slug)
        raise Conflict("after a write")

    @app.post("/probe/crash")
    async def crash(conn: ConnDep) -> dict:
        await conn.execute("INSERT INTO orgs (name, slug) VALUES ('probe', $1)", slug)
        raise _Boom("unexpected")

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.post("/probe/conflict", json={})
            assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
            r = await c.post("/probe/crash", json={}, headers={"x-request-id": "crash-1"})
            assert r.status_code == 500
            assert r.json()["error"]["code"] == "internal_error"
            assert "unexpected" not in r.text
            assert r.headers["x-request-id"] == "crash-1"
    conn = await asyncpg.connect(database_dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM orgs WHERE slug = $1", slug) == 0
    finally:
        await conn.close()


def _dependency_calls(dependant):
    for dep in dependant.dependencies:
        yield dep.call
        yield from _dependency_calls(dep)


def _api_routes(routes):
    from fastapi.routing import APIRoute

    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # an included router (FastAPI >= 0.16x)
            yield from _api_routes(route.original_router.routes)


def test_no_dependency_runs_in_the_threadpool(app):
    """FastAPI runs a plain `def` dependency in a worker thread: two thread switches per dependency
    per request, which profiling showed as a tenth of a pipeline step's API time (issue 15). Ours
    do no blocking work, so they are all `async def` (or objects with an async `__call__`)."""
    import inspect

    sync = set()
    routes = list(_api_routes(app.routes))
    assert len(routes) > 50
    for route in routes:
        for call in _dependency_calls(route.dependant):
            target = call if inspect.isfunction(call) else type(call).__call__
            if not (inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)):
                sync.add(getattr(call, "__qualname__", repr(call)))
    assert not sync, f"synchronous dependencies: {sorted(sync)}"
