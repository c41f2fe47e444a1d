"""The worker's callbacks (docs/internal-api.md). Each is idempotent and moves rows only
forward; `execute_step` holds no database connection while providers answer."""

import uuid
from typing import Any

import asyncpg
from pydantic import ValidationError

from app.auth.context import AuthContext
from app.contracts import conditions, fan_out
from app.contracts.statuses import STEP_TERMINAL, PipelineRunStatus, StepStatus
from app.contracts.steps import SkipIfFresh
from app.db import Db
from app.errors import AppError, Conflict, NotFound, not_found
from app.models.execute import ExecuteOptions
from app.models.operations import EntityType
from app.models.pipeline_runs import PipelineRun
from app.models.worker_callbacks import InternalRun, LockedStep, RecoverResult, RunFinishResult, StepExecuteResult
from app.operations.engine import Engine
from app.operations.registry import REGISTRY
from app.repositories import entities as entities_repo
from app.repositories import worker_callbacks as worker_callbacks_repo
from app.services import entities as entities_service
from app.services import events as events_service
from app.services import execute as execute_service
from app.services import fan_out as fan_out_service
from app.services.dispatch import Dispatcher

# how many times one step may be handed back for a provider's long Retry-After before it fails
MAX_STEP_DEFERRALS = 10

# an operation result that lets the pipeline go on; `failed` fails the run (CONTRACT §7)
STEP_SUCCEEDED = frozenset({"found", "verified", "not_found"})


def merge_context(context: dict[str, Any], output: dict[str, Any] | None) -> dict[str, Any]:
    """The next step's input: non-null output fields over the context (nulls never erase)."""
    if not output:
        return dict(context)
    return {**context, **{k: v for k, v in output.items() if v is not None}}


async def _run_view(conn: asyncpg.Connection, auth: AuthContext, run_id: uuid.UUID) -> InternalRun:
    run = await worker_callbacks_repo.run_for_worker(conn, auth.tenant_org_id, run_id, company_scope=auth.company_id)
    if run is None:
        raise not_found("pipeline_run")
    return run


async def start(db: Db, auth: AuthContext, run_id: uuid.UUID) -> InternalRun:
    async with db.transaction() as conn:
        await worker_callbacks_repo.start_run(conn, auth.tenant_org_id, run_id, company_scope=auth.company_id)
        return await _run_view(conn, auth, run_id)


async def _stored(conn: asyncpg.Connection, step: LockedStep, run_id: uuid.UUID, position: int) -> StepExecuteResult:
    """The stored answer of a terminal step (a repeated delivery): the run's last succeeded step on
    an ended run answers `finished` as its first delivery did, as `finish` would."""
    finished = None
    if (
        step.status is StepStatus.succeeded
        and not step.later_open
        and step.run_status is not PipelineRunStatus.running
        and step.run_status is not PipelineRunStatus.queued
    ):
        finished = await _ended(conn, step.run_status, run_id, step.entity_type.value)
    return StepExecuteResult(
        position=position,
        status=step.status,
        output=step.output,
        context_after=step.context_after,
        error_message=step.error_message,
        operation_run_id=step.operation_run_id,
        run_status=step.run_status,
        fan_out=step.fan_out_result,
        skip_reason=step.skip_reason,
        finished=finished,
    )


async def _skip(
    conn: asyncpg.Connection, step: LockedStep, context: dict[str, Any]
) -> tuple[str, dict[str, Any]] | None:
    """(skip_reason, the context the next step gets) when the step is not to run (CONTRACT §9.1):
    its condition is false on the context, or the org's record already holds what the operation
    would write, recently enough (docs/decisions/0055-skip-if-fresh.md)."""
    if step.condition is not None:
        condition = conditions.validate_condition(step.condition, "condition")
        if not conditions.evaluate(condition, context):
            return "condition_not_met", context
    if isinstance(step.skip_if_fresh, dict):
        fresh = await _fresh_values(conn, step, context, step.skip_if_fresh)
        if fresh is not None:
            return "fresh", merge_context(context, fresh)
    return None


async def _fresh_values(
    conn: asyncpg.Connection, step: LockedStep, context: dict[str, Any], spec: dict[str, Any]
) -> dict[str, Any] | None:
    try:
        declared = SkipIfFresh.model_validate(spec)
    except ValidationError:
        return None
    entity_type = REGISTRY[step.operation_id].spec.entity_type.value if step.operation_id in REGISTRY else None
    if entity_type == "company":
        keys = entities_service.company_keys(context)
    elif entity_type == "person":
        keys = entities_service.person_keys(context)
    else:
        return None
    if keys == (None, None):
        return None
    found = await entities_repo.fresh_output(
        conn, step.org_id, step.company_id, entity_type, keys, step.operation_id, declared.max_age_hours
    )
    if found is None:
        return None
    data, output = found
    written = [k for k, v in output.items() if v is not None]
    # fresh only when the record still holds every field the operation wrote there last time
    if not written or any(data.get(k) is None for k in written):
        return None
    return {k: data[k] for k in written}


