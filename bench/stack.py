"""The real stack for benchmarks: a fresh embedded Postgres cluster, uvicorn (one process, no
reload), the graphile-worker host and the provider sandbox at zero latency."""

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from app.config import PROVIDER_NAMES, REPO_ROOT
from app.database import ensure_graphile_schema
from app.embedded_pg import EmbeddedPostgres
from app.migrate import apply_migrations

BENCH_DIR = REPO_ROOT / ".data" / "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited before {url} answered")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


@dataclass
class Stack:
    pg: EmbeddedPostgres
    dsn: str
    env: dict[str, str]
    api_port: int
    sandbox_port: int
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    super_key: str = ""
    internal_key: str = ""

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    def _spawn(self, name: str, args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        process = subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[name] = process
        return process

    def start_sandbox(self, **knobs: Any) -> None:
        env = {
            **os.environ,
            **{f"SANDBOX_{k.upper()}": str(v) for k, v in knobs.items()},
            "SANDBOX_LOG_LEVEL": "warning",
        }
        process = self._spawn(
            "sandbox", [sys.executable, "-m", "sandbox", "--port", str(self.sandbox_port)], REPO_ROOT, env
        )
        wait_http(f"{self.sandbox_url}/_sandbox/health", process)

    def start_api(self) -> None:
        process = self._spawn(
            "api",
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
                "--log-level",
                "warning",
            ],
            REPO_ROOT,
            self.env,
        )
        wait_http(f"{self.api_url}/health", process)

    def start_worker(self, concurrency: int = 32) -> None:
        env = {**self.env, "WORKER_CONCURRENCY": str(concurrency), "WORKER_LOG_LEVEL": "warn"}
        self._spawn("worker", ["node", "--import", "tsx", "src/local/worker.ts"], REPO_ROOT / "trigger", env)
        time.sleep(1.5)

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def rss_mb(self, name: str) -> float:
        process = self.processes.get(name)
        if process is None:
            return 0.0
        try:
            root = psutil.Process(process.pid)
            return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20
        except psutil.NoSuchProcess:
            return 0.0

    def cpu_seconds(self, name: str) -> float:
        process = self.processes.get(name)
        if process is None:
            return 0.0
        root = psutil.Process(process.pid)
        total = 0.0
        for p in [root, *root.children(recursive=True)]:
            t = p.cpu_times()
            total += t.user + t.system
        return total

    def shutdown(self) -> None:
        for name in list(self.processes):
            self.stop(name)
        self.pg.stop()


def start_stack(provider_overrides: dict[str, str] | None = None) -> Stack:
    shutil.rmtree(BENCH_DIR, ignore_errors=True)
    BENCH_DIR.mkdir(parents=True)
    (BENCH_DIR / "logs").mkdir()
    pg = EmbeddedPostgres(pgdata=BENCH_DIR / "postgres", port=free_port())
    pg.start()
    asyncio.run(pg.ensure_database("bench"))
    dsn = pg.url("bench")
    asyncio.run(apply_migrations(dsn))
    asyncio.run(ensure_graphile_schema(dsn))
    sandbox_port = free_port()
    api_port = free_port()
    super_key, internal_key = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATA_ENGINE_", "TRIGGER_"))}
    for name in PROVIDER_NAMES:
        env[f"DATA_ENGINE_{name.upper()}_BASE_URL"] = f"http://127.0.0.1:{sandbox_port}/{name}"
        env[f"DATA_ENGINE_{name.upper()}_API_KEY"] = "sandbox-key"
    env.update(
        {
            "DATA_ENGINE_ENV": "local",
            "DATA_ENGINE_DATABASE_URL": dsn,
            "DATA_ENGINE_DATA_DIR": str(BENCH_DIR),
            "DATA_ENGINE_API_URL": f"http://127.0.0.1:{api_port}",
            "DATA_ENGINE_INTERNAL_API_KEY": internal_key,
            "DATA_ENGINE_SUPER_ADMIN_API_KEY": super_key,
            "DATA_ENGINE_JWT_SECRET": secrets.token_urlsafe(32),
            "DATA_ENGINE_ADYNTEL_EMAIL": "sandbox@example.com",
            "DATA_ENGINE_DB_POOL_MAX_SIZE": "20",
            "DATA_ENGINE_MAX_BODY_BYTES": str(20 * 1024 * 1024),
        }
    )
    env.update(provider_overrides or {})
    stack = Stack(
        pg=pg,
        dsn=dsn,
        env=env,
        api_port=api_port,
        sandbox_port=sandbox_port,
        logs=BENCH_DIR / "logs",
        super_key=super_key,
        internal_key=internal_key,
    )
    return stack
