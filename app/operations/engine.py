"""The waterfall engine: runs an operation's actions in order per its strategy and records one
attempt per action. It never touches the database or HTTP directly: actions do the provider
calls, the caller persists the result."""

import dataclasses
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from app.contracts.catalog import Strategy
from app.contracts.entities import PersonInput
from app.operations.local import PROVIDER as LOCAL_PROVIDER
from app.operations.local import StoredEntity
from app.operations.providers import KeyedGate, OrgKey, Providers
from app.operations.registry import REGISTRY, VERIFY_OPERATION, Operation, provider_order
from app.providers._http import ProviderClient, ProviderError
from app.providers.base import UNPRICED, Action, ActionContext, ActionResult, AttemptStatus, StepParams

BUDGET_EXHAUSTED = "budget_exhausted"
"""The skip reason of an attempt a budget refused, and the error of the operation it ended."""


class SpendHold(Protocol):
    """One provider call's reservation on the caller's budgets."""

    async def settle(self, cost_usd: Decimal | None) -> None:
        """The call is over: give back the reservation and count what it cost (None: unknown, 0)."""
        ...


class SpendGate(Protocol):
    """The caller's budgets (app/services/budgets.py): asked before every provider call."""

    async def reserve(self, provider: str, estimate_usd: Decimal | None) -> SpendHold | None:
        """Reserves the call's documented price (None: unknown, reserves nothing) on every budget
        covering the caller, atomically; None when one of them has no room left."""
        ...


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
    cost_credits: Decimal | None = None
    """In the provider's unit: reported by it, else its documented price; 0 when no call was
    made or it documents no charge; None when unknown (docs/costs.md)."""
    cost_usd: Decimal | None = None
    """cost_credits × DATA_ENGINE_<PROVIDER>_USD_PER_CREDIT; None when either is unknown."""


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
    spend: SpendGate | None = None
    """The caller's budgets, asked before each provider call; None: no budget applies."""
    provider_keys: Mapping[str, OrgKey] = field(default_factory=dict)
    """The calling org's own keys by provider (CONTRACT §9.5): used instead of the deployment's."""
    stored_entity: StoredEntity | None = None
    """For an operation that `reads_stored_entity`: the org's record it compares with (None: none yet)."""
    params: StepParams = field(default_factory=StepParams)
    """The call's step parameters, checked against the operation (registry.check_params)."""


# clients of orgs' own keys kept in one process (each holds its key's concurrency and pace)
ORG_CLIENTS_KEPT = 512


