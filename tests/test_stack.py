"""`python -m app run` as a user runs it (`make run`): a real uvicorn process on a real port, its
own embedded Postgres, the printed demo token working, and a requested stop (Ctrl-C, SIGTERM),
even in the middle of starting, stopping every process it started and exiting 0."""

import asyncio
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import asyncpg
import httpx
import psutil

from app.config import REPO_ROOT
from app.embedded_pg import embedded_for
from app.stack import free_port


def _launch(tmp_path: Path, **env_overrides: str) -> tuple[subprocess.Popen[str], int, int]:
    api_port, pg_port, sandbox_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATA_ENGINE_")}
    env.update(DATA_ENGINE_DATA_DIR=str(tmp_path / "data"), DATA_ENGINE_EMBEDDED_POSTGRES_PORT=str(pg_port))
    env.update(env_overrides)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "run", "--port", str(api_port), "--sandbox-port", str(sandbox_port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # a process group of its own, like the foreground job a terminal sends Ctrl-C to
        start_new_session=True,
    )
    return proc, api_port, pg_port


def _postmaster_pid(tmp_path: Path) -> int:
    """The server's pid once it runs (initdb's single-user backends write theirs negated)."""
    try:
        return int((tmp_path / "data" / "postgres" / "postmaster.pid").read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return 0


def _postmaster(tmp_path: Path) -> psutil.Process:
    return psutil.Process(_postmaster_pid(tmp_path))


def _gone(process: psutil.Process) -> bool:
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_gone(processes: list[psutil.Process], timeout: float = 30) -> list[psutil.Process]:
    # the postmaster is not our child: its exit is reaped by init a moment after pg_ctl returns
    deadline = time.monotonic() + timeout
    while (left := [p for p in processes if not _gone(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def _has_leader_connection(dsn: str, pid: int) -> bool:
    async def check() -> bool:
        conn = await asyncpg.connect(dsn)
        try:
            return bool(
                await conn.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name LIKE $1)", f"%.leader.{pid}"
                )
            )
        finally:
            await conn.close()

    return asyncio.run(check())


def _api_processes(launcher: int) -> list[psutil.Process]:
    """The processes serving the API: uvicorn's workers under its supervisor."""
    supervisor = next(p for p in psutil.Process(launcher).children() if "uvicorn" in " ".join(p.cmdline()))
    # (beside multiprocessing's resource tracker)
    return [p for p in supervisor.children() if not _gone(p) and "spawn_main" in " ".join(p.cmdline())]


def test_run_serves_the_api_with_a_working_demo_token_and_ctrl_c_stops_everything_with_exit_0(tmp_path):
    proc, api_port, pg_port = _launch(tmp_path, DATA_ENGINE_API_WORKERS="2")
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    output, token, started = "", None, []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and "Ctrl-C stops everything" not in output:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                assert proc.poll() is None, output
                continue
            output += line
            match = re.search(r"API token\s+(dex_\S+)", line)
            token = token or (match.group(1) if match else None)
        assert token, output
        base = f"http://127.0.0.1:{api_port}"
        assert httpx.get(f"{base}/health").json()["data"]["database"] == "ok"
        me = httpx.post(f"{base}/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert me.json()["data"]["auth"]["role"] == "org_admin"
        # the operator console, printed beside the API and served by it (make builds it first)
        assert re.search(rf"console\s+{base}/console/", output), output
        console = httpx.get(f"{base}/console/")
        assert console.status_code == 200 and '<div id="app">' in console.text
        started = [*psutil.Process(proc.pid).children(recursive=True), _postmaster(tmp_path)]
        names = " ".join(" ".join(p.cmdline()) for p in started)
        assert all(part in names for part in ("sandbox", "uvicorn", "worker.mjs", "postgres")), names
        # DATA_ENGINE_API_WORKERS processes on the one port; one killed is replaced and the API
        # keeps answering
        workers = _api_processes(proc.pid)
        assert len(workers) == 2, names
        workers[0].kill()
        assert not _wait_gone([workers[0]])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(_api_processes(proc.pid)) < 2:
            time.sleep(0.2)
        replaced = _api_processes(proc.pid)
        assert len(replaced) == 2 and workers[0].pid not in {p.pid for p in replaced}
        # the new process has finished starting once its periodic-jobs campaign connection is in
        # (the last thing its startup opens): the stop below must not race its startup
        (new,) = [p for p in replaced if p.pid != workers[1].pid]
        dsn = embedded_for(tmp_path / "data", pg_port).url()
        while time.monotonic() < deadline and not _has_leader_connection(dsn, new.pid):
            time.sleep(0.2)
        assert _has_leader_connection(dsn, new.pid)
        assert all(httpx.get(f"{base}/health").status_code == 200 for _ in range(4))
        started = [*psutil.Process(proc.pid).children(recursive=True), _postmaster(tmp_path)]
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        code = proc.wait(timeout=60)
    while not lines.empty():
        output += lines.get()
    assert code == 0, output
    assert not _wait_gone(started), output
    assert not embedded_for(tmp_path / "data", pg_port).is_running()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", api_port)) != 0


def test_a_stop_requested_while_the_stack_starts_exits_0_and_leaves_nothing_running(tmp_path):
    proc, api_port, pg_port = _launch(tmp_path)
    embedded = embedded_for(tmp_path / "data", pg_port)
    try:
        deadline = time.monotonic() + 90
        while _postmaster_pid(tmp_path) <= 0 or not embedded.is_running():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
            time.sleep(0.1)
        started = [*psutil.Process(proc.pid).children(recursive=True), _postmaster(tmp_path)]
    finally:
        proc.send_signal(signal.SIGTERM)  # what a process manager (or `make demo`) sends
        code = proc.wait(timeout=60)
    output = proc.stdout.read()
    assert code == 0, output
    assert not _wait_gone(started), output
    assert not embedded.is_running(), output


def test_the_worker_runs_as_built_javascript_without_a_typescript_loader():
    """Issue 15: tsx's loader hooks run in a thread with a V8 heap of their own (about 30 MB of the
    worker's resident memory), so the stack runs the worker bundled from its sources instead."""
    from app.stack import TRIGGER_DIR, build_worker

    script = build_worker()
    assert script.suffix == ".mjs" and script.is_relative_to(TRIGGER_DIR)
    assert "tsx" not in script.read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATA_ENGINE_")}
    env.pop("NODE_OPTIONS", None)
    result = subprocess.run(["node", str(script)], cwd=TRIGGER_DIR, env=env, capture_output=True, text=True, timeout=60)
    # it loads and starts: the first thing it checks is its settings
    assert result.returncode == 1 and "DATA_ENGINE_DATABASE_URL is not set" in result.stdout
