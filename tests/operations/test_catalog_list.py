"""/api/v1/operations/list describes each operation from its declarations (issue 13 item 5,
docs/decisions/0076-self-describing-catalog.md): the fields CONTRACT §8 promised, the strategy,
minimum inputs that are what /api/v1/execute answers, JSON schemas, the step_config keys it reads,
and each provider's documented price (its adapter's PRICES) in order, with this deployment's
provider order and HTTP settings."""

from decimal import Decimal

import httpx
import jsonschema_rs
import pytest

from app.auth.context import Role
from app.contracts.catalog import OPERATIONS
from app.providers import ADAPTERS
from app.providers.base import UNKNOWN_PRICE
from tests.conftest import own_client
from tests.factories import bearer, create_tenant
from tests.operations.test_execute import execute

# CONTRACT §8: the seed operations and their default provider orders
CONTRACT_ORDERS = {
    "person.contact.resolve_email": ["icypeas", "leadmagic", "parallel"],
    "person.contact.verify_email": ["millionverifier", "reoon"],
    "person.contact.resolve_mobile_phone": ["leadmagic", "blitzapi"],
    "person.search": ["prospeo", "blitzapi", "companyenrich"],
    "company.enrich.profile": ["prospeo", "blitzapi", "companyenrich", "leadmagic"],
    "company.search": ["prospeo", "blitzapi", "companyenrich"],
    "company.ads.search.linkedin": ["adyntel"],
    "company.ads.search.meta": ["adyntel"],
    "company.ads.search.google": ["adyntel"],
    "company.research.resolve_g2_url": ["gemini", "openai"],
    "company.research.resolve_pricing_page_url": ["gemini", "openai"],
}


@pytest.fixture
async def tenant(conn):
    return await create_tenant(conn)


async def catalog(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, dict]:
    r = await client.post("/api/v1/operations/list", json={}, headers=headers)
    assert r.status_code == 200, r.text
    return {op["operation_id"]: op for op in r.json()["data"]["items"]}


def keys(op: dict) -> list[tuple[str, bool]]:
    return [(k["key"], k["required"]) for k in op["step_config_keys"]]


class TestTheDescription:
    async def test_every_operation_with_the_fields_contract_8_promised(self, client, tenant):
        ops = await catalog(client, bearer(tenant.tokens[Role.member]))
        assert list(ops) == [op.operation_id for op in OPERATIONS]
        for operation_id, order in CONTRACT_ORDERS.items():
            assert ops[operation_id]["default_providers"] == order
        for op in ops.values():
            assert {"entity_type", "name", "description", "timeout_seconds", "max_retries"} <= set(op)

    async def test_a_search(self, client, tenant):
        op = (await catalog(client, bearer(tenant.tokens[Role.member])))["person.search"]
        assert op["strategy"] == "search"
        assert op["minimum_inputs"] == [
            "query|company_domains|company_names|job_titles|seniorities|industries|locations|employee_ranges"
        ]
        assert keys(op) == [("providers", False), ("cache", False)]
        assert [p["provider"] for p in op["providers"]] == ["prospeo", "blitzapi", "companyenrich"]
        companyenrich = op["providers"][2]
        assert companyenrich["action"] == "search"
        assert companyenrich["price"] == {
            "unit": "credits",
            "found": 2,
            "not_found": 2,
            "per_result": True,
            "reported": False,
            "source": "docs/providers.md §7.2 [SP, C5]",
        }
        # BlitzAPI documents no price that holds on every plan: unknown stays null
        assert op["providers"][1]["price"]["found"] is None and op["providers"][1]["price"]["source"] is None
        assert "limit" in op["input_schema"]["properties"] and "people" in op["output_schema"]["properties"]

    async def test_a_local_operation_has_no_provider_and_reads_no_step_config(self, client, tenant):
        ops = await catalog(client, bearer(tenant.tokens[Role.member]))
        email = ops["company.resolve.domain_from_email"]
        assert email["strategy"] == "local"
        assert (email["providers"], email["default_providers"], email["step_config_keys"]) == ([], [], [])
        assert email["minimum_inputs"] == ["work_email|email"]
        assert email["reads_stored_entity"] is False
        assert ops["person.derive.detect_changes"]["reads_stored_entity"] is True

    async def test_find_then_verify_reads_the_verify_order(self, client, tenant):
        ops = await catalog(client, bearer(tenant.tokens[Role.member]))
        op = ops["person.contact.resolve_email"]
        assert op["strategy"] == "find_then_verify"
        assert keys(op) == [("providers", False), ("verify_providers", False), ("cache", False)]
        assert op["minimum_inputs"] == ["first_name|last_name|full_name", "company_domain|company_name"]
        assert "DATA_ENGINE_ICYPEAS_MAX_WAIT_SECONDS" in op["settings_read"]
        # only find_then_verify reads a verify order
        assert all(("verify_providers", False) not in keys(other) for other in ops.values() if other is not op)

    async def test_an_operation_with_step_parameters(self, client, tenant):
        ops = await catalog(client, bearer(tenant.tokens[Role.member]))
        titles, fit = ops["company.derive.icp_job_titles"], ops["company.derive.evaluate_icp_fit"]
        assert keys(titles) == [("providers", False), ("cache", False), ("product", True)]
        assert keys(fit) == [("providers", False), ("cache", False), ("criteria", True)]
        product = titles["step_config_keys"][2]
        assert "the product" in product["description"]
        assert product["json_schema"] == {"type": "string", "minLength": 1, "maxLength": 2000}
        assert titles["step_config_keys"][1]["json_schema"] == {"type": "boolean"}  # cache
        assert [p["provider"] for p in titles["providers"]] == ["gemini", "openai", "parallel"]
        assert titles["providers"][2]["price"]["unit"] == "usd"  # Parallel bills in USD per run

    async def test_every_schema_is_a_json_schema_that_checks_its_operation_s_data(self, client, tenant):
        ops = await catalog(client, bearer(tenant.tokens[Role.member]))
        for op in ops.values():
            for schema in (op["input_schema"], op["output_schema"]):
                jsonschema_rs.meta.validate(schema)  # raises on an invalid schema
                jsonschema_rs.validator_for(schema)  # every $ref resolves
        profile = ops["company.enrich.profile"]
        assert jsonschema_rs.is_valid(profile["input_schema"], {"domain": "acme.com"})
        assert not jsonschema_rs.is_valid(profile["input_schema"], {"domain": ["acme.com"]})
        domain = ops["company.resolve.domain_from_email"]
        assert jsonschema_rs.is_valid(domain["output_schema"], {"domain": "acme.com", "domain_source": "email"})

    async def test_prices_are_the_adapters_declarations(self, client, tenant):
        ops = await catalog(client, bearer(tenant.tokens[Role.member]))
        for spec in OPERATIONS:
            listed = ops[spec.operation_id]["providers"]
            assert [p["provider"] for p in listed] == list(spec.default_providers)
            for p in listed:
                declared = getattr(ADAPTERS[p["provider"]], "PRICES", {}).get(spec.operation_id, UNKNOWN_PRICE)
                price = p["price"]
                assert [None if v is None else Decimal(str(v)) for v in (price["found"], price["not_found"])] == [
                    declared.found,
                    declared.not_found,
                ], (spec.operation_id, p["provider"])
                assert (price["per_result"], price["reported"], price["source"] or "") == (
                    declared.per_result,
                    declared.reported,
                    declared.source,
                )
                assert price["unit"] == ("usd" if p["provider"] == "parallel" else "credits")

    async def test_the_openapi_document_shows_the_shape(self, client):
        schema = (await client.get("/openapi.json")).json()["components"]["schemas"]
        fields = set(schema["OperationInfo"]["properties"])
        assert {"strategy", "minimum_inputs", "input_schema", "output_schema", "providers"} <= fields
        assert {"found", "not_found", "per_result", "reported", "source", "unit"} == set(
            schema["ProviderPrice"]["properties"]
        )


