"""The scenarios of the benchmarks issues, each returning its figures."""

import asyncio
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
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
    def __init__(self, stack: BenchStack, names: tuple[str, ...]) -> None:
        self.stack, self.names = stack, names
        self.peak = dict.fromkeys(names, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name in self.names:
                self.peak[name] = max(self.peak[name], self.stack.rss_mb(name))
            time.sleep(0.1)

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
        step_ids = await submissions_repo.step_ids(conn, PIPELINE_STEPS)
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
                [
                    (uuid.uuid4(), org, rid, step_ids[op], i + 1, op, "queued", {})
                    for rid in run_ids
                    for i, op in enumerate(PIPELINE_STEPS)
                ],
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
        "blueprint_id": tenant.blueprints["one_step"],
        "company_id": tenant.company_id,
        "entities": [{"entity_type": "company", "input": {"domain": f"found-f{uuid.uuid4().hex[:10]}.com"}}],
    }
    started = time.monotonic()
    submission = _data(tenant.client.post("/api/v1/batch/submit", json=body))
    _wait_finished(tenant, submission["submission_id"], timeout=900, poll=0.02)
    return time.monotonic() - started


def _big_batch(tenant: Tenant, entities: int) -> str:
    body = {
        "blueprint_id": tenant.blueprints["one_step"],
        "company_id": tenant.company_id,
        "entities": [
            {"entity_type": "company", "input": {"domain": f"found-b{uuid.uuid4().hex[:10]}.com"}}
            for _ in range(entities)
        ],
    }
    return str(_data(tenant.client.post("/api/v1/batch/submit", json=body))["submission_id"])


def fairness(stack: BenchStack, tenant: Tenant, other: Tenant, entities: int) -> dict[str, float]:
    """8: latency of a one-entity submission alone, then sent 1 s after another org's N-entity
    one-step batch, then 1 s after the same org's; with how much of the batch was still open."""
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
