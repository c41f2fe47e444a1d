"""The waterfall engine: runs an operation's actions in order per its strategy and records one
attempt per action. It never touches the database or HTTP directly: actions do the provider
calls, the caller persists the result."""

import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from app.contracts.catalog import Strategy
from app.contracts.entities import PersonInput
from app.operations.providers import Providers
from app.operations.registry import REGISTRY, VERIFY_OPERATION, Operation, provider_order
from app.providers._http import ProviderError
from app.providers.base import Action, ActionContext, ActionResult, AttemptStatus, StepParams


@dataclass
class Attempt:
    provider: str
    action: str
    status: AttemptStatus
    skip_reason: str | None = None
    http_status: int | None = None
    provider_status: str | None = None
    duration_ms: int = 0
    raw: Any = None
    error: str | None = None
    retry_after: float | None = None
    """Seconds the provider asked to wait (Retry-After) when this attempt failed on it."""


@dataclass
class OperationResult:
    status: str
    """found | not_found | verified | failed (CONTRACT §6)."""
    output: dict[str, Any] | None
    missing_inputs: list[str]
    attempts: list[Attempt] = field(default_factory=list)
    error: str | None = None
    retry_after: float | None = None
    """On a failed result only: the shortest Retry-After among the failed attempts. Running the
    operation again after that many seconds may succeed (a pipeline step reschedules its job)."""


@dataclass
class ExecutionOptions:
    providers: list[str] | None = None
    verify_providers: list[str] | None = None
    max_inline_wait_seconds: float | None = None
    """The longest provider Retry-After to sleep through; above it the attempt fails at once with
    `retry_after` set (ActionContext.max_inline_wait_seconds)."""
    params: StepParams = field(default_factory=StepParams)
    """The call's step parameters, checked against the operation (registry.check_params)."""


