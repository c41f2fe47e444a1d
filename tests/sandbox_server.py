"""Run the provider sandbox as a real subprocess from tests (and from anything else in Python).

    with start_sandbox(icypeas_delay_ms=50) as sandbox:
        env = sandbox_provider_env(sandbox.base_url)   # DATA_ENGINE_<PROVIDER>_BASE_URL / _API_KEY
        sandbox.configure(error_rate=0.5, provider="leadmagic")
        sandbox.stats()

Knobs given to `start_sandbox` are start values (`POST /_sandbox/reset` restores them); they travel
as `SANDBOX_<KNOB>` environment variables of the child process.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from app.stack import Child, Stack, StackError, free_port, sandbox_provider_env
from sandbox import ADYNTEL_EMAIL as SANDBOX_ADYNTEL_EMAIL
from sandbox import PROVIDERS
from sandbox import VALID_KEY as SANDBOX_KEY

__all__ = [
    "PROVIDERS",
    "SANDBOX_ADYNTEL_EMAIL",
    "SANDBOX_KEY",
    "SandboxProcess",
    "free_port",
    "sandbox_provider_env",
    "start_sandbox",
]


class SandboxProcess:
    """A running `python -m sandbox` (started by `app.stack`) and a client for its control API;
    stop it with `.stop()` or use it as a context manager."""

    def __init__(self, stack: Stack, child: Child) -> None:
        self._stack = stack
        self._child = child
        self.process = child.process
        self.port = stack.sandbox_port
        self.log_path = child.log_path or Path(tempfile.gettempdir()) / "no-sandbox.log"
        self.base_url = stack.sandbox_url
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
        self._stack.terminate(self._child, timeout)
        if self._stack.logs is not None:
            shutil.rmtree(self._stack.logs, ignore_errors=True)

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
    logs = Path(tempfile.mkdtemp(prefix="dex-sandbox-"))
    stack = Stack(logs=logs, sandbox_port=port, stop_timeout=5.0)
    try:
        child = stack.start_sandbox(
            seed=seed, overrides=overrides, inherit_knobs=False, provider_env=False, timeout=startup_timeout, **knobs
        )
    except StackError:
        stack.stop()
        shutil.rmtree(logs, ignore_errors=True)
        raise
    return SandboxProcess(stack, child)
