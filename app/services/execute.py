"""Running one operation and recording it: the single path of `/api/v1/execute` and of a
pipeline step (`services/worker_callbacks.execute_step`).

`obtain` is that path: it answers from the org's result cache when it can (CONTRACT §9.2), lets
concurrent identical lookups share one provider call (single flight), and otherwise runs the
operation's waterfall, holding no database connection while providers answer; `record` writes
the run and its attempts in a short transaction. The engine's `Attempt` is the one shape of an
attempt: it is what is recorded and what the response's `provider_attempts` are built from.

Single flight (docs/decisions/0049-result-cache.md): within one process, the first lookup of an
(org, key) leads and the others await its future (then its recorded run); across processes, the leader holds a claim
row (`operation_cache_claims`) until its run is recorded, and a lookup that finds another
process's claim re-reads the cache until that run appears or the claim goes away.
"""

import asyncio
import contextlib
import dataclasses
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from pydantic import BaseModel, ValidationError

from app.auth.context import AuthContext
from app.contracts.catalog import Strategy
from app.contracts.entities import EntityType
from app.db import Db
from app.errors import BadRequest, PaymentRequired
from app.models.execute import ExecuteOptions, ExecuteRequest, ExecuteResult
from app.operations.engine import BUDGET_EXHAUSTED, Attempt, Engine, ExecutionOptions, OperationResult
from app.operations.local import StoredEntity
from app.operations.redact import redact
from app.operations.registry import REGISTRY, STEP_PARAMS, Operation, check_params
from app.operations.result_cache import cache_key
from app.providers.base import AttemptStatus
from app.repositories import entities as entities_repo
from app.repositories import operation_runs as operation_runs_repo
from app.services import entities as entities_service
from app.services import provider_keys as provider_keys_service
from app.services.budgets import BudgetGate

# monotonic seconds; tests replace it to measure a run's duration without waiting
clock = time.monotonic

# the answers the cache keeps; a failure is never served again (CONTRACT §9.2)
CACHEABLE = frozenset({"found", "not_found", "verified"})
# how often a lookup waiting on another process's provider call re-reads the cache
CLAIM_POLL_SECONDS = 0.25
# a claim outlives the operation's own timeout by this much, then a dead process's claim lapses
CLAIM_MARGIN_SECONDS = 30


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
    cache_key: str | None = None
    cached_from_run_id: uuid.UUID | None = None
    """Set when the result is an earlier run's: no provider was called."""
    run_id: uuid.UUID = field(default_factory=uuid.uuid4)
    """The id `record` gives the run: known before it is written, so the lookups that shared this
    one's provider call can name it while it is being recorded."""
    holds_claim: bool = False
    """This lookup holds the (org, key) claim: `record` releases it in the same transaction."""
    org_secrets: tuple[str, ...] = field(default=(), repr=False)
    """The org's own provider keys this lookup had open: redacted from what is recorded."""
    org_keys_used: tuple[str, ...] = ()
    """Providers whose org key was sent: `record` notes their last use."""

    @property
    def cached(self) -> bool:
        return self.cached_from_run_id is not None


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
    """Writes the operation run and its attempts (secrets redacted), and lets go of the lookup's
    claim; returns the run's id."""
    secrets = [*engine.providers.secrets, *outcome.org_secrets]
    result = outcome.result
    await release(conn, auth, outcome)
    if outcome.org_keys_used:
        await provider_keys_service.record_use(conn, auth.tenant_org_id, list(outcome.org_keys_used))
    return await operation_runs_repo.insert_run(
        conn,
        auth.tenant_org_id,
        run_id=outcome.run_id,
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
        cached_from_run_id=outcome.cached_from_run_id,
        cache_key=outcome.cache_key,
    )


def _audit_body(attempt: Attempt) -> Any:
    """What the audit log keeps of a provider's answer: the body, with our error beside it."""
    if attempt.error is None:
        return attempt.raw
    return {"error": attempt.error, "body": attempt.raw}


# in-process single flight: (org, cache key) → the leading lookup's outcome (None when it raised),
# set as soon as the providers answered. A lookup arriving after that and before the leader's run
# is committed finds the leader's claim row and re-reads the cache until the run is there.
_flights: dict[tuple[uuid.UUID, str], asyncio.Future[Outcome | None]] = {}