async def _attempt(
    db: Db,
    engine: Engine,
    auth: AuthContext,
    step: LockedStep,
    context: dict[str, Any],
    max_inline_wait_seconds: float | None,
    precheck_error: str | None,
) -> tuple[execute_service.Outcome | None, str, dict[str, Any] | None, list[str], str | None]:
    """(outcome, status, output, missing inputs, error) of the step's operation. A request that
    cannot be built fails the step once with the reason, instead of a 500 the worker would retry:
    an unreadable stored condition (`precheck_error`), an input the operation cannot take,
    providers it cannot use, or a stored step_config the options model refuses (an old blueprint
    snapshot)."""
    if precheck_error is not None:
        return None, "failed", None, [], precheck_error
    try:
        entity_type, step_input = _step_input(step, context)
        # the shared path of /api/v1/execute: the org's result cache and single flight
        outcome = await execute_service.obtain(
            db,
            engine,
            auth,
            step.operation_id,
            entity_type,
            step_input,
            _options(step.step_config),
            max_inline_wait_seconds=max_inline_wait_seconds,
            # the run's company pays, whichever credential the worker called with
            budget_company_id=step.company_id,
            entity_company_id=step.company_id,
        )
    except AppError as e:
        return None, "failed", None, [], f"{e.code}: {e.message}"
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in ("step_config", *first["loc"]))
        return None, "failed", None, [], f"invalid_step_config: {where}: {first['msg']}"
    result = outcome.result
    return outcome, result.status, result.output, result.missing_inputs, result.error


def _out_of_order(message: str, **details: Any) -> Conflict:
    return Conflict(message, code="out_of_order", details=details)


