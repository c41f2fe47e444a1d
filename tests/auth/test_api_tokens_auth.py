from datetime import UTC, datetime, timedelta

from app.auth.context import Role
from tests.factories import bearer, create_org, create_token, create_user


async def _me(client, token):
    return await client.post("/api/auth/me", headers=bearer(token))


class TestApiTokenAuthentication:
    async def test_a_valid_token_authenticates_and_records_last_use(self, client, conn):
        org = await create_org(conn)
        token, token_id = await create_token(conn, org.id)
        r = await _me(client, token)
        assert r.status_code == 200
        assert r.json()["data"]["auth"] == {
            "org_id": str(org.id),
            "company_id": None,
            "user_id": None,
            "role": "org_admin",
            "auth_method": "api_token",
            "api_token_id": str(token_id),
        }
        assert await conn.fetchval("SELECT last_used_at FROM api_tokens WHERE id = $1", token_id) is not None

    async def test_the_plaintext_is_not_stored(self, conn):
        org = await create_org(conn)
        token, token_id = await create_token(conn, org.id)
        row = await conn.fetchrow("SELECT * FROM api_tokens WHERE id = $1", token_id)
        assert all(token not in str(v) for v in row.values())

    async def test_a_revoked_token_is_rejected(self, client, conn):
        org = await create_org(conn)
        admin, _ = await create_token(conn, org.id)
        token, token_id = await create_token(conn, org.id)
        r = await client.post("/api/api-tokens/revoke", json={"api_token_id": str(token_id)}, headers=bearer(admin))
        assert r.status_code == 200 and r.json()["data"]["revoked_at"] is not None
        r = await _me(client, token)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "invalid_credentials"
        assert r.headers["www-authenticate"] == "Bearer"

    async def test_an_expired_token_is_rejected(self, client, conn):
        org = await create_org(conn)
        token, token_id = await create_token(conn, org.id, expires_at=datetime.now(UTC) + timedelta(hours=1))
        assert (await _me(client, token)).status_code == 200
        await conn.execute("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1", token_id)
        assert (await _me(client, token)).status_code == 401

    async def test_malformed_and_unknown_tokens_are_rejected(self, client, conn):
        for value in ["dex_", "dex_" + "A" * 43, "not-a-token", "a.b.c", "dex_\u00e9"]:
            r = await client.post("/api/auth/me", headers={"Authorization": f"Bearer {value}".encode()})
            assert r.status_code == 401, value
        for header in [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}, {"Authorization": ""}]:
            r = await client.post("/api/auth/me", headers=header)
            assert r.status_code == 401, header
            assert r.json()["error"]["code"] in ("missing_credentials", "invalid_credentials")

    async def test_a_token_of_a_deactivated_user_stops_working(self, client, conn, settings):
        org = await create_org(conn)
        user = await create_user(conn, org.id)
        token, _ = await create_token(conn, org.id, user_id=user.id)
        assert (await _me(client, token)).status_code == 200
        key = settings.secret("super_admin_api_key")
        r = await client.post("/api/super-admin/users/deactivate", json={"user_id": str(user.id)}, headers=bearer(key))
        assert r.status_code == 200 and r.json()["data"]["is_active"] is False
        assert (await _me(client, token)).status_code == 401

    async def test_a_token_of_a_deactivated_org_stops_working(self, client, conn, settings):
        org = await create_org(conn)
        token, _ = await create_token(conn, org.id, Role.member, (await _company(conn, org.id)))
        assert (await _me(client, token)).status_code == 200
        key = settings.secret("super_admin_api_key")
        r = await client.post(
            "/api/super-admin/orgs/update", json={"org_id": str(org.id), "is_active": False}, headers=bearer(key)
        )
        assert r.status_code == 200
        assert (await _me(client, token)).status_code == 401


async def _company(conn, org_id):
    from tests.factories import create_company

    return (await create_company(conn, org_id)).id


class TestKeysOnlyWhereAccepted:
    async def test_the_super_admin_key_is_not_a_tenant_credential(self, client, settings):
        r = await _me(client, settings.secret("super_admin_api_key"))
        assert r.status_code == 401

    async def test_the_internal_key_is_not_a_tenant_credential(self, client, settings):
        r = await _me(client, settings.secret("internal_api_key"))
        assert r.status_code == 401

    async def test_tenant_tokens_and_the_internal_key_cannot_reach_super_admin(self, client, conn, settings):
        org = await create_org(conn)
        token, _ = await create_token(conn, org.id)
        for value in (token, settings.secret("internal_api_key"), settings.secret("super_admin_api_key") + "x"):
            r = await client.post("/api/super-admin/orgs/list", json={}, headers=bearer(value))
            assert r.status_code == 401
        r = await client.post(
            "/api/super-admin/orgs/list", json={}, headers=bearer(settings.secret("super_admin_api_key"))
        )
        assert r.status_code == 200
