import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from app.auth.context import Role
from app.auth.credentials import JWT_AUDIENCE, JWT_ISSUER
from tests.factories import PASSWORD, bearer, create_company, create_org, create_user, jwt_for


async def _me(client, token):
    return await client.post("/api/auth/me", headers=bearer(token))


def _claims(user, **overrides):
    now = datetime.now(UTC)
    claims = {
        "sub": str(user.id),
        "org_id": str(user.org_id),
        "iss": JWT_ISSUER,
        "aud": JWT_AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
    }
    claims.update(overrides)
    return claims


class TestLogin:
    async def test_login_issues_a_session_that_authenticates(self, client, conn, settings):
        org = await create_org(conn)
        company = await create_company(conn, org.id)
        user = await create_user(conn, org.id, Role.company_admin, company.id)
        r = await client.post("/api/auth/login", json={"email": user.email.upper(), "password": PASSWORD})
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        assert data["token_type"] == "bearer"
        assert data["expires_in"] == settings.jwt_ttl_seconds
        assert data["user"]["id"] == str(user.id)
        assert "password_hash" not in r.text and PASSWORD not in r.text
        me = await _me(client, data["access_token"])
        assert me.status_code == 200
        assert me.json()["data"]["auth"] == {
            "org_id": str(org.id),
            "company_id": str(company.id),
            "user_id": str(user.id),
            "role": "company_admin",
            "auth_method": "jwt",
            "api_token_id": None,
        }

    async def test_wrong_password_unknown_email_and_passwordless_user_are_rejected_alike(self, client, conn):
        org = await create_org(conn)
        user = await create_user(conn, org.id)
        nopass = await create_user(conn, org.id, password=None)
        for body in (
            {"email": user.email, "password": "wrong password!!"},
            {"email": "nobody@example.com", "password": PASSWORD},
            {"email": nopass.email, "password": PASSWORD},
        ):
            r = await client.post("/api/auth/login", json=body)
            assert r.status_code == 401
            assert r.json()["error"] == {"code": "invalid_login", "message": "wrong email or password", "details": None}

    async def test_a_deactivated_user_cannot_log_in(self, client, conn):
        org = await create_org(conn)
        user = await create_user(conn, org.id)
        await conn.execute("UPDATE users SET is_active = false WHERE id = $1", user.id)
        r = await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
        assert r.status_code == 401


class TestJwtValidation:
    async def test_a_token_signed_with_another_key_is_rejected(self, client, conn):
        user = await create_user(conn, (await create_org(conn)).id)
        assert (await _me(client, jwt_for(user, "another-secret-" + "x" * 40))).status_code == 401

    async def test_alg_none_is_rejected(self, client, conn):
        user = await create_user(conn, (await create_org(conn)).id)
        claims = {k: (int(v.timestamp()) if isinstance(v, datetime) else v) for k, v in _claims(user).items()}

        def b64(obj):
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

        unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
        assert (await _me(client, unsigned)).status_code == 401

    @pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
    async def test_another_hmac_algorithm_is_rejected(self, client, conn, settings):
        user = await create_user(conn, (await create_org(conn)).id)
        token = jwt.encode(_claims(user), settings.secret("jwt_secret"), algorithm="HS512")
        assert (await _me(client, token)).status_code == 401

    async def test_an_expired_token_is_rejected(self, client, conn, settings):
        user = await create_user(conn, (await create_org(conn)).id)
        past = datetime.now(UTC) - timedelta(hours=2)
        token = jwt.encode(
            _claims(user, iat=past, nbf=past, exp=past + timedelta(minutes=5)),
            settings.secret("jwt_secret"),
            algorithm="HS256",
        )
        assert (await _me(client, token)).status_code == 401

    async def test_a_tampered_payload_is_rejected(self, client, conn, settings):
        org = await create_org(conn)
        user = await create_user(conn, org.id)
        victim = await create_user(conn, org.id)
        header, payload, signature = jwt_for(user, settings.secret("jwt_secret")).split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["sub"] = str(victim.id)
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        assert (await _me(client, f"{header}.{forged}.{signature}")).status_code == 401

    async def test_a_deactivated_user_loses_their_session(self, client, conn, settings):
        user = await create_user(conn, (await create_org(conn)).id)
        token = jwt_for(user, settings.secret("jwt_secret"))
        assert (await _me(client, token)).status_code == 200
        await conn.execute("UPDATE users SET is_active = false WHERE id = $1", user.id)
        assert (await _me(client, token)).status_code == 401

    async def test_a_subject_that_is_not_a_user_is_rejected(self, client, conn, settings):
        user = await create_user(conn, (await create_org(conn)).id)
        import uuid

        for sub in (str(uuid.uuid4()), "not-a-uuid"):
            token = jwt.encode(_claims(user, sub=sub), settings.secret("jwt_secret"), algorithm="HS256")
            assert (await _me(client, token)).status_code == 401

    async def test_the_role_comes_from_the_user_row_not_the_token(self, client, conn, settings):
        org = await create_org(conn)
        company = await create_company(conn, org.id)
        user = await create_user(conn, org.id, Role.company_admin, company.id)
        token = jwt_for(user, settings.secret("jwt_secret"))
        await conn.execute("UPDATE users SET role = 'member' WHERE id = $1", user.id)
        r = await _me(client, token)
        assert r.json()["data"]["auth"]["role"] == "member"
