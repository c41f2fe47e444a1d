"""Parallel Task API: runs move queued → running → completed; result blocks or answers 408."""

import asyncio
import time

from tests.sandbox import BAD, KEY, person_at, sandbox_client

AUTH = {"x-api-key": KEY}
RUNS = "/parallel/v1/tasks/runs"
SPEC = {
    "output_schema": {
        "type": "json",
        "json_schema": {
            "type": "object",
            "additionalProperties": False,
            "required": ["work_email"],
            "properties": {"work_email": {"type": "string", "description": "… else the literal string NOT_FOUND"}},
        },
    }
}


async def _create(c, task_input, processor="core", **extra):
    r = await c.post(RUNS, headers=AUTH, json={"input": task_input, "processor": processor, "task_spec": SPEC, **extra})
    return r


async def test_run_lifecycle_and_result():
    first, last = person_at("parallel", found=True, domain="initech.com")
    person = {"first_name": first, "last_name": last, "company_domain": "initech.com"}
    async with sandbox_client(parallel_delay_ms=1500) as c:
        r = await _create(c, person, metadata={"op": "resolve_email"})
        assert r.status_code == 202
        run = r.json()
        assert run["run_id"].startswith("trun_") and run["status"] == "queued" and run["is_active"] is True
        assert run["processor"] == "core" and run["metadata"] == {"op": "resolve_email"}
        assert run["created_at"] and run["modified_at"]
        await asyncio.sleep(0.75)  # queued for the first third of the delay, then running
        running = (await c.get(f"{RUNS}/{run['run_id']}", headers=AUTH)).json()
        assert running["status"] == "running" and running["is_active"] is True
        result = await c.get(f"{RUNS}/{run['run_id']}/result", headers=AUTH, params={"timeout": 5})
        done = (await c.get(f"{RUNS}/{run['run_id']}", headers=AUTH)).json()
    assert result.status_code == 200
    body = result.json()
    assert body["run"]["status"] == "completed" and body["run"]["is_active"] is False
    assert body["output"]["type"] == "json"
    assert body["output"]["content"] == {"work_email": f"{first.lower()}.{last.lower()}@initech.com"}
    basis = body["output"]["basis"][0]
    assert basis["field"] == "work_email" and basis["confidence"] == "medium"
    assert basis["citations"][0]["url"].startswith("https://initech.com") and basis["reasoning"]
    assert done["status"] == "completed"


async def test_result_times_out_with_408_after_the_timeout():
    async with sandbox_client(parallel_delay_ms=5000) as c:
        run_id = (await _create(c, "Find the work email of Jane Doe at found-acme.com")).json()["run_id"]
        started = time.perf_counter()
        r = await c.get(f"{RUNS}/{run_id}/result", headers=AUTH, params={"timeout": 0.2})
        waited = time.perf_counter() - started
        immediate = await c.get(f"{RUNS}/{run_id}/result", headers=AUTH, params={"timeout": 0})
    assert r.status_code == 408 and r.json()["type"] == "error" and r.json()["error"]["message"]
    assert 0.2 <= waited < 1.5
    assert immediate.status_code == 408


async def test_not_found_fills_not_found_and_text_inputs_are_parsed():
    async with sandbox_client() as c:
        nf = await _create(c, {"full_name": "Jane Doe", "domain": "notfound-acme.com"})
        nf_result = (await c.get(f"{RUNS}/{nf.json()['run_id']}/result", headers=AUTH)).json()
        text = await _create(c, "Find the work email of Priya Patel at found-globex.com")
        text_result = (await c.get(f"{RUNS}/{text.json()['run_id']}/result", headers=AUTH)).json()
    assert nf_result["output"]["content"] == {"work_email": "NOT_FOUND"}
    assert nf_result["output"]["basis"][0]["confidence"] == "low"
    assert text_result["output"]["content"] == {"work_email": "priya.patel@found-globex.com"}


async def test_every_string_field_of_another_schema_is_filled():
    spec = {
        "output_schema": {
            "type": "json",
            "json_schema": {
                "type": "object",
                "properties": {
                    "email": {"type": "string"},
                    "linkedin_url": {"type": "string"},
                    "job_title": {"type": "string"},
                    "score": {"type": "number"},
                },
            },
        }
    }
    async with sandbox_client() as c:
        r = await c.post(
            RUNS,
            headers=AUTH,
            json={
                "input": {"name": "Ana Silva", "company": "found-hooli.com"},
                "processor": "base-fast",
                "task_spec": spec,
            },
        )
        content = (await c.get(f"{RUNS}/{r.json()['run_id']}/result", headers=AUTH)).json()["output"]["content"]
    assert content["email"] == "ana.silva@found-hooli.com"
    assert content["linkedin_url"].startswith("https://www.linkedin.com/in/ana-silva-")
    assert content["job_title"] and content["score"] is None


async def test_errors_auth_processor_unknown_run_and_triggers():
    async with sandbox_client() as c:
        r = await c.post(RUNS, headers={"x-api-key": BAD}, json={"input": "x", "processor": "core"})
        assert r.status_code == 401 and r.json()["type"] == "error"
        assert (await _create(c, "Jane Doe at acme.com", processor="turbo")).status_code == 403
        assert (await c.post(RUNS, headers=AUTH, json={"processor": "core"})).status_code == 422
        assert (await c.get(f"{RUNS}/trun_nope", headers=AUTH)).status_code == 404
        assert (await c.get(f"{RUNS}/trun_nope/result", headers=AUTH)).status_code == 404
        assert (await _create(c, {"full_name": "Jane Doe", "domain": "nocredit.com"})).status_code == 402
        limited = await _create(c, {"full_name": "Jane Doe", "domain": "ratelimit.com"})
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
        assert (await _create(c, {"full_name": "Jane Doe", "domain": "error500.com"})).status_code == 500
