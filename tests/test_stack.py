"""`python -m app run` as a user runs it (`make run`): a real uvicorn process on a real port,
its own embedded Postgres, the printed demo token working, and Ctrl-C stopping everything."""

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx

from app.config import REPO_ROOT
from app.embedded_pg import embedded_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_serves_the_api_with_a_working_demo_token_and_stops_cleanly(tmp_path):
    api_port, pg_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATA_ENGINE_")}
    env.update(DATA_ENGINE_DATA_DIR=str(tmp_path / "data"), DATA_ENGINE_EMBEDDED_POSTGRES_PORT=str(pg_port))
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "run", "--port", str(api_port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    output, token = "", None
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and token is None:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                assert proc.poll() is None, output
                continue
            output += line
            match = re.search(r"API token\s+(dex_\S+)", line)
            token = match.group(1) if match else None
        assert token, output
        base = f"http://127.0.0.1:{api_port}"
        assert httpx.get(f"{base}/health").json()["data"]["database"] == "ok"
        me = httpx.post(f"{base}/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert me.json()["data"]["auth"]["role"] == "org_admin"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    assert not embedded_for(tmp_path / "data", pg_port).is_running()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", api_port)) != 0
