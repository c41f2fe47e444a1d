"""Parallel Task API: work email lookup as an asynchronous research run (docs/providers.md §8).

One run per attempt: `POST /v1/tasks/runs` creates it (202, `run_id`), then
`GET /v1/tasks/runs/{run_id}/result?timeout=<s>` blocks until it completes or answers 408 (not
done yet) (§8.2). The wait is bounded by `ParallelOptions.max_wait_seconds` and the operation's deadline;
when it runs out the attempt fails with `provider_status="timeout"` and the run id in `raw`, and no
second run is ever started (§0.1.7).
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from app.contracts.entities import PersonInput
from app.contracts.normalize import normalize_email
from app.providers import _research
from app.providers._fields import as_dict as _dict
from app.providers._http import ProviderError
from app.providers._research import StructuredTask
from app.providers.base import (
    UNKNOWN_PRICE,
    Action,
    ActionContext,
    ActionResult,
    AttemptStatus,
    ProviderOptions,
    failed,
    found,
    not_found,
)

NAME = "parallel"
BASE_URL = "https://api.parallel.ai"
# the create call answers at once (§8.1); the result waits set their own timeouts
TIMEOUT_SECONDS = 30.0
RUNS = "/v1/tasks/runs"
# the result endpoint's `timeout` is an integer number of seconds (§8.2, default 600)
MIN_WAIT_SECONDS = 1
MAX_WAIT_SECONDS = 600
# the HTTP read timeout of a result call exceeds the server-side wait by this much
READ_MARGIN_SECONDS = 5.0
# at least this long between two result calls, should the server answer 408 early; the Task API
# limit of 2,000 requests/min may count GETs too (§8.3)
POLL_FLOOR_SECONDS = 1.0
RETRY_PAUSE_SECONDS = 1.0
NOT_FOUND = "NOT_FOUND"


class ParallelOptions(ProviderOptions):
    """DATA_ENGINE_PARALLEL_<FIELD>."""

    processor: str = Field(default="core", min_length=1)
    """The Task API processor (§8.1; CONTRACT §8 default `core`); an unknown one is refused with 403."""
    max_wait_seconds: float = Field(default=100.0, gt=0)
    """The longest one run is waited for, within the operation's deadline."""


OPTIONS = ParallelOptions
Context = ActionContext[ParallelOptions]

# §8.1 adapter rule: Parallel has no native "not found", so the schema encodes it; no citations,
# confidence or reasoning fields (the basis carries them)
OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["work_email"],
    "properties": {
        "work_email": {
            "type": "string",
            "description": (
                "The person's current work email address at the given company, as published or "
                "confirmed by public sources. If no work email can be found with confidence, the "
                f"literal string {NOT_FOUND}."
            ),
        },
    },
}

INPUT_FIELDS: dict[str, str] = {
    "first_name": "The person's first name",
    "last_name": "The person's last name",
    "full_name": "The person's full name",
    "company_name": "The name of the company the person works at",
    "company_domain": "The web domain of the company the person works at",
    "linkedin_url": "The person's LinkedIn profile URL",
    "title": "The person's job title",
}


def task_input(data: PersonInput) -> dict[str, str]:
    first, last = data.names()
    values = {
        "first_name": first,
        "last_name": last,
        "full_name": data.full_name or " ".join(p for p in (first, last) if p),
        "company_name": data.company_name,
        "company_domain": data.company_domain,
        "linkedin_url": data.linkedin_url,
        "title": data.title,
    }
    return {k: v for k, v in values.items() if v}


def create_body(data: PersonInput, processor: str) -> dict[str, Any]:
    run_input = task_input(data)
    input_schema = {
        "type": "object",
        "properties": {k: {"type": "string", "description": INPUT_FIELDS[k]} for k in run_input},
        "required": list(run_input),
    }
    return {
        "input": run_input,
        "processor": processor,
        "task_spec": {
            "input_schema": {"type": "json", "json_schema": input_schema},
            "output_schema": {"type": "json", "json_schema": OUTPUT_SCHEMA},
        },
    }


def _budget_end(ctx: Context) -> float:
    end = ctx.clock() + ctx.options.max_wait_seconds
    return min(end, ctx.deadline) if ctx.deadline is not None else end


def _confidence(output: dict[str, Any]) -> str | None:
    basis = output.get("basis")
    if not isinstance(basis, list):
        return None
    for item in basis:
        if isinstance(item, dict) and item.get("field") == "work_email" and item.get("confidence") is not None:
            return str(item["confidence"])
    return None


