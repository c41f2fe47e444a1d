"""The real processes of a deployment, started for end-to-end tests: the API under uvicorn, the
local (graphile-worker) pipeline host, and the provider sandbox, on a database of their own."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.config import REPO_ROOT
from tests.conftest import TEST_SECRETS
from tests.sandbox_server import SandboxProcess, free_port, sandbox_provider_env


@dataclass
class Stack:
    dsn: str
    sandbox: SandboxProcess
    api_port: int
    env: dict[str, str]
    logs: Path
    api: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def _log(self, name: str) -> Any:
        return open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child process

    def start_api(self) -> None:
        self.api = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.api_port),
                "--no-access-log",
            ],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=self._log("api"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: _ok(f"{self.api_url}/health"), 60, "the API to answer /health", self.api)

    def kill_api(self) -> None:
        """SIGKILL: requests in flight die with the process, nothing is flushed."""
        if self.api is not None:
            _signal_group(self.api, signal.SIGKILL)
            self.api.wait(timeout=10)
            self.api = None

    def start_worker(self, concurrency: int = 8, api_url: str | None = None) -> subprocess.Popen[bytes]:
        """`api_url` points the worker somewhere other than the API itself (a proxy)."""
        env = {
            **self.env,
            **({"DATA_ENGINE_API_URL": api_url} if api_url else {}),
            "WORKER_CONCURRENCY": str(concurrency),
            "WORKER_HEARTBEAT_INTERVAL_MS": "500",
            "WORKER_RECOVER_INTERVAL_MS": "1000",
            "WORKER_LOG_LEVEL": "info",
        }
        # node itself runs the worker (tsx as a loader), so a SIGKILL hits the worker and not a wrapper
        worker = subprocess.Popen(
            ["node", "--import", "tsx", "src/local/worker.ts"],
            cwd=REPO_ROOT / "trigger",
            env=env,
            stdout=self._log("worker"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(worker)
        return worker

    def kill_worker(self, worker: subprocess.Popen[bytes]) -> None:
        _signal_group(worker, signal.SIGKILL)
        worker.wait(timeout=10)

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self) -> None:
        processes = [p for p in [*self.workers, self.api] if p is not None]
        for process in processes:
            _signal_group(process, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=10)


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass  # already gone


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(predicate: Any, timeout: float, what: str, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited while waiting for {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.1)


def make_stack(dsn: str, sandbox: SandboxProcess, **settings: str) -> Stack:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATA_ENGINE_", "TRIGGER_"))}
    env.update(sandbox_provider_env(sandbox.base_url))
    env.update({f"DATA_ENGINE_{k.upper()}": v for k, v in TEST_SECRETS.items()})
    port = free_port()
    env.update(
        {
            "DATA_ENGINE_ENV": "local",
            "DATA_ENGINE_DATABASE_URL": dsn,
            "DATA_ENGINE_API_URL": f"http://127.0.0.1:{port}",
            "DATA_ENGINE_DATA_DIR": tempfile.mkdtemp(prefix="dex-e2e-"),
            "DATA_ENGINE_WORKER_STALE_SECONDS": "2",
            "DATA_ENGINE_ICYPEAS_READ_INTERVAL_SECONDS": "0",
            "DATA_ENGINE_ICYPEAS_POLL_INTERVAL_SECONDS": "0.05",
        }
    )
    env.update({f"DATA_ENGINE_{k.upper()}": v for k, v in settings.items()})
    return Stack(dsn=dsn, sandbox=sandbox, api_port=port, env=env, logs=Path(tempfile.mkdtemp(prefix="dex-logs-")))
