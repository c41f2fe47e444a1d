"""The cost ledger, the usage summary and budgets (CONTRACT §9.4, docs/costs.md) through the real
app: what each attempt cost (reported by the provider, documented, or unknown), the summary's
groupings and scoping, and budgets refusing provider calls (execute 402, pipeline steps)."""

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
import respx
from fastapi import FastAPI

from app.auth.context import Role
from app.db import get_conn, get_db
from app.main import create_app
from app.providers import companyenrich
from app.providers.base import ActionResult, AttemptStatus
from tests.conftest import SavepointDb, make_settings, provider_settings
from tests.factories import create_blueprint, create_tenant
from tests.operations.test_execute import ICY_READ, ICY_START, LEADMAGIC_EMAIL, MV, REOON, icypeas_found, mv, reoon
from tests.pipelines.test_worker_callbacks import PROSPEO, drive, internal, prospeo_company, submit
from tests.providers.conftest import base_url

LEADMAGIC_PHONE = base_url("leadmagic") + "/v1/people/mobile-finder"
BLITZ_PHONE = base_url("blitzapi") + "/v2/enrichment/phone"

# USD per credit for the providers these tests price; Icypeas and Reoon stay unset
RATES = {
    "leadmagic_usd_per_credit": "0.05",
    "millionverifier_usd_per_credit": "0.004",
    "prospeo_usd_per_credit": "0.02",
    "blitzapi_usd_per_credit": "0.01",
}


@pytest.fixture(scope="module")
async def cost_app(database_dsn) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(database_dsn, **provider_settings(**RATES)))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(cost_app, conn) -> AsyncIterator[httpx.AsyncClient]:
    async def override_conn():
        async with conn.transaction():
            yield conn

    cost_app.dependency_overrides[get_conn] = override_conn
    cost_app.dependency_overrides[get_db] = lambda: SavepointDb(conn)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=cost_app), base_url="http://testserver") as c:
            yield c
    finally:
        cost_app.dependency_overrides.clear()


@pytest.fixture
async def tenant(conn):
    return await create_tenant(conn)


async def execute(client, headers, operation_id, entity_type, data, options=None):
    body = {"operation_id": operation_id, "entity_type": entity_type, "input": data}
    if options is not None:
        body["options"] = options
    return await client.post("/api/v1/execute", json=body, headers=headers)


def costs(data):
    return [(a["provider"], a["cost_credits"], a["cost_usd"]) for a in data["provider_attempts"]]


def leadmagic_email(credits: int):
    return httpx.Response(
        200,
        json={
            "email": "jane@acme.com",
            "status": "valid",
            "credits_consumed": credits,
            "message": "Valid email found.",
        },
    )


PERSON = {"first_name": "Jane", "last_name": "Doe", "company_domain": "acme.com"}