async def obtain(
    db: Db,
    engine: Engine,
    auth: AuthContext,
    operation_id: str,
    entity_type: EntityType,
    input: dict[str, Any],
    options: ExecuteOptions | None = None,
    *,
    max_inline_wait_seconds: float | None = None,
    budget_company_id: uuid.UUID | None = None,
    entity_company_id: uuid.UUID | None = None,
) -> Outcome:
    """The operation's answer for this org, to `record`: from the cache, from a concurrent identical
    lookup, or from the providers. Raises BadRequest, before any provider is called, for an unknown
    operation, another entity type, an input the operation cannot take or a provider order it
    cannot use.
    Every provider call first reserves on the budgets covering the org and `budget_company_id`
    (default: the caller's company); a refusal ends the outcome failed `budget_exhausted`.
    `entity_company_id` is where an operation that reads the stored entity looks for it (a
    pipeline step: its run's company; /execute: the caller's company scope, None for all the org's).
    operation, another entity type, an input the operation cannot take, a provider order it
    cannot use, or step parameters (`product`, `criteria`) it needs but lacks or does not read.
    The caller records the outcome (that also releases the claim a leading lookup holds)."""
    started = clock()
    operation, data = _resolve(operation_id, entity_type, input)
    given = options.model_dump(exclude_none=True) if options else {}
    spend = BudgetGate(db, auth.tenant_org_id, budget_company_id or auth.company_id)
    params = check_params(operation, given, where="options")
    exec_options = ExecutionOptions(
        **{k: v for k, v in given.items() if k != "cache" and k not in STEP_PARAMS},
        max_inline_wait_seconds=max_inline_wait_seconds,
        spend=spend,
        params=params,
    )
    order = engine.order(operation, exec_options)
    key = cache_key(operation, data, order, engine.verify_order(operation, exec_options), params)
    lookup = _Lookup(db, engine, auth, operation, data, given, key, started)
    if operation.spec.strategy is Strategy.local:
        # no provider to spare, and a comparison with the stored record is only true now: never cached
        if operation.spec.reads_stored_entity and not operation.spec.minimum(data):
            exec_options.stored_entity = await _stored_entity(db, auth, operation, data, entity_company_id)
        return await lookup.fresh(exec_options)
    if operation.spec.minimum(data):
        # fails at once without a provider: nothing to share, and failures are never cached
        return await lookup.fresh(exec_options)
    if given.get("cache") is False or engine.result_cache_ttl_hours <= 0:
        # a forced call still stores its key: it is the freshest answer for the next lookup
        return await lookup.fresh(exec_options)

    flight_key = (auth.tenant_org_id, key)
    while (flight := _flights.get(flight_key)) is not None:
        leader = await asyncio.shield(flight)
        if leader is not None and leader.result.status in CACHEABLE:
            if leader.cached_from_run_id is not None:
                # the leader was answered by a committed run: name that one
                return lookup.served(leader.cached_from_run_id, leader.result)
            # The leader called the providers and its caller has yet to record that run (it
            # may never: a step that ended meanwhile records nothing). Naming it now would write
            # a reference to a run that does not exist, so wait for it in the cache like a lookup
            # of another process; the leader's claim is held until its run is committed.
            return await _lead(lookup, exec_options)
        # the leader failed: a failure is not an answer, so one of the waiters tries again
    flight = asyncio.get_running_loop().create_future()
    _flights[flight_key] = flight
    outcome: Outcome | None = None
    try:
        outcome = await _lead(lookup, exec_options)
        return outcome
    finally:
        del _flights[flight_key]
        flight.set_result(outcome)


async def _lead(lookup: "_Lookup", exec_options: ExecutionOptions) -> Outcome:
    """Answer from the cache, else wait out another call in flight, else claim the key and call."""
    org_id, key = lookup.auth.tenant_org_id, lookup.key
    operation_id = lookup.operation.operation_id
    ttl_seconds = lookup.engine.result_cache_ttl_hours * 3600
    claim_seconds = lookup.operation.spec.timeout_seconds + CLAIM_MARGIN_SECONDS
    while True:
        claimed = False
        # two statements that need no atomicity together (read committed: the claim's ON CONFLICT
        # decides, whatever the read saw), so no transaction block around them
        async with lookup.db.autocommit() as conn:
            hit = await operation_runs_repo.cached_run(conn, org_id, operation_id, key, ttl_seconds)
            if hit is None:
                claimed = await operation_runs_repo.claim(conn, org_id, key, claim_seconds)
                if claimed:
                    # Another process may have committed its run, and let go of its claim with
                    # it, between the read above and the claim: each statement sees what was
                    # committed before it began, so this read sees that run if the claim did.
                    hit = await operation_runs_repo.cached_run(conn, org_id, operation_id, key, ttl_seconds)
                    if hit is not None:
                        await operation_runs_repo.release(conn, org_id, key)
                        claimed = False
        if hit is not None:
            return lookup.served(hit.id, OperationResult(hit.status, hit.output, hit.missing_inputs))
        if claimed:
            break
        # another lookup (this process or another) is calling the providers: its run will be cached
        await asyncio.sleep(CLAIM_POLL_SECONDS)
    try:
        return dataclasses.replace(await lookup.fresh(exec_options), holds_claim=True)
    except BaseException:
        # the claim would lapse by itself; releasing it now lets the next lookup try at once
        with contextlib.suppress(Exception):
            async with lookup.db.transaction() as conn:
                await operation_runs_repo.release(conn, org_id, key)
        raise