async def test_minimum_inputs_are_what_execute_answers_for_an_empty_input(client, tenant):
    """For every operation in the catalog: the list and /api/v1/execute agree."""
    headers = bearer(tenant.tokens[Role.member])
    ops = await catalog(client, headers)
    for spec in OPERATIONS:
        op = ops[spec.operation_id]
        params = {k["key"]: "B2B sales software" for k in op["step_config_keys"] if k["required"]}
        r = await execute(client, headers, spec.operation_id, op["entity_type"], {}, params or None)
        assert r.status_code == 200, (spec.operation_id, r.text)
        body = r.json()["data"]
        assert (body["status"], body["missing_inputs"]) == ("failed", op["minimum_inputs"]), spec.operation_id
        assert op["minimum_inputs"], spec.operation_id  # an empty input never suffices


async def test_the_deployment_s_order_and_http_settings_are_shown(database_dsn, conn, client, tenant):
    headers = bearer(tenant.tokens[Role.member])
    defaults = await catalog(client, headers)
    assert all(op["deployment_providers"] is None for op in defaults.values())
    prospeo = next(p for p in defaults["company.enrich.profile"]["providers"] if p["provider"] == "prospeo")
    assert (prospeo["timeout_seconds"], prospeo["max_retries"]) == (30, 2)

    async with own_client(
        database_dsn,
        conn,
        provider_order={"company.enrich.profile": ["leadmagic", "prospeo"]},
        prospeo_timeout_seconds=7.5,
        prospeo_max_retries=0,
    ) as deployed:
        ops = await catalog(deployed, headers)
    profile = ops["company.enrich.profile"]
    assert profile["deployment_providers"] == ["leadmagic", "prospeo"]
    # the catalog's own order and every provider stay listed
    assert profile["default_providers"] == defaults["company.enrich.profile"]["default_providers"]
    assert [p["provider"] for p in profile["providers"]] == profile["default_providers"]
    for op in ops.values():
        for p in op["providers"]:
            expected = (7.5, 0) if p["provider"] == "prospeo" else (p["timeout_seconds"], 2)
            assert (p["timeout_seconds"], p["max_retries"]) == expected
    assert ops["person.search"]["deployment_providers"] is None
    unchanged = {k: v for k, v in ops["company.ads.search.meta"].items()}
    assert unchanged == defaults["company.ads.search.meta"]


async def test_person_profile_s_minimum_names_every_way_it_accepts(client, tenant):
    """The minimum's text is what a caller reads: it must not hide an accepted combination."""
    headers = bearer(tenant.tokens[Role.member])
    op = (await catalog(client, headers))["person.enrich.profile"]
    assert op["minimum_inputs"] == [
        "linkedin_url|work_email|email|"
        "(first_name|last_name|full_name & company_domain|company_name|company_linkedin_url)"
    ]
    for given in (
        {"first_name": "Jane", "company_linkedin_url": "https://www.linkedin.com/company/acme"},
        {"last_name": "Doe", "company_name": "Acme"},
        {"full_name": "Jane Doe", "company_domain": "acme.com"},
    ):
        r = await execute(client, headers, "person.enrich.profile", "person", given)
        assert r.json()["data"]["missing_inputs"] == [], given
