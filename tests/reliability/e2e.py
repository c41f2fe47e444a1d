"""Real processes for the fault, load and hygiene tests: a Postgres cluster of their own (so a
restart touches no other test), the provider sandbox, the API under uvicorn and the
graphile-worker host, plus a chaos proxy between the worker and the API and the invariants every
fault must leave intact."""

import asyncio
import json
import random
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn

from app.db import init_connection
from app.embedded_pg import EmbeddedPostgres
from app.stack import Stack
from tests.conftest import TEST_SECRETS
from tests.e2e.stack import E2EStack, make_stack, wait_until
from tests.sandbox_server import SANDBOX_ADYNTEL_EMAIL, SANDBOX_KEY, SandboxProcess, free_port, start_sandbox

TERMINAL_SUBMISSION = ("completed", "failed", "canceled")


class OwnPostgres:
    """An embedded cluster with its own data directory and port, migrated like production."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="dex-reliability-pg-"))
        self.server = EmbeddedPostgres(pgdata=self.dir / "pgdata", port=free_port())
        launcher = Stack(env={})
        self.dsn = launcher.start_postgres(self.server, "reliability")
        launcher.migrate()

    def stop(self) -> None:
        self.server.stop()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class ChaosProxy:
    """An HTTP proxy between the worker and the API that duplicates, delays (and so reorders) the
    worker's callbacks, and records them so they can be replayed after the fact."""

    def __init__(self, upstream: str, *, seed: int = 7) -> None:
        self.upstream = upstream.rstrip("/")
        self.port = free_port()
        self.rng = random.Random(seed)
        self.duplicate_rate = 0.0
        self.max_delay = 0.0
        self.recorded: list[tuple[str, dict[str, str], bytes]] = []
        self.counts = {"forwarded": 0, "duplicated": 0, "delayed": 0}
        self._client: httpx.AsyncClient | None = None
        self._server = uvicorn.Server(
            uvicorn.Config(
                self._app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", interface="asgi3"
            )
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        wait_until(lambda: self._server.started, 10, "the chaos proxy to listen")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def chaos(self, duplicate_rate: float, max_delay: float) -> None:
        self.duplicate_rate, self.max_delay = duplicate_rate, max_delay

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"] if k.lower() not in (b"host", b"content-length")}
        path = scope["path"]
        if "/pipeline-runs/" in path or "/steps/" in path:
            self.recorded.append((path, headers, body))
        delay = self.rng.random() * self.max_delay
        duplicate = self.rng.random() < self.duplicate_rate
        if self._client is None:  # created on the proxy's own event loop, then reused
            self._client = httpx.AsyncClient(base_url=self.upstream, timeout=600)
        client = self._client
        if delay:
            self.counts["delayed"] += 1
            await asyncio.sleep(delay)
        calls = [client.post(path, content=body, headers=headers)]
        if duplicate:
            self.counts["duplicated"] += 1
            calls.append(client.post(path, content=body, headers=headers))
        try:
            responses = await asyncio.gather(*calls, return_exceptions=True)
        finally:
            self.counts["forwarded"] += 1
        answers = [r for r in responses if isinstance(r, httpx.Response)]
        if not answers:
            await send({"type": "http.response.start", "status": 502, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        # the worker gets one of the answers, not necessarily the first to arrive
        chosen = self.rng.choice(answers)
        out = [(k.encode(), v.encode()) for k, v in chosen.headers.items() if k.lower() not in ("content-length",)]
        await send({"type": "http.response.start", "status": chosen.status_code, "headers": out})
        await send({"type": "http.response.body", "body": chosen.content})

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@dataclass
class ReliabilityStack:
    pg: OwnPostgres
    sandbox: SandboxProcess
    stack: E2EStack
    proxy: ChaosProxy
    client: httpx.Client = field(init=False)
    org_id: str = ""
    company_id: str = ""
    token: str = ""
    tokens: list[str] = field(default_factory=list)
    password: str = "reliability password 0123"
    email: str = ""

    def tenant(self) -> None:
        admin = httpx.Client(
            base_url=self.stack.api_url,
            timeout=30,
            headers={"Authorization": f"Bearer {TEST_SECRETS['super_admin_api_key']}"},
        )
        org = data(
            admin.post("/api/super-admin/orgs/create", json={"name": "Rel", "slug": f"rel-{uuid.uuid4().hex[:8]}"})
        )
        company = data(admin.post("/api/super-admin/companies/create", json={"org_id": org["id"], "name": "Client"}))
        self.email = f"owner-{uuid.uuid4().hex[:6]}@example.com"
        data(
            admin.post(
                "/api/super-admin/users/create",
                json={"org_id": org["id"], "email": self.email, "role": "org_admin", "password": self.password},
            )
        )
        self.org_id, self.company_id = org["id"], company["id"]
        self.token = data(
            admin.post(
                "/api/super-admin/api-tokens/create", json={"org_id": org["id"], "name": "rel", "role": "org_admin"}
            )
        )["token"]
        self.tokens.append(self.token)
        self.client = httpx.Client(
            base_url=self.stack.api_url, timeout=60, headers={"Authorization": f"Bearer {self.token}"}
        )
        admin.close()

    def new_token(self, role: str = "company_admin") -> str:
        token = data(
            self.client.post(
                "/api/api-tokens/create", json={"name": "load", "role": role, "company_id": self.company_id}
            )
        )["token"]
        self.tokens.append(token)
        return token

    def blueprint(self, steps: list[str]) -> str:
        body = {
            "name": f"bp-{uuid.uuid4().hex[:6]}",
            "steps": [{"position": i + 1, "operation_id": op} for i, op in enumerate(steps)],
        }
        return data(self.client.post("/api/blueprints/create", json=body))["id"]

    def submit(self, blueprint_id: str, domains: list[str]) -> str:
        body = {
            "blueprint_id": blueprint_id,
            "company_id": self.company_id,
            "entities": [{"entity_type": "company", "input": {"domain": d}} for d in domains],
        }
        return data(self.client.post("/api/v1/batch/submit", json=body))["submission_id"]

    def status(self, submission_id: str, limit: int = 1) -> dict[str, Any]:
        body = {"submission_id": submission_id, "limit": limit}
        response = self.client.post("/api/v1/batch/status", json=body)
        if response.status_code == 429:  # a polite client: wait as told, once
            time.sleep(int(response.headers["Retry-After"]))
            response = self.client.post("/api/v1/batch/status", json=body)
        return data(response)

    def wait_all_done(self, submission_ids: list[str], timeout: float) -> None:
        """Many submissions at once, watched in Postgres rather than by polling the API."""
        ids = [uuid.UUID(s) for s in submission_ids]

        def done() -> bool:
            rows = fetch_sync(
                self.pg.dsn,
                "SELECT count(*) FROM submissions WHERE id = ANY($1) AND status::text <> ALL($2::text[])",
                ids,
                list(TERMINAL_SUBMISSION),
            )
            return rows[0][0] == 0

        wait_until(done, timeout, f"{len(ids)} submissions to finish")

    def wait_done(self, submission_id: str, timeout: float = 120) -> dict[str, Any]:
        def done() -> bool:
            try:
                return self.status(submission_id)["submission"]["status"] in TERMINAL_SUBMISSION
            except (httpx.HTTPError, AssertionError):
                return False  # the API may be restarting

        try:
            wait_until(done, timeout, f"submission {submission_id} to finish")
        except TimeoutError:
            raise AssertionError(
                f"not finished (logs in {self.stack.logs}); worker log:\n{self.stack.log_tail('worker')}\n"
                f"api log:\n{self.stack.log_tail('api')}"
            ) from None
        return self.status(submission_id)

    def wait_progress(self, submission_id: str, finished: int, timeout: float = 60) -> None:
        def progressed() -> bool:
            summary = self.status(submission_id)["summary"]
            return summary["succeeded"] + summary["failed"] >= finished

        wait_until(progressed, timeout, f"{finished} runs of {submission_id} to finish")

    def logs(self) -> dict[str, str]:
        out = {}
        for path in sorted(self.stack.logs.glob("*.log")):
            out[path.name] = path.read_text(errors="replace")
        out["sandbox.log"] = self.sandbox.log()
        return out

    def close(self) -> None:
        if hasattr(self, "client"):
            self.client.close()
        self.stack.stop()
        self.proxy.stop()
        self.sandbox.stop()
        self.pg.destroy()


def data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def start_reliability_stack(**settings: str) -> ReliabilityStack:
    pg = OwnPostgres()
    sandbox = start_sandbox(
        icypeas_delay_ms=50, parallel_delay_ms=50, overrides={"reoon": {"reoon_power_latency_ms": 0}}
    )
    stack = make_stack(pg.dsn, sandbox, **settings)
    proxy = ChaosProxy(stack.api_url)
    running = ReliabilityStack(pg=pg, sandbox=sandbox, stack=stack, proxy=proxy)
    try:
        stack.start_api()
        stack.start_worker(api_url=proxy.url)
        running.tenant()
    except BaseException:
        running.close()
        raise
    return running


async def fetch(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    await init_connection(conn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def check_invariants(dsn: str, submission_ids: list[str]) -> dict[str, int]:
    """What no fault may break: every run terminal, one entity version per succeeded run (none
    for the others), every step result there and settled, every executed step with exactly one
    recorded operation run holding its provider attempts, record versions matching history."""
    ids = [uuid.UUID(s) for s in submission_ids]
    problems: list[str] = []
    submissions = await fetch(dsn, "SELECT id, status FROM submissions WHERE id = ANY($1)", ids)
    problems += [
        f"submission {s['id']} is {s['status']}" for s in submissions if s["status"] not in TERMINAL_SUBMISSION
    ]
    runs = await fetch(
        dsn,
        """
        SELECT r.id, r.status,
               jsonb_array_length(r.blueprint_snapshot->'steps') AS declared,
               (SELECT count(*) FROM step_results s WHERE s.pipeline_run_id = r.id) AS steps,
               (SELECT count(*) FROM step_results s WHERE s.pipeline_run_id = r.id
                  AND s.status IN ('queued', 'running')) AS open_steps,
               (SELECT count(*) FROM step_results s WHERE s.pipeline_run_id = r.id
                  AND s.status = 'succeeded') AS succeeded_steps,
               (SELECT count(*) FROM entity_versions v WHERE v.pipeline_run_id = r.id) AS versions
        FROM pipeline_runs r WHERE r.submission_id = ANY($1)
        """,
        ids,
    )
    for run in runs:
        if run["status"] not in ("succeeded", "failed", "canceled"):
            problems.append(f"run {run['id']} is {run['status']}")
        if run["steps"] != run["declared"]:
            problems.append(f"run {run['id']} has {run['steps']} step results for {run['declared']} steps")
        if run["open_steps"]:
            problems.append(f"run {run['id']} ({run['status']}) has {run['open_steps']} steps still open")
        expected_versions = 1 if run["status"] == "succeeded" else 0
        if run["versions"] != expected_versions:
            problems.append(f"run {run['id']} ({run['status']}) has {run['versions']} entity versions")
        if run["status"] == "succeeded" and run["succeeded_steps"] != run["declared"]:
            problems.append(f"run {run['id']} succeeded with {run['succeeded_steps']}/{run['declared']} steps")
    steps = await fetch(
        dsn,
        """
        SELECT s.pipeline_run_id, s.position, s.status, s.operation_run_id, s.error_message,
               (SELECT count(*) FROM operation_runs o WHERE o.pipeline_run_id = s.pipeline_run_id
                  AND o.step_position = s.position) AS operation_runs,
               (SELECT count(*) FROM operation_attempts a WHERE a.run_id = s.operation_run_id) AS attempts,
               (SELECT cardinality(o.missing_inputs) FROM operation_runs o WHERE o.id = s.operation_run_id) AS missing,
               (SELECT o.cached FROM operation_runs o WHERE o.id = s.operation_run_id) AS cached
        FROM step_results s JOIN pipeline_runs r ON r.id = s.pipeline_run_id
        WHERE r.submission_id = ANY($1)
        """,
        ids,
    )
    executed = 0
    for step in steps:
        where = f"step {step['position']} of run {step['pipeline_run_id']} ({step['status']})"
        if step["status"] == "succeeded" or (step["status"] == "failed" and step["operation_run_id"]):
            executed += 1
            if step["operation_run_id"] is None:
                problems.append(f"{where} has no operation run")
            if step["operation_runs"] != 1:
                problems.append(f"{where} has {step['operation_runs']} operation runs recorded")
            # a run answered by the result cache (CONTRACT §9.2) asked no provider
            if step["attempts"] < 1 and not step["missing"] and not step["cached"]:
                problems.append(f"{where}: its operation run has no provider attempt")
        elif step["status"] == "failed" and not step["error_message"]:
            problems.append(f"{where} failed without an error")
    entities = await fetch(
        dsn,
        """
        SELECT e.id, e.record_version,
               (SELECT count(*) FROM entity_versions v WHERE v.entity_id = e.id) AS versions
        FROM company_entities e
        WHERE e.id IN (SELECT v.entity_id FROM entity_versions v JOIN pipeline_runs r ON r.id = v.pipeline_run_id
                       WHERE r.submission_id = ANY($1))
        """,
        ids,
    )
    problems += [
        f"entity {e['id']} is at version {e['record_version']} with {e['versions']} versions recorded"
        for e in entities
        if e["record_version"] != e["versions"]
    ]
    assert not problems, "\n".join(problems[:40])
    by_status: dict[str, int] = {}
    for run in runs:
        by_status[run["status"]] = by_status.get(run["status"], 0) + 1
    return {"runs": len(runs), "steps_executed": executed, "entities": len(entities), **by_status}


def fetch_sync(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    return asyncio.run(fetch(dsn, sql, *args))


def invariants(dsn: str, submission_ids: list[str]) -> dict[str, int]:
    return asyncio.run(check_invariants(dsn, submission_ids))


def attempt_statuses(dsn: str, submission_ids: list[str]) -> dict[str, int]:
    """How the providers answered the attempts of these submissions (HTTP status, or the error kind)."""
    rows = asyncio.run(
        fetch(
            dsn,
            """
            SELECT coalesce(a.http_status::text, a.raw_response->>'error', a.status::text) AS outcome, count(*) AS n
            FROM operation_attempts a JOIN operation_runs o ON o.id = a.run_id
            JOIN pipeline_runs r ON r.id = o.pipeline_run_id
            WHERE r.submission_id = ANY($1) GROUP BY 1
            """,
            [uuid.UUID(s) for s in submission_ids],
        )
    )
    return {str(r["outcome"])[:60]: r["n"] for r in rows}


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def stored_text(dsn: str) -> dict[str, str]:
    """Every row of every table the API and the worker write, as text, by table."""
    tables = fetch_sync(
        dsn,
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('public', 'graphile_worker') AND table_type = 'BASE TABLE'",
    )
    out = {}
    for row in tables:
        name = f'"{row["table_schema"]}"."{row["table_name"]}"'
        out[name] = fetch_sync(dsn, f"SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM {name} t")[0][0]
    return out


def configured_secrets(running: ReliabilityStack) -> dict[str, str]:
    """Every secret the processes were configured with, every token plaintext issued, the password."""
    return {
        **{f"DATA_ENGINE_{k.upper()}": v for k, v in TEST_SECRETS.items()},
        "provider api key": SANDBOX_KEY,
        "adyntel email": SANDBOX_ADYNTEL_EMAIL,
        "user password": running.password,
        **{f"api token {t[:10]}…": t for t in running.tokens},
        **{f"api token body {t[:10]}…": t[len("dex_") :] for t in running.tokens},
    }


def secret_findings(running: ReliabilityStack, secrets: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """Where any of `secrets` appears in the processes' logs or in any stored row."""
    sources = {**running.logs(), **stored_text(running.pg.dsn)}
    found = [
        f"{what} in {where}" for where, text in sources.items() for what, value in secrets.items() if value in text
    ]
    return found, sources
