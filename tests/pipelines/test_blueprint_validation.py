"""Blueprint steps are validated at create and update (CONTRACT §9.1), for tenants and the
super-admin alike: an unknown key or a wrong type is a 422, a provider the operation cannot use
or a step feature not built yet is a 400, each naming the field, and nothing is stored."""

import uuid

import pytest

from app.auth.context import Role
from tests.factories import bearer, create_tenant

RESOLVE = "person.contact.resolve_email"
VERIFY = "person.contact.verify_email"
ICP_TITLES = "company.derive.icp_job_titles"
ICP_FIT = "company.derive.evaluate_icp_fit"


def step(**extra):
    return {"position": 1, "operation_id": RESOLVE, **extra}


# (step, status, code, a fragment the answer must name)
REFUSED = [
    (step(step_config={"providers": "prospeo"}), 422, "validation_error", "providers"),
    (step(step_config={"provider": ["icypeas"]}), 422, "validation_error", "provider"),
    (step(step_config={"cache": "yes"}), 422, "validation_error", "cache"),
    (step(step_config={"providers": []}), 422, "validation_error", "providers"),
    (step(retries=3), 422, "validation_error", "retries"),
    (step(step_config={"providers": ["prospeo"]}), 400, "invalid_providers", "steps[0].step_config.providers"),
    (step(step_config={"providers": ["icypeas", "icypeas"]}), 400, "invalid_providers", "steps[0].step_config"),
    (
        step(step_config={"verify_providers": ["icypeas"]}),
        400,
        "invalid_providers",
        "steps[0].step_config.verify_providers",
    ),
    (
        {"position": 1, "operation_id": VERIFY, "step_config": {"verify_providers": ["reoon"]}},
        400,
        "invalid_providers",
        "steps[0].step_config.verify_providers",
    ),
    (step(condition={"field": "work_email", "op": "is"}), 400, "invalid_condition", "steps[0].condition.op"),
    (step(condition={"any": []}), 400, "invalid_condition", "steps[0].condition.any"),
    (step(skip_if_fresh={"max_age_hours": 24, "extra": 1}), 422, "validation_error", "skip_if_fresh"),
    (step(fan_out={"blueprint_id": "00000000-0000-4000-8000-000000000000"}), 400, "invalid_fan_out", "fan_out"),
    (
        {"position": 1, "operation_id": "person.search", "fan_out": {"blueprint_id": "not-a-uuid"}},
        422,
        "validation_error",
        "blueprint_id",
    ),
    (
        {"position": 1, "operation_id": "person.search", "fan_out": {"blueprint_id": str(uuid.uuid4()), "depth": 2}},
        422,
        "validation_error",
        "depth",
    ),
    (
        {
            "position": 1,
            "operation_id": "person.search",
            "fan_out": {"blueprint_id": str(uuid.uuid4()), "max_children": 0},
        },
        422,
        "validation_error",
        "max_children",
    ),
    (
        {
            "position": 1,
            "operation_id": "person.search",
            "fan_out": {"blueprint_id": str(uuid.uuid4()), "carry": ["a.b"]},
        },
        422,
        "validation_error",
        "carry",
    ),
    (
        {"position": 1, "operation_id": "person.search", "fan_out": {"blueprint_id": str(uuid.uuid4())}},
        404,
        "blueprint_not_found",
        "steps[0].fan_out.blueprint_id",
    ),
    # step parameters (docs/decisions/0067-research-operations.md)
    (
        {"position": 1, "operation_id": ICP_TITLES, "step_config": {"product": 42}},
        422,
        "validation_error",
        "product",
    ),
    (
        {"position": 1, "operation_id": ICP_FIT, "step_config": {"criteria": ["B2B"]}},
        422,
        "validation_error",
        "criteria",
    ),
    ({"position": 1, "operation_id": ICP_TITLES}, 400, "invalid_step_params", "steps[0].step_config.product"),
    (
        {"position": 1, "operation_id": ICP_TITLES, "step_config": {"product": "   "}},
        400,
        "invalid_step_params",
        "steps[0].step_config.product",
    ),
    (
        {"position": 1, "operation_id": ICP_FIT, "step_config": {"providers": ["openai"]}},
        400,
        "invalid_step_params",
        "steps[0].step_config.criteria",
    ),
    (step(step_config={"product": "Payroll"}), 400, "invalid_step_params", "steps[0].step_config.product"),
    (
        {"position": 1, "operation_id": ICP_TITLES, "step_config": {"product": "Payroll", "criteria": "B2B"}},
        400,
        "invalid_step_params",
        "steps[0].step_config.criteria",
    ),
]


