"""`make demo`: the sample batch through the public API, as a client would send it."""

import json
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.config import Settings

SAMPLE = Path(__file__).with_name("demo_sample.json")
TERMINAL = ("completed", "failed", "canceled")


class DemoError(RuntimeError):
    pass


def _api(client: httpx.Client, path: str, body: dict[str, Any]) -> Any:
    response = client.post(path, json=body)
    for _ in range(10):
        # a well-behaved client of a rate-limited API: wait as told, then ask again
        if response.status_code != 429:
            break
        time.sleep(float(response.headers.get("Retry-After", "1")))
        response = client.post(path, json=body)
    if response.status_code != 200:
        raise DemoError(f"{path} answered {response.status_code}: {response.text[:300]}")
    return response.json()["data"]


def api_is_up(url: str) -> bool:
    try:
        return httpx.get(f"{url.rstrip('/')}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _ensure_blueprint(client: httpx.Client, spec: dict[str, Any]) -> str:
    existing = _api(client, "/api/blueprints/list", {"limit": 500})["items"]
    for blueprint in existing:
        if blueprint["name"] == spec["name"]:
            return str(blueprint["id"])
    return str(_api(client, "/api/blueprints/create", spec)["id"])


def run_demo(settings: Settings, demo_file: Path) -> int:
    """Against the API at DATA_ENGINE_API_URL (`python -m app demo` starts one when none answers)."""
    console = Console()
    try:
        return _demo(console, settings.api_url.rstrip("/"), demo_file)
    except DemoError as e:
        console.print(f"[red]{e}[/]")
        return 1


def _demo(console: Console, url: str, demo_file: Path) -> int:
    if not demo_file.exists():
        raise DemoError("no demo tenant yet: run `make run` (or `make bootstrap`) first")
    demo = json.loads(demo_file.read_text())
    sample = json.loads(SAMPLE.read_text())
    headers = {"Authorization": f"Bearer {demo['api_token']}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        company_bp, person_bp = (_ensure_blueprint(client, spec) for spec in sample["blueprints"])
        started = time.time()
        submissions = {}
        for label, blueprint_id, entities in (
            ("companies", company_bp, sample["companies"]),
            ("people", person_bp, sample["people"]),
        ):
            result = _api(
                client,
                "/api/v1/batch/submit",
                {
                    "blueprint_id": blueprint_id,
                    "company_id": demo["company_id"],
                    "entities": entities,
                    "source": "make demo",
                },
            )
            submissions[label] = result["submission_id"]
        console.print(f"Submitted {len(sample['companies'])} companies and {len(sample['people'])} people.")
        final = _follow(console, client, submissions)
        _report(console, client, submissions, final, started)
        _workflow(console, client, demo["company_id"], sample)
        _from_names(console, client, demo["company_id"], sample)
    return 0


def _workflow(console: Console, client: httpx.Client, company_id: str, sample: dict[str, Any]) -> None:
    """Accounts → their people (fan-out) → work emails → verdicts only where an email was found (a
    condition), in one submission; then the same accounts again, which the result cache answers."""
    spec = sample["workflow"]
    child = _ensure_blueprint(client, spec["child"])
    parent_spec = json.loads(json.dumps(spec["parent"]).replace('"CHILD"', json.dumps(child)))
    parent = _ensure_blueprint(client, parent_spec)
    accounts = sample["companies"][: spec["accounts"]]
    calls = []
    for attempt in ("first run", "same accounts again"):
        submission_id = _api(
            client,
            "/api/v1/batch/submit",
            {"blueprint_id": parent, "company_id": company_id, "entities": accounts, "source": "make demo"},
        )["submission_id"]
        final = _follow(console, client, {attempt: submission_id})[attempt]
        s = final["summary"]
        paid, cached = _provider_calls(client, submission_id)
        calls.append(paid)
        console.print(
            f"Workflow, {attempt}: {s['total']} runs ({s.get('children', 0)} of them people found at "
            f"{len(accounts)} accounts), {s['succeeded']} succeeded; {paid} provider calls, {cached} answers "
            "from the result cache."
        )
    console.print(f"Provider calls: {calls[0]} on the first run, {calls[1]} on the second.")


def _from_names(console: Console, client: httpx.Client, company_id: str, sample: dict[str, Any]) -> None:
    """A list that has only company names: the first step resolves each name to its domain
    (company.resolve.domain_from_name), then the accounts workflow goes on from there."""
    spec = sample["from_names"]
    child = _ensure_blueprint(client, sample["workflow"]["child"])
    blueprint = _ensure_blueprint(
        client, json.loads(json.dumps(spec["blueprint"]).replace('"CHILD"', json.dumps(child)))
    )
    entities = [{"entity_type": "company", "input": {"name": name}} for name in spec["names"]]
    submission_id = _api(
        client,
        "/api/v1/batch/submit",
        {"blueprint_id": blueprint, "company_id": company_id, "entities": entities, "source": "make demo"},
    )["submission_id"]
    final = _follow(console, client, {"from names": submission_id})["from names"]
    s = final["summary"]
    console.print(
        f"From names alone: {len(entities)} company names → {s['total']} runs ({s.get('children', 0)} of them "
        f"people found), {s['succeeded']} succeeded."
    )


def _provider_calls(client: httpx.Client, submission_id: str) -> tuple[int, int]:
    """(provider calls made, operation runs answered from the cache) for one submission."""
    paid = cached = 0
    runs = _api(client, "/api/pipeline-runs/list", {"submission_id": submission_id, "limit": 500})["items"]
    for run in runs:
        op_runs = _api(client, "/api/operation-runs/list", {"pipeline_run_id": run["id"], "limit": 500})["items"]
        for op_run in op_runs:
            detail = _api(client, "/api/operation-runs/get", {"run_id": op_run["id"]})
            cached += bool(detail.get("cached"))
            paid += sum(1 for a in detail["provider_attempts"] if a["status"] != "skipped")
    return paid, cached


def _follow(console: Console, client: httpx.Client, submissions: dict[str, str]) -> dict[str, Any]:
    columns = (
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    final: dict[str, Any] = {}
    with Progress(*columns, console=console) as progress:
        tasks = {label: progress.add_task(label, total=None, detail="") for label in submissions}
        while len(final) < len(submissions):
            for label, submission_id in submissions.items():
                if label in final:
                    continue
                status = _api(client, "/api/v1/batch/status", {"submission_id": submission_id, "limit": 1})
                s = status["summary"]
                done = s["succeeded"] + s["failed"] + s["canceled"]
                progress.update(
                    tasks[label],
                    total=s["total"],
                    completed=done,
                    detail=f"{s['succeeded']} ok, {s['failed']} failed, {s['running']} running",
                )
                if status["submission"]["status"] in TERMINAL:
                    final[label] = status
            time.sleep(0.5)
    return final


def _report(
    console: Console, client: httpx.Client, submissions: dict[str, str], final: dict[str, Any], started: float
) -> None:
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started - 1))
    companies = _api(client, "/api/v1/entities/companies", {"filters": {"updated_since": since}, "limit": 100})
    table = Table(title="Enriched companies")
    for column in ("domain", "name", "industry", "employees", "google ads", "pricing page", "v"):
        table.add_column(column)
    for e in sorted(companies["items"], key=lambda e: e["domain"] or ""):
        d = e["data"]
        ads = (d.get("google_ads") or {}).get("ads")
        table.add_row(
            e["domain"] or "",
            e["name"] or "",
            str(d.get("industry") or ""),
            str(d.get("employee_count") or ""),
            str(len(ads)) if ads is not None else "",
            str(d.get("pricing_page_url") or ""),
            str(e["record_version"]),
        )
    console.print(table)
    persons = _api(client, "/api/v1/entities/persons", {"filters": {"updated_since": since}, "limit": 100})
    table = Table(title="Enriched people")
    for column in ("name", "company", "work email", "verdict", "mobile", "v"):
        table.add_column(column)
    for e in sorted(persons["items"], key=lambda e: e["full_name"] or ""):
        d = e["data"]
        table.add_row(
            e["full_name"] or "",
            e["company_domain"] or "",
            e["work_email"] or "",
            str(d.get("email_verdict") or ""),
            str(d.get("mobile_phone") or ""),
            str(e["record_version"]),
        )
    console.print(table)
    failures = Table(title="Failed runs")
    for column in ("batch", "#", "input", "reason"):
        failures.add_column(column)
    for label, submission_id in submissions.items():
        runs = _api(
            client, "/api/pipeline-runs/list", {"submission_id": submission_id, "status": "failed", "limit": 500}
        )
        for run in sorted(runs["items"], key=lambda r: r["entity_index"]):
            failures.add_row(label, str(run["entity_index"]), json.dumps(run["input"])[:60], run["error_message"] or "")
    console.print(failures)
    for label, status in final.items():
        s = status["summary"]
        console.print(
            f"{label}: submission {status['submission']['status']} — {s['succeeded']} succeeded, "
            f"{s['failed']} failed of {s['total']}"
        )
    console.print(f"Done in {time.time() - started:.1f} s.")
