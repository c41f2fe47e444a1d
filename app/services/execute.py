"""/api/v1/execute: validate, run the operation's waterfall (holding no database connection while
providers answer), then persist the run and its attempts in one short transaction."""

import time
import uuid
from typing import Any

from pydantic import ValidationError

from app.auth.context import AuthContext
from app.db import Db
from app.errors import BadRequest
from app.models.execute import ExecuteRequest, ExecuteResult, ProviderAttempt
from app.operations.engine import Engine, ExecutionOptions, OperationResult
from app.operations.redact import redact
from app.operations.registry import REGISTRY, Operation
from app.repositories import operation_runs as operation_runs_repo


def resolve(body: ExecuteRequest) -> tuple[Operation, Any]:
    operation = REGISTRY.get(body.operation_id)
    if operation is None:
        raise BadRequest(
            "unknown operation_id; see /api/v1/operations/list",
            code="unknown_operation",
            details={"operation_id": body.operation_id},
        )
    if operation.spec.entity_type.value != body.entity_type.value:
        raise BadRequest(
            f"{body.operation_id} acts on a {operation.spec.entity_type.value}, not a {body.entity_type.value}",
            code="entity_type_mismatch",
        )
    try:
        data = operation.spec.input_model.model_validate(body.input)
    except ValidationError as e:
        details = [{"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]} for err in e.errors()]
        raise BadRequest("the input does not fit the operation", code="invalid_input", details=details) from e
    return operation, data


async def execute(
    db: Db,
    engine: Engine,
    auth: AuthContext,
    body: ExecuteRequest,
    *,
    pipeline_run_id: uuid.UUID | None = None,
    step_position: int | None = None,
) -> ExecuteResult:
    operation, data = resolve(body)
    options = body.options.model_dump(exclude_none=True) if body.options else {}
    exec_options = ExecutionOptions(**options)
    # validates a per-call order before any provider is called (400 on a bad override)
    engine.order(operation, exec_options)
    started = time.monotonic()
    result = await engine.run(operation, data, exec_options)
    duration_ms = int((time.monotonic() - started) * 1000)
    async with db.transaction() as conn:
        run_id = await persist(
            conn,
            engine,
            auth,
            operation,
            data,
            options,
            result,
            duration_ms,
            pipeline_run_id=pipeline_run_id,
            step_position=step_position,
        )
    return ExecuteResult(
        run_id=run_id,
        operation_id=operation.operation_id,
        entity_type=body.entity_type,
        status=result.status,
        output=result.output,
        missing_inputs=result.missing_inputs,
        provider_attempts=[
            ProviderAttempt(
                provider=a.provider,
                action=a.action,
                status=a.status.value,
                skip_reason=a.skip_reason,
                http_status=a.http_status,
                provider_status=a.provider_status,
                duration_ms=a.duration_ms,
            )
            for a in result.attempts
        ],
    )


async def persist(
    conn: Any,
    engine: Engine,
    auth: AuthContext,
    operation: Operation,
    data: Any,
    options: dict[str, Any],
    result: OperationResult,
    duration_ms: int,
    *,
    pipeline_run_id: uuid.UUID | None,
    step_position: int | None,
) -> uuid.UUID:
    secrets = engine.providers.secrets
    # fields taken one by one: dataclasses.asdict would deep-copy every raw response first
    attempts = [
        {
            "provider": a.provider,
            "action": a.action,
            "status": a.status.value,
            "skip_reason": a.skip_reason,
            "http_status": a.http_status,
            "provider_status": a.provider_status,
            "duration_ms": a.duration_ms,
            "raw_response": redact(_with_error(a.raw, a.error), secrets),
        }
        for a in result.attempts
    ]
    return await operation_runs_repo.insert_run(
        conn,
        auth.tenant_org_id,
        company_id=auth.company_id,
        user_id=auth.user_id,
        api_token_id=auth.api_token_id,
        auth_method=auth.auth_method.value,
        operation_id=operation.operation_id,
        entity_type=operation.spec.entity_type.value,
        status=result.status,
        input=redact(data.model_dump(mode="json", exclude_none=True), secrets),
        output=result.output,
        missing_inputs=result.missing_inputs,
        options=options,
        pipeline_run_id=pipeline_run_id,
        step_position=step_position,
        duration_ms=duration_ms,
        attempts=attempts,
    )


def _with_error(raw: Any, error: str | None) -> Any:
    if error is None:
        return raw
    return {"error": error, "body": raw}
