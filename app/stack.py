"""The local stack's processes, started and stopped in one place: the database (the embedded
Postgres, or DATA_ENGINE_DATABASE_URL), migrations, the provider sandbox, the API under uvicorn
and the local pipeline worker (node). `make run` and `make demo` (app/cli.py), the benchmarks
(bench/stack.py) and the end-to-end and reliability tests (tests/e2e, tests/reliability) all
build on `Stack`; they differ only in the environment and options they pass.

    with stop_on_signals(), Stack(logs=None) as stack:   # logs=None: children write to our terminal
        stack.start_database(settings)
        stack.migrate()
        stack.start_sandbox()
        stack.start_api()
        stack.start_worker(wait=True)
        stack.wait_for_exit()                             # or a signal raises StopRequested

Every child runs in a session (process group) of its own, and so does the embedded Postgres: a
terminal's Ctrl-C reaches the launcher alone, which then stops the children in reverse start
order (the worker lets go of its jobs while the API still answers, the API goes before the
database), each with SIGTERM to its whole group and SIGKILL after a timeout. Nothing imports the
`sandbox` package (app and the sandbox only meet over HTTP): the sandbox is a `python -m sandbox`
child like the others.
"""

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self

import asyncpg
import httpx

from app.config import PROVIDER_NAMES, REPO_ROOT, Settings
from app.database import migrate_database
from app.embedded_pg import DATABASE, EmbeddedPostgres, embedded_for

LOOPBACK = "127.0.0.1"
TRIGGER_DIR = REPO_ROOT / "trigger"
# the sandbox's own constants (sandbox/__init__.py), repeated because app never imports sandbox;
# tests/sandbox/test_subprocess.py checks that the two agree
SANDBOX_KEY = "sandbox-key"
SANDBOX_ADYNTEL_EMAIL = "sandbox@example.com"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
DEFAULT_STOP_TIMEOUT = 20.0
# a worker pool's first heartbeat inserts its row (a new pool id per start), so a row started
# after the spawn is this worker having reached the API
WORKER_STARTED_SINCE = "SELECT EXISTS (SELECT 1 FROM worker_heartbeats WHERE started_at >= $1)"


class StackError(RuntimeError):
    """A process did not start: it exited, or did not become ready in time."""


