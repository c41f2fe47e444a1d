"""Two API processes racing on the last dollar of a budget (CONTRACT §9.4): two apps, each with
its own connection pool, on one committed database (not a rolled-back test transaction), firing
concurrent execute calls. The reservation is a row-locked conditional UPDATE, so together they may
overspend by at most one call each; with the documented price reserved, not at all."""

import asyncio
import uuid
from decimal import Decimal

import asyncpg
import httpx
import pytest
import respx

from app.auth.context import Role
from app.main import create_app
from tests import pg
from tests.conftest import make_settings, provider_settings
from tests.factories import create_tenant
from tests.pipelines.test_worker_callbacks import PROSPEO, prospeo_company

PRICE_USD = Decimal("0.02")  # Prospeo: 1 credit per enrichment found × the rate below
CALLS_PER_PROCESS = 12
ROOM_FOR = 5


@pytest.fixture
async def two_processes(admin_dsn, worker_id_str):
    name = f"dex_budget_race_{worker_id_str}_{uuid.uuid4().hex[:8]}"
    dsn = await pg.recreate_database(admin_dsn, name, template=pg.TEMPLATE_DB)
    apps = [
        create_app(make_settings(dsn, **provider_settings(prospeo_usd_per_credit=str(PRICE_USD), db_pool_max_size=8)))
        for _ in range(2)
    ]
    try:
        async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
            yield apps, dsn
    finally:
        await pg.drop_database(admin_dsn, name)


@respx.mock
async def test_two_processes_racing_on_the_last_dollar_overspend_by_at_most_one_call_each(two_processes):
    apps, dsn = two_processes
    async with apps[0].state.pool.acquire() as connection, connection.transaction():
        tenant = await create_tenant(connection)
        await connection.execute(
            "INSERT INTO budgets (org_id, limit_usd) VALUES ($1, $2)", tenant.org.id, PRICE_USD * ROOM_FOR
        )

    async def slow_answer(request):
        # every call is still in flight while the others reserve
        await asyncio.sleep(0.05)
        return prospeo_company("x.com")

    prospeo = respx.post(PROSPEO).mock(side_effect=slow_answer)

    async def fire(app, client_index):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:

            async def one(i):
                body = {
                    "operation_id": "company.enrich.profile",
                    "entity_type": "company",
                    "input": {"domain": f"race-{client_index}-{i}.example"},
                }
                r = await client.post("/api/v1/execute", json=body, headers=tenant.headers(Role.org_admin))
                return r.status_code

            return await asyncio.gather(*(one(i) for i in range(CALLS_PER_PROCESS)))

    answers = [code for codes in await asyncio.gather(fire(apps[0], 0), fire(apps[1], 1)) for code in codes]

    assert set(answers) <= {200, 402}, answers
    provider_calls = prospeo.call_count
    assert answers.count(200) == provider_calls
    # at most one call each beyond the limit; the documented price is reserved, so in fact none
    assert ROOM_FOR <= provider_calls <= ROOM_FOR + 2, provider_calls
    connection = await asyncpg.connect(dsn)
    try:
        spent, reserved = await connection.fetchrow(
            "SELECT spent_usd, reserved_usd FROM budget_periods p JOIN budgets b ON b.id = p.budget_id "
            "WHERE b.org_id = $1",
            tenant.org.id,
        )
        ledger = await connection.fetchval(
            "SELECT sum(cost_usd) FROM operation_attempts WHERE org_id = $1", tenant.org.id
        )
        holds = await connection.fetchval("SELECT count(*) FROM budget_holds WHERE org_id = $1", tenant.org.id)
    finally:
        await connection.close()
    assert spent == ledger == PRICE_USD * provider_calls
    assert spent <= PRICE_USD * (ROOM_FOR + 2)
    # every call settled: nothing stays reserved
    assert reserved == 0 and holds == 0
