"""The load generator: Debian's `wrk` (installed here if missing), one POST endpoint at a time."""

import json
import re
import resource
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Any

LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = {auth}
"""


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    path = shutil.which("wrk")
    if not path:
        raise RuntimeError("wrk could not be installed (apt-get install wrk)")
    return path


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    generator_cpu_share: float
    """wrk's CPU time over the run's wall time, as a share of all cores."""


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(
    url: str, token: str, body: dict[str, Any], *, seconds: int, connections: int = 32, threads: int = 1
) -> WrkResult:
    binary = ensure_wrk()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA.format(body=json.dumps(json.dumps(body)), auth=json.dumps(f"Bearer {token}")))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    out = subprocess.run(
        [binary, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    import os

    cores = os.cpu_count() or 1
    latencies = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    error_count = int(errors.group(1)) if errors else 0
    if socket_errors:
        error_count += sum(int(x) for x in socket_errors.groups())
    return WrkResult(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(latencies["50"]),
        p99_ms=_ms(latencies["99"]),
        requests=requests,
        errors=error_count,
        generator_cpu_share=cpu / (wall * cores),
    )
