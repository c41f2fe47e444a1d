"""The org-wide request cap (CONTRACT §9.4, issue 9 item 10): every tenant credential of one org
draws from one org bucket, so minting more tokens buys no more rate; other orgs keep theirs."""

import uuid

import pytest

from app.auth.context import AuthContext, AuthMethod, Role
from app.errors import RateLimited
from app.ratelimit import Limit, RateLimiter
from tests.conftest import TEST_SECRETS, SavepointDb, own_client
from tests.factories import bearer, create_tenant, create_token, jwt_for
from tests.reliability.test_rate_limit import assert_limited


async def test_the_tokens_of_one_org_share_its_cap_and_other_orgs_are_unaffected(database_dsn, conn):
    own, other = await create_tenant(conn), await create_tenant(conn)
    first = own.headers(Role.org_admin)
    second_token, _ = await create_token(conn, own.org.id, Role.org_admin)
    second = bearer(second_token)
    async with own_client(
        database_dsn,
        conn,
        rate_limit_per_minute=60,
        rate_limit_burst=100,
        org_rate_limit_per_minute=60,
        org_rate_limit_burst=6,
    ) as client:
        for headers in (first, second, first, second, first, second):
            assert (await client.post("/api/companies/list", json={}, headers=headers)).status_code == 200
        # each token alone is far below its own limit; together they spent the org's
        for headers in (first, second, bearer(jwt_for(own.users[Role.member], TEST_SECRETS["jwt_secret"]))):
            r = await client.post("/api/companies/list", json={}, headers=headers)
            assert assert_limited(r) == 1
            assert r.json()["error"]["details"]["scope"] == "org"
        # a fresh token of the same org is no way around it
        fresh, _ = await create_token(conn, own.org.id, Role.org_admin)
        assert_limited(await client.post("/api/companies/list", json={}, headers=bearer(fresh)))
        # another org keeps its whole cap
        for _ in range(6):
            r = await client.post("/api/companies/list", json={}, headers=other.headers(Role.org_admin))
            assert r.status_code == 200, r.text
        # the worker acting for the org is limited on its own, not by the org's tenant cap
        internal = {**bearer(TEST_SECRETS["internal_api_key"]), "x-internal-org-id": str(own.org.id)}
        r = await client.post("/api/v1/operations/list", json={}, headers=internal)
        assert r.status_code != 429, r.text


async def test_a_request_the_org_cap_refuses_does_not_spend_the_credentials_own_share(conn):
    now = [1_000.0]
    db = SavepointDb(conn)
    # a credential refills once a minute, the org once a second
    limiter = RateLimiter(Limit(1, 1), Limit(0, 0), Limit(60, 1), clock=lambda: now[0])
    org_id = uuid.uuid4()

    def token(name: str) -> AuthContext:
        return AuthContext(
            org_id=org_id,
            company_id=None,
            user_id=None,
            role=Role.org_admin,
            auth_method=AuthMethod.api_token,
            api_token_id=uuid.uuid5(org_id, name),
        )

    await limiter.check(db, token("a"))
    with pytest.raises(RateLimited) as refused:
        await limiter.check(db, token("b"))
    assert refused.value.details["scope"] == "org"
    now[0] += 1.0
    await limiter.check(db, token("b"))  # its own share was given back when the org refused it
