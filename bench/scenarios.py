"""The scenarios of the benchmarks issues, each returning its figures."""

import asyncio
import csv
import io
import json
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import asyncpg
import httpx

from app.db import init_connection
from app.repositories import submissions as submissions_repo
from bench.stack import BenchStack
from bench.wrk import run_wrk

PIPELINE_STEPS = ["company.enrich.profile", "company.ads.search.google", "company.research.resolve_pricing_page_url"]
# Scenario 3 measures what a step costs us, so none of its providers may be paced: Prospeo (the
# profile's first provider) is paced at its documented 5/s, which made the scenario measure that
# limit. CompanyEnrich, Adyntel and Gemini have no pace of ours (docs/providers.md).
PIPELINE_STEP_CONFIG = {"company.enrich.profile": {"providers": ["companyenrich"]}}


@dataclass
class Tenant:
    org_id: str
    company_id: str
    token: str
    client: httpx.Client
    blueprints: dict[str, str] = field(default_factory=dict)


class PatientTransport(httpx.HTTPTransport):
    """The tenant's client waits as a 429 says and asks again, as a well-behaved client does: the
    throughput scenarios before it drain the credential's token bucket on purpose."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        for _ in range(60):
            if response.status_code != 429:
                break
            response.read()
            response.close()
            time.sleep(float(response.headers.get("Retry-After", "1")))
            response = super().handle_request(request)
        return response


def _data(response: httpx.Response) -> Any:
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.url} → {response.status_code}: {response.text[:300]}")
    return response.json()["data"]


def make_tenant(stack: BenchStack, slug: str = "bench") -> Tenant:
    admin = httpx.Client(base_url=stack.api_url, timeout=120, headers={"Authorization": f"Bearer {stack.super_key}"})
    org = _data(admin.post("/api/super-admin/orgs/create", json={"name": slug.title(), "slug": slug}))
    company = _data(admin.post("/api/super-admin/companies/create", json={"org_id": org["id"], "name": "Client"}))
    token = _data(
        admin.post(
            "/api/super-admin/api-tokens/create", json={"org_id": org["id"], "name": "bench", "role": "org_admin"}
        )
    )["token"]
    client = httpx.Client(
        base_url=stack.api_url,
        timeout=300,
        headers={"Authorization": f"Bearer {token}"},
        transport=PatientTransport(),
    )
    tenant = Tenant(org_id=org["id"], company_id=company["id"], token=token, client=client)
    for name, steps, config in (
        ("pipeline", PIPELINE_STEPS, PIPELINE_STEP_CONFIG),
        ("saturation", ["person.contact.resolve_mobile_phone"], {"*": {"providers": ["blitzapi"]}}),
        ("one_step", ["company.enrich.profile"], {"*": {"providers": ["prospeo"]}}),
        ("verify", ["person.contact.verify_email"], {"*": {"providers": ["millionverifier"]}}),
    ):
        body = {
            "name": name,
            "steps": [
                {"position": i + 1, "operation_id": op, "step_config": config.get(op, config.get("*", {}))}
                for i, op in enumerate(steps)
            ],
        }
        tenant.blueprints[name] = _data(client.post("/api/blueprints/create", json=body))["id"]
    return tenant


def ceiling(stack: BenchStack, tenant: Tenant, seconds: int) -> dict[str, float]:
    """1: an authenticated POST doing one small Postgres transaction (auth + one indexed read)."""
    r = run_wrk(f"{stack.api_url}/api/companies/get", tenant.token, {"company_id": tenant.company_id}, seconds=seconds)
    return {
        "rps": r.rps,
        "p50_ms": r.p50_ms,
        "p99_ms": r.p99_ms,
        "errors": r.errors,
        "generator_cpu_share": r.generator_cpu_share,
    }


def execute(stack: BenchStack, tenant: Tenant, seconds: int) -> dict[str, float]:
    """2: /api/v1/execute of a one-provider operation against the zero-latency sandbox."""
    body = {
        "operation_id": "company.ads.search.linkedin",
        "entity_type": "company",
        "input": {"domain": "found-bench.com"},
        # the same input every time: without this the result cache would answer (scenario 9 measures that)
        "options": {"cache": False},
    }
    asyncio.run(_reset_statements(stack.dsn))
    before = stack.cpu_seconds()
    r = run_wrk(f"{stack.api_url}/api/v1/execute", tenant.token, body, seconds=seconds)
    after = stack.cpu_seconds()
    cpu = {f"cpu_s_per_1000_{k}": (after[k] - before[k]) * 1000 / max(r.requests, 1) for k in after}
    statements = sum(c for _, c, _ in asyncio.run(_statements(stack.dsn)))
    return {
        **cpu,
        "cpu_s_per_1000_total": sum(cpu.values()),
        # the worker's idle polling and the sweeper run meanwhile too: a small overcount
        "statements_per_call": statements / max(r.requests, 1),
        "rps": r.rps,
        "p50_ms": r.p50_ms,
        "p99_ms": r.p99_ms,
        "errors": r.errors,
        "generator_cpu_share": r.generator_cpu_share,
    }


class RssSampler:
    def __init__(self, stack: BenchStack, names: tuple[str, ...], interval: float = 0.1) -> None:
        self.stack, self.names, self.interval = stack, names, interval
        self.peak = dict.fromkeys(names, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name in self.names:
                self.peak[name] = max(self.peak[name], self.stack.rss_mb(name))
            time.sleep(self.interval)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _metrics(stack: BenchStack) -> dict[str, dict[str, int]]:
    return _data(
        httpx.post(
            f"{stack.api_url}/api/super-admin/metrics", json={}, headers={"Authorization": f"Bearer {stack.super_key}"}
        )
    )


async def _xacts(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
            )
        )
    finally:
        await conn.close()


def _wait_finished(tenant: Tenant, submission_id: str, timeout: float, poll: float = 0.1) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = _data(tenant.client.post("/api/v1/batch/status", json={"submission_id": submission_id, "limit": 1}))
        if status["submission"]["status"] in ("completed", "failed", "canceled"):
            return status
        time.sleep(poll)
    raise TimeoutError(f"submission {submission_id} did not finish in {timeout:.0f} s")


# the pg_stat_statements rows of the bench's own connection (reset, read) are left out
STATEMENTS = """
SELECT query, calls::bigint AS calls, total_exec_time FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND query NOT ILIKE '%pg_stat_statements%' AND query NOT ILIKE '%pg_stat_database%'
"""


async def _reset_statements(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_stat_statements_reset()")
    finally:
        await conn.close()


async def _statements(dsn: str) -> list[tuple[str, int, float]]:
    """(query, calls, total execution ms) of each statement since the last reset."""
    conn = await asyncpg.connect(dsn)
    try:
        return [(r["query"], int(r["calls"]), float(r["total_exec_time"])) for r in await conn.fetch(STATEMENTS)]
    finally:
        await conn.close()


def statement_figures(rows: list[tuple[str, int, float]], steps: int) -> dict[str, Any]:
    """Statements per step: all of them, the worker's queue (graphile_worker's own statements),
    BEGIN/COMMIT/ROLLBACK, their execution time in the server, and the 15 that took the most."""
    total = sum(c for _, c, _ in rows)
    queue = sum(c for q, c, _ in rows if "graphile_worker" in q)
    control = sum(c for q, c, _ in rows if q.strip().upper() in ("BEGIN", "COMMIT", "ROLLBACK"))
    top = sorted(rows, key=lambda r: -r[2])[:15]
    return {
        "statements_per_step": total / steps,
        "queue_statements_per_step": queue / steps,
        "transaction_control_per_step": control / steps,
        "statement_ms_per_step": sum(t for _, _, t in rows) / steps,
        "top_statements": [
            {"calls_per_step": c / steps, "ms_per_step": t / steps, "query": " ".join(q.split())[:160]}
            for q, c, t in top
        ],
    }


def pipeline(stack: BenchStack, tenant: Tenant, entities: int, sampler: RssSampler) -> dict[str, Any]:
    """3: N entities × 3 steps end to end; HTTP calls, transactions and statements per step counted,
    and the CPU seconds each process spent per 1,000 steps."""
    before_metrics, before_xacts = _metrics(stack), asyncio.run(_xacts(stack.dsn))
    body = {
        "blueprint_id": tenant.blueprints["pipeline"],
        "company_id": tenant.company_id,
        "entities": [
            {"entity_type": "company", "input": {"domain": f"found-p{uuid.uuid4().hex[:10]}.com"}}
            for _ in range(entities)
        ],
    }
    asyncio.run(_reset_statements(stack.dsn))
    before_cpu = stack.cpu_seconds()
    started = time.monotonic()
    submission = _data(tenant.client.post("/api/v1/batch/submit", json=body))
    status = _wait_finished(tenant, submission["submission_id"], timeout=600)
    elapsed = time.monotonic() - started
    after_cpu = stack.cpu_seconds()
    if status["summary"]["succeeded"] != entities:
        raise RuntimeError(f"pipeline: not every run succeeded: {status['summary']}")
    statements = asyncio.run(_statements(stack.dsn))
    after_metrics, after_xacts = _metrics(stack), asyncio.run(_xacts(stack.dsn))
    steps = entities * len(PIPELINE_STEPS)

    def internal_calls(m: dict[str, dict[str, int]]) -> int:
        return sum(v for k, v in m["requests"].items() if k.startswith("/api/internal/"))

    api_tx = sum(after_metrics["transactions"].values()) - sum(before_metrics["transactions"].values())
    cpu = {f"cpu_s_per_1000_steps_{k}": (after_cpu[k] - before_cpu[k]) * 1000 / steps for k in after_cpu}
    return {
        "seconds": elapsed,
        "steps_per_s": steps / elapsed,
        "succeeded": status["summary"]["succeeded"],
        "http_calls_per_step": (internal_calls(after_metrics) - internal_calls(before_metrics)) / steps,
        "api_transactions_per_step": api_tx / steps,
        "db_transactions_per_step": (after_xacts - before_xacts) / steps,
        **cpu,
        "cpu_s_per_1000_steps_total": sum(cpu.values()),
        "cpu_share_of_elapsed": sum(after_cpu[k] - before_cpu[k] for k in after_cpu) / elapsed,
        **statement_figures(statements, steps),
    }


def _entities(n: int) -> list[dict[str, Any]]:
    return [
        {"entity_type": "company", "input": {"domain": f"found-s{i}.com", "name": f"Company {i}"}} for i in range(n)
    ]


async def _clear_queue(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT graphile_worker.complete_jobs(ARRAY(SELECT id FROM graphile_worker.jobs))")
    finally:
        await conn.close()


def submit(stack: BenchStack, tenant: Tenant, repeats: int) -> tuple[dict[str, float], str]:
    """4: /api/v1/batch/submit of 10,000 entities (worker stopped), against a raw COPY of the same rows."""
    entities = _entities(10_000)
    body = {"blueprint_id": tenant.blueprints["pipeline"], "company_id": tenant.company_id, "entities": entities}
    times, submission_id = [], ""
    for _ in range(repeats):
        started = time.monotonic()
        submission_id = _data(tenant.client.post("/api/v1/batch/submit", json=body))["submission_id"]
        times.append(time.monotonic() - started)
        asyncio.run(_clear_queue(stack.dsn))
    copy_times = [asyncio.run(_raw_copy(stack.dsn, tenant, entities)) for _ in range(repeats)]
    p50, copy_p50 = statistics.median(times), statistics.median(copy_times)
    return {
        "seconds_p50": p50,
        "seconds_min": min(times),
        "seconds_max": max(times),
        "copy_seconds_p50": copy_p50,
        "ratio_to_copy": p50 / copy_p50,
    }, submission_id


async def _raw_copy(dsn: str, tenant: Tenant, entities: list[dict[str, Any]]) -> float:
    """The floor: the same submission, runs and step rows written by COPY in one transaction."""
    conn = await asyncpg.connect(dsn)
    await init_connection(conn)
    try:
        org, company = uuid.UUID(tenant.org_id), uuid.UUID(tenant.company_id)
        blueprint = uuid.UUID(tenant.blueprints["pipeline"])
        snapshot = {
            "blueprint_id": str(blueprint),
            "steps": [{"position": i + 1, "operation_id": op} for i, op in enumerate(PIPELINE_STEPS)],
        }
        started = time.monotonic()
        async with conn.transaction():
            submission = uuid.uuid4()
            await submissions_repo.insert_submission(
                conn,
                submission,
                org,
                company_id=company,
                blueprint_id=blueprint,
                source=None,
                metadata={},
                entity_count=len(entities),
            )
            run_ids = [uuid.uuid4() for _ in entities]
            await submissions_repo.copy_runs(
                conn,
                [
                    # a root run: no parent, depth 0, no child key (RUN_COPY_COLUMNS)
                    (rid, org, company, submission, i, "company", "queued", snapshot, "v", e["input"], None, 0, None)
                    for i, (rid, e) in enumerate(zip(run_ids, entities, strict=True))
                ],
            )
            await submissions_repo.copy_steps(
                conn,
                [(org, rid, i + 1, op, "queued", {}) for rid in run_ids for i, op in enumerate(PIPELINE_STEPS)],
            )
        return time.monotonic() - started
    finally:
        await conn.close()


def status(stack: BenchStack, tenant: Tenant, submission_id: str, seconds: int) -> dict[str, float]:
    """5: /api/v1/batch/status on the 10,000-run submission."""
    r = run_wrk(
        f"{stack.api_url}/api/v1/batch/status",
        tenant.token,
        {"submission_id": submission_id},
        seconds=seconds,
        connections=8,
    )
    return {"rps": r.rps, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "errors": r.errors}


def saturation(stack: BenchStack, tenant: Tenant, entities: int) -> dict[str, float]:
    """6: one provider at 200 ms latency limited to 50 req/s by the sandbox; a one-step batch."""
    httpx.post(
        f"{stack.sandbox_url}/_sandbox/config",
        json={"provider": "blitzapi", "latency_ms": 200, "rate_limit_per_second": 50},
    ).raise_for_status()
    before = httpx.get(f"{stack.sandbox_url}/_sandbox/stats").json()
    body = {
        "blueprint_id": tenant.blueprints["saturation"],
        "company_id": tenant.company_id,
        "entities": [
            {"entity_type": "person", "input": {"linkedin_url": f"https://www.linkedin.com/in/found-sat-{i}"}}
            for i in range(entities)
        ],
    }
    started = time.monotonic()
    submission = _data(tenant.client.post("/api/v1/batch/submit", json=body))
    _wait_finished(tenant, submission["submission_id"], timeout=600)
    elapsed = time.monotonic() - started
    after = httpx.get(f"{stack.sandbox_url}/_sandbox/stats").json()
    httpx.post(
        f"{stack.sandbox_url}/_sandbox/config",
        json={"provider": "blitzapi", "latency_ms": 0, "rate_limit_per_second": None},
    )
    requests = _stat(after, "blitzapi", "requests") - _stat(before, "blitzapi", "requests")
    limited = _stat(after, "blitzapi", "status_429_rate_limit") - _stat(before, "blitzapi", "status_429_rate_limit")
    achieved = requests / elapsed
    return {
        "seconds": elapsed,
        "provider_requests": requests,
        "achieved_rps": achieved,
        "ratio_to_limit": achieved / 50,
        "rate_limit_429s": limited,
    }


def _stat(stats: dict[str, Any], provider: str, key: str) -> float:
    return float(stats["providers"][provider]["total"][key])


def _one_entity_latency(tenant: Tenant) -> float:
    body = {
        "blueprint_id": unpaced_blueprint(tenant),
        "company_id": tenant.company_id,
        "entities": [{"entity_type": "company", "input": {"domain": f"found-f{uuid.uuid4().hex[:10]}.com"}}],
    }
    started = time.monotonic()
    submission = _data(tenant.client.post("/api/v1/batch/submit", json=body))
    _wait_finished(tenant, submission["submission_id"], timeout=900, poll=0.02)
    return time.monotonic() - started


def _big_batch(tenant: Tenant, entities: int) -> str:
    body = {
        "blueprint_id": unpaced_blueprint(tenant),
        "company_id": tenant.company_id,
        "entities": [
            {"entity_type": "company", "input": {"domain": f"found-b{uuid.uuid4().hex[:10]}.com"}}
            for _ in range(entities)
        ],
    }
    return str(_data(tenant.client.post("/api/v1/batch/submit", json=body))["submission_id"])


def fairness(stack: BenchStack, tenant: Tenant, other: Tenant, entities: int) -> dict[str, float]:
    """8: latency of a one-entity submission alone, then sent 1 s after another org's N-entity
    one-step batch, then 1 s after the same org's; with how much of the batch was still open. The
    step's provider is not paced by us, so the wait measured is the queue's, not a provider's."""
    solo = statistics.median(_one_entity_latency(other) for _ in range(3))
    figures: dict[str, float] = {"solo_s": solo, "batch_entities": entities}
    for name, small_tenant in (("other_org", other), ("same_org", tenant)):
        big = _big_batch(tenant, entities)
        time.sleep(1)
        figures[f"{name}_s"] = _one_entity_latency(small_tenant)
        status = _data(tenant.client.post("/api/v1/batch/status", json={"submission_id": big, "limit": 1}))
        figures[f"{name}_batch_open_after"] = status["summary"]["queued"] + status["summary"]["running"]
        _wait_finished(tenant, big, timeout=1800)
    return figures


