"""Fault injection end to end on real processes: provider 429 storms, 5xx, timeouts and garbage
from the sandbox; the worker SIGKILLed mid-batch and restarted; the API SIGKILLed mid-batch and
restarted; Postgres stopped mid-batch and started again; the worker's callbacks duplicated,
delayed, and replayed in shuffled order after the fact. After each: every run terminal, one
entity version per succeeded run, no step result lost, every executed step's attempts recorded."""

import random
import time
import uuid

import httpx
import pytest

from tests.reliability.conftest import record, size
from tests.reliability.e2e import attempt_statuses, fetch_sync, invariants

STEPS = ["company.enrich.profile", "company.ads.search.google"]


def domains(kind: str, count: int) -> list[str]:
    tag = uuid.uuid4().hex[:6]
    return [f"found-{kind.replace('_', '-')}-{tag}-{i}.com" for i in range(count)]


def stats_delta(before: dict, after: dict) -> dict[str, int]:
    keys = ("status_429_deliberate", "status_5xx", "malformed", "requests")
    return {k: after["total"][k] - before["total"][k] for k in keys}


PROVIDER_FAULTS = {
    # knob values per fault; `provider` limits a fault to one provider
    "provider_429_storm": ({"http429_rate": 0.6}, None, "status_429_deliberate"),
    "provider_5xx": ({"error_rate": 0.5}, None, "status_5xx"),
    "provider_garbage": ({"malformed_rate": 0.5}, None, "malformed"),
    "provider_timeouts": ({"latency_ms": 1500}, "prospeo", None),
}


@pytest.mark.parametrize("fault", list(PROVIDER_FAULTS))
def test_provider_faults_leave_every_run_settled_and_recorded(rstack, fault):
    knobs, provider, counter = PROVIDER_FAULTS[fault]
    blueprint = rstack.blueprint(STEPS)
    before = rstack.sandbox.stats()
    rstack.sandbox.configure(provider, **knobs)
    try:
        submission = rstack.submit(blueprint, domains(fault, size(4, 40)))
        status = rstack.wait_done(submission, timeout=size(120, 300))
        delta = stats_delta(before, rstack.sandbox.stats())
    finally:
        rstack.sandbox.reset()  # the knobs' start values (and fresh counters)
    figures = invariants(rstack.pg.dsn, [submission])
    outcomes = attempt_statuses(rstack.pg.dsn, [submission])
    if counter:
        assert delta[counter] > 0, delta  # the fault was really served
        injected = delta[counter]
    else:
        injected = sum(n for outcome, n in outcomes.items() if "timeout" in outcome.lower())
        assert injected > 0, outcomes  # prospeo's answers came too late and were recorded as such
    assert status["summary"]["queued"] == status["summary"]["running"] == 0
    record(f"faults-{fault}", injected=injected, attempt_outcomes=outcomes, survived=True, **figures)


# slow enough that the batch is still running when the fault lands: 8 runs at a time, 0.5 s a step
SLOW = 500


def in_flight(rstack, submission: str) -> bool:
    """Straight from Postgres, so it works while the API is down."""
    rows = fetch_sync(rstack.pg.dsn, "SELECT status FROM submissions WHERE id = $1", uuid.UUID(submission))
    return rows[0]["status"] == "running"


def test_a_worker_killed_mid_batch_is_restarted_and_nothing_is_lost_or_doubled(rstack):
    rstack.sandbox.configure("prospeo", latency_ms=SLOW)
    blueprint = rstack.blueprint(STEPS)
    count = size(12, 60)
    try:
        submission = rstack.submit(blueprint, domains("kill", count))
        rstack.wait_progress(submission, 2)
        kills = 0
        for worker in list(rstack.stack.workers):
            if worker.poll() is None:
                rstack.stack.kill_worker(worker)
                kills += 1
        assert kills and in_flight(rstack, submission)
        rstack.stack.start_worker(api_url=rstack.proxy.url)
        status = rstack.wait_done(submission, timeout=size(120, 240))
    finally:
        rstack.sandbox.reset()
    assert status["summary"]["succeeded"] == count, status["summary"]
    figures = invariants(rstack.pg.dsn, [submission])
    record("faults-worker_sigkill", injected=kills, survived=True, **figures)


