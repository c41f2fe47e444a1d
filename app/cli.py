"""`python -m app <command>`: migrate, bootstrap, run (the whole local stack)."""

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import typer

from app.config import PROVIDER_NAMES, REPO_ROOT, Settings, get_settings
from app.database import prepare_schema, resolve_dsn, start_embedded
from app.embedded_pg import EmbeddedPostgres, embedded_for
from app.services.bootstrap import DemoTenant, ensure_demo

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="data-engine-x")
log = logging.getLogger("app.cli")


def _settings() -> Settings:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return get_settings()


async def _with_database(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    dsn, embedded = await resolve_dsn(settings)
    await prepare_schema(settings, dsn, apply=True)
    return dsn, embedded


@cli.command()
def migrate() -> None:
    """Apply pending migrations to DATA_ENGINE_DATABASE_URL (or the embedded Postgres)."""
    settings = _settings()

    async def main() -> None:
        _, embedded = await _with_database(settings)
        if embedded is not None and embedded.started_here:
            embedded.stop()

    asyncio.run(main())
    typer.echo("migrations applied; operation catalog in sync")


def _demo_file(settings: Settings) -> Path:
    return settings.data_dir / "demo.json"


async def _bootstrap(settings: Settings, dsn: str) -> DemoTenant:
    path = _demo_file(settings)
    kept = json.loads(path.read_text()) if path.exists() else {}
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            demo = await ensure_demo(conn, password=kept.get("password"), api_token=kept.get("api_token"))
    finally:
        await conn.close()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(demo.__dict__, f, indent=2)
    return demo


def _print_demo(demo: DemoTenant, api_url: str) -> None:
    typer.echo(
        "\n".join(
            [
                "",
                "  demo tenant (kept in .data/demo.json)",
                f"    org_id      {demo.org_id}",
                f"    company_id  {demo.company_id}",
                f"    login       {demo.email} / {demo.password}",
                f"    API token   {demo.api_token}",
                "",
                f"    curl -s -X POST {api_url}/api/auth/me -H 'Authorization: Bearer {demo.api_token}'",
                "",
            ]
        )
    )


@cli.command()
def bootstrap() -> None:
    """Create (idempotently) a demo org, company, org_admin user and API token, and print them."""
    settings = _settings()

    async def main() -> DemoTenant:
        dsn, embedded = await _with_database(settings)
        try:
            return await _bootstrap(settings, dsn)
        finally:
            if embedded is not None and embedded.started_here:
                embedded.stop()

    _print_demo(asyncio.run(main()), settings.api_url)


TRIGGER_DIR = REPO_ROOT / "trigger"


def _start_worker(settings: Settings, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The local (graphile-worker) pipeline host; it reaches the API over HTTP with the internal key."""
    tsx = TRIGGER_DIR / "node_modules" / ".bin" / "tsx"
    if not tsx.exists():
        raise RuntimeError("the worker's packages are not installed: run `make install`")
    worker_env = {**env, "DATA_ENGINE_INTERNAL_API_KEY": settings.secret("internal_api_key")}
    # node runs the worker itself (tsx only as a loader): signals reach the worker, not a wrapper
    return subprocess.Popen(["node", "--import", "tsx", "src/local/worker.ts"], cwd=TRIGGER_DIR, env=worker_env)


@cli.command()
def worker() -> None:
    """Run the local pipeline worker alone, against DATA_ENGINE_DATABASE_URL and DATA_ENGINE_API_URL."""
    settings = _settings()
    dsn = settings.database_url
    if not dsn:
        embedded = embedded_for(settings.data_dir, settings.embedded_postgres_port)
        if not embedded.is_running():
            raise typer.BadParameter("set DATA_ENGINE_DATABASE_URL, or start the stack (make run) first")
        dsn = embedded.url()
    env = {**os.environ, "DATA_ENGINE_DATABASE_URL": dsn, "DATA_ENGINE_API_URL": settings.api_url}
    process = _start_worker(settings, env)
    try:
        raise typer.Exit(code=process.wait())
    except KeyboardInterrupt:
        process.terminate()
        process.wait(timeout=30)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


SANDBOX_KEY = "sandbox-key"
SANDBOX_BANNER = """
  ***********************************************************************************
  ***  NO PROVIDER KEYS CONFIGURED: every provider points at the local SANDBOX
  ***  {url} (fake, deterministic data; nothing is billed).
  ***  Set DATA_ENGINE_<PROVIDER>_API_KEY to call real providers.
  ***********************************************************************************
"""


def _sandbox_env(sandbox_url: str) -> dict[str, str]:
    env = {}
    for name in PROVIDER_NAMES:
        env[f"DATA_ENGINE_{name.upper()}_BASE_URL"] = f"{sandbox_url}/{name}"
        env[f"DATA_ENGINE_{name.upper()}_API_KEY"] = SANDBOX_KEY
    env["DATA_ENGINE_ADYNTEL_EMAIL"] = "sandbox@example.com"
    return env


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise typer.Exit(code=1)
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


@cli.command()
def run(host: str = "127.0.0.1", port: int = 8000, sandbox_port: int = 9100) -> None:
    """Run the local stack: database, migrations, demo tenant, provider sandbox (unless real keys
    are configured), API. Ctrl-C stops all of it."""
    settings = _settings()
    embedded: EmbeddedPostgres | None = None
    if not settings.database_url:
        embedded = start_embedded(settings)
    procs: list[subprocess.Popen[bytes]] = []
    try:

        async def prepare() -> tuple[str, DemoTenant]:
            dsn, _ = await _with_database(settings)
            return dsn, await _bootstrap(settings, dsn)

        dsn, demo = asyncio.run(prepare())
        env = {**os.environ, "DATA_ENGINE_DATABASE_URL": dsn}
        sandbox_url = None
        if not any(settings.provider(name).api_key for name in PROVIDER_NAMES):
            sandbox_url = f"http://{host}:{sandbox_port}"
            sandbox = subprocess.Popen(
                [sys.executable, "-m", "sandbox", "--host", host, "--port", str(sandbox_port)], cwd=REPO_ROOT
            )
            procs.append(sandbox)
            _wait_http(f"{sandbox_url}/_sandbox/health", sandbox)
            env.update(_sandbox_env(sandbox_url))
        env["DATA_ENGINE_API_URL"] = f"http://{host}:{port}"
        api = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", host, "--port", str(port), "--no-access-log"],
            cwd=REPO_ROOT,
            env=env,
        )
        procs.append(api)
        api_url = f"http://{host}:{port}"
        _wait_http(f"{api_url}/health", api)
        procs.append(_start_worker(settings, env))
        _print_demo(demo, api_url)
        if sandbox_url:
            typer.echo(SANDBOX_BANNER.format(url=sandbox_url))
        typer.echo(
            f"  API on {api_url} (docs at {api_url}/docs), pipeline worker running. "
            "Try `make demo`. Ctrl-C stops everything.\n"
        )
        signal.signal(signal.SIGTERM, _interrupt)
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        typer.echo("a process of the stack exited; stopping the rest", err=True)
        raise typer.Exit(code=1)
    except KeyboardInterrupt:
        typer.echo("\nstopping…")
    finally:
        # a second Ctrl-C (or the terminal's signal to the whole group) must not cut the cleanup short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        if embedded is not None and embedded.started_here:
            embedded.stop()


@cli.command()
def demo() -> None:
    """Submit the bundled sample batch through the public API, show progress, print the results."""
    from app.demo import run_demo

    settings = _settings()
    raise typer.Exit(code=run_demo(settings, _demo_file(settings)))
