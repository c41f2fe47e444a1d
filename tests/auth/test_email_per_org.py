"""An email is unique within an org only (issue 9, item 7): no org can learn that an address is a
user elsewhere, or take it so another org can never add that person. Login names the org when
the email alone is ambiguous."""

import jwt

from app.auth.context import Role, org_scope
from app.auth.credentials import JWT_AUDIENCE
from app.models.users import UserCreateRequest
from app.services import users as users_service
from tests.factories import PASSWORD, bearer, create_org, create_token

EMAIL = "pat@shared.example"
OTHER_PASSWORD = "another long password"


async def _create_user(client, token, email=EMAIL, password=PASSWORD):
    return await client.post(
        "/api/users/create", json={"email": email, "role": "org_admin", "password": password}, headers=bearer(token)
    )


async def _login(client, password, org_slug=None, email=EMAIL):
    body = {"email": email, "password": password}
    if org_slug is not None:
        body["org_slug"] = org_slug
    return await client.post("/api/auth/login", json=body)


async def _two_orgs(conn):
    org_a, org_b = await create_org(conn), await create_org(conn)
    return org_a, (await create_token(conn, org_a.id))[0], org_b, (await create_token(conn, org_b.id))[0]


def _strip_ids(user: dict) -> dict:
    return {k: v for k, v in user.items() if k not in ("id", "org_id", "email", "created_at", "updated_at")}


class TestEmailUniquePerOrg:
    async def test_another_org_can_add_a_user_whose_email_is_taken_elsewhere(self, client, conn):
        org_a, token_a, org_b, token_b = await _two_orgs(conn)
        a = await _create_user(client, token_a)
        b = await _create_user(client, token_b, email=EMAIL.upper(), password=OTHER_PASSWORD)
        assert a.status_code == 200 and b.status_code == 200, b.text
        assert a.json()["data"]["org_id"] == str(org_a.id) and b.json()["data"]["org_id"] == str(org_b.id)
        # inside one org the email is still unique, whatever its case
        again = await _create_user(client, token_b, email="Pat@Shared.Example")
        assert again.status_code == 409 and again.json()["error"]["code"] == "email_taken"

    async def test_an_org_admin_gets_no_signal_about_another_orgs_users(self, client, conn):
        _, token_a, org_b, token_b = await _two_orgs(conn)
        assert (await _create_user(client, token_b, password=OTHER_PASSWORD)).status_code == 200
        # org A adding an address org B uses looks exactly like adding a fresh one
        taken = await _create_user(client, token_a)
        fresh = await _create_user(client, token_a, email="nobody-else@shared.example")
        assert taken.status_code == fresh.status_code == 200
        assert _strip_ids(taken.json()["data"]) == _strip_ids(fresh.json()["data"])
        listed = (await client.post("/api/users/list", json={}, headers=bearer(token_a))).json()["data"]["items"]
        assert {u["org_id"] for u in listed} == {taken.json()["data"]["org_id"]}
        r = await client.post("/api/users/get", json={"user_id": _user_id_in(listed, EMAIL)}, headers=bearer(token_b))
        assert r.status_code == 404
        # org A's admin, knowing only the password it set, signs in to org A and learns nothing else
        r = await _login(client, PASSWORD)
        assert r.status_code == 200 and r.json()["data"]["user"]["id"] == taken.json()["data"]["id"]
        assert str(org_b.id) not in r.text and org_b.slug not in r.text


def _user_id_in(users, email):
    return next(u["id"] for u in users if u["email"] == email)


class TestLoginForAPersonInTwoOrgs:
    async def test_login_names_the_org_and_the_session_carries_it(self, client, conn, settings):
        org_a, org_b = await create_org(conn), await create_org(conn)
        key = bearer(settings.secret("super_admin_api_key"))
        users = {}
        for org, password in ((org_a, PASSWORD), (org_b, OTHER_PASSWORD)):
            r = await client.post(
                "/api/super-admin/users/create",
                json={"org_id": str(org.id), "email": EMAIL, "role": "org_admin", "password": password},
                headers=key,
            )
            assert r.status_code == 200, r.text
            users[org.id] = r.json()["data"]
            got = await client.post("/api/super-admin/users/get", json={"user_id": users[org.id]["id"]}, headers=key)
            assert got.json()["data"]["org_id"] == str(org.id)

        for org, password in ((org_a, PASSWORD), (org_b, OTHER_PASSWORD)):
            r = await _login(client, password, org.slug)
            assert r.status_code == 200, r.text
            session = r.json()["data"]
            assert session["user"]["id"] == users[org.id]["id"]
            claims = jwt.decode(
                session["access_token"], settings.secret("jwt_secret"), algorithms=["HS256"], audience=JWT_AUDIENCE
            )
            assert (claims["sub"], claims["org_id"]) == (users[org.id]["id"], str(org.id))
            me = await client.post("/api/auth/me", headers=bearer(session["access_token"]))
            assert me.json()["data"]["auth"]["org_id"] == str(org.id)

        # without an org, the one membership whose password matches is the one signed in to
        r = await _login(client, OTHER_PASSWORD)
        assert r.status_code == 200 and r.json()["data"]["user"]["org_id"] == str(org_b.id)
        # one org's password does not open the other org
        r = await _login(client, PASSWORD, org_b.slug)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_login"

    async def test_the_same_password_in_two_orgs_requires_the_org(self, client, conn):
        org_a, org_b, org_c = await create_org(conn), await create_org(conn), await create_org(conn)
        for org in (org_a, org_b):
            await _add(conn, org.id, PASSWORD)
        await _add(conn, org_c.id, OTHER_PASSWORD)
        r = await _login(client, PASSWORD)
        assert r.status_code == 400
        error = r.json()["error"]
        assert error["code"] == "org_required"
        # only the orgs this password opens are named: the caller could sign in to each of them
        assert sorted(error["details"]["org_slugs"]) == sorted([org_a.slug, org_b.slug])
        assert org_c.slug not in r.text
        assert (await _login(client, PASSWORD, org_a.slug)).status_code == 200

    async def test_an_unknown_or_inactive_org_is_just_a_failed_login(self, client, conn):
        org = await create_org(conn)
        await _add(conn, org.id, PASSWORD)
        r = await _login(client, PASSWORD, "no-such-org")
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_login"
        await conn.execute("UPDATE orgs SET is_active = false WHERE id = $1", org.id)
        for slug in (org.slug, None):
            r = await _login(client, PASSWORD, slug)
            assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_login"

    async def test_a_deactivated_membership_does_not_make_the_email_ambiguous(self, client, conn):
        org_a, org_b = await create_org(conn), await create_org(conn)
        a = await _add(conn, org_a.id, PASSWORD)
        b = await _add(conn, org_b.id, PASSWORD)
        await conn.execute("UPDATE users SET is_active = false WHERE id = $1", a.id)
        r = await _login(client, PASSWORD)
        assert r.status_code == 200 and r.json()["data"]["user"]["id"] == str(b.id)


async def _add(conn, org_id, password):
    body = UserCreateRequest(email=EMAIL, role=Role.org_admin, password=password)
    return await users_service.create(conn, org_scope(org_id), body)
