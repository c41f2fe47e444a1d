"""`python -m app <command>`: migrate, bootstrap, run (the whole local stack)."""

import asyncio
import json
import logging
import os
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import typer

from app.config import PROVIDER_NAMES, Settings, get_settings
from app.database import prepare_schema, resolve_dsn
from app.embedded_pg import EmbeddedPostgres, embedded_for
from app.services.bootstrap import DemoTenant, ensure_demo
from app.stack import Stack, StackError, StopRequested, stop_on_signals

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
    code = 0
    try:
        with stop_on_signals(), Stack() as stack:
            stack.use_database(dsn)
            stack.env["DATA_ENGINE_API_URL"] = settings.api_url
            stack.start_worker(env=_worker_secrets(settings))
            code = stack.wait_for_exit().poll() or 0
    except StopRequested:
        code = 0
    raise typer.Exit(code=code)


SANDBOX_BANNER = """
  ***********************************************************************************
  ***  NO PROVIDER KEYS CONFIGURED: every provider points at the local SANDBOX
  ***  {url} (fake, deterministic data; nothing is billed).
  ***  Set DATA_ENGINE_<PROVIDER>_API_KEY to call real providers.
  ***********************************************************************************
"""


def _worker_secrets(settings: Settings) -> dict[str, str]:
    # the worker reaches the API over HTTP with the internal key (generated into .data/ locally)
    return {"DATA_ENGINE_INTERNAL_API_KEY": settings.secret("internal_api_key")}


def api_processes(settings: Settings) -> int:
    """DATA_ENGINE_API_WORKERS, else one API process per CPU."""
    return settings.api_workers or os.cpu_count() or 1


def start_local(settings: Settings, stack: Stack) -> DemoTenant:
    """Database, migrations, demo tenant, provider sandbox (unless real keys are configured), API,
    worker: what `make run` starts, and `make demo` when no API is running."""
    dsn = stack.start_database(settings)
    asyncio.run(prepare_schema(settings, dsn, apply=True))
    demo = asyncio.run(_bootstrap(settings, dsn))
    if not any(settings.provider(name).api_key for name in PROVIDER_NAMES):
        stack.start_sandbox(log_level=None)
    # N processes on one port (uvicorn's workers): its supervisor restarts one that dies, and a stop
    # signal ends them all (docs/decisions/0075-api-processes.md)
    stack.start_api(workers=api_processes(settings))
    stack.start_worker(env=_worker_secrets(settings), wait=True)
    return demo


@cli.command()
def run(host: str = "127.0.0.1", port: int = 8000, sandbox_port: int = 9100) -> None:
    """Run the local stack: database, migrations, demo tenant, provider sandbox (unless real keys
    are configured), API, pipeline worker. Ctrl-C stops all of it (exit code 0)."""
    settings = _settings()
    # a requested stop (Ctrl-C, SIGTERM, SIGHUP) at any point, even mid-start, is a clean exit 0;
    # a process of the stack dying on its own, or one that cannot start, is exit 1
    code = 0
    try:
        with stop_on_signals(), Stack(host=host, api_port=port, sandbox_port=sandbox_port) as stack:
            try:
                demo = start_local(settings, stack)
                _print_demo(demo, stack.api_url)
                if stack.running("sandbox"):
                    typer.echo(SANDBOX_BANNER.format(url=stack.sandbox_url))
                typer.echo(
                    f"  API on {stack.api_url} (docs at {stack.api_url}/docs), pipeline worker running. "
                    "Try `make demo`. Ctrl-C stops everything.\n"
                )
                exited = stack.wait_for_exit()
                typer.echo(f"the {exited.name} exited (code {exited.poll()}); stopping the rest", err=True)
                code = 1
            except StopRequested:
                typer.echo("\nstopping…")
            except StackError as e:
                typer.echo(f"{e}; stopping the rest", err=True)
                code = 1
    except StopRequested:
        code = 0  # the signal came in a gap the inner handler does not cover; the stack is stopped
    raise typer.Exit(code=code)


@cli.command()
def demo() -> None:
    """Submit the bundled sample batch through the public API, show progress, print the results.
    With no API running, start the local stack for it (its logs in .data/logs/) and stop it after."""
    from app.demo import api_is_up, run_demo

    settings = _settings()
    if api_is_up(settings.api_url):
        raise typer.Exit(code=run_demo(settings, _demo_file(settings)))
    typer.echo(f"No API at {settings.api_url}: starting the stack (make run) for the demo…")
    code = 0
    logs = settings.data_dir / "logs"
    where = urlsplit(settings.api_url)
    host, port = where.hostname or "127.0.0.1", where.port or 80
    try:
        with stop_on_signals(), Stack(logs=logs, host=host, api_port=port) as stack:
            try:
                start_local(settings, stack)
            except StackError as e:
                typer.echo(f"the stack did not start ({e}); its logs are in {logs}", err=True)
                raise typer.Exit(code=1) from None
            code = run_demo(settings, _demo_file(settings))
    except StopRequested:
        code = 0
    raise typer.Exit(code=code)