def _names(answer: dict, fragment: str) -> bool:
    return fragment in str(answer["error"])


@pytest.fixture
async def tenant(conn):
    return await create_tenant(conn)


async def _count(conn, org_id):
    return await conn.fetchval("SELECT count(*) FROM blueprints WHERE org_id = $1", org_id)


@pytest.mark.parametrize(("bad", "status", "code", "field"), REFUSED)
async def test_a_bad_step_is_refused_at_create_and_nothing_is_stored(
    client, conn, settings, tenant, bad, status, code, field
):
    before = await _count(conn, tenant.org.id)
    for path, body, headers in (
        ("/api/blueprints/create", {"name": "bp", "steps": [bad]}, tenant.headers(Role.org_admin)),
        (
            "/api/super-admin/blueprints/create",
            {"org_id": str(tenant.org.id), "name": "bp", "steps": [bad]},
            bearer(settings.secret("super_admin_api_key")),
        ),
    ):
        r = await client.post(path, json=body, headers=headers)
        assert r.status_code == status, (path, r.text)
        assert r.json()["error"]["code"] == code and _names(r.json(), field), r.text
    assert await _count(conn, tenant.org.id) == before


@pytest.mark.parametrize(("bad", "status", "code", "field"), REFUSED)
async def test_a_bad_step_is_refused_at_update_and_nothing_changes(
    client, conn, settings, tenant, bad, status, code, field
):
    blueprint = tenant.blueprint
    stored = await conn.fetch(
        "SELECT position, operation_id, step_config FROM blueprint_steps WHERE blueprint_id = $1 ORDER BY position",
        blueprint.id,
    )
    version = await conn.fetchval("SELECT version FROM blueprints WHERE id = $1", blueprint.id)
    for path, headers in (
        ("/api/blueprints/update", tenant.headers(Role.org_admin)),
        ("/api/super-admin/blueprints/update", bearer(settings.secret("super_admin_api_key"))),
    ):
        r = await client.post(path, json={"blueprint_id": str(blueprint.id), "steps": [bad]}, headers=headers)
        assert r.status_code == status, (path, r.text)
        assert r.json()["error"]["code"] == code and _names(r.json(), field), r.text
    after = await conn.fetch(
        "SELECT position, operation_id, step_config FROM blueprint_steps WHERE blueprint_id = $1 ORDER BY position",
        blueprint.id,
    )
    assert after == stored
    assert await conn.fetchval("SELECT version FROM blueprints WHERE id = $1", blueprint.id) == version


async def test_a_typed_step_config_is_stored_as_given(client, conn, tenant):
    config = {"providers": ["leadmagic", "icypeas"], "verify_providers": ["reoon"], "cache": True}
    r = await client.post(
        "/api/blueprints/create",
        json={"name": "bp", "steps": [step(step_config=config, is_enabled=True)]},
        headers=tenant.headers(Role.org_admin),
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["steps"][0]["step_config"] == config
    r = await client.post(
        "/api/blueprints/create",
        json={"name": "bp", "steps": [step(condition=None, step_config=None)]},
        headers=tenant.headers(Role.org_admin),
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["steps"][0]["step_config"] == {}


async def test_a_blueprint_gives_each_icp_step_its_product_or_criteria(client, conn, tenant):
    steps = [
        {"position": 1, "operation_id": ICP_TITLES, "step_config": {"product": "A payroll platform"}},
        {
            "position": 2,
            "operation_id": ICP_FIT,
            "step_config": {"criteria": "B2B software, 50-500 people", "providers": ["openai", "gemini"]},
        },
    ]
    r = await client.post(
        "/api/blueprints/create", json={"name": "icp", "steps": steps}, headers=tenant.headers(Role.org_admin)
    )
    assert r.status_code == 200, r.text
    stored = r.json()["data"]["steps"]
    assert stored[0]["step_config"] == {"product": "A payroll platform"}
    assert stored[1]["step_config"] == {"criteria": "B2B software, 50-500 people", "providers": ["openai", "gemini"]}
