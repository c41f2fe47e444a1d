"""Many machines on one Postgres (issue 15 item 3): two API processes on two ports and two local
worker hosts, each worker talking to its own API, as two machines would. Single flight holds
across the two APIs, a credential's and a login account's limits are exact over both ports, and
with one API and one worker killed (-9) mid-batch every run still finishes once, no step result
doubled, while the surviving API takes over the periodic jobs."""

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from app.stack import free_port
from tests import pg
from tests.conftest import TEST_SECRETS
from tests.e2e.stack import data, make_stack, new_tenant, wait_until
from tests.reliability.e2e import fetch_sync, invariants
from tests.sandbox_server import start_sandbox

TOKEN_BURST = 30
LOGIN_BURST = 5
ENTITIES = 60


@pytest.fixture(scope="module")
def machines(admin_dsn, worker_id_str):
    # a slow verifier: five identical lookups are in flight together, on both APIs
    sandbox = start_sandbox(overrides={"millionverifier": {"latency_ms": 400}})
    name = f"dex_machines_{worker_id_str}_{uuid.uuid4().hex[:8]}"
    dsn = asyncio.run(pg.recreate_database(admin_dsn, name, template=pg.TEMPLATE_DB))
    stack = make_stack(
        dsn,
        sandbox,
        # refills far slower than the test runs: what is accepted is exactly the burst
        RATE_LIMIT_PER_MINUTE="0.01",
        RATE_LIMIT_BURST=str(TOKEN_BURST),
        LOGIN_ACCOUNT_ATTEMPTS_PER_MINUTE="0.01",
        LOGIN_ACCOUNT_ATTEMPTS_BURST=str(LOGIN_BURST),
        PERIODIC_CAMPAIGN_SECONDS="0.3",
        # a Prospeo enrichment costs 1 credit = $1: the budget race counts whole calls
        PROSPEO_USD_PER_CREDIT="1",
    )
    second_port = free_port()
    try:
        first = stack.start_api(name="api-1")
        second = stack.start_api(name="api-2", port=second_port)
        urls = [stack.api_url, f"http://{stack.host}:{second_port}"]
        workers = [
            stack.start_worker(name="worker-1", api_url=urls[0], concurrency=4),
            stack.start_worker(name="worker-2", api_url=urls[1], concurrency=4),
        ]
        yield {"stack": stack, "dsn": dsn, "apis": [first, second], "urls": urls, "workers": workers}
    finally:
        stack.stop()
        sandbox.stop()
        asyncio.run(pg.drop_database(admin_dsn, name))


def _leader_pids(dsn: str) -> list[int]:
    """The processes holding the periodic jobs' lock (their connection names them)."""
    rows = fetch_sync(
        dsn,
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE '%.leader.%'"
        # the cluster is shared with other tests' databases, each with its own leader
        " AND a.datname = current_database()",
    )
    return [int(r["application_name"].rsplit(".", 1)[1]) for r in rows]


def _wait_batch(machines, submission_id: str, timeout: float = 60) -> None:
    def done() -> bool:
        rows = fetch_sync(machines["dsn"], "SELECT status FROM submissions WHERE id = $1", uuid.UUID(submission_id))
        return rows[0]["status"] in ("completed", "failed")

    try:
        wait_until(done, timeout, "the batch")
    except TimeoutError:
        stack = machines["stack"]
        logs = "\n".join(f"{n}:\n{stack.log_tail(n)}" for n in ("api-1", "api-2", "worker-1", "worker-2"))
        raise AssertionError(logs) from None


def _submit(client: httpx.Client, blueprint_id: str, company_id: str, entities: list[dict]) -> str:
    body = {"blueprint_id": blueprint_id, "company_id": company_id, "entities": entities}
    return data(client.post("/api/v1/batch/submit", json=body))["submission_id"]


def _blueprint(client: httpx.Client, operations: list[str], step_config: dict | None = None) -> str:
    steps = [{"position": i + 1, "operation_id": op, "step_config": step_config} for i, op in enumerate(operations)]
    return data(client.post("/api/blueprints/create", json={"name": f"bp-{uuid.uuid4().hex[:6]}", "steps": steps}))[
        "id"
    ]


BUDGET_CALLS = 5
RACERS = 20


def test_two_api_processes_racing_on_the_last_dollars_overspend_by_at_most_one_call_each(machines):
    """CONTRACT §9.4: a budget is reserved atomically in Postgres, so two API processes answering
    at once cannot both spend what is left; each may overrun by the one call in flight at most."""
    stack, urls = machines["stack"], machines["urls"]
    tenant = new_tenant(stack, "Budgetrace")  # its own token: its burst is its own
    client = tenant["client"]
    data(client.post("/api/budgets/set", json={"limit_usd": BUDGET_CALLS, "period": "month"}))
    token = client.headers["Authorization"]
    before = stack.sandbox.stats()["providers"]["prospeo"]["total"]["requests"]
    stack.sandbox.configure("prospeo", latency_ms=300)  # every call in flight together

    def enrich(i: int) -> int:
        body = {
            "operation_id": "company.enrich.profile",
            "entity_type": "company",
            "input": {"domain": f"found-budget{i}.com"},  # distinct: no cache, no single flight
            "options": {"providers": ["prospeo"]},
        }
        r = httpx.post(f"{urls[i % 2]}/api/v1/execute", json=body, headers={"Authorization": token}, timeout=60)
        return r.status_code

    try:
        with ThreadPoolExecutor(RACERS) as pool:
            statuses = list(pool.map(enrich, range(RACERS)))
    finally:
        stack.sandbox.configure("prospeo", latency_ms=0)
    calls = stack.sandbox.stats()["providers"]["prospeo"]["total"]["requests"] - before
    assert set(statuses) <= {200, 402} and statuses.count(402) >= RACERS - BUDGET_CALLS - 2, statuses
    assert BUDGET_CALLS <= calls <= BUDGET_CALLS + 2, (calls, statuses)
    spent = data(client.post("/api/budgets/get", json={}))
    assert spent["spent_usd"] == calls and spent["reserved_usd"] == 0, spent


