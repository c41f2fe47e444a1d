from app.auth.credentials import hash_api_token
from app.services.bootstrap import ensure_demo
from tests.factories import bearer


async def test_bootstrap_is_idempotent_and_its_token_works(client, conn):
    first = await ensure_demo(conn, password=None, api_token=None)
    r = await client.post("/api/auth/me", headers=bearer(first.api_token))
    assert r.status_code == 200
    assert r.json()["data"]["auth"]["org_id"] == first.org_id
    r = await client.post("/api/auth/login", json={"email": first.email, "password": first.password})
    assert r.status_code == 200

    second = await ensure_demo(conn, password=first.password, api_token=first.api_token)
    assert second == first
    assert await conn.fetchval("SELECT count(*) FROM orgs WHERE slug = 'demo'") == 1
    assert await conn.fetchval("SELECT count(*) FROM api_tokens WHERE org_id = $1", first.org_id) == 1
    stored = await conn.fetchval("SELECT token_hash FROM api_tokens WHERE org_id = $1", first.org_id)
    assert stored == hash_api_token(first.api_token)


async def test_bootstrap_replaces_a_token_that_no_longer_works(client, conn):
    first = await ensure_demo(conn, password=None, api_token=None)
    await conn.execute("UPDATE api_tokens SET revoked_at = now() WHERE org_id = $1", first.org_id)
    second = await ensure_demo(conn, password=first.password, api_token=first.api_token)
    assert second.api_token != first.api_token and second.org_id == first.org_id
    assert (await client.post("/api/auth/me", headers=bearer(second.api_token))).status_code == 200