def fan_out(stack: BenchStack, tenant: Tenant, companies: int, people: int) -> dict[str, float]:
    """11: N companies, each run's person.search fanning out to `people` person runs (resolve email);
    the end-to-end time of the whole submission, children included, and runs finished per second."""
    client = tenant.client
    person_bp = _data(
        client.post(
            "/api/blueprints/create",
            json={
                "name": "fan-out people",
                # leadmagic: Icypeas' documented 30 reads a minute would make this a rate-limit test
                "steps": [
                    {
                        "position": 1,
                        "operation_id": "person.contact.resolve_email",
                        "step_config": {"providers": ["leadmagic"]},
                    }
                ],
            },
        )
    )["id"]
    company_bp = _data(
        client.post(
            "/api/blueprints/create",
            json={
                "name": "fan-out companies",
                "steps": [
                    {
                        "position": 1,
                        "operation_id": "company.enrich.profile",
                        "step_config": {"providers": ["prospeo"]},
                    },
                    {
                        "position": 2,
                        "operation_id": "person.search",
                        "step_config": {"providers": ["prospeo"]},
                        "fan_out": {"blueprint_id": person_bp, "max_children": people},
                    },
                ],
            },
        )
    )["id"]
    body = {
        "blueprint_id": company_bp,
        "company_id": tenant.company_id,
        "entities": [
            {"entity_type": "company", "input": {"domain": f"found-f{uuid.uuid4().hex[:10]}.com"}}
            for _ in range(companies)
        ],
    }
    started = time.monotonic()
    submission = _data(client.post("/api/v1/batch/submit", json=body))
    status = _wait_finished(tenant, submission["submission_id"], timeout=900)
    elapsed = time.monotonic() - started
    summary = status["summary"]
    return {
        "seconds": elapsed,
        "runs": summary["total"],
        "children": summary["children"],
        "succeeded": summary["succeeded"],
        "runs_per_s": summary["total"] / elapsed,
    }