def test_two_apis_and_two_workers_share_limits_single_flight_and_survive_a_kill_each(machines):
    stack, dsn, urls = machines["stack"], machines["dsn"], machines["urls"]
    tenant = new_tenant(stack, "Machines")
    client = tenant["client"]  # on the first API; its few setup calls stay far below the burst

    # one periodic-jobs leader across the two API processes
    wait_until(lambda: len(_leader_pids(dsn)) == 1, 15, "a periodic-jobs leader")
    api_pids = {api.pid for api in machines["apis"]}
    assert set(_leader_pids(dsn)) <= api_pids

    # single flight across processes: five identical lookups, run by both workers through both APIs
    people = [
        {"entity_type": "person", "input": {"full_name": f"Person {i}", "work_email": "jane@acme.com"}}
        for i in range(5)
    ]
    verify = _blueprint(client, ["person.contact.verify_email"])
    _wait_batch(machines, _submit(client, verify, tenant["company_id"], people))
    providers = stack.sandbox.stats()["providers"]
    verifications = providers["millionverifier"]["total"]["requests"] + providers["reoon"]["total"]["requests"]
    runs = fetch_sync(
        dsn,
        "SELECT o.id, o.cached, o.cached_from_run_id, o.created_at, o.status, o.pipeline_run_id, o.step_position,"
        " (SELECT count(*) FROM operation_attempts a WHERE a.run_id = o.id) AS attempts FROM operation_runs o"
        " ORDER BY created_at",
    )
    assert verifications == 1, (providers, [dict(r) for r in runs])

    # exact limits over both ports: a fresh token's burst, then nothing, whichever API is asked
    token = data(
        httpx.post(
            f"{urls[0]}/api/super-admin/api-tokens/create",
            json={"org_id": tenant["org_id"], "name": "limited", "role": "org_admin"},
            headers={"Authorization": f"Bearer {TEST_SECRETS['super_admin_api_key']}"},
        )
    )["token"]

    def call(i: int) -> int:
        r = httpx.post(
            f"{urls[i % 2]}/api/companies/list", json={}, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        return r.status_code

    def login(i: int) -> int:
        guess = {"email": "someone@example.com", "password": "wrong guess 123"}
        return httpx.post(f"{urls[i % 2]}/api/auth/login", json=guess, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(call, range(2 * TOKEN_BURST)))
        logins = list(pool.map(login, range(3 * LOGIN_BURST)))
    assert statuses.count(200) == TOKEN_BURST and statuses.count(429) == TOKEN_BURST, statuses
    assert logins.count(401) == LOGIN_BURST and logins.count(429) == 2 * LOGIN_BURST, logins

    # a batch, and mid-way one API (the leader) and one worker killed
    stack.sandbox.configure("prospeo", latency_ms=100)
    try:
        # without the result cache: a lookup in flight on the killed API keeps its single-flight
        # claim until the operation's timeout + 30 s (90 s) lapses, which would only slow the test
        # (tests/operations/test_result_cache.py covers a dead process's lapsed claim)
        company = _blueprint(client, ["company.enrich.profile", "company.ads.search.meta"], {"cache": False})
        entities = [{"entity_type": "company", "input": {"domain": f"found-m{i}.com"}} for i in range(ENTITIES)]
        submission = _submit(client, company, tenant["company_id"], entities)

        def succeeded() -> int:
            rows = fetch_sync(
                dsn,
                "SELECT count(*) AS n FROM pipeline_runs WHERE submission_id = $1 AND status = 'succeeded'",
                uuid.UUID(submission),
            )
            return int(rows[0]["n"])

        wait_until(lambda: succeeded() >= 5, 30, "some runs to finish")
        leader = _leader_pids(dsn)[0]
        dead = next(api for api in machines["apis"] if api.pid == leader)
        survivor = next(i for i, api in enumerate(machines["apis"]) if api is not dead)
        stack.kill(dead)
        # the worker of the killed API goes too: the other host recovers its jobs
        stack.kill(machines["workers"][1 - survivor])
        assert succeeded() < ENTITIES
        _wait_batch(machines, submission)
    finally:
        stack.sandbox.configure("prospeo", latency_ms=0)

    # the surviving API took over the periodic jobs
    wait_until(lambda: _leader_pids(dsn) == [machines["apis"][survivor].pid], 15, "the survivor to lead")
    counts = invariants(dsn, [submission])
    assert counts["runs"] == ENTITIES and counts.get("succeeded") == ENTITIES, counts
    assert counts["steps_executed"] == 2 * ENTITIES, counts
    # and the survivor still applies the limits the dead one counted
    assert call(survivor) == 429
