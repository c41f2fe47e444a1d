"""Submissions: batch submit, status and cancel (CONTRACT §6–§7), and the submission reads.

Submit writes one submission, one run per entity and one queued step per enabled step with COPY
(no per-entity round trips), and in local mode enqueues every run's job in the same transaction.
In trigger mode the runs are sent to Trigger.dev after commit; the sweeper re-sends any the
orchestrator did not acknowledge.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from app.auth.context import AuthContext
from app.contracts.statuses import SUBMISSION_FINISHED, PipelineRunStatus, StepStatus
from app.db import Db, EncodedJson
from app.errors import BadRequest, Conflict, not_found
from app.models.blueprints import Blueprint
from app.models.common import Page
from app.models.submissions import (
    BatchStatus,
    BatchStatusRequest,
    BatchSubmitRequest,
    BatchSubmitResult,
    RunPage,
    Submission,
    SubmissionListRequest,
)
from app.pagination import decode_cursor, page
from app.repositories import submissions as submissions_repo
from app.services import blueprints as blueprints_service
from app.services import companies as companies_service
from app.services import events as events_service
from app.services.dispatch import Dispatcher

MAX_REPORTED_MISMATCHES = 20


def snapshot(blueprint: Blueprint) -> tuple[dict[str, Any], str]:
    """The blueprint frozen into each run, and a version that names exactly these steps."""
    steps = [s.model_dump() for s in blueprint.steps]
    frozen = {
        "blueprint_id": str(blueprint.id),
        "name": blueprint.name,
        "version": blueprint.version,
        "entity_type": blueprint.entity_type.value,
        "steps": steps,
    }
    digest = hashlib.sha256(json.dumps(steps, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return frozen, f"{blueprint.version}:{digest[:16]}"


async def _company_for(conn: asyncpg.Connection, auth: AuthContext, company_id: uuid.UUID | None) -> uuid.UUID:
    if auth.company_id is not None:
        if company_id is not None and company_id != auth.company_id:
            raise not_found("company")
        return auth.company_id
    if company_id is None:
        raise BadRequest("company_id is required: name the client company the batch is for", code="company_required")
    return (await companies_service.get(conn, auth, company_id)).id


@dataclass(frozen=True)
class NewRun:
    entity_index: int
    input: dict[str, Any]
    parent_pipeline_run_id: uuid.UUID | None = None
    depth: int = 0
    child_key: str | None = None


async def create_runs(
    conn: asyncpg.Connection,
    dispatcher: Dispatcher,
    blueprint: Blueprint,
    *,
    org_id: uuid.UUID,
    company_id: uuid.UUID,
    submission_id: uuid.UUID,
    runs: list[NewRun],
) -> list[uuid.UUID]:
    """Runs of `blueprint` in a submission, each with one queued step per enabled step, handed to
    the orchestrator in the same transaction (local mode). The caller sends them after commit
    (`dispatcher.dispatch_after_commit`). Batch submit and fan-out children both come here."""
    enabled = [s for s in blueprint.steps if s.is_enabled]
    frozen, version = snapshot(blueprint)
    # what every run and step shares is encoded once, not once a row (10,000 runs: 40,000 rows)
    frozen_json = EncodedJson.of(frozen)
    configs = [(s, EncodedJson.of(s.step_config)) for s in enabled]
    run_ids = [uuid.uuid4() for _ in runs]
    entity_type = blueprint.entity_type.value
    await submissions_repo.copy_runs(
        conn,
        [
            (
                run_id,
                org_id,
                company_id,
                submission_id,
                run.entity_index,
                entity_type,
                PipelineRunStatus.queued,
                frozen_json,
                version,
                run.input,
                run.parent_pipeline_run_id,
                run.depth,
                run.child_key,
            )
            for run_id, run in zip(run_ids, runs, strict=True)
        ],
    )
    await submissions_repo.copy_steps(
        conn,
        [
            # a step's id is the column's default (gen_random_uuid()): nothing here needs it
            (org_id, run_id, s.position, s.operation_id, StepStatus.queued, config)
            for run_id in run_ids
            for s, config in configs
        ],
    )
    await dispatcher.enqueue_in_transaction(conn, run_ids, org_id, company_id)
    return run_ids


async def _checked(
    conn: asyncpg.Connection, auth: AuthContext, body: BatchSubmitRequest
) -> tuple[Blueprint, uuid.UUID]:
    """Everything a submit refuses before it writes: the blueprint and the company it runs for."""
    blueprint = await blueprints_service.get(conn, auth, body.blueprint_id)
    if not blueprint.is_active:
        raise BadRequest("the blueprint is deactivated", code="blueprint_inactive")
    mismatched = [i for i, e in enumerate(body.entities) if e.entity_type != blueprint.entity_type]
    if mismatched:
        raise BadRequest(
            f"this blueprint acts on {blueprint.entity_type.value} entities",
            code="entity_type_mismatch",
            details={"entity_indexes": mismatched[:MAX_REPORTED_MISMATCHES], "count": len(mismatched)},
        )
    if not any(s.is_enabled for s in blueprint.steps):
        raise BadRequest("the blueprint has no enabled step", code="no_enabled_steps")
    return blueprint, await _company_for(conn, auth, body.company_id)


def _check_size(body: BatchSubmitRequest, max_entities: int) -> None:
    if len(body.entities) > max_entities:
        raise BadRequest(
            f"a batch holds at most {max_entities} entities",
            code="too_many_entities",
            details={"max": max_entities, "given": len(body.entities)},
        )


async def check(db: Db, auth: AuthContext, body: BatchSubmitRequest, *, max_entities: int) -> None:
    """What `submit` would refuse, refused the same way, with nothing written (a CSV dry run)."""
    _check_size(body, max_entities)
    async with db.transaction() as conn:
        await _checked(conn, auth, body)


async def submit(
    db: Db, dispatcher: Dispatcher, auth: AuthContext, body: BatchSubmitRequest, *, max_entities: int
) -> BatchSubmitResult:
    _check_size(body, max_entities)
    async with db.transaction() as conn:
        blueprint, company_id = await _checked(conn, auth, body)
        org_id = auth.tenant_org_id
        submission_id = uuid.uuid4()
        await submissions_repo.insert_submission(
            conn,
            submission_id,
            org_id,
            company_id=company_id,
            blueprint_id=blueprint.id,
            source=body.source,
            metadata=body.metadata or {},
            entity_count=len(body.entities),
        )
        run_ids = await create_runs(
            conn,
            dispatcher,
            blueprint,
            org_id=org_id,
            company_id=company_id,
            submission_id=submission_id,
            runs=[NewRun(index, entity.input) for index, entity in enumerate(body.entities)],
        )
        await submissions_repo.mark_submission_queued(conn, submission_id)
    # after commit: a rollback above sends nothing
    await dispatcher.dispatch_after_commit(run_ids, org_id, company_id)
    return BatchSubmitResult(submission_id=submission_id, pipeline_run_ids=run_ids)


async def get_submission(conn: asyncpg.Connection, auth: AuthContext, submission_id: uuid.UUID) -> Submission:
    submission = await submissions_repo.get_submission(
        conn, auth.tenant_org_id, submission_id, company_scope=auth.company_id
    )
    if submission is None:
        raise not_found("submission")
    return submission


async def list_submissions(
    conn: asyncpg.Connection, auth: AuthContext, body: SubmissionListRequest
) -> Page[Submission]:
    rows = await submissions_repo.list_submissions(
        conn,
        auth.tenant_org_id,
        company_scope=auth.company_id,
        status=body.status,
        after=decode_cursor(body.cursor),
        limit=body.limit,
    )
    items, cursor = page(rows, body.limit)
    return Page[Submission](items=items, next_cursor=cursor)


def _decode_index_cursor(cursor: str | None) -> int:
    if cursor is None:
        return -1
    # ASCII digits only, and few enough for an int4 entity index ("²".isdigit() is True)
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 9):
        raise BadRequest("the cursor is not one this API issued", code="invalid_cursor")
    return int(cursor)


async def status(conn: asyncpg.Connection, auth: AuthContext, body: BatchStatusRequest) -> BatchStatus:
    after = _decode_index_cursor(body.cursor)
    found = await submissions_repo.batch_status(
        conn,
        auth.tenant_org_id,
        body.submission_id,
        company_scope=auth.company_id,
        after_index=after,
        limit=body.limit,
        status=body.status,
    )
    if found is None:
        raise not_found("submission")
    submission, summary, rows = found
    next_cursor = None
    if len(rows) > body.limit:
        rows = rows[: body.limit]
        next_cursor = str(rows[-1].entity_index)
    return BatchStatus(submission=submission, summary=summary, runs=RunPage(items=rows, next_cursor=next_cursor))


async def cancel(conn: asyncpg.Connection, auth: AuthContext, submission_id: uuid.UUID) -> Submission:
    submission = await get_submission(conn, auth, submission_id)
    if submission.status in SUBMISSION_FINISHED:
        raise Conflict(f"the submission is already {submission.status}", code="submission_finished")
    if await submissions_repo.cancel_submission(conn, submission.id):
        await events_service.submission_ended(conn, auth.tenant_org_id, submission.id)
    return await get_submission(conn, auth, submission_id)
