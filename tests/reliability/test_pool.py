"""Transactions and the pool under real conditions (the app's own pool, nothing overridden).

The load test's deadlock, held in a small room: endpoints that authenticate and then take
short transactions of their own (submit, retry, execute) once held one pooled connection while
waiting for a second, so a burst of them as large as the pool hung the whole API. Here the pool
has 2 connections and 12 such calls arrive at once, on the real pool (nothing overridden)."""

import asyncio
import json
import uuid

import asyncpg
import httpx

from app.auth.context import Role
from app.db import init_connection
from app.main import create_app
from tests import pg
from tests.conftest import TEST_SECRETS, make_settings
from tests.factories import bearer, create_tenant
from tests.reliability.conftest import record


async def test_a_burst_larger_than_the_pool_is_served(admin_dsn):
    name = f"dex_pool_{uuid.uuid4().hex[:8]}"
    dsn = await pg.recreate_database(admin_dsn, name, template=pg.TEMPLATE_DB)
    try:
        conn = await asyncpg.connect(dsn)
        await init_connection(conn)
        try:
            tenant = await create_tenant(conn)  # committed: the app's own pool must see it
        finally:
            await conn.close()
        app = create_app(make_settings(dsn, db_pool_min_size=1, db_pool_max_size=2, rate_limit_per_minute=0))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                headers = tenant.headers(Role.org_admin)
                submit = {
                    "blueprint_id": str(tenant.blueprint.id),
                    "company_id": str(tenant.company_a.id),
                    "entities": [{"entity_type": "company", "input": {"domain": "acme.com"}}],
                }
                execute = {
                    "operation_id": "company.ads.search.google",
                    "entity_type": "company",
                    "input": {"domain": "a.com"},
                }
                calls = [client.post("/api/v1/batch/submit", json=submit, headers=headers) for _ in range(8)]
                calls += [client.post("/api/v1/execute", json=execute, headers=headers) for _ in range(4)]
                responses = await asyncio.wait_for(asyncio.gather(*calls), timeout=30)
        assert [r.status_code for r in responses] == [200] * 12, [r.text for r in responses]
        record("pool", pool_size=2, concurrent_calls=len(responses), served=len(responses))
    finally:
        await pg.drop_database(admin_dsn, name)


async def test_a_write_is_committed_before_its_response_leaves(admin_dsn):
    """Read-your-writes: when the answer to a create is sent, its row is already visible to every
    other connection (a client acting on the answer at once must find it). Watched from a second
    connection at the moment the response body goes out."""
    name = f"dex_commit_{uuid.uuid4().hex[:8]}"
    dsn = await pg.recreate_database(admin_dsn, name, template=pg.TEMPLATE_DB)
    try:
        app = create_app(make_settings(dsn, rate_limit_per_minute=0))
        async with app.router.lifespan_context(app):
            observer = await asyncpg.connect(dsn)
            seen: list[bool] = []

            async def watching(scope, receive, send):
                async def observed_send(message):
                    if message["type"] == "http.response.body" and message.get("body"):
                        org_id = json.loads(message["body"])["data"]["id"]
                        seen.append(
                            await observer.fetchval(
                                "SELECT EXISTS (SELECT 1 FROM orgs WHERE id = $1)", uuid.UUID(org_id)
                            )
                        )
                    await send(message)

                await app(scope, receive, observed_send)

            try:
                transport = httpx.ASGITransport(app=watching)
                async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                    r = await client.post(
                        "/api/super-admin/orgs/create",
                        json={"name": "Visible", "slug": f"visible-{uuid.uuid4().hex[:8]}"},
                        headers=bearer(TEST_SECRETS["super_admin_api_key"]),
                    )
            finally:
                await observer.close()
        assert r.status_code == 200, r.text
        assert seen == [True]
    finally:
        await pg.drop_database(admin_dsn, name)
