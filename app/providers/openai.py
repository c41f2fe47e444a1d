"""OpenAI: the research operations by structured output on the Responses API (docs/providers.md §11).

`POST /v1/responses` with `Authorization: Bearer <key>` [§11.1], `text.format` a strict
`json_schema` asking for `{"url", "confidence"}` and, by default, the `web_search` tool limited to
the domains the answer must be on [§11.2]. The URL is validated by the shared rules of
`app/providers/_research.py` before it is accepted.
"""

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from app.providers import _research
from app.providers._http import ProviderResponse
from app.providers._research import Confidence, ResearchTask, StructuredTask
from app.providers.base import UNKNOWN_PRICE, Action, ActionContext, ActionResult, ProviderOptions, failed

NAME = "openai"
BASE_URL = "https://api.openai.com"
PATH = "/v1/responses"
# no latency is documented; web searches run inside the one call [§11.1]
TIMEOUT_SECONDS = 45.0

# §11.4: a 429 with this code is an exhausted quota, not a rate limit: retrying cannot help
QUOTA_EXCEEDED = "insufficient_quota"


class OpenAIOptions(ProviderOptions):
    """DATA_ENGINE_OPENAI_<FIELD>."""

    model: str = "gpt-4.1-mini"
    min_confidence: Confidence = _research.DEFAULT_MIN_CONFIDENCE
    """The lowest answer confidence accepted (§10.5)."""
    web_search: bool = True
    """UNCONFIRMED (§11.2): that web_search and a json_schema format combine in one call; false
    turns the search off if the API refuses the combination."""


OPTIONS = OpenAIOptions
Context = ActionContext[OpenAIOptions]


def _request(task: ResearchTask, data: BaseModel, ctx: Context) -> dict[str, Any]:
    company, domain = _research.company_and_domain(data)
    # §11.2: strict mode wants every property required and additionalProperties false; the
    # optional url is a null union
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["url", "confidence"],
        "properties": {
            "url": {"type": ["string", "null"], "description": _research.URL_DESCRIPTION},
            "confidence": {
                "type": "string",
                "enum": list(_research.CONFIDENCE_LEVELS),
                "description": _research.CONFIDENCE_DESCRIPTION,
            },
        },
    }
    body: dict[str, Any] = {
        "model": ctx.options.model,
        "instructions": task.instructions,
        "input": task.question(company, domain),
        "text": {"format": {"type": "json_schema", "name": task.schema_name, "strict": True, "schema": schema}},
    }
    # UNCONFIRMED (§11.2): that web_search and a json_schema format combine in one call; the
    # setting `openai_web_search` turns the search off if the API refuses the combination
    if ctx.options.web_search:
        tool: dict[str, Any] = {"type": "web_search"}
        if allowed := task.search_domains(domain):
            tool["filters"] = {"allowed_domains": allowed}
        body["tools"] = [tool]
    return body


def _error(body: Any) -> dict[str, Any]:
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _is_quota(body: Any) -> bool:
    error = _error(body)
    return QUOTA_EXCEEDED in (error.get("code"), error.get("type"))


async def _send(body: dict[str, Any], ctx: Context) -> ProviderResponse:
    """One Responses call. An exhausted quota (429 `insufficient_quota`, §11.4) is an answer, never
    retried; a rate-limit 429 is waited out and retried by the shared policy (Retry-After honoured)."""
    headers = {"Authorization": f"Bearer {ctx.client.api_key}"}
    return await ctx.request(
        "POST",
        PATH,
        json_body=body,
        headers=headers,
        accept={400, 404},
        answer=lambda r: r.status_code == 429 and _is_quota(r.body),
    )


def _filters_unsupported(response: ProviderResponse) -> bool:
    """A 400 refusing the web_search tool's `filters` (reported as `Unsupported parameter:
    'filters'`). OpenAI's unsupported-parameter errors are `{"error": {"message": "Unsupported
    parameter: '<name>' ...", "type": "invalid_request_error", "param": "<name>", "code":
    "unsupported_parameter"}}` (§11.4, O6); the name is matched in `param` or the message."""
    if response.status_code != 400:
        return False
    error = _error(response.body)
    param = str(error.get("param") or "")
    message = str(error.get("message") or "")
    return param.split(".")[-1] == "filters" or "'filters'" in message


def _without_filters(body: dict[str, Any]) -> dict[str, Any] | None:
    """The same request with the web_search domain filter removed; None when it had none."""
    tools = body.get("tools")
    if not isinstance(tools, list) or not any(isinstance(t, dict) and "filters" in t for t in tools):
        return None
    stripped = [{k: v for k, v in t.items() if k != "filters"} if isinstance(t, dict) else t for t in tools]
    return {**body, "tools": stripped}