def _provider_requests(stack: BenchStack, *providers: str) -> float:
    stats = httpx.get(f"{stack.sandbox_url}/_sandbox/stats").json()
    return sum(_stat(stats, p, "requests") for p in providers)


def _timed_batch(stack: BenchStack, tenant: Tenant, blueprint: str, entities: list[dict[str, Any]], *providers: str):
    """(seconds, provider requests) of one batch, submit to terminal."""
    before = _provider_requests(stack, *providers)
    body = {"blueprint_id": tenant.blueprints[blueprint], "company_id": tenant.company_id, "entities": entities}
    started = time.monotonic()
    submission = _data(tenant.client.post("/api/v1/batch/submit", json=body))
    status = _wait_finished(tenant, submission["submission_id"], timeout=900)
    elapsed = time.monotonic() - started
    if status["summary"]["succeeded"] != len(entities):
        raise RuntimeError(f"{blueprint}: {status['summary']}")
    return elapsed, _provider_requests(stack, *providers) - before


def resubmitted(stack: BenchStack, tenant: Tenant, entities: int) -> dict[str, float]:
    """9: an N-entity one-step batch, then the same batch again: the second pass is answered by
    the org's result cache (CONTRACT §9.2), so it calls no provider."""
    tag = uuid.uuid4().hex[:8]
    batch = [{"entity_type": "company", "input": {"domain": f"found-r{tag}{i}.com"}} for i in range(entities)]
    first_s, first_calls = _timed_batch(stack, tenant, "one_step", batch, "prospeo")
    second_s, second_calls = _timed_batch(stack, tenant, "one_step", batch, "prospeo")
    return {
        "entities": entities,
        "first_seconds": first_s,
        "first_provider_calls": first_calls,
        "first_steps_per_s": entities / first_s,
        "second_seconds": second_s,
        "second_provider_calls": second_calls,
        "second_steps_per_s": entities / second_s,
        "speedup": first_s / second_s,
    }