def _classify(body: Any, http_status: int) -> ActionResult:
    """The result of a completed run (§8.2)."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), dict):
        return failed("unexpected response shape", http_status=http_status, provider_status=None, raw=body)
    run = _dict(body.get("run"))
    status = str(run.get("status") or "completed")
    if status != "completed":
        # §0.1.2: any run status but completed is a failure, with the status kept
        return failed(f"run ended with status {status!r}", http_status=http_status, provider_status=status, raw=body)
    output = body["output"]
    content = output.get("content")
    if not isinstance(content, dict):
        return failed("unexpected output content", http_status=http_status, provider_status=status, raw=body)
    value = content.get("work_email")
    text = value.strip() if isinstance(value, str) else ""
    email = normalize_email(text) if text.upper() != NOT_FOUND else None
    confidence = _confidence(output)
    # §8.2 adapter rule: NOT_FOUND, anything that is not an email, or low confidence → not found
    if email is None or confidence == "low":
        return not_found(http_status=http_status, provider_status=status, raw=body)
    result = {"work_email": email, "email_confidence": confidence, "email_verdict": None, "email_source": NAME}
    return found(result, http_status=http_status, provider_status=status, raw=body)


async def resolve_email(data: BaseModel, ctx: Context) -> ActionResult:
    assert isinstance(data, PersonInput)
    return await _run(ctx, create_body(data, ctx.options.processor), _classify)


async def _run(ctx: Context, body: dict[str, Any], classify: Callable[[Any, int], ActionResult]) -> ActionResult:
    """Create one run and wait for its result within the budget; `classify` reads a completed
    run's result body."""
    headers = {"x-api-key": ctx.client.api_key or ""}
    until = _budget_end(ctx)
    if until - ctx.clock() < MIN_WAIT_SECONDS:
        # a run that cannot be waited for would only be paid for
        return failed("no time left to wait for a run", http_status=None, provider_status="timeout", raw=None)
    # a retry wait that would end after the budget is not slept: no time would be left for the run
    created = await ctx.request("POST", RUNS, json_body=body, headers=headers, deadline=until)
    run: Any = created.json(NAME)
    run_id = run.get("run_id") if isinstance(run, dict) else None
    if not run_id:
        return failed(
            "no run_id in the create response", http_status=created.status_code, provider_status=None, raw=run
        )
    result = await _wait(ctx, str(run_id), run, until, headers, classify)
    if result.status in (AttemptStatus.found, AttemptStatus.not_found):
        # a completed run is billed by its processor, whatever it found; a run that did not
        # complete (failed, timed out) has no documented charge and stays unknown
        result.cost_credits = PROCESSOR_USD_PER_RUN.get(str(body.get("processor")))
    return result


async def _wait(
    ctx: Context,
    run_id: str,
    run: Any,
    until: float,
    headers: dict[str, str],
    classify: Callable[[Any, int], ActionResult],
) -> ActionResult:
    """Block on the result endpoint until the run completes or the budget ends. Transient errors
    (5xx, 429, network) are retried here, within the budget, rather than by the HTTP layer: the run
    is already paid for, and the budget, not a retry count, bounds the wait."""
    path = f"{RUNS}/{run_id}/result"
    last_status: int | None = None
    while (remaining := until - ctx.clock()) >= MIN_WAIT_SECONDS:
        wait = min(int(remaining), MAX_WAIT_SECONDS)
        started = ctx.clock()
        try:
            response = await ctx.request(
                "GET",
                path,
                params={"timeout": wait},
                headers=headers,
                accept={408},
                timeout=wait + READ_MARGIN_SECONDS,
                max_retries=0,
            )
            body: Any = response.json(NAME) if response.status_code != 408 else None
        except ProviderError as e:
            if not e.retryable:
                # 401/403, 404 (unknown run), 410 (cancelled), 422, a non-JSON body: reported with
                # the run id kept
                return failed(
                    e.message,
                    http_status=e.status_code,
                    provider_status=e.code,
                    raw={"run_id": run_id, "run": run, "body": e.body},
                )
            last_status = e.status_code
            if e.retry_after is not None and e.retry_after > ctx.inline_wait_limit():
                # asked to come back later than this call may wait: reported at once, run id kept
                result = failed(
                    f"{e.message} (Retry-After {e.retry_after:g} s; run {run_id} is not restarted)",
                    http_status=e.status_code,
                    provider_status=e.code,
                    raw={"run_id": run_id, "run": run, "body": e.body},
                )
                result.retry_after = e.retry_after
                return result
            pause = e.retry_after if e.retry_after is not None else RETRY_PAUSE_SECONDS
            await ctx.sleep(max(0.0, min(pause, until - ctx.clock())))
            continue
        if response.status_code == 408:
            # not done within `timeout`: keep waiting on the same run (§8.2)
            last_status = 408
            elapsed = ctx.clock() - started
            await ctx.sleep(max(0.0, min(POLL_FLOOR_SECONDS - elapsed, until - ctx.clock())))
            continue
        return classify(body, response.status_code)
    return failed(
        f"run {run_id} not finished within the time budget",
        http_status=last_status,
        provider_status="timeout",
        raw={"run_id": run_id, "run": run},
    )


