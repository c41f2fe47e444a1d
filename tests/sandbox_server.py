"""Run the provider sandbox as a real subprocess from tests (and from anything else in Python).

    with start_sandbox(icypeas_delay_ms=50) as sandbox:
        env = sandbox_provider_env(sandbox.base_url)   # DATA_ENGINE_<PROVIDER>_BASE_URL / _API_KEY
        sandbox.configure(error_rate=0.5, provider="leadmagic")
        sandbox.stats()

Knobs given to `start_sandbox` are start values (`POST /_sandbox/reset` restores them); they travel
as `SANDBOX_<KNOB>` environment variables of the child process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from sandbox import ADYNTEL_EMAIL as SANDBOX_ADYNTEL_EMAIL
from sandbox import PROVIDERS
from sandbox import VALID_KEY as SANDBOX_KEY

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sandbox_provider_env(url_base: str) -> dict[str, str]:
    """The API's provider settings pointing at a sandbox (`http://127.0.0.1:PORT`)."""
    base = url_base.rstrip("/")
    env: dict[str, str] = {}
    for provider in PROVIDERS:
        upper = provider.upper()
        env[f"DATA_ENGINE_{upper}_BASE_URL"] = f"{base}/{provider}"
        env[f"DATA_ENGINE_{upper}_API_KEY"] = SANDBOX_KEY
    env["DATA_ENGINE_ADYNTEL_EMAIL"] = SANDBOX_ADYNTEL_EMAIL
    return env


class SandboxProcess:
    """A running `python -m sandbox`; stop it with `.stop()` or use it as a context manager."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.log_path = log_path
        self.base_url = f"http://127.0.0.1:{port}"
        self._client = httpx.Client(base_url=self.base_url, timeout=10.0)

    def url(self, provider: str) -> str:
        if provider not in PROVIDERS:
            raise ValueError(f"unknown provider {provider!r}")
        return f"{self.base_url}/{provider}"

    def configure(self, provider: str | None = None, **knobs: Any) -> dict[str, Any]:
        """Partial knob update: global when `provider` is None, else that provider's overrides."""
        r = self._client.post("/_sandbox/config", json={"provider": provider, **knobs})
        r.raise_for_status()
        return r.json()

    def reset(self, seed: int | None = None) -> dict[str, Any]:
        r = self._client.post("/_sandbox/reset", json={} if seed is None else {"seed": seed})
        r.raise_for_status()
        return r.json()

    def stats(self) -> dict[str, Any]:
        r = self._client.get("/_sandbox/stats")
        r.raise_for_status()
        return r.json()

    def health(self) -> dict[str, Any]:
        r = self._client.get("/_sandbox/health")
        r.raise_for_status()
        return r.json()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 5.0) -> None:
        self._client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_sandbox(
    port: int | None = None,
    *,
    seed: int | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    startup_timeout: float = 15.0,
    **knobs: Any,
) -> SandboxProcess:
    """Starts the sandbox on loopback (a free port unless given) and waits for its health check.

    `knobs` are global start values (`latency_ms=5`, `icypeas_delay_ms=50`, ...), `overrides`
    per-provider ones (`{"reoon": {"reoon_power_latency_ms": 0}}`).
    """
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    for name, value in knobs.items():
        env[f"SANDBOX_{name.upper()}"] = str(value)
    for provider, values in (overrides or {}).items():
        for name, value in values.items():
            env[f"SANDBOX_{provider.upper()}_{name.upper()}"] = str(value)
    if seed is not None:
        env["SANDBOX_SEED"] = str(seed)
    env["SANDBOX_LOG_LEVEL"] = "warning"
    log = tempfile.NamedTemporaryFile(prefix="sandbox-", suffix=".log", delete=False)
    log_path = Path(log.name)
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    sandbox = SandboxProcess(process, port, log_path)
    deadline = time.monotonic() + startup_timeout
    while True:
        if process.poll() is not None:
            output = sandbox.log()
            sandbox.stop()
            raise RuntimeError(f"the sandbox exited with code {process.returncode}:\n{output}")
        try:
            if sandbox.health().get("status") == "ok":
                return sandbox
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            output = sandbox.log()
            sandbox.stop()
            raise RuntimeError(f"the sandbox did not become healthy within {startup_timeout} s:\n{output}")
        time.sleep(0.05)
