"""Running one operation and recording it: the single path of `/api/v1/execute` and of a
pipeline step (`services/worker_callbacks.execute_step`).

`run` resolves and runs the operation's waterfall and holds no database connection while
providers answer; `record` writes the run and its attempts in the caller's (short) transaction.
The engine's `Attempt` is the one shape of an attempt: it is what is recorded and what the
response's `provider_attempts` are built from.
"""

import time
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from pydantic import BaseModel, ValidationError

from app.auth.context import AuthContext
from app.contracts.entities import EntityType
from app.db import Db
from app.errors import BadRequest
from app.models.execute import ExecuteOptions, ExecuteRequest, ExecuteResult
from app.operations.engine import Attempt, Engine, ExecutionOptions, OperationResult
from app.operations.redact import redact
from app.operations.registry import REGISTRY, Operation
from app.repositories import operation_runs as operation_runs_repo

# monotonic seconds; tests replace it to measure a run's duration without waiting
clock = time.monotonic


@dataclass(frozen=True)
class Outcome:
    """One operation run, ready to record."""

    operation: Operation
    input: BaseModel
    """The input as the operation's model validated it."""
    options: dict[str, Any]
    """The call's options as given (recorded verbatim)."""
    result: OperationResult
    duration_ms: int


async def run(
    engine: Engine,
    operation_id: str,
    entity_type: EntityType,
    input: dict[str, Any],
    options: ExecuteOptions | None = None,
    *,
    max_inline_wait_seconds: float | None = None,
) -> Outcome:
    """Raises BadRequest, before any provider is called, for an unknown operation, another entity
    type, an input the operation cannot take or a provider order it cannot use."""
    operation, data = _resolve(operation_id, entity_type, input)
    given = options.model_dump(exclude_none=True) if options else {}
    exec_options = ExecutionOptions(**given, max_inline_wait_seconds=max_inline_wait_seconds)
    engine.order(operation, exec_options)
    started = clock()
    result = await engine.run(operation, data, exec_options)
    return Outcome(operation, data, given, result, max(0, int((clock() - started) * 1000)))


def _resolve(operation_id: str, entity_type: EntityType, input: dict[str, Any]) -> tuple[Operation, BaseModel]:
    operation = REGISTRY.get(operation_id)
    if operation is None:
        raise BadRequest(
            "unknown operation_id; see /api/v1/operations/list",
            code="unknown_operation",
            details={"operation_id": operation_id},
        )
    if operation.spec.entity_type.value != entity_type.value:
        raise BadRequest(
            f"{operation_id} acts on a {operation.spec.entity_type.value}, not a {entity_type.value}",
            code="entity_type_mismatch",
        )
    try:
        data = operation.spec.input_model.model_validate(input)
    except ValidationError as e:
        details = [{"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]} for err in e.errors()]
        raise BadRequest("the input does not fit the operation", code="invalid_input", details=details) from e
    return operation, data


async def record(
    conn: asyncpg.Connection,
    engine: Engine,
    auth: AuthContext,
    outcome: Outcome,
    *,
    pipeline_run_id: uuid.UUID | None = None,
    step_position: int | None = None,
) -> uuid.UUID:
    """Writes the operation run and its attempts (secrets redacted); returns the run's id."""
    secrets = engine.providers.secrets
    result = outcome.result
    return await operation_runs_repo.insert_run(
        conn,
        auth.tenant_org_id,
        company_id=auth.company_id,
        user_id=auth.user_id,
        api_token_id=auth.api_token_id,
        auth_method=auth.auth_method.value,
        operation_id=outcome.operation.operation_id,
        entity_type=outcome.operation.spec.entity_type.value,
        status=result.status,
        input=redact(outcome.input.model_dump(mode="json", exclude_none=True), secrets),
        output=result.output,
        missing_inputs=result.missing_inputs,
        options=outcome.options,
        pipeline_run_id=pipeline_run_id,
        step_position=step_position,
        duration_ms=outcome.duration_ms,
        attempts=result.attempts,
        raw_responses=[redact(_audit_body(a), secrets) for a in result.attempts],
    )


def _audit_body(attempt: Attempt) -> Any:
    """What the audit log keeps of a provider's answer: the body, with our error beside it."""
    if attempt.error is None:
        return attempt.raw
    return {"error": attempt.error, "body": attempt.raw}


async def execute(db: Db, engine: Engine, auth: AuthContext, body: ExecuteRequest) -> ExecuteResult:
    """`/api/v1/execute`: run, then record in one short transaction."""
    outcome = await run(engine, body.operation_id, body.entity_type, body.input, body.options)
    async with db.transaction() as conn:
        run_id = await record(conn, engine, auth, outcome)
    result = outcome.result
    return ExecuteResult(
        run_id=run_id,
        operation_id=outcome.operation.operation_id,
        entity_type=body.entity_type,
        status=result.status,
        output=result.output,
        missing_inputs=result.missing_inputs,
        provider_attempts=result.attempts,
    )