def _output_text(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(answer text, refusal) from the last assistant `message` item [§11.3]; the top-level
    `output_text` is an SDK convenience and is not read."""
    items = body.get("output")
    messages = [
        i for i in (items if isinstance(items, list) else []) if isinstance(i, dict) and i.get("type") == "message"
    ]
    if not messages:
        return None, None
    content = messages[-1].get("content")
    parts = [p for p in (content if isinstance(content, list) else []) if isinstance(p, dict)]
    refusals = [str(p.get("refusal") or "") for p in parts if p.get("type") == "refusal"]
    if refusals:
        return None, " ".join(refusals).strip() or "refused"
    texts = [p["text"] for p in parts if p.get("type") == "output_text" and isinstance(p.get("text"), str)]
    return ("".join(texts) if texts else None), None


@dataclass
class _Reply:
    """A completed answer whose text parsed as JSON."""

    status: int
    body: dict[str, Any]
    answer: Any
    run_status: str


async def _ask(request: dict[str, Any], ctx: Context) -> _Reply | ActionResult:
    """One Responses call (asked again without the search domain filter when the model refuses
    it): the parsed JSON answer, or the failed attempt (§11.3, §11.4)."""
    response = await _send(request, ctx)
    if _filters_unsupported(response) and (retry := _without_filters(request)) is not None:
        # a model or account that refuses `filters.allowed_domains` (reported as 400 Unsupported
        # parameter: 'filters'): asked once more without it. The answer is still judged by the
        # same URL rules (§10.5), so the domain restriction holds on the result.
        response = await _send(retry, ctx)
    body: Any = response.json(NAME)
    status = response.status_code
    if status >= 400:
        # §11.4: branch on error.code/type; 429 here is the exhausted quota
        error = _error(body)
        code = QUOTA_EXCEEDED if status == 429 else (error.get("code") or error.get("type"))
        return failed(
            str(error.get("message") or f"HTTP {status}"),
            http_status=status,
            provider_status=str(code) if code else None,
            raw=body,
        )
    if not isinstance(body, dict) or "status" not in body:
        return failed("unexpected response shape", http_status=status, provider_status=None, raw=body)
    run_status = str(body["status"])
    if run_status != "completed":
        # incomplete (token limit…), failed, cancelled; queued/in_progress cannot be the answer of a
        # synchronous call [§11.3]
        details = body.get("incomplete_details")
        reason = _error(body).get("message") or (details.get("reason") if isinstance(details, dict) else None)
        return failed(
            f"response {run_status}" + (f": {reason}" if reason else ""),
            http_status=status,
            provider_status=run_status,
            raw=body,
        )
    text, refusal = _output_text(body)
    if refusal is not None:
        return failed(f"the model refused: {refusal}", http_status=status, provider_status="refusal", raw=body)
    if text is None:
        return failed("no output text in the response", http_status=status, provider_status="no_output", raw=body)
    answer = _research.parse_answer(text)
    if answer is None:
        return failed("the answer text is not JSON", http_status=status, provider_status="invalid_answer", raw=body)
    # url_citation annotations stay in `raw` as sources; only the answer's fields are judged [§11.3]
    return _Reply(status, body, answer, run_status)


async def _resolve(task: ResearchTask, data: BaseModel, ctx: Context) -> ActionResult:
    _, domain = _research.company_and_domain(data)
    reply = await _ask(_request(task, data, ctx), ctx)
    if isinstance(reply, ActionResult):
        return reply
    return _research.judge(
        task,
        reply.answer,
        domain,
        min_confidence=ctx.options.min_confidence,
        http_status=reply.status,
        provider_status=reply.run_status,
        raw=reply.body,
    )


async def resolve_g2_url(data: BaseModel, ctx: Context) -> ActionResult:
    return await _resolve(_research.G2, data, ctx)


async def resolve_pricing_page_url(data: BaseModel, ctx: Context) -> ActionResult:
    return await _resolve(_research.PRICING, data, ctx)


# Billed per token, at prices that differ by model and by input/output token: the answer's usage
# counts are kept in the raw response, but no per-call price is documented; recorded as unknown.
PRICES = {
    "company.research.resolve_g2_url": UNKNOWN_PRICE,
    "company.research.resolve_pricing_page_url": UNKNOWN_PRICE,
    "company.resolve.domain_from_name": UNKNOWN_PRICE,
    # structured research and derivation: billed per token, no price per call documented
    **{op: UNKNOWN_PRICE for op in _research.STRUCTURED_TASKS},
}


async def domain_from_name(data: BaseModel, ctx: Context) -> ActionResult:
    return await _research.checked_domain(await _resolve(_research.WEBSITE, data, ctx), NAME)


ACTIONS = {
    "company.research.resolve_g2_url": Action(provider=NAME, name="resolve_g2_url", run=resolve_g2_url),
    "company.research.resolve_pricing_page_url": Action(
        provider=NAME, name="resolve_pricing_page_url", run=resolve_pricing_page_url
    ),
    "company.resolve.domain_from_name": Action(provider=NAME, name="domain_from_name", run=domain_from_name),
}


# --- structured research and derivation (issue 13 item 3; app/providers/_research.py) ---------


def _structured_request(task: StructuredTask, values: dict[str, Any], ctx: Context) -> dict[str, Any]:
    # the portable schema is already strict-mode shaped (§11.2): every property required, no
    # additional properties, optional values as null unions
    body: dict[str, Any] = {
        "model": ctx.options.model,
        "instructions": _research.instructions(task),
        "input": _research.prompt(values),
        "text": {"format": {"type": "json_schema", "name": task.schema_name, "strict": True, "schema": task.schema}},
    }
    if ctx.options.web_search:
        # no domain filter: competitors, customers and news live anywhere on the web; every URL of
        # the answer is still checked (app/providers/_research.web_url)
        body["tools"] = [{"type": "web_search"}]
    return body


async def _structured(task: StructuredTask, data: BaseModel, ctx: Context) -> ActionResult:
    values, domain = _research.company_data(task, data, ctx.params)
    reply = await _ask(_structured_request(task, values, ctx), ctx)
    if isinstance(reply, ActionResult):
        return reply
    return _research.judge_structured(
        task, reply.answer, domain, http_status=reply.status, provider_status=reply.run_status, raw=reply.body
    )


def _structured_action(task: StructuredTask) -> Action:
    async def run(data: BaseModel, ctx: Context) -> ActionResult:
        return await _structured(task, data, ctx)

    return Action(provider=NAME, name=task.action, run=run)


ACTIONS.update({op: _structured_action(task) for op, task in _research.STRUCTURED_TASKS.items()})