class Engine:
    def __init__(
        self,
        providers: Providers,
        deployment_order: dict[str, list[str]],
        *,
        result_cache_ttl_hours: float = 168,
        byo_keys_only: bool = False,
    ) -> None:
        self.providers = providers
        self.deployment_order = deployment_order
        self.result_cache_ttl_hours = result_cache_ttl_hours
        """How long a found/not_found/verified run answers the same lookup again (0: never)."""
        self.byo_keys_only = byo_keys_only
        """A provider the org has no key of its own for is `not_configured` (DATA_ENGINE_BYO_KEYS_ONLY)."""
        self._org_clients: OrderedDict[tuple[str, str], ProviderClient] = OrderedDict()

    def client_for(self, provider: str, keys: Mapping[str, OrgKey]) -> tuple[ProviderClient, Any] | str:
        """The client and rate gate an attempt uses: the org's own key's when it has one, else the
        deployment's; or the skip reason when neither may be used."""
        key = keys.get(provider)
        if key is None:
            if self.byo_keys_only:
                return "not_configured"
            return self.providers.clients[provider], self.providers.gate
        if key.api_key is None:
            return "org_key_unreadable"
        cached = (provider, key.fingerprint)
        client = self._org_clients.get(cached)
        if client is None:
            # the deployment client's settings with the org's key, and a concurrency limit and pace
            # of its own (a new semaphore and limiters): per key, not per provider
            client = dataclasses.replace(self.providers.clients[provider], api_key=key.api_key)
            self._org_clients[cached] = client
            if len(self._org_clients) > ORG_CLIENTS_KEPT:
                self._org_clients.popitem(last=False)
        else:
            self._org_clients.move_to_end(cached)
        return client, KeyedGate(self.providers.gate, key.fingerprint)

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
        if operation.spec.strategy is Strategy.local:
            return self._local(operation, data, options.stored_entity)
        deadline = time.monotonic() + operation.spec.timeout_seconds
        budget = _Budget(
            deadline, options.max_inline_wait_seconds, options.spend, keys=options.provider_keys, params=options.params
        )
        result = await self._run(operation, data, order, verify_order, budget)
        if budget.refused:
            # an answer cut short by the budget is no answer: not cached, and the caller is told why
            # (docs/decisions/0057-budget-reservations.md)
            result = OperationResult("failed", None, [], result.attempts, error=BUDGET_EXHAUSTED)
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

    def _local(self, operation: Operation, data: BaseModel, stored: StoredEntity | None) -> OperationResult:
        """Our own function answers; one attempt of provider `local` records what it decided."""
        assert operation.local is not None
        started = time.monotonic()
        result = operation.local.run(data, stored)
        record = Attempt(
            provider=LOCAL_PROVIDER,
            action=operation.local.name,
            status=result.status,
            provider_status=result.provider_status,
            duration_ms=int((time.monotonic() - started) * 1000),
            raw=result.raw,
            error=result.error,
        )
        if result.status is AttemptStatus.found:
            return OperationResult("found", self._checked(operation, result.output), [], [record])
        return _no_answer([record])

    async def attempt(self, action: Action, data: BaseModel, budget: "_Budget") -> tuple[Attempt, ActionResult]:
        deadline = budget.deadline
        chosen = self.client_for(action.provider, budget.keys)
        refused = chosen if isinstance(chosen, str) else None
        client, gate = (
            (self.providers.clients[action.provider], self.providers.gate) if isinstance(chosen, str) else chosen
        )
        started = time.monotonic()
        if refused is not None:
            result = ActionResult(status=AttemptStatus.skipped, skip_reason=refused)
        elif not client.configured:
            result = ActionResult(status=AttemptStatus.skipped, skip_reason="not_configured")
        elif action.eligible is not None and (reason := action.eligible(data)) is not None:
            result = ActionResult(status=AttemptStatus.skipped, skip_reason=reason)
        elif time.monotonic() >= deadline:
            result = ActionResult(status=AttemptStatus.skipped, skip_reason="operation_timeout")
        elif budget.refused:
            # once a budget said no, no further provider is called for this operation
            result = ActionResult(status=AttemptStatus.skipped, skip_reason=BUDGET_EXHAUSTED)
        else:
            context = ActionContext(
                client=client,
                options=self.providers.options[action.provider],
                gate=gate,
                deadline=deadline,
                max_inline_wait_seconds=budget.max_inline_wait,
                params=budget.params,
            )
            result = await self._spend_and_run(action, data, context, budget)
        credits = result.cost_credits if result.cost_credits is not UNPRICED else action.price.credits(result)
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
            cost_credits=credits,
            cost_usd=self._usd(action.provider, credits),
        )
        return record, result

    def _usd(self, provider: str, credits: Decimal | None) -> Decimal | None:
        rate = self.providers.usd_per_credit.get(provider)
        return None if credits is None or rate is None else credits * rate

    async def _spend_and_run(
        self, action: Action, data: BaseModel, context: ActionContext[Any], budget: "_Budget"
    ) -> ActionResult:
        """The action's call, reserved on the caller's budgets first and settled with its cost after
        (docs/decisions/0057-budget-reservations.md); refused: a skipped attempt, no call."""
        hold = None
        if budget.spend is not None:
            hold = await budget.spend.reserve(action.provider, self._usd(action.provider, action.price.estimate(data)))
            if hold is None:
                budget.refused = True
                return ActionResult(status=AttemptStatus.skipped, skip_reason=BUDGET_EXHAUSTED)
        cost_usd: Decimal | None = None
        try:
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
            credits = result.cost_credits if result.cost_credits is not UNPRICED else action.price.credits(result)
            cost_usd = self._usd(action.provider, credits)
            return result
        finally:
            if hold is not None:
                # also on a crash or cancellation mid-call: the reservation is given back (cost unknown)
                await hold.settle(cost_usd)

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


@dataclass
class _Budget:
    deadline: float
    """time.monotonic() by which the operation must finish."""
    max_inline_wait: float | None
    spend: SpendGate | None = None
    refused: bool = False
    """A budget refused a call: the operation ends as failed `budget_exhausted`."""
    keys: Mapping[str, OrgKey] = field(default_factory=dict)
    """The calling org's own provider keys (ExecutionOptions.provider_keys)."""
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
