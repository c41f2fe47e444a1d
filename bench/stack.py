"""The real stack for benchmarks, started by `app.stack`: a fresh embedded Postgres cluster,
uvicorn (one process, no reload), the graphile-worker host (concurrency 32) and the provider
sandbox at zero latency. What is bench-specific here: fresh secrets, quiet logs, the provider
overrides of a run, the RSS and CPU figures, and pg_stat_statements in the cluster."""

import asyncio
import os
import secrets
import shutil
from pathlib import Path

import asyncpg
import psutil

from app.config import REPO_ROOT
from app.embedded_pg import EmbeddedPostgres
from app.stack import Stack, free_port

BENCH_DIR = REPO_ROOT / ".data" / "bench"
# statements per step are counted by pg_stat_statements (shipped with the embedded build): top-level
# statements only, i.e. what the clients sent, a function's inner queries not counted apart
PG_SETTINGS = ("shared_preload_libraries=pg_stat_statements", "pg_stat_statements.track=top")
CPU_PROCESSES = ("api", "worker", "postgres", "sandbox")
REQUEST_LIMITS = ("RATE_LIMIT", "ORG_RATE_LIMIT", "INTERNAL_RATE_LIMIT")
UNREACHABLE_PER_MINUTE = 100_000_000


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

    def _roots(self, name: str) -> list[int]:
        if name == "postgres":
            assert self.postgres is not None
            # the postmaster's pid is the first line of postmaster.pid; backends are its children
            return [int((self.postgres.pgdata / "postmaster.pid").read_text().split()[0])]
        return [c.pid for c in self.running(name)]

    def cpu_seconds(self) -> dict[str, float]:
        """User + system CPU seconds so far of each process tree (API, worker, Postgres, sandbox):
        the live processes' own times plus what their exited children left to their parents."""
        totals = dict.fromkeys(CPU_PROCESSES, 0.0)
        for name in CPU_PROCESSES:
            for pid in self._roots(name):
                try:
                    root = psutil.Process(pid)
                    tree = [root, *root.children(recursive=True)]
                except psutil.NoSuchProcess:
                    continue
                for p in tree:
                    try:
                        t = p.cpu_times()
                    except psutil.NoSuchProcess:
                        continue
                    totals[name] += t.user + t.system + t.children_user + t.children_system
        return totals


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
            # the request limits stay on (their check is part of every request's cost) but out of
            # reach: at the defaults (1,200 a minute per credential) most of a wrk run's requests
            # were 429s, so scenarios 1 and 2 measured the refusal, not the endpoint
            **{f"DATA_ENGINE_{limit}_PER_MINUTE": str(UNREACHABLE_PER_MINUTE) for limit in REQUEST_LIMITS},
            **{f"DATA_ENGINE_{limit}_BURST": str(UNREACHABLE_PER_MINUTE) for limit in REQUEST_LIMITS},
        }
    )
    stack = BenchStack(env, BENCH_DIR / "logs", super_key, provider_overrides or {})
    try:
        server = EmbeddedPostgres(pgdata=BENCH_DIR / "postgres", port=free_port(), settings=PG_SETTINGS)
        stack.start_postgres(server, "bench")
        stack.migrate()
        asyncio.run(_create_pg_stat_statements(stack.dsn))
    except BaseException:
        stack.stop()
        raise
    return stack


async def _create_pg_stat_statements(dsn: str | None) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    finally:
        await conn.close()