class StopRequested(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP asked the launcher to stop: a clean stop, not an error."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def stop_on_signals(signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> Iterator[None]:
    """Inside the block the first of `signals` raises `StopRequested` (in the main thread); later
    ones are ignored, so a second Ctrl-C cannot cut the stop short. Handlers are restored after."""
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if not received:
            received.append(signum)
            raise StopRequested(signum)

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def sandbox_provider_env(base_url: str) -> dict[str, str]:
    """The API's provider settings pointing every provider at a sandbox (`http://host:port`)."""
    base = base_url.rstrip("/")
    env: dict[str, str] = {}
    for name in PROVIDER_NAMES:
        env[f"DATA_ENGINE_{name.upper()}_BASE_URL"] = f"{base}/{name}"
        env[f"DATA_ENGINE_{name.upper()}_API_KEY"] = SANDBOX_KEY
    env["DATA_ENGINE_ADYNTEL_EMAIL"] = SANDBOX_ADYNTEL_EMAIL
    return env


@dataclass
class Child:
    """One process started by a `Stack` (the leader of its own process group)."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path | None

    @property
    def pid(self) -> int:
        return self.process.pid

    def poll(self) -> int | None:
        return self.process.poll()

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(self.process.pid, sig)


class Stack:
    """Processes of one local deployment. `env` is the base environment of the API and the worker
    (default: ours); `logs` a directory where each child appends to `<name>.log` (None: children
    share our stdout and stderr). Ports left as None are picked free."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        logs: Path | None = None,
        host: str = LOOPBACK,
        api_port: int | None = None,
        sandbox_port: int | None = None,
        stop_timeout: float = DEFAULT_STOP_TIMEOUT,
    ) -> None:
        self.host = host
        self.api_port = api_port or free_port(host)
        self.sandbox_port = sandbox_port or free_port(host)
        self.env = dict(os.environ if env is None else env)
        # the worker (and the API, for links it hands out) find the API here
        self.env["DATA_ENGINE_API_URL"] = self.api_url
        self.logs = logs
        if logs is not None:
            logs.mkdir(parents=True, exist_ok=True)
        self.stop_timeout = stop_timeout
        self.children: list[Child] = []
        self.dsn: str | None = None
        self.postgres: EmbeddedPostgres | None = None
        self._owns_postgres = False

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def console_url(self) -> str:
        """The operator console the API serves (app/console.py)."""
        return f"{self.api_url}/console/"

    @property
    def sandbox_url(self) -> str:
        return f"http://{self.host}:{self.sandbox_port}"

    # ---- database -------------------------------------------------------------------------------

    def use_database(self, dsn: str) -> str:
        """An existing database (DATA_ENGINE_DATABASE_URL): used, never stopped."""
        self.dsn = dsn
        self.env["DATA_ENGINE_DATABASE_URL"] = dsn
        return dsn

    def start_postgres(self, server: EmbeddedPostgres, database: str = DATABASE) -> str:
        """Starts (or reuses) an embedded server and creates `database` on it. A server that was
        not running is stopped by `stop()`; one that was already running is left running."""
        self.postgres = server
        # decided before starting: a stop signal may land while pg_ctl is still starting it
        self._owns_postgres = not server.is_running()
        server.start()
        asyncio.run(server.ensure_database(database))
        return self.use_database(server.url(database))

    def start_database(self, settings: Settings) -> str:
        """What the settings name: DATA_ENGINE_DATABASE_URL, else the embedded server under the
        data directory (`.data/postgres`)."""
        if settings.database_url:
            return self.use_database(settings.database_url)
        return self.start_postgres(embedded_for(settings.data_dir, settings.embedded_postgres_port))

    def migrate(self, *, graphile: bool = True) -> None:
        """Migrations, the local queue's schema (`graphile`) and the operation catalog."""
        asyncio.run(migrate_database(self._dsn(), graphile=graphile))

    def _dsn(self) -> str:
        if self.dsn is None:
            raise StackError("no database yet: call start_database, start_postgres or use_database first")
        return self.dsn

    # ---- processes ------------------------------------------------------------------------------

    def spawn(self, name: str, args: list[str], *, cwd: Path, env: Mapping[str, str]) -> Child:
        """Starts `args` in a session of its own, its output appended to `<logs>/<name>.log`."""
        log_path = self.logs / f"{name}.log" if self.logs is not None else None
        out = open(log_path, "ab") if log_path is not None else None  # noqa: SIM115 - closed below
        try:
            process = subprocess.Popen(
                args,
                cwd=cwd,
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT if out is not None else None,
                start_new_session=True,
            )
        finally:
            if out is not None:
                out.close()  # the child has its own descriptor
        child = Child(name, process, log_path)
        self.children.append(child)
        return child

    def start_sandbox(
        self,
        *,
        seed: int | None = None,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
        log_level: str | None = "warning",
        inherit_knobs: bool = True,
        provider_env: bool = True,
        timeout: float = 15.0,
        **knobs: Any,
    ) -> Child:
        """`python -m sandbox` on `sandbox_port`, ready when its health check answers. `knobs` are
        global start values (`latency_ms=5`), `overrides` per-provider ones
        (`{"reoon": {"reoon_power_latency_ms": 0}}`); they travel as SANDBOX_* variables, on top
        of ours unless `inherit_knobs` is False. `provider_env` points the API and the worker at it."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("DATA_ENGINE_") and (inherit_knobs or not k.startswith("SANDBOX_"))
        }
        env.update({f"SANDBOX_{k.upper()}": str(v) for k, v in knobs.items()})
        for provider, values in (overrides or {}).items():
            env.update({f"SANDBOX_{provider.upper()}_{k.upper()}": str(v) for k, v in values.items()})
        if seed is not None:
            env["SANDBOX_SEED"] = str(seed)
        if log_level is not None:
            env["SANDBOX_LOG_LEVEL"] = log_level
        args = [sys.executable, "-m", "sandbox", "--host", self.host, "--port", str(self.sandbox_port)]
        child = self.spawn("sandbox", args, cwd=REPO_ROOT, env=env)
        self._wait_ready(child, lambda: _answers(f"{self.sandbox_url}/_sandbox/health"), timeout, "its health check")
        if provider_env:
            self.env.update(sandbox_provider_env(self.sandbox_url))
        return child

    def start_api(
        self,
        *,
        workers: int = 1,
        log_level: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        port: int | None = None,
        name: str = "api",
    ) -> Child:
        """The API under uvicorn (`workers` processes, no reload, no access log) on `api_port`,
        ready when /health answers 200. Another `port` (and `name`, for its log) starts one more
        API beside it on the same database, as another machine would be."""
        port = port or self.api_port
        args = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", self.host, "--port", str(port)]
        args.append("--no-access-log")
        if workers != 1:
            args += ["--workers", str(workers)]
        if log_level is not None:
            args += ["--log-level", log_level]
        child = self.spawn(name, args, cwd=REPO_ROOT, env={**self.env, **(env or {})})
        self._wait_ready(child, lambda: _answers(f"http://{self.host}:{port}/health"), timeout, "/health")
        return child

    def start_worker(
        self,
        *,
        concurrency: int | None = None,
        api_url: str | None = None,
        env: Mapping[str, str] | None = None,
        wait: bool = False,
        timeout: float = 30.0,
        name: str = "worker",
    ) -> Child:
        """The local (graphile-worker) pipeline host. `api_url` points it somewhere other than the
        API (a proxy). `wait`: until its first heartbeat is in the database (it reached the API)."""
        if not (TRIGGER_DIR / "node_modules" / ".bin" / "tsx").exists():
            raise StackError("the worker's packages are not installed: run `make install`")
        worker_env = {**self.env, **(env or {})}
        if concurrency is not None:
            worker_env["WORKER_CONCURRENCY"] = str(concurrency)
        if api_url is not None:
            worker_env["DATA_ENGINE_API_URL"] = api_url
        since = asyncio.run(_db_now(self._dsn())) if wait else None
        # node runs the worker itself, not a wrapper, so signals reach it; and it runs JavaScript
        # built from the sources at each start rather than TypeScript through tsx's loader, whose
        # hooks run in a thread with a V8 heap of its own: about 30 MB of the worker's resident
        # memory (issue 15: at most 150 MB)
        script = build_worker()
        command = ["node", *WORKER_NODE_FLAGS, str(script.relative_to(TRIGGER_DIR))]
        child = self.spawn(name, command, cwd=TRIGGER_DIR, env=worker_env)
        if since is not None:
            dsn = self._dsn()
            self._wait_ready(
                child, lambda: asyncio.run(_heartbeat_since(dsn, since)), timeout, "its first heartbeat", interval=0.2
            )
        return child

    def _wait_ready(
        self, child: Child, ready: Callable[[], bool], timeout: float, what: str, interval: float = 0.05
    ) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if child.poll() is not None:
                self.children.remove(child)
                raise StackError(f"the {child.name} exited with code {child.poll()}{self._tail(child)}")
            if time.monotonic() > deadline:
                self.terminate(child)
                raise StackError(f"the {child.name} did not answer {what} within {timeout:.0f} s{self._tail(child)}")
            time.sleep(interval)

    def _tail(self, child: Child) -> str:
        return f":\n{self.log_tail(child.name)}" if child.log_path is not None else ""

    # ---- looking at them ------------------------------------------------------------------------

    def running(self, name: str) -> list[Child]:
        return [c for c in self.children if c.name == name and c.poll() is None]

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.logs / f"{name}.log" if self.logs is not None else None
        return path.read_text(errors="replace")[-chars:] if path is not None and path.exists() else ""

    def wait_for_exit(self, poll_seconds: float = 0.5) -> Child:
        """Blocks until one of the children exits; returns it."""
        while True:
            for child in self.children:
                if child.poll() is not None:
                    return child
            time.sleep(poll_seconds)

    # ---- stopping -------------------------------------------------------------------------------

    def _find(self, target: str | Child) -> list[Child]:
        return [c for c in self.children if c is target or c.name == target]

    def terminate(self, target: str | Child, timeout: float | None = None) -> None:
        """SIGTERM to the process group of `target` (a child, or every child of that name), then
        SIGKILL to what is left after `timeout`."""
        for child in self._find(target):
            if child.poll() is None:
                child.signal_group(signal.SIGTERM)
                try:
                    child.process.wait(self.stop_timeout if timeout is None else timeout)
                except subprocess.TimeoutExpired:
                    child.signal_group(signal.SIGKILL)
                    child.process.wait()
            # a group may outlive its leader (uvicorn's workers): whatever is left goes too
            child.signal_group(signal.SIGKILL)
            self.children.remove(child)

    def kill(self, target: str | Child) -> None:
        """SIGKILL at once: work in flight dies with the process, nothing is flushed."""
        for child in self._find(target):
            child.signal_group(signal.SIGKILL)
            child.process.wait()
            self.children.remove(child)

    def stop(self) -> None:
        """Every child in reverse start order, then the embedded Postgres if it was started here.
        A stop signal arriving meanwhile does not cut it short."""
        while True:
            try:
                for child in reversed(list(self.children)):
                    self.terminate(child)
                if self.postgres is not None and self._owns_postgres:
                    self.postgres.stop()
                return
            except StopRequested:
                continue  # asked to stop while stopping: carry on

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


WORKER_ENTRY = "src/local/worker.ts"
# V8's young generation at 2 MB semi-spaces instead of 16: the worker's garbage is short-lived JSON
# (a step's request and answer), so scavenges stay cheap; peak RSS over a 1,000 × 3 batch at
# concurrency 32 fell from 173 to 147 MB at the same steps/s (decision 0085)
WORKER_NODE_FLAGS = ("--max-semi-space-size=2",)
WORKER_BUILD = TRIGGER_DIR / ".build" / "worker.mjs"


def build_worker() -> Path:
    """The local worker host as one ES module (`trigger/.build/worker.mjs`): our sources bundled by
    esbuild (tsx's own dependency), packages left to node_modules. Built under a name of its own
    and renamed, so stacks starting together each run a whole file."""
    esbuild = TRIGGER_DIR / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        raise StackError("the worker's packages are not installed: run `make install`")
    WORKER_BUILD.parent.mkdir(exist_ok=True)
    partial = WORKER_BUILD.with_name(f"worker.{os.getpid()}.{time.monotonic_ns()}.mjs")
    result = subprocess.run(
        [
            str(esbuild),
            WORKER_ENTRY,
            "--bundle",
            "--platform=node",
            "--format=esm",
            "--target=node20",
            "--packages=external",
            f"--outfile={partial}",
            "--log-level=warning",
        ],
        cwd=TRIGGER_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise StackError(f"the worker did not build:\n{result.stderr[-3000:]}")
    os.replace(partial, WORKER_BUILD)
    return WORKER_BUILD


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def _db_now(dsn: str) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT now()")
    finally:
        await conn.close()


async def _heartbeat_since(dsn: str, since: Any) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return bool(await conn.fetchval(WORKER_STARTED_SINCE, since))
    finally:
        await conn.close()
