"""Every v1 operation end to end: the real app, real HTTP to the provider sandbox (a separate
process speaking each provider's documented wire format), history written and readable."""

import httpx
import pytest

from app.auth.context import Role
from app.db import get_conn, get_db
from app.main import create_app
from app.operations.registry import REGISTRY
from tests.conftest import SavepointDb, make_settings
from tests.factories import create_tenant
from tests.sandbox_server import sandbox_provider_env, start_sandbox


@pytest.fixture(scope="session")
def sandbox():
    with start_sandbox(
        icypeas_delay_ms=50, parallel_delay_ms=50, overrides={"reoon": {"reoon_power_latency_ms": 0}}
    ) as running:
        yield running


@pytest.fixture(scope="session")
async def sandbox_app(database_dsn, sandbox):
    values = {k.removeprefix("DATA_ENGINE_").lower(): v for k, v in sandbox_provider_env(sandbox.base_url).items()}
    values.update(icypeas_poll_interval_seconds=0.05, icypeas_read_interval_seconds=0.0)
    application = create_app(make_settings(database_dsn, **values))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def sclient(sandbox_app, conn):
    async def override_conn():
        async with conn.transaction():
            yield conn

    sandbox_app.dependency_overrides[get_conn] = override_conn
    sandbox_app.dependency_overrides[get_db] = lambda: SavepointDb(conn)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app), base_url="http://t") as c:
            yield c
    finally:
        sandbox_app.dependency_overrides.clear()


CASES = [
    (
        "person.contact.resolve_email",
        "person",
        {"first_name": "Jane", "last_name": "Doe", "company_domain": "found-acme.com"},
        {"verified"},
        lambda o: o["work_email"].endswith("@found-acme.com") and o["email_verdict"] == "deliverable",
    ),
    (
        "person.contact.verify_email",
        "person",
        {"work_email": "jane.doe@acme.com"},
        {"verified"},
        lambda o: o["email_verdict"] == "deliverable" and o["email_verified_by"] == "millionverifier",
    ),
    (
        "person.contact.resolve_mobile_phone",
        "person",
        {"linkedin_url": "https://www.linkedin.com/in/found-jane-doe"},
        {"found"},
        lambda o: o["mobile_phone"].startswith("+"),
    ),
    (
        "person.search",
        "person",
        {"company_domains": ["found-acme.com"], "job_titles": ["CEO"], "limit": 5},
        {"found"},
        lambda o: 0 < len(o["people"]) <= 5,
    ),
    (
        "company.enrich.profile",
        "company",
        {"domain": "found-acme.com"},
        {"found"},
        lambda o: o["domain"] == "found-acme.com" and o["name"],
    ),
    (
        "company.search",
        "company",
        {"industries": ["software"], "limit": 10},
        {"found"},
        lambda o: 0 < len(o["companies"]) <= 10,
    ),
    (
        "company.ads.search.linkedin",
        "company",
        {"domain": "found-acme.com"},
        {"found"},
        lambda o: len(o["linkedin_ads"]["ads"]) > 0,
    ),
    (
        "company.ads.search.meta",
        "company",
        {"domain": "found-acme.com"},
        {"found"},
        lambda o: len(o["meta_ads"]["ads"]) > 0,
    ),
    (
        "company.ads.search.google",
        "company",
        {"domain": "found-acme.com"},
        {"found"},
        lambda o: len(o["google_ads"]["ads"]) > 0,
    ),
    (
        "company.research.resolve_g2_url",
        "company",
        {"domain": "found-acme.com", "name": "Acme"},
        {"found"},
        lambda o: o["g2_url"].startswith("https://www.g2.com/products/"),
    ),
    (
        "company.research.resolve_pricing_page_url",
        "company",
        {"domain": "found-acme.com"},
        {"found"},
        lambda o: o["pricing_page_url"].startswith("https://found-acme.com/"),
    ),
    # catalog growth, part 1 (issue 13)
    (
        "company.resolve.domain_from_name",
        "company",
        {"name": "Found Acme"},
        {"found"},
        lambda o: o == {"domain": "foundacme.com", "domain_source": "prospeo"},
    ),
    (
        "company.resolve.domain_from_email",
        "company",
        {"email": "jane.doe@found-acme.com"},
        {"found"},
        lambda o: o == {"domain": "found-acme.com", "domain_source": "email"},
    ),
    (
        "company.resolve.domain_from_linkedin",
        "company",
        {"linkedin_url": "https://www.linkedin.com/company/found-acme"},
        {"found"},
        lambda o: o["domain"] == "found-acme.com" and o["domain_source"] == "blitzapi",
    ),
    (
        "company.resolve.linkedin_from_domain",
        "company",
        {"domain": "found-acme.com"},
        {"found"},
        lambda o: o["linkedin_url"] == "https://www.linkedin.com/company/found-acme",
    ),
    (
        "person.resolve.linkedin_from_email",
        "person",
        {"work_email": "found.jane@found-acme.com"},
        {"found"},
        lambda o: o["linkedin_url"].startswith("https://www.linkedin.com/in/found-jane"),
    ),
    (
        "person.enrich.profile",
        "person",
        {"linkedin_url": "https://www.linkedin.com/in/found-jane-doe"},
        {"found"},
        lambda o: o["title"] and o["company_domain"] and o["profile_source"] == "prospeo",
    ),
    (
        "person.derive.detect_changes",
        "person",
        {"linkedin_url": "https://www.linkedin.com/in/found-jane-doe", "title": "CEO"},
        {"found"},
        lambda o: o == {"changed": [], "compared_to_version": None, "job_changed": False},
    ),
    (
        "company.derive.detect_changes",
        "company",
        {"domain": "found-acme.com", "name": "Acme"},
        {"found"},
        lambda o: o == {"changed": [], "compared_to_version": None},
    ),
    # research, derivation and technographics (issue 13 items 2b and 3)
    (
        "company.research.discover_competitors",
        "company",
        {"domain": "found-acme.com", "name": "Acme"},
        {"found"},
        lambda o: len(o["competitors"]) == 3 and all(c["name"] and c["domain"] for c in o["competitors"]),
    ),
    (
        "company.research.lookup_customers",
        "company",
        {"domain": "found-acme.com"},
        {"found"},
        lambda o: (
            o["customers"] and all(c["evidence_url"].startswith("https://found-acme.com/") for c in o["customers"])
        ),
    ),
    (
        "company.derive.icp_job_titles",
        "company",
        {"domain": "found-acme.com", "industry": "Software"},
        {"found"},
        lambda o: len(o["icp_job_titles"]) == 4,
    ),
    (
        "company.derive.evaluate_icp_fit",
        "company",
        {"domain": "found-acme.com", "employee_count": 120},
        {"found"},
        lambda o: 0 <= o["icp_fit_score"] <= 100 and o["icp_fit_reasons"],
    ),
    (
        "company.derive.intel_briefing",
        "company",
        {"domain": "found-acme.com"},
        {"found"},
        lambda o: o["intel_briefing"]["summary"] and len(o["intel_briefing"]["recent_news"]) == 2,
    ),
    (
        "company.enrich.technographics",
        "company",
        {"domain": "found-acme.com"},
        {"found"},
        lambda o: o["technologies"] and o["technologies_source"] == "companyenrich",
    ),
]
# the step parameters an operation needs (OperationSpec.params), sent as `options`
OPTIONS = {
    "company.derive.icp_job_titles": {"product": "A payroll platform for mid-size companies"},
    "company.derive.evaluate_icp_fit": {"criteria": "B2B software companies of 50 to 500 people in North America"},
}


