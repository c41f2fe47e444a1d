"""A provider's Retry-After longer than a step may hold a worker slot (issue 9 item 14): the step
is handed back `queued` with the wait, its attempt recorded, and it runs normally when called again."""

import httpx
import respx

from tests.pipelines.test_worker_callbacks import PROSPEO, call, internal, prospeo_company, setup, submit  # noqa: F401


@respx.mock
async def test_a_long_retry_after_hands_the_step_back_instead_of_failing_the_run(pclient, conn, settings, setup):  # noqa: F811
    tenant, blueprint = setup
    route = respx.post(PROSPEO)
    route.side_effect = [
        httpx.Response(429, headers={"Retry-After": "120"}, json={"error": True, "error_code": "RATE_LIMITED"}),
        prospeo_company("acme.com"),
    ]
    run_id = (await submit(pclient, tenant, blueprint, ["acme.com"]))["pipeline_run_ids"][0]
    headers = internal(settings, tenant)
    run = await call(pclient, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
    body = {"pipeline_run_id": run_id, "position": 1, "context": run["input"]}

    deferred = await call(pclient, "steps/execute", body, headers)

    assert deferred["status"] == "queued" and deferred["run_status"] == "running"
    assert deferred["retry_after_seconds"] == 120
    assert route.call_count == 1  # no retry slept through inside the call
    step = await conn.fetchrow(
        "SELECT status, operation_run_id FROM step_results WHERE pipeline_run_id = $1 AND position = 1", run_id
    )
    assert step["status"] == "queued" and step["operation_run_id"] is None
    attempt = await conn.fetchrow(
        "SELECT a.http_status, a.provider_status FROM operation_attempts a JOIN operation_runs o ON o.id = a.run_id "
        "WHERE o.pipeline_run_id = $1",
        run_id,
    )
    assert attempt["http_status"] == 429
    assert await conn.fetchval("SELECT status::text FROM pipeline_runs WHERE id = $1", run_id) == "running"

    again = await call(pclient, "steps/execute", body, headers)
    assert again["status"] == "succeeded" and again["retry_after_seconds"] is None
    assert again["context_after"]["name"] == "Acme Inc"
    assert route.call_count == 2


@respx.mock
async def test_a_provider_that_always_asks_for_longer_ends_the_step_after_ten_deferrals(pclient, conn, settings, setup):  # noqa: F811
    tenant, blueprint = setup
    route = respx.post(PROSPEO).mock(
        return_value=httpx.Response(429, headers={"Retry-After": "600"}, json={"error": True})
    )
    run_id = (await submit(pclient, tenant, blueprint, ["acme.com"]))["pipeline_run_ids"][0]
    headers = internal(settings, tenant)
    run = await call(pclient, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
    body = {"pipeline_run_id": run_id, "position": 1, "context": run["input"]}

    answers = [await call(pclient, "steps/execute", body, headers) for _ in range(11)]

    assert [a["status"] for a in answers] == ["queued"] * 10 + ["failed"]
    assert answers[-1]["run_status"] == "failed" and answers[-1]["retry_after_seconds"] is None
    assert route.call_count == 11


@respx.mock
async def test_short_waits_that_use_up_the_retries_fail_the_step_as_before(pclient, conn, settings, setup):  # noqa: F811
    tenant, blueprint = setup
    respx.post(PROSPEO).mock(return_value=httpx.Response(429, headers={"Retry-After": "0"}, json={"error": True}))
    run_id = (await submit(pclient, tenant, blueprint, ["acme.com"]))["pipeline_run_ids"][0]
    headers = internal(settings, tenant)
    run = await call(pclient, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)

    answer = await call(
        pclient, "steps/execute", {"pipeline_run_id": run_id, "position": 1, "context": run["input"]}, headers
    )

    assert answer["status"] == "failed" and answer["retry_after_seconds"] is None
