"""The report `make reliability` ends with: it renders every section from the figures, and it
refuses a run that is incomplete or was made at the fast sizes."""

import json

import pytest

from tests.reliability import report

FULL = {"mode": "full", "recorded_at": "2026-01-01T00:00:00Z"}


def figures() -> dict:
    return {
        "isolation-schema": {**FULL, "schema_paths": 56, "tenant_paths": 2, "id_fields": 1, "callers": 11, "roles": 3},
        "isolation-api_a": {**FULL, "path": "/api/a", "cells": 30, "foreign_cells": 20, "variants": 3, "callers": 11},
        "isolation-api_b": {**FULL, "path": "/api/b", "cells": 11, "foreign_cells": 1, "variants": 1, "callers": 11},
        "fuzz-0": {
            **FULL,
            "operations": 7,
            "cases": 840,
            "statuses": {"200": 500, "422": 340},
            "failures": 0,
            "schemathesis_version": "4.32.5",
        },
        "hostile-raw": {**FULL, "requests": 450},
        "ratelimit": {**FULL, "hog_requests": 200, "hog_limited": 170, "polite_requests": 10, "polite_served": 10},
        "faults-postgres_restart": {
            **FULL,
            "injected": 1,
            "runs": 40,
            "succeeded": 40,
            "steps_executed": 80,
            "survived": True,
            "worker_pool_restarts": 1,
        },
        "load": {
            **FULL,
            "clients": 50,
            "seconds": 60,
            "requests": 12000,
            "requests_per_second": 200.0,
            "errors_5xx": 0,
            "timeouts": 0,
            "p50_ms": 100.0,
            "p95_ms": 300.0,
            "p99_ms": 500.0,
            "max_ms": 900.0,
            "p99_ms_by_kind": {"execute": 510.0},
            "submissions": 300,
            "runs_runs": 600,
            "runs_succeeded": 600,
        },
        "pool": {**FULL, "pool_size": 2, "concurrent_calls": 12, "served": 12},
        "fairness": {
            **FULL,
            "batch_entities": 2000,
            "solo_ms": 104.0,
            "solo_samples_ms": [300.0, 104.0, 101.0],
            "other_org": {"batch": 2000, "batch_finished_after": 1990, "latency_ms": 1250.0},
            "same_org": {"batch": 2000, "batch_finished_after": 1985, "latency_ms": 700.5},
        },
        "hygiene-stack-gw0": {
            **FULL,
            "secrets_checked": 70,
            "tokens_checked": 55,
            "sources_scanned": 27,
            "bytes_scanned": 20_000_000,
            "found": 0,
        },
        "hygiene": {
            **FULL,
            "secrets_checked": 60,
            "tokens_checked": 52,
            "sources_scanned": 30,
            "bytes_scanned": 10_000_000,
            "logs_scanned": ["api.log", "sandbox.log", "worker.log"],
            "found": 0,
        },
    }


def test_the_report_holds_every_figure(tmp_path):
    for name, values in figures().items():
        (tmp_path / f"{name}.json").write_text(json.dumps(values))
    out = tmp_path / "RELIABILITY.md"
    assert report.main(["--figures", str(tmp_path), "--out", str(out)]) == 0
    text = out.read_text()
    assert "**41 calls**" in text and "21 of them naming another" in text
    assert "**840 schemathesis cases**" in text and "450 hand-made hostile requests" in text
    assert "**50 clients for 60 s**" in text and "**p99 500.0 ms**" in text
    assert "Postgres stopped mid-batch" in text and "| 40 | 40 | 0 | 80 | 0 | yes |" in text
    assert "1 stacks of real processes scanned when torn down (55 token plaintexts" in text
    assert "| stack torn down after its tests (gw0) | 70 | 55 | 20,000,000 | 0 |" in text
    assert "12 concurrent submit and execute calls on a pool of 2 connections, 12 served" in text
    assert "## 7. Fairness between tenants" in text
    assert "| alone (median of 3) | 0 | 0.10 s | |" in text
    assert "| behind another org's batch | 2,000 | 1.25 s | 1,990 of 2,000 |" in text
    assert "| behind its own org's batch | 2,000 | 0.70 s | 1,985 of 2,000 |" in text
    assert "another org's 2,000-entity batch: **1.25 s** (alone 0.10 s), 1,990 of the batch's runs" in text
    assert "## Defects found and fixed" in text
    assert "## Outside audit (issue 9)" in text and f"| {len(report.AUDIT)} | `batch/status` read" in text


@pytest.mark.parametrize("broken", ["missing", "missing_fairness", "fast"])
def test_an_incomplete_or_fast_run_writes_no_report(tmp_path, broken):
    values = figures()
    if broken == "missing":
        del values["load"]
    elif broken == "missing_fairness":
        del values["fairness"]
    else:
        values["load"]["mode"] = "fast"
    for name, v in values.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(v))
    out = tmp_path / "RELIABILITY.md"
    with pytest.raises(SystemExit, match="incomplete run"):
        report.main(["--figures", str(tmp_path), "--out", str(out)])
    assert not out.exists()
