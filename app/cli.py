"""`python -m app <command>`: migrate, bootstrap, run (the whole local stack), submit (a CSV), and
the data-key commands (reencrypt-keys, generate-encryption-key)."""

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import asyncpg
import typer

from app.config import PROVIDER_NAMES, Settings, get_settings
from app.database import prepare_schema, resolve_dsn
from app.embedded_pg import EmbeddedPostgres, embedded_for
from app.encryption import EncryptionKeyError, Keyring, generate_spec
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


@cli.command("reencrypt-keys")
def reencrypt_keys() -> None:
    """Re-encrypt every secret kept at rest (org provider keys, webhook signing secrets) under the
    first key of DATA_ENGINE_ENCRYPTION_KEY; exit 1 when a value could not be opened."""
    from app.services.reencrypt import Report, reencrypt_all

    settings = _settings()
    keyring = settings.keyring()

    async def main() -> Report:
        dsn, embedded = await _with_database(settings)
        try:
            conn = await asyncpg.connect(dsn)
            try:
                return await reencrypt_all(conn, keyring)
            finally:
                await conn.close()
        finally:
            if embedded is not None and embedded.started_here:
                embedded.stop()

    report = asyncio.run(main())
    for what, tally in (("provider keys", report.provider_keys), ("webhook secrets", report.webhook_secrets)):
        typer.echo(
            f"{what}: {tally.resealed} re-encrypted under {keyring.current_id}, {tally.current} already current, "
            f"{len(tally.failed)} failed"
        )
        for failure in tally.failed:
            typer.echo(f"  {failure}", err=True)
    raise typer.Exit(code=0 if report.ok else 1)


@cli.command("generate-encryption-key")
def generate_encryption_key(key_id: str = typer.Option("k1", help="the id the new key is known by")) -> None:
    """Print a new `kid:base64key` entry for DATA_ENGINE_ENCRYPTION_KEY (32 random bytes)."""
    spec = generate_spec(key_id)
    try:
        Keyring.parse(spec)
    except EncryptionKeyError as e:
        raise typer.BadParameter(str(e), param_hint="--key-id") from None
    typer.echo(spec)


@cli.command()
def openapi(out: Path) -> None:
    """Write the API's OpenAPI schema to OUT (the console's typed client is generated from it)."""
    from app.console import write_openapi

    write_openapi(out)


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


def run_banner(stack: Stack) -> str:
    """Where everything is, once the stack is up."""
    return (
        f"  API      {stack.api_url} (docs at {stack.api_url}/docs)\n"
        f"  console  {stack.console_url} (sign in with the demo login above)\n"
        "  pipeline worker running. Try `make demo`. Ctrl-C stops everything.\n"
    )


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
                typer.echo(run_banner(stack))
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


@cli.command()
def submit(
    csv_file: Annotated[Path, typer.Argument(metavar="FILE.csv", help="UTF-8 CSV with a header row")],
    blueprint: Annotated[str, typer.Option("--blueprint", help="The blueprint's name or id")],
    out: Annotated[Path | None, typer.Option(help="Results CSV (default: FILE.results.csv)")] = None,
    api_url: Annotated[str, typer.Option(envvar="DATA_ENGINE_API_URL")] = "http://127.0.0.1:8000",
    token: Annotated[
        str | None, typer.Option(envvar="DATA_ENGINE_API_TOKEN", show_envvar=True, help="An API token")
    ] = None,
    company_id: Annotated[str | None, typer.Option(help="The client company (org-wide tokens)")] = None,
    mapping: Annotated[str | None, typer.Option(help='JSON column → field, e.g. {"E-post": "work_email"}')] = None,
    poll_seconds: Annotated[float, typer.Option(min=0.1, help="Seconds between status reads")] = 2.0,
) -> None:
    """Submit a CSV to a running API, follow its progress, and write the results CSV."""
    from app.csv_client import submit as submit_csv

    raise typer.Exit(
        code=submit_csv(
            csv_file,
            blueprint,
            out=out,
            api_url=api_url,
            token=token,
            company_id=company_id,
            mapping=mapping,
            poll_seconds=poll_seconds,
        )
    )