def single_flight(stack: BenchStack, tenant: Tenant, runs: int, distinct: int) -> dict[str, float]:
    """10: a one-step verify batch of N people over `distinct` emails, all new to the org: each
    email is verified once however many of its runs are in flight together."""
    tag = uuid.uuid4().hex[:8]
    batch = [
        {
            "entity_type": "person",
            "input": {"full_name": f"Person {i}", "work_email": f"p{i % distinct}.{tag}@acme.com"},
        }
        for i in range(runs)
    ]
    seconds, calls = _timed_batch(stack, tenant, "verify", batch, "millionverifier", "reoon")
    return {
        "runs": runs,
        "distinct": distinct,
        "seconds": seconds,
        "provider_calls": calls,
        "steps_per_s": runs / seconds,
    }


# ---- 12: N API processes and the shared rate limits (issue 15 item 2) ----------------------------

LIMITS_OFF = {
    "DATA_ENGINE_RATE_LIMIT_PER_MINUTE": "0",
    "DATA_ENGINE_ORG_RATE_LIMIT_PER_MINUTE": "0",
    "DATA_ENGINE_INTERNAL_RATE_LIMIT_PER_MINUTE": "0",
}
# every request taken from its buckets and none refused: the accepted path, the common one
LIMITS_NEVER_REACHED = {
    "DATA_ENGINE_RATE_LIMIT_PER_MINUTE": "100000000",
    "DATA_ENGINE_RATE_LIMIT_BURST": "1000000",
    "DATA_ENGINE_ORG_RATE_LIMIT_PER_MINUTE": "100000000",
    "DATA_ENGINE_ORG_RATE_LIMIT_BURST": "1000000",
    "DATA_ENGINE_INTERNAL_RATE_LIMIT_PER_MINUTE": "100000000",
    "DATA_ENGINE_INTERNAL_RATE_LIMIT_BURST": "1000000",
}


