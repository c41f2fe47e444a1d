"""`python -m app submit FILE.csv --blueprint NAME` end to end (CONTRACT §9.7): the command as a
user runs it, against real API and worker processes with a tight per-token rate limit (so the
command must wait out 429s), writing the results CSV."""

import asyncio
import csv
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tests import pg
from tests.conftest import TEST_SECRETS
from tests.e2e.stack import data, make_stack, new_tenant
from tests.sandbox_server import start_sandbox

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack(admin_dsn, worker_id_str):
    name = f"dex_csv_{worker_id_str}_{uuid.uuid4().hex[:8]}"
    dsn = asyncio.run(pg.recreate_database(admin_dsn, name, template=pg.TEMPLATE_DB))
    sandbox = start_sandbox()
    # three requests at once per token, then one every 5 s: the command makes at least five
    # (list, upload, status, export) after the test's own, so it meets 429s however fast it runs
    running = make_stack(dsn, sandbox, RATE_LIMIT_PER_MINUTE="12", RATE_LIMIT_BURST="3")
    try:
        running.start_api()
        running.start_worker()
        yield running
    finally:
        running.stop()
        sandbox.stop()
        asyncio.run(pg.drop_database(admin_dsn, name))


def _run(args: list[str], token: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATA_ENGINE_")}
    if token:
        env["DATA_ENGINE_API_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "app", "submit", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


CLIENT_PATHS = ("/api/blueprints/list", "/api/v1/batch/submit-csv", "/api/v1/batch/status", "/api/v1/batch/export")


def _refused(stack) -> int:
    """4xx answers so far on the paths the command calls (here only 429s: the rest succeed)."""
    admin = {"Authorization": f"Bearer {TEST_SECRETS['super_admin_api_key']}"}
    r = httpx.post(f"{stack.api_url}/api/super-admin/metrics", headers=admin, timeout=10)
    counts = data(r)["requests"]
    return sum(counts.get(f"{path} 4xx", 0) for path in CLIENT_PATHS)


def test_submit_follows_the_batch_and_writes_the_results_csv(stack, tmp_path):
    tenant = new_tenant(stack, "CSV")
    token = tenant["client"].headers["Authorization"].split(" ", 1)[1]
    data(
        tenant["client"].post(
            "/api/blueprints/create",
            json={"name": "Enrich accounts", "steps": [{"position": 1, "operation_id": "company.enrich.profile"}]},
        )
    )
    source = tmp_path / "accounts.csv"
    source.write_text(
        "\ufeffCompany Name,Website,Owner\n"
        '"Acme, Inc.",https://www.acme.com,ann\n'
        "Globex,globex.com,bob\n"
        "Initech,initech.com,cy\n",
        encoding="utf-8",
    )
    args = [str(source), "--blueprint", "Enrich accounts", "--api-url", stack.api_url]
    args += ["--company-id", tenant["company_id"], "--poll-seconds", "0.2"]
    refused_before = _refused(stack)
    done = _run(args, token)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\napi log:\n{stack.log_tail('api')}"
    assert "Columns not used: Owner" in done.stdout

    results = tmp_path / "accounts.results.csv"
    rows = list(csv.DictReader(results.open(encoding="utf-8-sig", newline="")))
    assert [r["entity_index"] for r in rows] == ["0", "1", "2"]
    assert all(r["status"] == "succeeded" for r in rows), rows
    # the enriched profile (the sandbox's answer) is in the canonical columns
    assert [r["domain"] for r in rows] == ["acme.com", "globex.com", "initech.com"]
    assert all(r["industry"] and r["employee_count"].isdigit() for r in rows), rows
    assert not list(tmp_path.glob("*.part"))
    # the command was told to wait (429) and waited, rather than failing
    assert _refused(stack) > refused_before


def test_bad_rows_are_listed_and_nothing_is_submitted(stack, tmp_path):
    tenant = new_tenant(stack, "CSVBad")
    token = tenant["client"].headers["Authorization"].split(" ", 1)[1]
    blueprint = data(
        tenant["client"].post(
            "/api/blueprints/create",
            json={"name": "Ads", "steps": [{"position": 1, "operation_id": "company.ads.search.google"}]},
        )
    )
    source = tmp_path / "bad.csv"
    source.write_text("Company Name,Domain\nAcme,acme.com\nNo Domain Co,\n", encoding="utf-8")
    done = _run([str(source), "--blueprint", blueprint["id"], "--api-url", stack.api_url, "--company-id",
                 tenant["company_id"]], token)  # fmt: skip
    assert done.returncode == 1
    assert "invalid_rows" in done.stdout and "no usable identifier" in done.stdout
    assert not (tmp_path / "bad.results.csv").exists()
    listed = data(tenant["client"].post("/api/submissions/list", json={}))
    assert listed["items"] == []
    # no token at all is a usage error, said plainly
    assert _run([str(source), "--blueprint", "Ads", "--api-url", stack.api_url], None).returncode == 2
