"""Pipeline state changes that subscribers hear about (CONTRACT §9.6): each is queued for the
webhooks on the connection of the transaction that makes the change, so an event exists exactly
when its change commits (docs/decisions/0046-webhooks.md)."""

import uuid

import asyncpg

from app.contracts.statuses import SUBMISSION_TERMINAL
from app.repositories import events as events_repo
from app.repositories import worker_callbacks as worker_callbacks_repo
from app.services.webhooks import enqueue_event

SUMMARY_FIELDS = ("total", "queued", "running", "succeeded", "failed", "canceled")


async def run_ended(conn: asyncpg.Connection, org_id: uuid.UUID, run_id: uuid.UUID, submission_id: uuid.UUID) -> None:
    """A run just became succeeded or failed (`submission_id` is what the transition returned):
    its event, then the submission's re-derived status and, when that ends it, its event."""
    run = await events_repo.run_for_event(conn, org_id, run_id)
    if run is not None and run["status"] in ("succeeded", "failed"):
        await enqueue_event(
            conn,
            org_id,
            run["company_id"],
            f"run.{run['status']}",
            {
                "submission_id": str(submission_id),
                "pipeline_run_id": str(run_id),
                "entity_index": run["entity_index"],
                "status": run["status"],
                "error_message": run["error_message"],
            },
        )
    if await worker_callbacks_repo.rederive_submission(conn, submission_id) is not None:
        await submission_ended(conn, org_id, submission_id)


async def submission_ended(conn: asyncpg.Connection, org_id: uuid.UUID, submission_id: uuid.UUID) -> None:
    """Queues `submission.<status>`; the caller has just moved the submission to a final status."""
    submission = await events_repo.submission_for_event(conn, org_id, submission_id)
    if submission is None or submission["status"] not in SUBMISSION_TERMINAL:
        return
    await enqueue_event(
        conn,
        org_id,
        submission["company_id"],
        f"submission.{submission['status']}",
        {
            "submission_id": str(submission_id),
            "status": submission["status"],
            "summary": {k: submission[k] for k in SUMMARY_FIELDS},
        },
    )
