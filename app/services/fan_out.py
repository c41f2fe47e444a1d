"""Fan-out children (CONTRACT §9.1): a succeeded search step's results become pipeline runs of
another blueprint in the same submission. Called inside the transaction that records the
parent's step result, so the children and the result commit together or not at all: a crash
leaves neither, and a repeated answer finds the step terminal and creates nothing."""

import uuid
from typing import Any

import asyncpg
from pydantic import ValidationError

from app.contracts import fan_out
from app.contracts.statuses import SubmissionStatus
from app.models.worker_callbacks import LockedStep
from app.repositories import blueprints as blueprints_repo
from app.repositories import submissions as submissions_repo
from app.services.dispatch import Dispatcher
from app.services.submissions import NewRun, create_runs

OPEN_SUBMISSION = frozenset({SubmissionStatus.received, SubmissionStatus.queued, SubmissionStatus.running})


def declared(step: LockedStep) -> fan_out.FanOut | None:
    """The fan-out frozen into the run's snapshot; an unreadable one (never stored by a
    validated blueprint) counts as none."""
    if not step.fan_out:
        return None
    try:
        return fan_out.FanOut.model_validate(step.fan_out)
    except ValidationError:
        return None


async def create_children(
    conn: asyncpg.Connection,
    dispatcher: Dispatcher,
    step: LockedStep,
    spec: fan_out.FanOut,
    run_id: uuid.UUID,
    context: dict[str, Any],
    output: dict[str, Any] | None,
    *,
    max_runs_per_submission: int,
) -> tuple[dict[str, Any], list[uuid.UUID]]:
    """Returns what the step result records about its children, and the children to send to the
    orchestrator after commit."""
    list_field, child_type = fan_out.RESULT_LISTS[step.operation_id]
    results = [r for r in (output or {}).get(list_field) or [] if isinstance(r, dict)]
    report: dict[str, Any] = {
        "blueprint_id": str(spec.blueprint_id),
        "results": len(results),
        "children": 0,
        "duplicates": 0,
        "beyond_max_children": max(0, len(results) - spec.max_children),
        "children_truncated": False,
        "depth_limited": False,
        "error": None,
    }
    if not results:
        return report, []
    if step.depth >= fan_out.MAX_DEPTH:
        report["depth_limited"] = True
        return report, []
    blueprint = await blueprints_repo.get_blueprint(conn, step.org_id, spec.blueprint_id)
    problem = None
    if blueprint is None:
        problem = "blueprint_not_found"
    elif not blueprint.is_active:
        problem = "blueprint_inactive"
    elif blueprint.entity_type.value != child_type:
        problem = "entity_type_mismatch"
    elif not any(s.is_enabled for s in blueprint.steps):
        problem = "no_enabled_steps"
    if problem is not None or blueprint is None:
        report["error"] = problem
        return report, []

    status, next_index = await submissions_repo.lock_for_children(conn, step.submission_id)
    if SubmissionStatus(status) not in OPEN_SUBMISSION:
        report["error"] = "submission_closed"
        return report, []
    carry = fan_out.carried(step.entity_type.value, child_type, spec.carry, context)
    candidates: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    for index, result in enumerate(results[: spec.max_children]):
        data = fan_out.child_input(result, carry)
        # a result without a natural key is its own child, still once per parent step
        key = fan_out.natural_key(child_type, data) or f"result:{run_id}:{step.position}:{index}"
        if key in seen:
            report["duplicates"] += 1
            continue
        seen.add(key)
        candidates.append((key, data))
    existing = await submissions_repo.existing_child_keys(conn, step.submission_id, [k for k, _ in candidates])
    fresh = [(k, d) for k, d in candidates if k not in existing]
    report["duplicates"] += len(candidates) - len(fresh)
    room = max(0, max_runs_per_submission - next_index)
    if len(fresh) > room:
        fresh = fresh[:room]
        report["children_truncated"] = True
    if not fresh:
        return report, []
    child_ids = await create_runs(
        conn,
        dispatcher,
        blueprint,
        org_id=step.org_id,
        company_id=step.company_id,
        submission_id=step.submission_id,
        runs=[
            NewRun(next_index + i, data, parent_pipeline_run_id=run_id, depth=step.depth + 1, child_key=key)
            for i, (key, data) in enumerate(fresh)
        ],
    )
    report["children"] = len(child_ids)
    return report, child_ids
