"""The real processes of a deployment for end-to-end tests, started by `app.stack`: the API under
uvicorn and the local (graphile-worker) pipeline host on a database of their own, the provider
sandbox beside them. What is e2e-specific here: the test secrets, fast worker liveness intervals,
and names the tests read well with."""

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from app.stack import Child, Stack
from tests import pg
from tests.conftest import TEST_SECRETS
from tests.sandbox_server import SandboxProcess, sandbox_provider_env


class E2EStack(Stack):
    def __init__(self, env: dict[str, str], sandbox: SandboxProcess) -> None:
        super().__init__(env, logs=Path(tempfile.mkdtemp(prefix="dex-logs-")))
        self.sandbox = sandbox

    @property
    def workers(self) -> list[Child]:
        return [c for c in self.children if c.name == "worker"]

    def kill_api(self) -> None:
        """SIGKILL: requests in flight die with the process, nothing is flushed."""
        self.kill("api")

    def kill_worker(self, worker: Child) -> None:
        self.kill(worker)


def wait_until(predicate: Any, timeout: float, what: str, process: Child | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited while waiting for {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.1)


def make_stack(dsn: str, sandbox: SandboxProcess, **settings: str) -> E2EStack:
    """`settings` are DATA_ENGINE_* overrides (`PROSPEO_TIMEOUT_SECONDS="1"`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATA_ENGINE_", "TRIGGER_"))}
    env.update(sandbox_provider_env(sandbox.base_url))
    env.update({f"DATA_ENGINE_{k.upper()}": v for k, v in TEST_SECRETS.items()})
    env.update(
        {
            "DATA_ENGINE_ENV": "local",
            "DATA_ENGINE_DATA_DIR": tempfile.mkdtemp(prefix="dex-e2e-"),
            "DATA_ENGINE_WORKER_STALE_SECONDS": "2",
            "DATA_ENGINE_ICYPEAS_READ_INTERVAL_SECONDS": "0",
            "DATA_ENGINE_ICYPEAS_POLL_INTERVAL_SECONDS": "0.05",
            # read by the worker only: 8 slots unless a test asks otherwise, liveness in fast motion
            "WORKER_CONCURRENCY": "8",
            "WORKER_HEARTBEAT_INTERVAL_MS": "500",
            "WORKER_RECOVER_INTERVAL_MS": "1000",
            "WORKER_LOG_LEVEL": "info",
        }
    )
    env.update({f"DATA_ENGINE_{k.upper()}": v for k, v in settings.items()})
    stack = E2EStack(env, sandbox)
    stack.use_database(dsn)
    return stack


@contextmanager
def running_stack(
    admin_dsn: str, name: str, sandbox: SandboxProcess, *, worker_concurrency: int | None = None
) -> Iterator[E2EStack]:
    """API and worker on a database of their own (a fresh `name` per run: a process left over
    from an interrupted run can never reach it), the sandbox beside them; all stopped, and the
    database and sandbox dropped, on the way out."""
    dsn = asyncio.run(pg.recreate_database(admin_dsn, name, template=pg.TEMPLATE_DB))
    running = make_stack(dsn, sandbox)
    try:
        running.start_api()
        if worker_concurrency is None:
            running.start_worker()
        else:
            running.start_worker(concurrency=worker_concurrency)
        yield running
    finally:
        running.stop()
        sandbox.stop()
        asyncio.run(pg.drop_database(admin_dsn, name))


def data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def new_tenant(stack: E2EStack, name: str, *, timeout: float = 60) -> dict[str, Any]:
    """An org with one company and an org_admin API token, made through the super-admin API:
    `{org_id, company_id, client}` with `client` authenticated as that token."""
    admin = httpx.Client(
        base_url=stack.api_url, timeout=30, headers={"Authorization": f"Bearer {TEST_SECRETS['super_admin_api_key']}"}
    )
    slug = f"{name.lower()}-{uuid.uuid4().hex[:8]}"
    org = data(admin.post("/api/super-admin/orgs/create", json={"name": name, "slug": slug}))
    company = data(admin.post("/api/super-admin/companies/create", json={"org_id": org["id"], "name": "Client"}))
    token = data(
        admin.post("/api/super-admin/api-tokens/create", json={"org_id": org["id"], "name": "e2e", "role": "org_admin"})
    )["token"]
    client = httpx.Client(base_url=stack.api_url, timeout=timeout, headers={"Authorization": f"Bearer {token}"})
    return {"org_id": org["id"], "company_id": company["id"], "client": client}