def processes(
    stack: BenchStack, label: str, workers: int, limits: dict[str, str], seconds: int, entities: int
) -> dict[str, float]:
    """12: the ceiling, execute and pipeline scenarios on `workers` API processes with `limits`;
    the API and worker are started for it and stopped after."""
    stack.env.update(limits)
    stack.start_api(workers=workers, log_level="warning")
    stack.start_worker(concurrency=32, env={"WORKER_LOG_LEVEL": "warn"}, wait=True)
    try:
        tenant = make_tenant(stack, f"bench-{uuid.uuid4().hex[:8]}")
        ceiling(stack, tenant, 2)  # warm-up: every process's pool and statement cache
        return {
            "api_processes": workers,
            "ceiling_rps": ceiling(stack, tenant, seconds)["rps"],
            "execute_rps": execute(stack, tenant, seconds)["rps"],
            "pipeline_steps_per_s": pipeline(stack, tenant, entities, RssSampler(stack, ()))["steps_per_s"],
        }
    finally:
        stack.terminate("worker")
        stack.terminate("api")


async def limiter_cost(dsn: str, calls: int) -> dict[str, float]:
    """12: one request's shared-limit statement (a credential's and its org's bucket) timed from
    the client on loopback, against `SELECT 1` on the same connection: µs per request."""
    from app.ratelimit import Bucket, Limit

    limit = Limit(per_minute=100_000_000, burst=1_000_000)
    conn = await asyncpg.connect(dsn)
    try:
        take = await conn.prepare(
            "SELECT rate_buckets_take($1::uuid[], $2::integer[], $3::float8[], $4::float8[], false, NULL)"
        )
        ping = await conn.prepare("SELECT 1")
        buckets = [Bucket(f"token:{uuid.uuid4()}", limit), Bucket(f"org:{uuid.uuid4()}", limit, scope="org")]
        args = ([b.key for b in buckets], [b.lock for b in buckets], [b.limit.interval for b in buckets], [1e6, 1e6])
        timings = {}
        for name, run in (("take", lambda: take.fetchval(*args)), ("ping", lambda: ping.fetchval())):
            for _ in range(200):
                await run()
            started = time.perf_counter()
            for _ in range(calls):
                await run()
            timings[name] = (time.perf_counter() - started) / calls * 1e6
        return {
            "calls": calls,
            "take_us": timings["take"],
            "select_1_us": timings["ping"],
            "limiter_server_us": timings["take"] - timings["ping"],
        }
    finally:
        await conn.close()