async def _stored_entity(
    db: Db, auth: AuthContext, operation: Operation, data: BaseModel, company_id: uuid.UUID | None
) -> StoredEntity | None:
    """The org's record of the entity, by natural key, within `company_id` (every company of the org
    when None: the most recently updated record wins)."""
    fields = data.model_dump(mode="json", exclude_none=True)
    entity_type = operation.spec.entity_type.value
    if entity_type == "company":
        keys = entities_service.company_keys(fields)
    else:
        keys = entities_service.person_keys(fields)
    async with db.transaction() as conn:
        row = await entities_repo.stored_entity(conn, auth.tenant_org_id, company_id, entity_type, keys)
    return StoredEntity(data=row[0], record_version=row[1]) if row is not None else None


@dataclass
class _Lookup:
    db: Db
    engine: Engine
    auth: AuthContext
    operation: Operation
    data: BaseModel
    given: dict[str, Any]
    key: str
    started: float

    async def fresh(self, exec_options: ExecutionOptions) -> Outcome:
        # the org's own keys answer for it (CONTRACT §9.5); an answer bought with them is cached
        # for the same org only, as every cached answer is
        keys = await provider_keys_service.org_keys(self.db, self.engine.providers.keyring, self.auth.tenant_org_id)
        if keys:
            exec_options = dataclasses.replace(exec_options, provider_keys=keys)
        result = await self.engine.run(self.operation, self.data, exec_options)
        used = sorted(
            {a.provider for a in result.attempts if a.provider in keys and a.status is not AttemptStatus.skipped}
        )
        return dataclasses.replace(
            self._outcome(result, None),
            org_secrets=tuple(k.api_key for k in keys.values() if k.api_key),
            org_keys_used=tuple(used),
        )

    def served(self, source_run_id: uuid.UUID, result: OperationResult) -> Outcome:
        # no attempts: no provider was asked, so nothing is billed for this run
        return self._outcome(OperationResult(result.status, result.output, list(result.missing_inputs)), source_run_id)

    def _outcome(self, result: OperationResult, source_run_id: uuid.UUID | None) -> Outcome:
        duration_ms = max(0, int((clock() - self.started) * 1000))
        return Outcome(self.operation, self.data, self.given, result, duration_ms, self.key, source_run_id)


async def release(conn: asyncpg.Connection, auth: AuthContext, outcome: Outcome) -> None:
    """Lets go of the outcome's claim without recording it (a step that finished meanwhile)."""
    if outcome.holds_claim and outcome.cache_key is not None:
        await operation_runs_repo.release(conn, auth.tenant_org_id, outcome.cache_key)


async def execute(db: Db, engine: Engine, auth: AuthContext, body: ExecuteRequest) -> ExecuteResult:
    """`/api/v1/execute`: the cached, shared or fresh answer, recorded in one short transaction;
    402 `budget_exhausted` when a budget refused a provider call."""
    outcome = await obtain(
        db,
        engine,
        auth,
        body.operation_id,
        body.entity_type,
        body.input,
        body.options,
        entity_company_id=auth.company_id,
    )
    async with db.transaction() as conn:
        run_id = await record(conn, engine, auth, outcome)
    result = outcome.result
    if result.error == BUDGET_EXHAUSTED:
        # recorded like any run (the refused attempt says why), then answered 402
        raise PaymentRequired(
            "the monthly budget of the org or the company is exhausted; raise it with /api/budgets/set",
            code=BUDGET_EXHAUSTED,
            details={"run_id": str(run_id)},
        )
    return ExecuteResult(
        run_id=run_id,
        operation_id=outcome.operation.operation_id,
        entity_type=body.entity_type,
        status=result.status,
        output=result.output,
        missing_inputs=result.missing_inputs,
        provider_attempts=result.attempts,
        cached=outcome.cached,
        cached_from_run_id=outcome.cached_from_run_id,
    )
