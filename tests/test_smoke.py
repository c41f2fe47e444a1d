from app.auth.context import Role
from tests.factories import create_tenant


async def test_health_reports_database(client):
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"data": {"status": "ok", "database": "ok"}}


async def test_me_with_token(client, conn):
    tenant = await create_tenant(conn)
    r = await client.post("/api/auth/me", headers=tenant.headers(Role.member))
    assert r.status_code == 200, r.text
    body = r.json()["data"]
    assert body["auth"]["org_id"] == str(tenant.org.id)
    assert body["auth"]["role"] == "member"