# ---- 13, 14: webhooks and CSV (issue 15 item 4) ---------------------------------------------------

# a one-step blueprint on a provider the API does not pace (Adyntel), so a batch measures our queue,
# worker and API rather than a provider's documented rate (Prospeo's 5/s bounds "one_step")
UNPACED_STEP = ("company.ads.search.linkedin", {"providers": ["adyntel"]})


def unpaced_blueprint(tenant: Tenant) -> str:
    if "unpaced" not in tenant.blueprints:
        operation_id, config = UNPACED_STEP
        body = {"name": "unpaced", "steps": [{"position": 1, "operation_id": operation_id, "step_config": config}]}
        tenant.blueprints["unpaced"] = _data(tenant.client.post("/api/blueprints/create", json=body))["id"]
    return tenant.blueprints["unpaced"]


def _unpaced_entities(n: int) -> list[dict[str, Any]]:
    tag = uuid.uuid4().hex[:8]
    return [{"entity_type": "company", "input": {"domain": f"found-u{tag}{i}.com"}} for i in range(n)]


class Receiver:
    """A webhook receiver in the bench process (loopback HTTP, a thread per request): notes when
    each event arrived (wall clock, as the event's `timestamp` is) and answers `status`."""

    def __init__(self, status: int = 204) -> None:
        self.status = status
        self.arrivals: list[tuple[float, dict[str, Any]]] = []
        self.requests = 0
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                arrived = time.time()
                with lock:
                    receiver.requests += 1
                    if receiver.status < 300:
                        receiver.arrivals.append((arrived, json.loads(body)))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/bench"

    def count(self, event_type: str) -> int:
        return sum(1 for _, e in self.arrivals if e["type"] == event_type)

    def latencies(self, event_type: str) -> list[float]:
        """Seconds from the event (its `timestamp`: the state change) to its arrival here."""
        return [
            arrived - datetime.fromisoformat(e["timestamp"]).timestamp()
            for arrived, e in self.arrivals
            if e["type"] == event_type
        ]

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