def test_the_api_killed_mid_batch_is_restarted_and_the_worker_carries_on(rstack):
    rstack.sandbox.configure("prospeo", latency_ms=SLOW)
    blueprint = rstack.blueprint(STEPS)
    count = size(12, 40)
    try:
        submission = rstack.submit(blueprint, domains("apikill", count))
        rstack.wait_progress(submission, 2)
        rstack.stack.kill_api()
        assert in_flight(rstack, submission)
        time.sleep(1)
        rstack.stack.start_api()
        status = rstack.wait_done(submission, timeout=size(120, 240))
    finally:
        rstack.sandbox.reset()
    assert status["summary"]["succeeded"] == count, status["summary"]
    figures = invariants(rstack.pg.dsn, [submission])
    record("faults-api_sigkill", injected=1, survived=True, **figures)


def test_postgres_restarted_mid_batch_the_pool_recovers_and_the_worker_retries(rstack):
    rstack.sandbox.configure("prospeo", latency_ms=SLOW)
    blueprint = rstack.blueprint(STEPS)
    count = size(12, 40)
    try:
        submission = rstack.submit(blueprint, domains("pgrestart", count))
        rstack.wait_progress(submission, 2)
        assert in_flight(rstack, submission)
        rstack.pg.server.stop()
        try:
            # while Postgres is down the API says so (503, retry), it does not crash (500)
            down = [
                httpx.get(f"{rstack.stack.api_url}/health", timeout=10),
                rstack.client.post("/api/v1/batch/status", json={"submission_id": submission}),
            ]
            time.sleep(2)
        finally:
            rstack.pg.server.start()
        status = rstack.wait_done(submission, timeout=size(150, 300))
    finally:
        rstack.sandbox.reset()
    for r in down:
        assert r.status_code == 503 and r.json()["error"]["code"] == "database_unavailable", r.text
    assert down[1].headers["Retry-After"] == "1"
    assert status["summary"]["succeeded"] == count, status["summary"]
    figures = invariants(rstack.pg.dsn, [submission])
    # the API kept answering: its pool replaced the dead connections
    assert httpx.get(f"{rstack.stack.api_url}/health", timeout=10).json()["data"]["database"] == "ok"
    worker_log = (rstack.stack.logs / "worker.log").read_text()
    record(
        "faults-postgres_restart",
        injected=1,
        survived=True,
        worker_pool_restarts=worker_log.count('"worker.restarting"'),
        api_503_while_down=len(down),
        **figures,
    )


def _snapshot(dsn: str, submission: str) -> list:
    return [
        tuple(r)
        for r in fetch_sync(
            dsn,
            """
            SELECT r.id, r.status, r.final_context::text, r.finished_at,
                   (SELECT string_agg(s.status || ':' || coalesce(s.context_after::text, '') || ':'
                                      || coalesce(s.operation_run_id::text, ''), '|' ORDER BY s.position)
                    FROM step_results s WHERE s.pipeline_run_id = r.id),
                   (SELECT count(*) FROM operation_runs o WHERE o.pipeline_run_id = r.id),
                   (SELECT string_agg(v.entity_id::text || '@' || v.record_version, ',')
                    FROM entity_versions v WHERE v.pipeline_run_id = r.id)
            FROM pipeline_runs r WHERE r.submission_id = $1 ORDER BY r.id
            """,
            uuid.UUID(submission),
        )
    ]


def test_callbacks_duplicated_delayed_and_replayed_out_of_order_change_nothing(rstack):
    blueprint = rstack.blueprint(STEPS)
    count = size(6, 40)
    rstack.proxy.chaos(duplicate_rate=0.5, max_delay=0.3)
    recorded_before = len(rstack.proxy.recorded)
    try:
        submission = rstack.submit(blueprint, domains("chaos", count))
        status = rstack.wait_done(submission, timeout=size(120, 240))
    finally:
        rstack.proxy.chaos(0.0, 0.0)
    assert status["summary"]["succeeded"] == count, status["summary"]
    figures = invariants(rstack.pg.dsn, [submission])
    settled = _snapshot(rstack.pg.dsn, submission)
    runs = {str(r[0]) for r in settled}
    replay = [c for c in rstack.proxy.recorded[recorded_before:] if any(run in c[2].decode() for run in runs)]
    assert replay
    random.Random(11).shuffle(replay)
    with httpx.Client(base_url=rstack.stack.api_url, timeout=120) as api:
        statuses = [api.post(path, content=body, headers=headers).status_code for path, headers, body in replay]
    assert set(statuses) == {200}, statuses
    assert _snapshot(rstack.pg.dsn, submission) == settled
    invariants(rstack.pg.dsn, [submission])
    record(
        "faults-callback_chaos",
        injected=rstack.proxy.counts["duplicated"] + rstack.proxy.counts["delayed"] + len(replay),
        duplicated=rstack.proxy.counts["duplicated"],
        delayed=rstack.proxy.counts["delayed"],
        replayed_out_of_order=len(replay),
        survived=True,
        **figures,
    )