class Engine:
    def __init__(
        self, providers: Providers, deployment_order: dict[str, list[str]], *, result_cache_ttl_hours: float = 168
    ) -> None:
        self.providers = providers
        self.deployment_order = deployment_order
        self.result_cache_ttl_hours = result_cache_ttl_hours
        """How long a found/not_found/verified run answers the same lookup again (0: never)."""

    def order(self, operation: Operation, options: ExecutionOptions) -> list[str]:
        return provider_order(operation, self.deployment_order, options.providers)

    def verify_order(self, operation: Operation, options: ExecutionOptions) -> list[str] | None:
        """The verifiers of a find-then-verify operation; None for any other."""
        if operation.spec.strategy is not Strategy.find_then_verify:
            return None
        return provider_order(
            REGISTRY[VERIFY_OPERATION],
            self.deployment_order,
            options.verify_providers,
            where="options.verify_providers",
        )

    async def run(self, operation: Operation, data: BaseModel, options: ExecutionOptions) -> OperationResult:
        missing = operation.spec.minimum(data)
        if missing:
            return OperationResult(status="failed", output=None, missing_inputs=missing, error="missing_inputs")
        order = self.order(operation, options)
        verify_order = self.verify_order(operation, options)
        deadline = time.monotonic() + operation.spec.timeout_seconds
        result = await self._run(
            operation, data, order, verify_order, _Budget(deadline, options.max_inline_wait_seconds, options.params)
        )
        if result.status == "failed":
            waits = [a.retry_after for a in result.attempts if a.retry_after is not None]
            result.retry_after = min(waits) if waits else None
        return result

    async def _run(
        self, operation: Operation, data: BaseModel, order: list[str], verify_order: list[str] | None, budget: "_Budget"
    ) -> OperationResult:
        match operation.spec.strategy:
            case Strategy.waterfall:
                return await self._waterfall(operation, data, order, budget)
            case Strategy.verify:
                return await self._verify(operation, data, order, budget)
            case Strategy.find_then_verify:
                assert verify_order is not None
                return await self._find_then_verify(operation, data, order, verify_order, budget)
            case Strategy.search:
                return await self._search(operation, data, order, budget)
        raise AssertionError(operation.spec.strategy)

    async def attempt(self, action: Action, data: BaseModel, budget: "_Budget") -> tuple[Attempt, ActionResult]:
        deadline = budget.deadline
        client = self.providers.clients[action.provider]
        started = time.monotonic()
        if not client.configured:
            result = ActionResult(status=AttemptStatus.skipped, skip_reason="not_configured")
        elif action.eligible is not None and (reason := action.eligible(data)) is not None:
            result = ActionResult(status=AttemptStatus.skipped, skip_reason=reason)
        elif time.monotonic() >= deadline:
            result = ActionResult(status=AttemptStatus.skipped, skip_reason="operation_timeout")
        else:
            context = ActionContext(
                client=client,
                options=self.providers.options[action.provider],
                gate=self.providers.gate,
                deadline=deadline,
                max_inline_wait_seconds=budget.max_inline_wait,
                params=budget.params,
            )
            try:
                result = await action.run(data, context)
            except ProviderError as e:
                result = ActionResult(
                    status=AttemptStatus.failed,
                    http_status=e.status_code,
                    provider_status=e.code,
                    raw=e.body,
                    error=e.message,
                    retry_after=e.retry_after,
                )
        record = Attempt(
            provider=action.provider,
            action=action.name,
            status=result.status,
            skip_reason=result.skip_reason,
            http_status=result.http_status,
            provider_status=result.provider_status,
            duration_ms=int((time.monotonic() - started) * 1000),
            raw=result.raw,
            error=result.error,
            retry_after=result.retry_after,
        )
        return record, result

    def _checked(self, operation: Operation, output: dict[str, Any] | None) -> dict[str, Any] | None:
        if output is None:
            return None
        try:
            return operation.spec.output_model.model_validate(output).model_dump(mode="json")
        except ValidationError as e:
            # an adapter that maps a provider response to the wrong shape is our bug: fail loudly
            raise RuntimeError(f"{operation.operation_id}: adapter output does not match its contract: {e}") from e

    async def _waterfall(
        self, operation: Operation, data: BaseModel, order: list[str], budget: "_Budget"
    ) -> OperationResult:
        attempts: list[Attempt] = []
        for provider in order:
            record, result = await self.attempt(operation.actions[provider], data, budget)
            attempts.append(record)
            if result.status is AttemptStatus.found:
                return OperationResult("found", self._checked(operation, result.output), [], attempts)
        return _no_answer(attempts)

    async def _verify(
        self, operation: Operation, data: BaseModel, order: list[str], budget: "_Budget"
    ) -> OperationResult:
        attempts: list[Attempt] = []
        fallback: dict[str, Any] | None = None
        for provider in order:
            record, result = await self.attempt(operation.actions[provider], data, budget)
            attempts.append(record)
            if result.status is AttemptStatus.verified:
                if result.conclusive:
                    return OperationResult("verified", self._checked(operation, result.output), [], attempts)
                # an inconclusive verdict (catch-all, unknown) is kept unless a later verifier concludes
                fallback = fallback or result.output
        if fallback is not None:
            return OperationResult("verified", self._checked(operation, fallback), [], attempts)
        return _no_answer(attempts)

    async def _find_then_verify(
        self, operation: Operation, data: BaseModel, order: list[str], verify_order: list[str], budget: "_Budget"
    ) -> OperationResult:
        assert isinstance(data, PersonInput)
        verify = REGISTRY[VERIFY_OPERATION]
        attempts: list[Attempt] = []
        candidate: dict[str, Any] | None = None
        for provider in order:
            record, result = await self.attempt(operation.actions[provider], data, budget)
            attempts.append(record)
            if result.status is not AttemptStatus.found or not result.output:
                continue
            found = dict(result.output)
            email_input = PersonInput.model_validate({**data.model_dump(), "work_email": found["work_email"]})
            verdict = await self._verify(verify, email_input, verify_order, budget)
            attempts.extend(verdict.attempts)
            if verdict.output is None:
                # no verifier answered: the email stands, unverified
                return OperationResult("found", self._checked(operation, found), [], attempts)
            found["email_verdict"] = verdict.output["email_verdict"]
            if found["email_verdict"] == "deliverable":
                return OperationResult("verified", self._checked(operation, found), [], attempts)
            if found["email_verdict"] != "undeliverable":
                return OperationResult("found", self._checked(operation, found), [], attempts)
            # an undeliverable email is no answer: the next finder may know better
            candidate = candidate or found
        if candidate is not None:
            return OperationResult("not_found", self._checked(operation, candidate), [], attempts)
        return _no_answer(attempts)

    async def _search(
        self, operation: Operation, data: BaseModel, order: list[str], budget: "_Budget"
    ) -> OperationResult:
        limit: int = getattr(data, "limit", 25)
        attempts: list[Attempt] = []
        merged: list[dict[str, Any]] = []
        seen: set[str] = set()
        cursors: dict[str, Any] = {}
        list_key = "people" if "people" in operation.spec.output_model.model_fields else "companies"
        for provider in order:
            if len(merged) >= limit:
                break
            # ask each provider only for what is still missing: rows past the limit would be paid for
            # (per-result billing) and never seen, since the provider's cursor moves past them
            remaining = data.model_copy(update={"limit": limit - len(merged)})
            record, result = await self.attempt(operation.actions[provider], remaining, budget)
            attempts.append(record)
            if result.status is AttemptStatus.not_found:
                # exhausted: a resumed search must not start this provider again at page 1
                cursors[provider] = None
            if result.status is not AttemptStatus.found or not result.output:
                continue
            for item in result.output.get(list_key, []):
                key = _identity(item)
                if key is None or key not in seen:
                    if key is not None:
                        seen.add(key)
                    merged.append(item)
            cursors[provider] = result.output.get("next_cursors", {}).get(provider)
        if merged:
            output = {list_key: merged[:limit], "next_cursors": cursors}
            return OperationResult("found", self._checked(operation, output), [], attempts)
        return _no_answer(attempts)


@dataclass(frozen=True)
class _Budget:
    deadline: float
    """time.monotonic() by which the operation must finish."""
    max_inline_wait: float | None
    params: StepParams = field(default_factory=StepParams)
    """Carried with the deadline to every attempt of the run (ActionContext.params)."""


def _identity(item: dict[str, Any]) -> str | None:
    """De-duplication key of a search result: LinkedIn URL, else domain (companies) or name+company."""
    if item.get("linkedin_url"):
        return "li:" + str(item["linkedin_url"]).lower()
    if item.get("full_name") and item.get("company_domain"):
        return f"pc:{item['full_name'].lower()}@{item['company_domain'].lower()}"
    if item.get("domain") and "full_name" not in item:
        return "d:" + str(item["domain"]).lower()
    return None


def _no_answer(attempts: list[Attempt]) -> OperationResult:
    """not_found when at least one provider answered that it has nothing; failed when none could answer."""
    if any(a.status is AttemptStatus.not_found for a in attempts):
        return OperationResult("not_found", None, [], attempts)
    reasons = sorted({a.skip_reason or a.provider_status or a.status.value for a in attempts})
    return OperationResult("failed", None, [], attempts, error="no provider could answer: " + ", ".join(reasons))