WEBHOOK_EVENTS = ["submission.completed", "run.succeeded"]


def _subscribe(tenant: Tenant, url: str) -> str:
    body = {"url": url, "events": WEBHOOK_EVENTS}
    return str(_data(tenant.client.post("/api/webhooks/create", json=body))["id"])


def _unsubscribe(tenant: Tenant, webhook_id: str) -> None:
    # drops its pending deliveries too: nothing is left retrying into the next scenario
    _data(tenant.client.post("/api/webhooks/delete", json={"webhook_id": webhook_id}))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def webhook_latency(stack: BenchStack, tenant: Tenant, submissions: int, entities: int) -> dict[str, float]:
    """13: a receiver subscribed to submission.completed and run.succeeded; `submissions`
    submissions of `entities` runs each, one after the other (each sent when the previous one is
    done). Latency: the event's timestamp (the transaction that made the change) → the receiver."""
    blueprint = unpaced_blueprint(tenant)
    with Receiver() as receiver:
        webhook_id = _subscribe(tenant, receiver.url)
        try:
            started = time.monotonic()
            for _ in range(submissions):
                body = {
                    "blueprint_id": blueprint,
                    "company_id": tenant.company_id,
                    "entities": _unpaced_entities(entities),
                }
                submission = _data(tenant.client.post("/api/v1/batch/submit", json=body))
                _wait_finished(tenant, submission["submission_id"], timeout=300, poll=0.05)
            pipelines_done = time.monotonic() - started
            expected = {"submission.completed": submissions, "run.succeeded": submissions * entities}
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and any(receiver.count(t) < n for t, n in expected.items()):
                time.sleep(0.05)
            all_delivered = time.monotonic() - started
        finally:
            _unsubscribe(tenant, webhook_id)
        done, runs = receiver.latencies("submission.completed"), receiver.latencies("run.succeeded")
        return {
            "submissions": submissions,
            "entities_each": entities,
            "submission_events_received": len(done),
            "run_events_received": len(runs),
            "submission_p50_s": _percentile(done, 0.5),
            "submission_p99_s": _percentile(done, 0.99),
            "run_p50_s": _percentile(runs, 0.5),
            "run_p99_s": _percentile(runs, 0.99),
            "pipelines_seconds": pipelines_done,
            "all_delivered_seconds": all_delivered,
        }