class TestLedger:
    @respx.mock
    async def test_the_cost_leadmagic_reports_wins_over_its_documented_price(self, client, tenant, conn):
        # documented: 1 credit per email found; this answer says it consumed 3
        respx.post(LEADMAGIC_EMAIL).mock(return_value=leadmagic_email(3))
        respx.get(MV).mock(return_value=mv("ok"))
        r = await execute(
            client,
            tenant.headers(Role.member),
            "person.contact.resolve_email",
            "person",
            PERSON,
            {"providers": ["leadmagic"], "verify_providers": ["millionverifier"]},
        )
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        # MillionVerifier: documented 1 credit for an `ok` verdict
        assert costs(data) == [("leadmagic", 3, 0.15), ("millionverifier", 1, 0.004)]
        # the operation-run read shows the same figures, stored exactly
        run = await client.post(
            "/api/operation-runs/get", json={"run_id": data["run_id"]}, headers=tenant.headers(Role.member)
        )
        assert costs(run.json()["data"]) == costs(data)
        stored = await conn.fetch(
            "SELECT cost_credits, cost_usd FROM operation_attempts WHERE run_id = $1 ORDER BY position",
            uuid.UUID(data["run_id"]),
        )
        assert [(s["cost_credits"], s["cost_usd"]) for s in stored] == [
            (Decimal(3), Decimal("0.15")),
            (Decimal(1), Decimal("0.004")),
        ]

    @respx.mock
    async def test_a_leadmagic_not_found_reports_no_charge(self, client, tenant):
        respx.post(LEADMAGIC_PHONE).mock(
            return_value=httpx.Response(
                200, json={"mobile_number": None, "credits_consumed": 0, "message": "No mobile number found."}
            )
        )
        r = await execute(
            client,
            tenant.headers(Role.member),
            "person.contact.resolve_mobile_phone",
            "person",
            {"linkedin_url": "https://www.linkedin.com/in/jane"},
            {"providers": ["leadmagic"]},
        )
        assert costs(r.json()["data"]) == [("leadmagic", 0, 0)]

    @respx.mock
    async def test_documented_prices_and_unset_rates(self, client, tenant):
        # Icypeas: 1 credit when an email is found (documented), no USD rate configured → usd null;
        # MillionVerifier catch_all is documented free; Reoon's price is undocumented → null
        respx.post(ICY_START).mock(return_value=httpx.Response(200, json={"success": True, "item": {"_id": "s1"}}))
        respx.post(ICY_READ).mock(side_effect=icypeas_found("jane@acme.com"))
        respx.get(MV).mock(return_value=mv("catch_all"))
        respx.get(REOON).mock(return_value=reoon("safe"))
        r = await execute(
            client,
            tenant.headers(Role.member),
            "person.contact.resolve_email",
            "person",
            PERSON,
            {"providers": ["icypeas"], "verify_providers": ["millionverifier", "reoon"]},
        )
        assert r.status_code == 200, r.text
        assert costs(r.json()["data"]) == [("icypeas", 1, None), ("millionverifier", 0, 0), ("reoon", None, None)]

    @respx.mock
    async def test_unknown_prices_failures_and_skips(self, client, tenant):
        # Blitz's price depends on the plan: unknown even with a USD rate set; a failed call's
        # charge is documented by no provider: unknown; a skipped attempt called nobody: 0
        respx.post(BLITZ_PHONE).mock(return_value=httpx.Response(200, json={"found": True, "phone": "+12025550123"}))
        respx.post(LEADMAGIC_PHONE).mock(return_value=httpx.Response(500))
        r = await execute(
            client,
            tenant.headers(Role.member),
            "person.contact.resolve_mobile_phone",
            "person",
            {"linkedin_url": "https://www.linkedin.com/in/jane"},
        )
        assert costs(r.json()["data"]) == [("leadmagic", None, None), ("blitzapi", None, None)]
        r = await execute(
            client,
            tenant.headers(Role.member),
            "person.contact.resolve_mobile_phone",
            "person",
            {"work_email": "jane@acme.com"},
            {"providers": ["blitzapi"]},
        )
        data = r.json()["data"]
        assert data["provider_attempts"][0]["status"] == "skipped" and costs(data) == [("blitzapi", 0, 0)]

    @respx.mock
    async def test_a_prospeo_repeat_enrichment_is_free(self, client, tenant):
        first = prospeo_company("acme.com")
        repeat = httpx.Response(200, json={**first.json(), "free_enrichment": True})
        respx.post(PROSPEO).mock(side_effect=[first, repeat])
        answers = []
        for _ in range(2):
            r = await execute(
                client,
                tenant.headers(Role.member),
                "company.enrich.profile",
                "company",
                {"domain": "acme.com"},
                {"providers": ["prospeo"], "cache": False},
            )
            answers.append(costs(r.json()["data"]))
        assert answers == [[("prospeo", 1, 0.02)], [("prospeo", 0, 0)]]


def test_per_result_prices_charge_each_result_with_the_documented_minimum():
    price = companyenrich.PRICES["person.search"]
    people = {"people": [{"full_name": "A"}, {"full_name": "B"}, {"full_name": "C"}], "next_cursors": {}}
    assert price.credits(ActionResult(status=AttemptStatus.found, output=people)) == 6
    assert price.credits(ActionResult(status=AttemptStatus.not_found)) == 2
    assert companyenrich.PRICES["company.search"].credits(ActionResult(status=AttemptStatus.not_found)) == 1
    # what a budget reserves: the most the requested page may cost
    assert price.estimate(type("Search", (), {"limit": 10})()) == 20


async def set_budget(client, tenant, limit, company=None):
    body = {"limit_usd": limit, "period": "month"}
    if company is not None:
        body["company_id"] = str(company.id)
    r = await client.post("/api/budgets/set", json=body, headers=tenant.headers(Role.org_admin))
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def enrich(client, headers, domain):
    return await execute(client, headers, "company.enrich.profile", "company", {"domain": domain})


