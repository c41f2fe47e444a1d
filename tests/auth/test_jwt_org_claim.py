"""A session JWT names its user and the user's org; both must agree with the user row. A token
signed with the real key whose `org_id` names another org (a token minted for a user before a
move, or a forged claim with a leaked key) is refused, never served as either org."""

import uuid

import pytest

from app.auth.context import Role
from app.auth.credentials import issue_jwt
from tests.factories import bearer, create_tenant


@pytest.fixture
async def tenants(conn):
    return await create_tenant(conn), await create_tenant(conn)


def _signed(settings, user_id, org_id) -> str:
    return issue_jwt(user_id=user_id, org_id=org_id, secret=settings.secret("jwt_secret"), ttl_seconds=300)


@pytest.mark.parametrize("role", [Role.org_admin, Role.member])
async def test_a_correctly_signed_jwt_whose_org_claim_disagrees_with_the_user_is_401(client, settings, tenants, role):
    own, other = tenants
    user = own.users[role]
    # the same answer as for a token that is not valid at all: the claim mismatch is not revealed
    forged = issue_jwt(user_id=user.id, org_id=own.org.id, secret="not-the-key-" + "x" * 32, ttl_seconds=300)
    refused = (await client.post("/api/auth/me", json={}, headers=bearer(forged))).json()
    for claimed_org in (other.org.id, uuid.uuid4()):
        token = _signed(settings, user.id, claimed_org)
        for path in ("/api/auth/me", "/api/companies/list", "/api/v1/entities/companies"):
            r = await client.post(path, json={}, headers=bearer(token))
            assert r.status_code == 401, (path, r.text)
            assert r.json() == refused
            assert str(own.org.id) not in r.text and str(other.org.id) not in r.text


async def test_the_same_user_with_the_matching_org_claim_is_served(client, settings, tenants):
    own, _ = tenants
    user = own.users[Role.org_admin]
    r = await client.post("/api/auth/me", json={}, headers=bearer(_signed(settings, user.id, own.org.id)))
    assert r.status_code == 200, r.text
    assert r.text.count(str(own.org.id)) >= 1


def _encoded(settings, user, **overrides) -> str:
    import jwt

    from tests.auth.test_sessions import _claims

    claims = {k: v for k, v in _claims(user, **overrides).items() if v is not None}
    return jwt.encode(claims, settings.secret("jwt_secret"), algorithm="HS256")


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"iss": "someone-else"}, id="another issuer"),
        pytest.param({"aud": "another-audience"}, id="another audience"),
        pytest.param({"exp": None}, id="no expiry (would never expire)"),
        pytest.param({"iat": None}, id="no issued-at"),
        pytest.param({"iss": None}, id="no issuer"),
    ],
)
async def test_a_correctly_signed_jwt_missing_or_misstating_a_required_claim_is_401(
    client, settings, tenants, overrides
):
    own, _ = tenants
    token = _encoded(settings, own.users[Role.org_admin], **overrides)
    r = await client.post("/api/auth/me", json={}, headers=bearer(token))
    assert r.status_code == 401, r.text