def webhook_down(stack: BenchStack, tenant: Tenant, entities: int) -> dict[str, float]:
    """13: steps/s of an N-entity one-step batch with a subscribed receiver that answers 500 to
    everything, against the same batch with no webhook (before and after: the mean of the two)."""
    blueprint = unpaced_blueprint(tenant)

    def steps_per_s() -> float:
        body = {"blueprint_id": blueprint, "company_id": tenant.company_id, "entities": _unpaced_entities(entities)}
        started = time.monotonic()
        submission = _data(tenant.client.post("/api/v1/batch/submit", json=body))
        _wait_finished(tenant, submission["submission_id"], timeout=600, poll=0.05)
        return entities / (time.monotonic() - started)

    before = steps_per_s()
    with Receiver(status=500) as receiver:
        webhook_id = _subscribe(tenant, receiver.url)
        try:
            down = steps_per_s()
        finally:
            _unsubscribe(tenant, webhook_id)
        refused = receiver.requests
    after = steps_per_s()
    baseline = (before + after) / 2
    return {
        "entities": entities,
        "no_webhook_steps_per_s": baseline,
        "receiver_down_steps_per_s": down,
        "ratio": down / baseline,
        "attempts_refused_by_receiver": refused,
    }


def _csv(entities: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Company Name", "Domain"])
    for e in entities:
        writer.writerow([e["input"]["name"], e["input"]["domain"]])
    return out.getvalue().encode()


def csv_import(stack: BenchStack, tenant: Tenant, rows: int, repeats: int) -> tuple[dict[str, float], str]:
    """14: `batch/submit-csv` of a `rows`-row file (the rows of scenario 4, through the same
    three-step blueprint; the worker stopped), seconds from upload to answer."""
    data = _csv(_entities(rows))
    form = {"blueprint_id": tenant.blueprints["pipeline"], "company_id": tenant.company_id}
    times, submission_id = [], ""
    for _ in range(repeats):
        started = time.monotonic()
        r = tenant.client.post("/api/v1/batch/submit-csv", data=form, files={"file": ("bench.csv", data, "text/csv")})
        submission_id = _data(r)["submission_id"]
        times.append(time.monotonic() - started)
        asyncio.run(_clear_queue(stack.dsn))
    return {
        "rows": rows,
        "file_mb": len(data) / 2**20,
        "seconds_p50": statistics.median(times),
        "seconds_min": min(times),
        "seconds_max": max(times),
    }, submission_id


async def _finish_runs_like_a_real_one(dsn: str, tenant: Tenant, submission_id: str) -> int:
    """Gives every run of the submission the final context of a real finished run of scenario 3
    (the three steps' outputs), so the export streams rows of a realistic size without the
    worker working through 10,000 runs first."""
    conn = await asyncpg.connect(dsn)
    try:
        context = await conn.fetchval(
            "SELECT final_context FROM pipeline_runs WHERE org_id = $1 AND status = 'succeeded' "
            "AND final_context IS NOT NULL ORDER BY length(final_context::text) DESC LIMIT 1",
            uuid.UUID(tenant.org_id),
        )
        result = await conn.execute(
            "UPDATE pipeline_runs SET status = 'succeeded', final_context = $3::jsonb "
            "WHERE org_id = $1 AND submission_id = $2",
            uuid.UUID(tenant.org_id),
            uuid.UUID(submission_id),
            context,
        )
        return int(result.split()[-1])
    finally:
        await conn.close()


def csv_export(stack: BenchStack, tenant: Tenant, submission_id: str, repeats: int) -> dict[str, float]:
    """14: `batch/export` of a 10,000-run submission, read as fast as the client can: the API
    process's RSS growth over its RSS before (sampled every 50 ms), time to first byte, seconds."""
    runs = asyncio.run(_finish_runs_like_a_real_one(stack.dsn, tenant, submission_id))
    growth, first_byte, seconds, size, rows = [], [], [], 0, 0
    for _ in range(repeats):
        baseline = stack.rss_mb("api")
        with RssSampler(stack, ("api",), interval=0.05) as sampler:
            started = time.monotonic()
            with tenant.client.stream("POST", "/api/v1/batch/export", json={"submission_id": submission_id}) as r:
                if r.status_code != 200:
                    raise RuntimeError(f"export → {r.status_code}: {r.read()[:300]!r}")
                size, rows, ttfb = 0, 0, None
                for chunk in r.iter_bytes():
                    if ttfb is None:
                        ttfb = time.monotonic() - started
                    size += len(chunk)
                    rows += chunk.count(b"\r\n")
            seconds.append(time.monotonic() - started)
        first_byte.append(ttfb or 0.0)
        growth.append(max(0.0, sampler.peak["api"] - baseline))
    return {
        "runs": runs,
        "rows_read": rows - 1,  # the header
        "export_mb": size / 2**20,
        "rss_growth_mb_max": max(growth),
        "first_byte_s_p50": statistics.median(first_byte),
        "seconds_p50": statistics.median(seconds),
    }