def test_every_catalog_operation_has_a_sandbox_case():
    from app.contracts.catalog import OPERATIONS

    assert {c[0] for c in CASES} == {op.operation_id for op in OPERATIONS}


@pytest.mark.parametrize(("operation_id", "entity_type", "data", "statuses", "check"), CASES, ids=[c[0] for c in CASES])
async def test_the_operation_runs_end_to_end_against_the_sandbox(
    sclient, conn, operation_id, entity_type, data, statuses, check
):
    tenant = await create_tenant(conn)
    headers = tenant.headers(Role.member)
    r = await sclient.post(
        "/api/v1/execute",
        json={"operation_id": operation_id, "entity_type": entity_type, "input": data}
        | ({"options": OPTIONS[operation_id]} if operation_id in OPTIONS else {}),
        headers=headers,
    )
    assert r.status_code == 200, r.text
    result = r.json()["data"]
    assert result["status"] in statuses, result
    assert check(result["output"]), result["output"]
    assert any(a["status"] in ("found", "verified") for a in result["provider_attempts"])
    # a local operation's attempt is our own function's, never a provider's
    local = not REGISTRY[operation_id].spec.default_providers
    assert all((a["provider"] == "local") is local for a in result["provider_attempts"])
    got = await sclient.post("/api/operation-runs/get", json={"run_id": result["run_id"]}, headers=headers)
    run = got.json()["data"]
    assert run["status"] == result["status"] and run["output"] == result["output"]
    assert len(run["provider_attempts"]) == len(result["provider_attempts"])
    assert "sandbox-key" not in got.text


async def test_not_found_inputs_walk_the_whole_waterfall(sclient, conn):
    tenant = await create_tenant(conn)
    r = await sclient.post(
        "/api/v1/execute",
        json={
            "operation_id": "company.enrich.profile",
            "entity_type": "company",
            "input": {"domain": "notfound-acme.com"},
        },
        headers=tenant.headers(Role.member),
    )
    result = r.json()["data"]
    assert result["status"] == "not_found"
    assert [a["provider"] for a in result["provider_attempts"]] == ["prospeo", "blitzapi", "companyenrich", "leadmagic"]


@pytest.mark.parametrize("provider", ["gemini", "openai", "parallel"])
@pytest.mark.parametrize("operation_id", sorted(OPTIONS) + ["company.research.discover_competitors"])
async def test_each_structured_provider_answers_against_the_sandbox(sclient, conn, provider, operation_id):
    """Each provider of the research and derivation operations, alone, on its sandbox wire format."""
    tenant = await create_tenant(conn)
    r = await sclient.post(
        "/api/v1/execute",
        json={
            "operation_id": operation_id,
            "entity_type": "company",
            "input": {"domain": "found-acme.com"},
            "options": {"providers": [provider], **OPTIONS.get(operation_id, {})},
        },
        headers=tenant.headers(Role.member),
    )
    result = r.json()["data"]
    assert result["status"] == "found", result
    assert [a["provider"] for a in result["provider_attempts"]] == [provider]


async def test_an_unknown_company_is_not_found_by_every_structured_provider(sclient, conn):
    tenant = await create_tenant(conn)
    r = await sclient.post(
        "/api/v1/execute",
        json={
            "operation_id": "company.research.discover_competitors",
            "entity_type": "company",
            "input": {"domain": "notfound-acme.com"},
        },
        headers=tenant.headers(Role.member),
    )
    result = r.json()["data"]
    assert result["status"] == "not_found"
    attempts = result["provider_attempts"]
    assert [(a["provider"], a["provider_status"]) for a in attempts] == [
        ("gemini", "no_answer"),
        ("openai", "no_answer"),
        ("parallel", "no_answer"),
    ]
