"""The real stack for benchmarks, started by `app.stack`: a fresh embedded Postgres cluster,
uvicorn (one process, no reload), the graphile-worker host (concurrency 32) and the provider
sandbox at zero latency. What is bench-specific here: fresh secrets, quiet logs, the provider
overrides of a run, and the RSS figures."""

import os
import secrets
import shutil
from pathlib import Path

import psutil

from app.config import REPO_ROOT
from app.embedded_pg import EmbeddedPostgres
from app.stack import Stack, free_port

BENCH_DIR = REPO_ROOT / ".data" / "bench"


class BenchStack(Stack):
    def __init__(self, env: dict[str, str], logs: Path, super_key: str, provider_overrides: dict[str, str]) -> None:
        super().__init__(env, logs=logs, stop_timeout=30)
        self.super_key = super_key
        self.provider_overrides = provider_overrides

    def start_processes(self) -> None:
        """Sandbox, API, worker; each ready before the next starts."""
        self.start_sandbox()
        # the overrides (rate limits, concurrency) go on top of the sandbox's provider settings
        self.env.update(self.provider_overrides)
        self.start_api(log_level="warning")
        self.start_worker(concurrency=32, env={"WORKER_LOG_LEVEL": "warn"}, wait=True)

    def rss_mb(self, name: str) -> float:
        """Resident memory of the processes of that name and their children."""
        total = 0
        for child in self.running(name):
            try:
                root = psutil.Process(child.pid)
                total += sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
            except psutil.NoSuchProcess:
                pass
        return total / 2**20


def start_stack(provider_overrides: dict[str, str] | None = None) -> BenchStack:
    """A fresh cluster, migrated; `start_processes()` starts the rest."""
    shutil.rmtree(BENCH_DIR, ignore_errors=True)
    BENCH_DIR.mkdir(parents=True)
    super_key = secrets.token_urlsafe(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATA_ENGINE_", "TRIGGER_"))}
    env.update(
        {
            "DATA_ENGINE_ENV": "local",
            "DATA_ENGINE_DATA_DIR": str(BENCH_DIR),
            "DATA_ENGINE_INTERNAL_API_KEY": secrets.token_urlsafe(32),
            "DATA_ENGINE_SUPER_ADMIN_API_KEY": super_key,
            "DATA_ENGINE_JWT_SECRET": secrets.token_urlsafe(32),
            "DATA_ENGINE_DB_POOL_MAX_SIZE": "20",
            "DATA_ENGINE_MAX_BODY_BYTES": str(20 * 1024 * 1024),
        }
    )
    stack = BenchStack(env, BENCH_DIR / "logs", super_key, provider_overrides or {})
    try:
        stack.start_postgres(EmbeddedPostgres(pgdata=BENCH_DIR / "postgres", port=free_port()), "bench")
        stack.migrate()
    except BaseException:
        stack.stop()
        raise
    return stack
