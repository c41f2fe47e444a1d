"""The ICP steps with their step parameters (docs/decisions/0067-research-operations.md): a
blueprint's `step_config.product` / `criteria` reach the provider as data, /api/v1/execute takes
them as `options`, each operation refuses a missing or a foreign one, and they key the result
cache. Provider HTTP (OpenAI) is mocked by respx."""

import json
import uuid

import httpx
import pytest
import respx

from app.auth.context import Role
from tests.factories import create_tenant
from tests.pipelines.test_worker_callbacks import drive, internal
from tests.providers.conftest import base_url

OPENAI = base_url("openai") + "/v1/responses"
TITLES = "company.derive.icp_job_titles"
FIT = "company.derive.evaluate_icp_fit"
PRODUCT = "A payroll platform for mid-size companies"
CRITERIA = "B2B software companies of 50 to 500 people"


def openai_answer(answer: dict) -> httpx.Response:
    message = {
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": json.dumps(answer), "annotations": []}],
    }
    return httpx.Response(200, json={"id": "resp_1", "status": "completed", "output": [message], "error": None})


def answer_for(request: httpx.Request) -> httpx.Response:
    """Titles for the titles task, a score for the fit task (told apart by the schema's name)."""
    body = json.loads(request.content)
    if body["text"]["format"]["name"] == "icp_job_titles":
        return openai_answer({"job_titles": ["VP of People", "Head of Payroll"]})
    return openai_answer({"score": 81, "reasons": ["Software company.", "About 120 people."]})


def data_block(request: httpx.Request) -> dict:
    prompt = json.loads(request.content)["input"]
    return json.loads(prompt.split("<data>\n", 1)[1].split("\n</data>", 1)[0])


@pytest.fixture
async def tenant(conn):
    return await create_tenant(conn)


@respx.mock
async def test_a_blueprint_runs_icp_titles_then_fit_with_its_product_and_criteria(pclient, conn, settings, tenant):
    route = respx.post(OPENAI).mock(side_effect=answer_for)
    steps = [
        {"position": 1, "operation_id": TITLES, "step_config": {"product": PRODUCT, "providers": ["openai"]}},
        {"position": 2, "operation_id": FIT, "step_config": {"criteria": CRITERIA, "providers": ["openai"]}},
    ]
    admin = tenant.headers(Role.org_admin)
    created = await pclient.post("/api/blueprints/create", json={"name": "icp", "steps": steps}, headers=admin)
    assert created.status_code == 200, created.text
    r = await pclient.post(
        "/api/v1/batch/submit",
        json={
            "blueprint_id": created.json()["data"]["id"],
            "company_id": str(tenant.company_a.id),
            "entities": [{"entity_type": "company", "input": {"domain": "acme.com", "employee_count": 120}}],
        },
        headers=admin,
    )
    assert r.status_code == 200, r.text
    run_id = r.json()["data"]["pipeline_run_ids"][0]

    done = await drive(pclient, internal(settings, tenant), run_id)
    assert done["status"] == "succeeded", done

    titles_request, fit_request = (call.request for call in route.calls)
    assert data_block(titles_request) == {"company": {"domain": "acme.com", "employee_count": 120}, "product": PRODUCT}
    assert data_block(fit_request)["criteria"] == CRITERIA and "product" not in data_block(fit_request)
    context = await conn.fetchval("SELECT final_context FROM pipeline_runs WHERE id = $1", uuid.UUID(run_id))
    assert context["icp_job_titles"] == ["VP of People", "Head of Payroll"]
    assert context["icp_fit_score"] == 81 and len(context["icp_fit_reasons"]) == 2


async def execute(client, tenant, operation_id, options, domain="acme.com"):
    return await client.post(
        "/api/v1/execute",
        json={
            "operation_id": operation_id,
            "entity_type": "company",
            "input": {"domain": domain},
            "options": {"providers": ["openai"], **options},
        },
        headers=tenant.headers(Role.member),
    )


@pytest.mark.parametrize(
    ("operation_id", "options", "status", "code", "field"),
    [
        (TITLES, {}, 400, "invalid_step_params", "options.product"),
        (TITLES, {"product": " \t"}, 400, "invalid_step_params", "options.product"),
        (FIT, {"product": PRODUCT}, 400, "invalid_step_params", "options.product"),
        ("company.research.resolve_g2_url", {"criteria": CRITERIA}, 400, "invalid_step_params", "options.criteria"),
        (TITLES, {"product": 7}, 422, "validation_error", "product"),
        (FIT, {"criteria": "x" * 4001}, 422, "validation_error", "criteria"),
    ],
)
@respx.mock
async def test_execute_refuses_a_missing_or_foreign_step_parameter_before_any_provider(
    pclient, tenant, operation_id, options, status, code, field
):
    route = respx.post(OPENAI).mock(side_effect=answer_for)
    r = await execute(pclient, tenant, operation_id, options)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code and field in r.text
    assert route.call_count == 0


@respx.mock
async def test_the_product_is_part_of_the_cache_key(pclient, tenant):
    route = respx.post(OPENAI).mock(side_effect=answer_for)
    first = await execute(pclient, tenant, TITLES, {"product": PRODUCT})
    again = await execute(pclient, tenant, TITLES, {"product": PRODUCT.upper()})
    other = await execute(pclient, tenant, TITLES, {"product": "An observability platform"})
    assert first.json()["data"]["cached"] is False
    # the same words (case and spacing aside) are the same lookup; another product is not
    assert again.json()["data"]["cached"] is True
    assert other.json()["data"]["cached"] is False
    assert route.call_count == 2