async def execute_step(
    db: Db,
    engine: Engine,
    auth: AuthContext,
    run_id: uuid.UUID,
    position: int,
    context: dict[str, Any] | None = None,
    *,
    max_inline_wait_seconds: float | None = None,
    dispatcher: Dispatcher,
    max_runs_per_submission: int,
) -> StepExecuteResult:
    """`context` from the worker is ignored: the step gets the context its predecessors stored, so
    a worker (a stale delivery, a bug) cannot feed a step anything the run did not produce.
    A fan-out step's children are created in the transaction that records its result."""
    org_id, scope = auth.tenant_org_id, auth.company_id
    async with db.transaction() as conn:
        step = await worker_callbacks_repo.lock_step(conn, org_id, run_id, position, company_scope=scope)
        if step is None:
            raise NotFound("step not found", code="step_not_found")
        if step.status in STEP_TERMINAL or step.run_status is not PipelineRunStatus.running:
            # already done (a repeated delivery), or the run was canceled/failed meanwhile
            return await _stored(conn, step, run_id, position)
        if step.earlier_open:
            raise _out_of_order(f"step {position} cannot run before every earlier step has finished", position=position)
        context = step.context_before
        precheck_error: str | None = None
        try:
            skipped = await _skip(conn, step, context)
        except conditions.InvalidCondition as e:
            # never stored by a validated blueprint: an old or hand-made snapshot fails the step once
            skipped, precheck_error = None, f"invalid_condition: {e}"
        if skipped is not None:
            reason, skip_context = skipped
            await worker_callbacks_repo.finish_step(
                conn,
                step.id,
                status=StepStatus.skipped,
                output=None,
                context_after=skip_context,
                error=None,
                operation_run_id=None,
                skip_reason=reason,
            )
            return StepExecuteResult(
                position=position,
                status=StepStatus.skipped,
                output=None,
                context_after=skip_context,
                error_message=None,
                operation_run_id=None,
                run_status=step.run_status,
                skip_reason=reason,
            )
        await worker_callbacks_repo.mark_step_running(conn, step.id, context)

    outcome, status, output, missing, error = await _attempt(
        db, engine, auth, step, context, max_inline_wait_seconds, precheck_error
    )

    async with db.transaction() as conn:
        step = await worker_callbacks_repo.lock_step(conn, org_id, run_id, position, company_scope=scope)
        assert step is not None
        if step.status in STEP_TERMINAL:
            if outcome is not None:
                await execute_service.release(conn, auth, outcome)
            return await _stored(conn, step, run_id, position)
        operation_run_id = None
        if outcome is not None:
            operation_run_id = await execute_service.record(
                conn, engine, auth, outcome, pipeline_run_id=run_id, step_position=position
            )
            retry_after = outcome.result.retry_after if status == "failed" else None
            # only a wait the call did not sleep through is handed back (a storm of short waits that
            # used up the retries fails the step as before), and only so often: a provider that
            # asks for longer forever ends the step instead of postponing it without end
            long_wait = retry_after is not None and retry_after > (max_inline_wait_seconds or 0)
            if (
                long_wait
                and await worker_callbacks_repo.step_operation_runs(conn, org_id, run_id, position, company_scope=scope)
                <= MAX_STEP_DEFERRALS
            ):
                assert retry_after is not None
                # the provider asked for a longer wait than a step may hold its worker slot: the
                # attempt is recorded, the step goes back to queued and the worker runs it later
                await worker_callbacks_repo.requeue_step(conn, step.id)
                return StepExecuteResult(
                    position=position,
                    status=StepStatus.queued,
                    output=None,
                    context_after=None,
                    error_message=outcome.result.error,
                    operation_run_id=operation_run_id,
                    run_status=step.run_status,
                    retry_after_seconds=retry_after,
                )
        succeeded = status in STEP_SUCCEEDED
        context_after = merge_context(context, output) if succeeded else None
        if not succeeded and missing:
            error = "missing_inputs: " + ", ".join(missing)
        message = None if succeeded else (error or "the operation failed")
        step_status = StepStatus.succeeded if succeeded else StepStatus.failed
        await worker_callbacks_repo.finish_step(
            conn,
            step.id,
            status=step_status,
            output=output,
            context_after=context_after,
            error=message,
            operation_run_id=operation_run_id,
        )
        report: dict[str, Any] | None = None
        child_ids: list[uuid.UUID] = []
        spec = fan_out_service.declared(step)
        if succeeded and spec is not None:
            report, child_ids = await fan_out_service.create_children(
                conn, dispatcher, step, spec, run_id, context, output, max_runs_per_submission=max_runs_per_submission
            )
            await worker_callbacks_repo.record_fan_out(conn, step.id, report)
        if not succeeded:
            submission_id = await worker_callbacks_repo.fail_run(
                conn, org_id, run_id, f"step {position} ({step.operation_id}): {message}", company_scope=scope
            )
            if submission_id is not None:
                await events_service.run_ended(conn, org_id, run_id, submission_id)
        finished: RunFinishResult | None = None
        if succeeded and not step.later_open:
            # the run's last step: finishing here saves the worker's finish call and its transaction
            finished = await _finish_if_complete(conn, org_id, scope, run_id)
        if finished is not None:
            run_status: PipelineRunStatus | None = finished.status
        elif succeeded:
            # read by the lock above, in this transaction
            run_status = step.run_status
        else:
            run_status = await worker_callbacks_repo.run_status(conn, org_id, run_id, company_scope=scope)
        result = StepExecuteResult(
            position=position,
            status=step_status,
            output=output,
            context_after=context_after,
            error_message=message,
            operation_run_id=operation_run_id,
            run_status=run_status or step.run_status,
            fan_out=report,
            finished=finished,
        )
    # after commit: a rollback above sends nothing; unsent children are queued and the sweeper
    # (trigger mode) sends them
    if child_ids:
        await dispatcher.dispatch_after_commit(child_ids, step.org_id, step.company_id)
    return result


def _step_input(step: LockedStep, context: dict[str, Any]) -> tuple[EntityType, dict[str, Any]]:
    """A search step that fans out looks for its results' entity type on this run's context
    (a company run's person.search finds that company's people)."""
    if step.operation_id not in fan_out.RESULT_LISTS:
        return step.entity_type, context
    searched = EntityType(fan_out.RESULT_LISTS[step.operation_id][1])
    return searched, fan_out.search_input(
        step.entity_type.value, step.operation_id, fan_out_service.declared(step), context
    )


def _options(step_config: dict[str, Any] | None) -> ExecuteOptions | None:
    """The step's options (`providers`, `verify_providers`, `cache`: the execute options). Any
    other key, or a wrong type, raises ValidationError."""
    if not step_config:
        return None
    return ExecuteOptions.model_validate(step_config)


async def finish(
    db: Db, auth: AuthContext, run_id: uuid.UUID, final_context: dict[str, Any] | None = None
) -> RunFinishResult:
    """The entity is built from the context the run's steps stored, never from the worker's
    `final_context` (ignored), and only once every step is terminal."""
    org_id, scope = auth.tenant_org_id, auth.company_id
    async with db.transaction() as conn:
        run = await worker_callbacks_repo.lock_run(conn, org_id, run_id, company_scope=scope)
        if run is None:
            raise not_found("pipeline_run")
        if run.status is not PipelineRunStatus.running:
            return await _ended(conn, run.status, run.id, run.entity_type.value)
        state = await worker_callbacks_repo.finish_state(conn, org_id, run_id, company_scope=scope)
        assert state is not None  # the run is locked
        if state.open_positions:
            raise _out_of_order(
                "the run cannot finish before every step has finished", open_positions=state.open_positions
            )
        return await _complete(conn, org_id, scope, run, state.final_context)


