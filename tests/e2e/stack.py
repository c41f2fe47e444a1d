"""The real processes of a deployment for end-to-end tests, started by `app.stack`: the API under
uvicorn and the local (graphile-worker) pipeline host on a database of their own, the provider
sandbox beside them. What is e2e-specific here: the test secrets, fast worker liveness intervals,
and names the tests read well with."""

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from app.stack import Child, Stack
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