# Parallel bills in USD per task run, by processor (SP §8 "Price per 1,000 runs": lite $5, base $10,
# core $25, core2x $50, pro $100, ultra $300). Its unit is therefore USD: set
# DATA_ENGINE_PARALLEL_USD_PER_CREDIT=1. A `-fast` processor's price is not listed: unknown.
PRICE_UNIT = "usd"
"""The unit of this adapter's costs (every other provider's is its credits; /api/v1/operations/list)."""
PROCESSOR_USD_PER_RUN = {
    "lite": Decimal("0.005"),
    "base": Decimal("0.01"),
    "core": Decimal("0.025"),
    "core2x": Decimal("0.05"),
    "pro": Decimal("0.1"),
    "ultra": Decimal("0.3"),
}
# the price depends on the processor setting: `resolve_email` sets each run's cost itself
PRICES = {
    "person.contact.resolve_email": UNKNOWN_PRICE,
    # a completed run's cost is set by the run itself, by processor (PROCESSOR_USD_PER_RUN)
    **{op: UNKNOWN_PRICE for op in _research.STRUCTURED_TASKS},
}


ACTIONS = {
    "person.contact.resolve_email": Action(provider=NAME, name="resolve_email", run=resolve_email),
}


# --- structured research and derivation (issue 13 item 3; app/providers/_research.py) ---------
# The company's fields and the step's product or criteria are the run's `input` (an object of
# strings, each described by the input schema): data, apart from the task, which is the output
# schema's description [§8.1]. The output schema is the shared portable one; that Parallel takes
# its `["string", "null"]` unions is UNCONFIRMED (a refusal is a 422, recorded as failed).

STRUCTURED_INPUT_FIELDS: dict[str, str] = {
    "company_name": "The company's name",
    "company_domain": "The company's website domain",
    "company_linkedin_url": "The company's LinkedIn page",
    "company_industry": "The company's industry",
    "company_employee_count": "The company's number of employees",
    "company_employee_range": "The company's employee range",
    "company_hq_country": "The country of the company's headquarters",
    "company_description": "A description of the company",
    "product": "The product to find buyers for at the company",
    "criteria": "The ideal customer profile to score the company against",
}


def structured_body(task: StructuredTask, values: dict[str, Any], processor: str) -> dict[str, Any]:
    company = values["company"]
    run_input = {f"company_{k}": str(v) for k, v in company.items()}
    run_input.update({k: str(v) for k, v in values.items() if k != "company"})
    input_schema = {
        "type": "object",
        "properties": {k: {"type": "string", "description": STRUCTURED_INPUT_FIELDS[k]} for k in run_input},
        "required": list(run_input),
    }
    output_schema = {**task.schema, "description": _research.instructions(task)}
    return {
        "input": run_input,
        "processor": processor,
        "task_spec": {
            "input_schema": {"type": "json", "json_schema": input_schema},
            "output_schema": {"type": "json", "json_schema": output_schema},
        },
    }


def _structured_classify(task: StructuredTask, domain: str) -> Callable[[Any, int], ActionResult]:
    def classify(body: Any, http_status: int) -> ActionResult:
        """A completed run's result (§8.2): its `output.content` is the answer to judge."""
        if not isinstance(body, dict) or not isinstance(body.get("output"), dict):
            return failed("unexpected response shape", http_status=http_status, provider_status=None, raw=body)
        status = str(_dict(body.get("run")).get("status") or "completed")
        if status != "completed":
            return failed(
                f"run ended with status {status!r}", http_status=http_status, provider_status=status, raw=body
            )
        content = body["output"].get("content")
        return _research.judge_structured(
            task, content, domain, http_status=http_status, provider_status=status, raw=body
        )

    return classify


def _structured_action(task: StructuredTask) -> Action:
    async def run(data: BaseModel, ctx: Context) -> ActionResult:
        values, domain = _research.company_data(task, data, ctx.params)
        return await _run(ctx, structured_body(task, values, ctx.options.processor), _structured_classify(task, domain))

    return Action(provider=NAME, name=task.action, run=run)


ACTIONS.update({op: _structured_action(task) for op, task in _research.STRUCTURED_TASKS.items()})
