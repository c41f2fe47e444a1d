"""`python -m app submit FILE.csv --blueprint NAME_OR_ID`: a CSV through the public API of a
running deployment, as any client would send it (CONTRACT §9.7): upload with `batch/submit-csv`,
follow `batch/status` with a progress bar, then write `batch/export` to the results file.
docs/csv.md describes it; decision 0062 records the exit codes."""

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

TERMINAL = ("completed", "failed", "canceled")
MAX_RATE_LIMITED_TRIES = 30
MAX_RETRY_AFTER_SECONDS = 60.0
MAX_LISTED_ROWS = 20


class ClientError(RuntimeError):
    """A failure to report to the user and exit non-zero; `details` as the API gave them."""

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.details = details


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("Retry-After", "1")), 0.0), MAX_RETRY_AFTER_SECONDS)
    except ValueError:
        return 1.0


class Api:
    """The few calls the command makes, each waiting out a 429 as its Retry-After says."""

    def __init__(self, client: httpx.Client, sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.sleep = sleep

    def _send(self, send: Callable[[], httpx.Response], path: str) -> httpx.Response:
        for _ in range(MAX_RATE_LIMITED_TRIES):
            response = send()
            if response.status_code != 429:
                return response
            self.sleep(_retry_after(response))
        raise ClientError(f"{path}: still rate limited after {MAX_RATE_LIMITED_TRIES} tries")

    @staticmethod
    def _data(response: httpx.Response, path: str) -> Any:
        if response.status_code == 200:
            return response.json()["data"]
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            raise ClientError(f"{path} answered {response.status_code}: {response.text[:300]}") from None
        raise ClientError(f"{path}: {error['message']} ({error['code']})", error.get("details"))

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._data(self._send(lambda: self.client.post(path, json=body), path), path)

    def blueprint_id(self, name_or_id: str) -> str:
        """An id as given; a name looked up in blueprints/list (exactly one must match)."""
        try:
            return str(uuid.UUID(name_or_id))
        except ValueError:
            pass
        matches: list[str] = []
        cursor = None
        while True:
            body: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            page = self.post("/api/blueprints/list", body)
            matches += [b["id"] for b in page["items"] if b["name"] == name_or_id]
            cursor = page["next_cursor"]
            if not cursor:
                break
        if not matches:
            raise ClientError(f"no blueprint named {name_or_id!r}: give its id, or see /api/blueprints/list")
        if len(matches) > 1:
            raise ClientError(f"{len(matches)} blueprints are named {name_or_id!r}: give one id ({', '.join(matches)})")
        return matches[0]

    def submit_csv(self, path: Path, blueprint_id: str, company_id: str | None, mapping: str | None) -> Any:
        form = {"blueprint_id": blueprint_id}
        if company_id:
            form["company_id"] = company_id
        if mapping:
            form["mapping"] = mapping

        def send() -> httpx.Response:
            with path.open("rb") as f:
                return self.client.post(
                    "/api/v1/batch/submit-csv", data=form, files={"file": (path.name, f, "text/csv")}
                )

        return self._data(self._send(send, "/api/v1/batch/submit-csv"), "/api/v1/batch/submit-csv")

    def export(self, submission_id: str, out: Path) -> None:
        """The results CSV streamed to `out` (through a temporary file: never half a file there)."""
        partial = out.with_name(out.name + ".part")
        for _ in range(MAX_RATE_LIMITED_TRIES):
            with self.client.stream("POST", "/api/v1/batch/export", json={"submission_id": submission_id}) as r:
                if r.status_code == 429:
                    self.sleep(_retry_after(r))
                    continue
                if r.status_code != 200:
                    r.read()
                    self._data(r, "/api/v1/batch/export")
                with partial.open("wb") as f:
                    for chunk in r.iter_bytes():
                        f.write(chunk)
            partial.replace(out)
            return
        raise ClientError(f"/api/v1/batch/export: still rate limited after {MAX_RATE_LIMITED_TRIES} tries")


def _follow(console: Console, api: Api, submission_id: str, total: int, poll_seconds: float) -> dict[str, Any]:
    columns = (
        TextColumn("[bold]runs"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("runs", total=total, detail="")
        while True:
            status = api.post("/api/v1/batch/status", {"submission_id": submission_id, "limit": 1})
            s = status["summary"]
            done = s["succeeded"] + s["failed"] + s["canceled"]
            detail = f"{s['succeeded']} succeeded, {s['failed']} failed, {s['running']} running"
            progress.update(task, completed=done, total=s["total"], detail=detail)
            if status["submission"]["status"] in TERMINAL:
                return status
            api.sleep(poll_seconds)


def _print_bad_rows(console: Console, details: Any) -> None:
    if not isinstance(details, dict) or not isinstance(details.get("rows"), list):
        return
    table = Table("row", "line", "why")
    for row in details["rows"][:MAX_LISTED_ROWS]:
        table.add_row(str(row.get("row")), str(row.get("line")), "; ".join(row.get("reasons", [])))
    console.print(table)
    if details.get("count", 0) > MAX_LISTED_ROWS:
        console.print(f"… and {details['count'] - MAX_LISTED_ROWS} more")


def default_out(csv_path: Path) -> Path:
    return csv_path.with_name(f"{csv_path.stem}.results.csv")


def submit(
    csv_path: Path,
    blueprint: str,
    *,
    out: Path | None,
    api_url: str,
    token: str | None,
    company_id: str | None = None,
    mapping: str | None = None,
    poll_seconds: float = 2.0,
    console: Console | None = None,
) -> int:
    """0 once the results file is written (runs that failed are rows with their error); 1 when the
    API refused the file or could not be reached; 2 for a usage error."""
    console = console or Console()
    token = token or os.environ.get("DATA_ENGINE_API_TOKEN")
    if not token:
        console.print("[red]no API token: pass --token or set DATA_ENGINE_API_TOKEN[/]")
        return 2
    if not csv_path.is_file():
        console.print(f"[red]no such file: {csv_path}[/]")
        return 2
    out = out or default_out(csv_path)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=api_url.rstrip("/"), headers=headers, timeout=120) as client:
            api = Api(client)
            blueprint_id = api.blueprint_id(blueprint)
            result = api.submit_csv(csv_path, blueprint_id, company_id, mapping)
            runs = len(result["pipeline_run_ids"])
            console.print(f"Submitted {runs} rows as submission {result['submission_id']}.")
            if result.get("ignored_columns"):
                console.print(f"Columns not used: {', '.join(result['ignored_columns'])}")
            final = _follow(console, api, result["submission_id"], runs, poll_seconds)
            api.export(result["submission_id"], out)
    except ClientError as e:
        console.print(f"[red]{e}[/]")
        _print_bad_rows(console, e.details)
        return 1
    except httpx.HTTPError as e:
        console.print(f"[red]cannot reach the API at {api_url}: {e}[/]")
        return 1
    s = final["summary"]
    console.print(
        f"Submission {final['submission']['status']}: {s['succeeded']} succeeded, {s['failed']} failed, "
        f"{s['canceled']} canceled. Results: {out}"
    )
    return 0
