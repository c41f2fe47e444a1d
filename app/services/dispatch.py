"""Dispatch of pipeline runs to the orchestrator (DESIGN "Dispatch", STYLE rule 7).

- local: graphile-worker jobs are added in the same transaction as the runs (`job_key` = run id),
  so a run never exists without its job and is never queued twice.
- trigger: after commit, runs go to Trigger.dev's batch trigger with `idempotencyKey` = run id;
  acknowledged runs get `dispatched_at`; a sweeper re-sends queued runs that never got it.
"""

import logging
import uuid
from typing import Any, Protocol

import asyncpg
import httpx

from app.contracts.orchestration import PIPELINE_TASK_ID
from app.db import Db
from app.repositories import dispatch as dispatch_repo

log = logging.getLogger(__name__)

# graphile-worker retries a run whose host threw (API unreachable, a crash): exp(n) s backoff
LOCAL_MAX_ATTEMPTS = 10
TASK_ID = PIPELINE_TASK_ID
# the per-task batch endpoint takes at most 100 items (orchestration.md A3, server code)
TRIGGER_BATCH_SIZE = 100
TRIGGER_API_VERSION = "2025-07-16"
# Fairness within an org (docs/decisions/0031-fair-scheduling.md). `concurrencyKey` = org gives
# every org its own copy of the `pipeline-runs` queue, so orgs do not wait on each other. Within
# one org's queue, Trigger.dev dequeues by trigger time minus `priority` (a time offset in
# seconds, higher = sooner: trigger.dev/docs/runs/priority). Run n of a submission gets
# HORIZON - n, i.e. it counts as triggered n seconds after its submission: submissions of the
# same org interleave instead of queueing behind each other. HORIZON covers a full batch
# (DATA_ENGINE_MAX_BATCH_ENTITIES, 10,000 by default); runs past it get 0.
TRIGGER_FAIR_HORIZON_SECONDS = 10_000


class Dispatcher(Protocol):
    async def enqueue_in_transaction(
        self, conn: asyncpg.Connection, run_ids: list[uuid.UUID], org_id: uuid.UUID, company_id: uuid.UUID
    ) -> None: ...

    async def dispatch_after_commit(
        self, run_ids: list[uuid.UUID], org_id: uuid.UUID, company_id: uuid.UUID
    ) -> None: ...


class LocalDispatcher:
    async def enqueue_in_transaction(
        self, conn: asyncpg.Connection, run_ids: list[uuid.UUID], org_id: uuid.UUID, company_id: uuid.UUID
    ) -> None:
        added = await dispatch_repo.enqueue_local(conn, run_ids, org_id, company_id, LOCAL_MAX_ATTEMPTS)
        if added != len(run_ids):
            # add_jobs can skip rows under job_key contention (graphile/worker#580): never leave a run
            # without its job
            raise RuntimeError(f"graphile-worker accepted {added} of {len(run_ids)} jobs")

    async def dispatch_after_commit(self, run_ids: list[uuid.UUID], org_id: uuid.UUID, company_id: uuid.UUID) -> None:
        return None


class TriggerDispatcher:
    def __init__(self, db: Db, http: httpx.AsyncClient, api_url: str, secret_key: str) -> None:
        self.db = db
        self.http = http
        self.api_url = api_url.rstrip("/")
        self.secret_key = secret_key

    async def enqueue_in_transaction(
        self, conn: asyncpg.Connection, run_ids: list[uuid.UUID], org_id: uuid.UUID, company_id: uuid.UUID
    ) -> None:
        return None

    async def dispatch_after_commit(self, run_ids: list[uuid.UUID], org_id: uuid.UUID, company_id: uuid.UUID) -> None:
        try:
            await self.send([(r, org_id, company_id, rank) for rank, r in enumerate(run_ids)])
        except (httpx.HTTPError, TriggerError) as e:
            # the runs are committed as queued and undispatched: the sweeper re-sends them
            log.warning("trigger dispatch failed, the sweeper will retry: %s", e)

    async def send(self, runs: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, int]]) -> None:
        """`runs`: (run id, org id, company id, rank of the run within its submission)."""
        for start in range(0, len(runs), TRIGGER_BATCH_SIZE):
            chunk = runs[start : start + TRIGGER_BATCH_SIZE]
            body = {
                "items": [
                    {
                        "payload": {
                            "pipeline_run_id": str(run_id),
                            "org_id": str(org_id),
                            "company_id": str(company_id),
                        },
                        # the same run sent twice (sweeper, retry of this call) stays one Trigger.dev run
                        "options": {
                            "idempotencyKey": str(run_id),
                            "concurrencyKey": str(org_id),
                            "priority": max(0, TRIGGER_FAIR_HORIZON_SECONDS - rank),
                            "tags": [f"org:{org_id}"],
                        },
                    }
                    for run_id, org_id, company_id, rank in chunk
                ]
            }
            response = await self.http.post(
                f"{self.api_url}/api/v1/tasks/{TASK_ID}/batch",
                json=body,
                timeout=30.0,
                headers={"Authorization": f"Bearer {self.secret_key}", "x-trigger-api-version": TRIGGER_API_VERSION},
            )
            if response.status_code >= 400:
                raise TriggerError(response.status_code, response.text[:500])
            external = _run_ids(response.json(), len(chunk))
            async with self.db.transaction() as conn:
                await dispatch_repo.mark_dispatched(conn, [r[0] for r in chunk], external)

    async def sweep(self, *, older_than_seconds: float = 30, limit: int = 1000) -> int:
        """Re-send queued runs the orchestrator never acknowledged; returns how many were sent."""
        async with self.db.transaction() as conn:
            rows = await dispatch_repo.undispatched(conn, older_than_seconds, limit)
        if rows:
            await self.send([(r.id, r.org_id, r.company_id, r.entity_index) for r in rows])
        return len(rows)

    async def sweep_and_log(self) -> None:
        """One pass of the sweeper (an elected periodic job, app/periodic.py)."""
        try:
            sent = await self.sweep()
            if sent:
                log.info("sweeper re-sent %d undispatched runs", sent)
        except (httpx.HTTPError, TriggerError, asyncpg.PostgresError, OSError) as e:
            log.warning("sweeper pass failed: %s", e)


class TriggerError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"Trigger.dev answered {status}: {body}")
        self.status = status


def _run_ids(body: Any, count: int) -> list[str | None]:
    """`{"batchId", "runs": ["run_…"]}` per the docs; tolerate run objects (orchestration.md A3 notes the
    v1 batch response shape differs between docs and code)."""
    runs = body.get("runs") if isinstance(body, dict) else None
    ids: list[str | None] = []
    for item in runs or []:
        ids.append(item.get("id") if isinstance(item, dict) else str(item))
    return (ids + [None] * count)[:count]