class TestUsageSummary:
    @respx.mock
    async def test_each_grouping_and_each_role_scope(self, client, conn, tenant):
        respx.post(PROSPEO).mock(side_effect=lambda request: prospeo_company("x.com"))
        other = await create_tenant(conn)
        # company A: two fresh calls and one cached answer; org-wide: one call; another org: one call
        for domain in ("a.com", "b.com", "a.com"):
            assert (await enrich(client, tenant.headers(Role.member), domain)).status_code == 200
        assert (await enrich(client, tenant.headers(Role.org_admin), "c.com")).status_code == 200
        assert (await enrich(client, other.headers(Role.org_admin), "d.com")).status_code == 200

        async def summary(role, group_by, **extra):
            r = await client.post(
                "/api/usage/summary", json={"group_by": group_by, **extra}, headers=tenant.headers(role)
            )
            assert r.status_code == 200, r.text
            return r.json()["data"]

        by_provider = await summary(Role.org_admin, "provider")
        assert by_provider["items"] == [
            {
                "key": "cache",
                "calls": 1,
                "billable_calls": 0,
                "cached_calls": 1,
                "unpriced_calls": 0,
                "credits": 0,
                "usd": 0,
            },
            {
                "key": "prospeo",
                "calls": 3,
                "billable_calls": 3,
                "cached_calls": 0,
                "unpriced_calls": 0,
                "credits": 3,
                "usd": 0.06,
            },
        ]
        assert by_provider["totals"] == {
            "calls": 4,
            "billable_calls": 3,
            "cached_calls": 1,
            "unpriced_calls": 0,
            "credits": 3,
            "usd": 0.06,
        }
        by_company = await summary(Role.org_admin, "company")
        assert [(i["key"], i["calls"], i["usd"]) for i in by_company["items"]] == [
            (None, 1, 0.02),
            (str(tenant.company_a.id), 3, 0.04),
        ]
        by_operation = await summary(Role.org_admin, "operation")
        assert [(i["key"], i["calls"]) for i in by_operation["items"]] == [("company.enrich.profile", 4)]
        today = await conn.fetchval("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
        by_day = await summary(Role.org_admin, "day")
        assert [(i["key"], i["calls"]) for i in by_day["items"]] == [(today, 4)]
        # company-scoped callers see their company only: no org-wide call, no other org
        for role in (Role.company_admin, Role.member):
            scoped = await summary(role, "company")
            assert [(i["key"], i["calls"]) for i in scoped["items"]] == [(str(tenant.company_a.id), 3)]
        # a window that ends before today holds nothing
        assert (await summary(Role.org_admin, "provider", to="2000-01-01"))["items"] == []
        assert (await summary(Role.org_admin, "day", **{"from": today, "to": today}))["totals"]["calls"] == 4

    @pytest.mark.parametrize(
        "dates",
        [
            {"from": "yesterday"},
            {"to": "2026-02-30"},
            {"from": "2026-01-01T00:00:00"},
            {"from": "9999-12-31T23:59:59-05:00"},
            {"from": "2026-02-01", "to": "2026-01-01"},
            {"from": 5},
        ],
    )
    async def test_bad_dates_are_400(self, client, tenant, dates):
        r = await client.post(
            "/api/usage/summary", json={"group_by": "day", **dates}, headers=tenant.headers(Role.org_admin)
        )
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "invalid_date"


class TestBudgets:
    async def test_set_and_get_per_scope(self, client, conn, tenant):
        r = await client.post("/api/budgets/get", json={}, headers=tenant.headers(Role.org_admin))
        assert r.json()["data"]["limit_usd"] is None and r.json()["data"]["remaining_usd"] is None
        budget = await set_budget(client, tenant, "12.5", tenant.company_a)
        assert budget["limit_usd"] == 12.5 and budget["company_id"] == str(tenant.company_a.id)
        assert budget["spent_usd"] == 0 and budget["remaining_usd"] == 12.5
        assert (await set_budget(client, tenant, 20, tenant.company_a))["id"] == budget["id"]
        assert await conn.fetchval("SELECT count(*) FROM budgets WHERE org_id = $1", tenant.org.id) == 1
        other = await create_tenant(conn)
        for path, body in [
            ("/api/budgets/set", {"limit_usd": 1, "company_id": str(other.company_a.id)}),
            ("/api/budgets/get", {"company_id": str(other.company_a.id)}),
        ]:
            r = await client.post(path, json=body, headers=tenant.headers(Role.org_admin))
            assert r.status_code == 404 and r.json()["error"]["code"] == "company_not_found", r.text
        for bad in ({"limit_usd": -1}, {"limit_usd": 1, "period": "week"}):
            r = await client.post("/api/budgets/set", json=bad, headers=tenant.headers(Role.org_admin))
            assert r.status_code == 422, r.text

    @respx.mock
    async def test_execute_answers_402_once_the_company_budget_is_spent(self, client, conn, tenant):
        prospeo = respx.post(PROSPEO).mock(side_effect=lambda request: prospeo_company("x.com"))
        # room for exactly one Prospeo enrichment (1 credit × $0.02)
        await set_budget(client, tenant, "0.02", tenant.company_a)
        member = tenant.headers(Role.member)
        assert (await enrich(client, member, "a.com")).status_code == 200
        for _ in range(2):
            # refused, recorded, and never cached: the second refusal calls the gate again
            r = await enrich(client, member, "b.com")
            assert r.status_code == 402, r.text
            error = r.json()["error"]
            assert error["code"] == "budget_exhausted"
            run = await client.post("/api/operation-runs/get", json=error["details"], headers=member)
            attempts = run.json()["data"]["provider_attempts"]
            assert run.json()["data"]["status"] == "failed"
            assert {(a["status"], a["skip_reason"]) for a in attempts} == {("skipped", "budget_exhausted")}
        assert prospeo.call_count == 1
        budget = await client.post(
            "/api/budgets/get", json={"company_id": str(tenant.company_a.id)}, headers=tenant.headers(Role.org_admin)
        )
        assert budget.json()["data"]["spent_usd"] == 0.02 and budget.json()["data"]["remaining_usd"] == 0
        # the org-wide caller is outside the company's budget (the org has none)
        assert (await enrich(client, tenant.headers(Role.org_admin), "b.com")).status_code == 200
        # an org budget covers every caller of the org once it is spent
        await set_budget(client, tenant, "0.02")
        assert (await enrich(client, tenant.headers(Role.org_admin), "c.com")).status_code == 402
        # raising the limit lets calls go ahead at once
        await set_budget(client, tenant, "1", tenant.company_a)
        await set_budget(client, tenant, "1")
        assert (await enrich(client, member, "d.com")).status_code == 200
        assert prospeo.call_count == 3

    @respx.mock
    async def test_a_budget_set_mid_month_counts_the_months_earlier_spend(self, client, tenant):
        respx.post(PROSPEO).mock(side_effect=lambda request: prospeo_company("x.com"))
        assert (await enrich(client, tenant.headers(Role.member), "a.com")).status_code == 200
        await set_budget(client, tenant, "0.03", tenant.company_a)
        # $0.02 already spent: the next call's documented $0.02 no longer fits under $0.03
        assert (await enrich(client, tenant.headers(Role.member), "b.com")).status_code == 402

    @respx.mock
    async def test_a_pipeline_step_fails_with_budget_exhausted_and_retry_resumes_it(
        self, client, conn, tenant, cost_app
    ):
        respx.post(PROSPEO).mock(side_effect=lambda request: prospeo_company("x.com"))
        blueprint = await create_blueprint(conn, tenant.org.id, ("company.enrich.profile",))
        await set_budget(client, tenant, "0.02", tenant.company_a)
        headers = internal(cost_app.state.settings, tenant)
        runs = (await submit(client, tenant, blueprint, ["a.com", "b.com"]))["pipeline_run_ids"]
        assert (await drive(client, headers, runs[0]))["status"] == "succeeded"
        failed = await drive(client, headers, runs[1])
        assert failed["status"] == "failed" and failed["error_message"] == "budget_exhausted", failed
        run = await conn.fetchrow("SELECT status, error_message FROM pipeline_runs WHERE id = $1", uuid.UUID(runs[1]))
        assert run["status"] == "failed" and "budget_exhausted" in run["error_message"]
        # after the limit is raised, the run is retried and goes through
        await set_budget(client, tenant, "1", tenant.company_a)
        await conn.execute("DELETE FROM graphile_worker._private_jobs WHERE key = $1", runs[1])
        r = await client.post(
            "/api/pipeline-runs/retry", json={"pipeline_run_id": runs[1]}, headers=tenant.headers(Role.org_admin)
        )
        assert r.status_code == 200, r.text
        assert (await drive(client, headers, runs[1]))["status"] == "succeeded"


def test_every_adapter_declares_the_price_of_each_action_in_one_place():
    from app.operations.registry import REGISTRY
    from app.providers import ADAPTERS

    for name, module in ADAPTERS.items():
        assert set(module.PRICES) == set(module.ACTIONS), name
    for operation in REGISTRY.values():
        for provider, action in operation.actions.items():
            assert action.price is ADAPTERS[provider].PRICES[operation.operation_id]