async def _ended(
    conn: asyncpg.Connection, status: PipelineRunStatus, run_id: uuid.UUID, entity_type: str
) -> RunFinishResult:
    """What `finish` answers on a run that is no longer running: its status, and the entity version
    it wrote when it succeeded."""
    version = None
    if status is PipelineRunStatus.succeeded:
        version = await entities_repo.version_for_run(conn, run_id, entity_type)
    return RunFinishResult(
        status=status,
        entity_id=version["entity_id"] if version else None,
        record_version=version["record_version"] if version else None,
    )


async def _finish_if_complete(
    conn: asyncpg.Connection, org_id: uuid.UUID, scope: uuid.UUID | None, run_id: uuid.UUID
) -> RunFinishResult | None:
    """`finish`, inside the transaction that recorded the run's last step; None when the run is no
    longer running or a step is still open (nothing changes then, the worker's finish decides)."""
    run = await worker_callbacks_repo.lock_run(conn, org_id, run_id, company_scope=scope)
    if run is None or run.status is not PipelineRunStatus.running:
        return None
    state = await worker_callbacks_repo.finish_state(conn, org_id, run_id, company_scope=scope)
    if state is None or state.open_positions:
        return None
    return await _complete(conn, org_id, scope, run, state.final_context)


async def _complete(
    conn: asyncpg.Connection, org_id: uuid.UUID, scope: uuid.UUID | None, run: PipelineRun, context: dict[str, Any]
) -> RunFinishResult:
    """The locked, running run whose steps are all terminal: its entity upserted from `context`,
    the run succeeded (failed when the upsert fails), its events queued, its submission re-derived."""
    run_id = run.id
    parent_company = None
    if run.parent_pipeline_run_id is not None and run.entity_type.value == "person":
        # before the upsert: the lock order is child run, parent run, records (link_to_parent)
        _, parent_company = await entities_repo.lock_parent_company_entity(conn, org_id, run.parent_pipeline_run_id)
    try:
        async with conn.transaction():
            entity_id, record_version = await entities_service.upsert_from_run(conn, run, context)
            if parent_company is not None:
                await entities_repo.link_person(conn, org_id, entity_id, parent_company)
            if run.entity_type.value == "company":
                await entities_repo.link_children(conn, org_id, run.id, entity_id)
    except entities_service.EntityUpsertError as e:
        submission_id = await worker_callbacks_repo.fail_run(
            conn, org_id, run_id, f"entity upsert failed: {e}", company_scope=scope
        )
        if submission_id is not None:
            await events_service.run_ended(conn, org_id, run_id, submission_id)
        return RunFinishResult(status=PipelineRunStatus.failed, entity_id=None, record_version=None)
    submission_id = await worker_callbacks_repo.succeed_run(conn, org_id, run_id, context, company_scope=scope)
    if submission_id is not None:
        await events_service.run_ended(conn, org_id, run_id, submission_id)
    return RunFinishResult(status=PipelineRunStatus.succeeded, entity_id=entity_id, record_version=record_version)


async def fail(db: Db, auth: AuthContext, run_id: uuid.UUID, error: str) -> InternalRun:
    async with db.transaction() as conn:
        submission_id = await worker_callbacks_repo.fail_run(
            conn, auth.tenant_org_id, run_id, error, company_scope=auth.company_id
        )
        if submission_id is not None:
            await events_service.run_ended(conn, auth.tenant_org_id, run_id, submission_id)
        return await _run_view(conn, auth, run_id)


async def heartbeat(db: Db, worker_id: str) -> None:
    async with db.transaction() as conn:
        await worker_callbacks_repo.heartbeat(conn, worker_id)


async def recover(db: Db, worker_id: str, stale_seconds: float) -> RecoverResult:
    """Unlock graphile-worker jobs held by hosts that stopped reporting (a SIGKILLed worker), so
    they run again in seconds instead of after graphile-worker's four-hour lock timeout."""
    async with db.transaction() as conn:
        await worker_callbacks_repo.heartbeat(conn, worker_id)
        dead = await worker_callbacks_repo.dead_lockers(conn, stale_seconds)
        if dead:
            await worker_callbacks_repo.force_unlock(conn, dead)
        return RecoverResult(unlocked_workers=dead)
