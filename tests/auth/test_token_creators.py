"""Who created each API token, and what deactivating that person takes away (issue 9, item 6).

A token minted by an org admin without `user_id` used to outlive the admin's deactivation and
could still mint new admin tokens."""

import secrets

import asyncpg
import pytest

from app.auth.context import Role
from tests.factories import PASSWORD, bearer, create_company, create_org, create_token, create_user


async def _login(client, user) -> str:
    r = await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()["data"]["access_token"]


async def _mint(client, credential, **body) -> dict:
    r = await client.post(
        "/api/api-tokens/create", json={"name": "minted", "role": "org_admin", **body}, headers=bearer(credential)
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def _me_status(client, token) -> int:
    return (await client.post("/api/auth/me", headers=bearer(token))).status_code


async def _mint_status(client, token) -> int:
    r = await client.post("/api/api-tokens/create", json={"name": "after", "role": "org_admin"}, headers=bearer(token))
    return r.status_code


async def _deactivate(client, settings, user_id) -> None:
    key = settings.secret("super_admin_api_key")
    r = await client.post("/api/super-admin/users/deactivate", json={"user_id": str(user_id)}, headers=bearer(key))
    assert r.status_code == 200, r.text


class TestCreatorIsRecorded:
    async def test_each_way_of_creating_a_token_records_its_creator(self, client, conn, settings):
        org = await create_org(conn)
        company = await create_company(conn, org.id)
        admin = await create_user(conn, org.id)
        member = await create_user(conn, org.id, Role.member, company.id)

        by_session = await _mint(client, await _login(client, admin))
        assert (by_session["created_by_kind"], by_session["created_by_user_id"]) == ("jwt", str(admin.id))
        assert by_session["created_by_api_token_id"] is None

        # a token acting for a user passes that user on as the creator of what it mints
        bound_plain, bound_id = await create_token(conn, org.id, Role.member, company.id, member.id)
        unbound_plain, unbound_id = await create_token(conn, org.id)
        admin_bound_plain, admin_bound_id = await create_token(conn, org.id, user_id=admin.id)
        by_bound = await _mint(client, admin_bound_plain)
        assert by_bound["created_by_kind"] == "api_token"
        assert by_bound["created_by_user_id"] == str(admin.id)
        assert by_bound["created_by_api_token_id"] == str(admin_bound_id)

        # a token minted by a session's token keeps the session user as the root of the chain
        child = await _mint(client, by_session["token"])
        assert child["created_by_user_id"] == str(admin.id)
        assert child["created_by_api_token_id"] == by_session["id"]

        by_unbound = await _mint(client, unbound_plain)
        assert by_unbound["created_by_kind"] == "api_token" and by_unbound["created_by_user_id"] is None

        key = settings.secret("super_admin_api_key")
        r = await client.post(
            "/api/super-admin/api-tokens/create",
            json={"org_id": str(org.id), "name": "platform", "role": "org_admin"},
            headers=bearer(key),
        )
        assert r.status_code == 200
        by_platform = r.json()["data"]
        assert by_platform["created_by_kind"] == "super_admin" and by_platform["created_by_user_id"] is None

        # the list shows the creator of every token
        r = await client.post("/api/api-tokens/list", json={"limit": 500}, headers=bearer(unbound_plain))
        listed = {t["id"]: t for t in r.json()["data"]["items"]}
        assert listed[by_session["id"]]["created_by_user_id"] == str(admin.id)
        assert listed[child["id"]]["created_by_api_token_id"] == by_session["id"]
        assert listed[str(bound_id)]["created_by_kind"] == "super_admin"
        assert all("token" not in t and "token_hash" not in t for t in listed.values())


class TestDeactivationRevokes:
    async def test_deactivating_an_org_admin_revokes_every_token_they_minted(self, client, conn, settings):
        org = await create_org(conn)
        company = await create_company(conn, org.id)
        admin = await create_user(conn, org.id)
        other_admin = await create_user(conn, org.id)
        member = await create_user(conn, org.id, Role.member, company.id)

        session = await _login(client, admin)
        unbound = (await _mint(client, session))["token"]
        for_member = (await _mint(client, session, role="member", company_id=str(company.id), user_id=str(member.id)))[
            "token"
        ]
        grandchild = (await _mint(client, unbound))["token"]
        admin_bound, _ = await create_token(conn, org.id, user_id=admin.id)
        via_bound = (await _mint(client, admin_bound))["token"]

        other_session = await _login(client, other_admin)
        others = [(await _mint(client, other_session))["token"], (await create_token(conn, org.id))[0]]

        mine = [unbound, for_member, grandchild, admin_bound, via_bound]
        for token in mine + others:
            assert await _me_status(client, token) == 200

        await _deactivate(client, settings, admin.id)

        for token in mine:
            assert await _me_status(client, token) == 401
            assert await _mint_status(client, token) == 401
        for token in others:
            assert await _me_status(client, token) == 200
            assert await _mint_status(client, token) == 200
        revoked = await conn.fetchval(
            "SELECT count(*) FROM api_tokens WHERE org_id = $1 AND revoked_at IS NOT NULL", org.id
        )
        assert revoked == len(mine)

    async def test_deactivating_the_user_a_token_acts_for_revokes_what_it_minted(self, client, conn, settings):
        org = await create_org(conn)
        admin = await create_user(conn, org.id, password=None)
        bound, _ = await create_token(conn, org.id, user_id=admin.id)
        child = (await _mint(client, bound))["token"]
        grandchild = (await _mint(client, child))["token"]
        unrelated, _ = await create_token(conn, org.id)

        await _deactivate(client, settings, admin.id)

        for token in (bound, child, grandchild):
            assert await _me_status(client, token) == 401
        assert await _me_status(client, unrelated) == 200

    async def test_a_revoked_creation_chain_stays_revoked_if_the_user_returns(self, client, conn, settings):
        org = await create_org(conn)
        admin = await create_user(conn, org.id)
        minted = (await _mint(client, await _login(client, admin)))["token"]
        await _deactivate(client, settings, admin.id)
        await conn.execute("UPDATE users SET is_active = true WHERE id = $1", admin.id)
        assert await _me_status(client, minted) == 401

    async def test_a_creator_deactivated_outside_the_api_also_disables_their_tokens(self, client, conn):
        org = await create_org(conn)
        admin = await create_user(conn, org.id)
        minted = (await _mint(client, await _login(client, admin)))["token"]
        await conn.execute("UPDATE users SET is_active = false WHERE id = $1", admin.id)
        assert await _me_status(client, minted) == 401

    async def test_deactivation_stays_inside_the_org(self, client, conn, settings):
        org = await create_org(conn)
        admin = await create_user(conn, org.id)
        await _mint(client, await _login(client, admin))
        other_org = await create_org(conn)
        elsewhere, _ = await create_token(conn, other_org.id)
        await _deactivate(client, settings, admin.id)
        assert await _me_status(client, elsewhere) == 200


class TestCreatorStaysInTheOrg:
    async def test_the_database_rejects_a_creator_from_another_org(self, conn):
        org, other = await create_org(conn), await create_org(conn)
        foreign_user = await create_user(conn, other.id, password=None)
        _, foreign_token = await create_token(conn, other.id)
        insert = (
            "INSERT INTO api_tokens (org_id, name, role, token_hash, token_prefix, created_by_kind, "
            "created_by_user_id, created_by_api_token_id) VALUES ($1, 't', 'org_admin', $2, 'dex_x', $3, $4, $5)"
        )
        for kind, user_id, token_id in (("jwt", foreign_user.id, None), ("api_token", None, foreign_token)):
            with pytest.raises(asyncpg.ForeignKeyViolationError):
                async with conn.transaction():
                    await conn.execute(insert, org.id, secrets.token_hex(16), kind, user_id, token_id)
        # a session-made token names its user; a token-made one names its token
        for kind, user_id, token_id in (
            ("jwt", None, None),
            ("api_token", None, None),
            ("super_admin", None, foreign_token),
        ):
            with pytest.raises(asyncpg.CheckViolationError):
                async with conn.transaction():
                    await conn.execute(insert, org.id, secrets.token_hex(16), kind, user_id, token_id)
