"""Gemini: the research operations by structured output (docs/providers.md §10).

`POST /v1beta/models/{model}:generateContent` with the key in the header `x-goog-api-key` [§10.1],
`generationConfig.responseMimeType: application/json` plus a `responseSchema` asking for
`{"url", "confidence"}` [§10.2]. The answer text is JSON; the URL is validated by the shared rules
of `app/providers/_research.py` before it is accepted.
"""

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from app.providers import _research
from app.providers._fields import as_dict as _dict
from app.providers._research import Confidence, ResearchTask, StructuredTask
from app.providers.base import UNKNOWN_PRICE, Action, ActionContext, ActionResult, ProviderOptions, failed

NAME = "gemini"
BASE_URL = "https://generativelanguage.googleapis.com"
# no latency is documented; a grounded answer runs web searches inside the one call [§10.2]
TIMEOUT_SECONDS = 30.0

# §10.4: a bad key comes back as 400 INVALID_ARGUMENT with this ErrorInfo reason (third party, G9)
KEY_INVALID = "API_KEY_INVALID"


class GeminiOptions(ProviderOptions):
    """DATA_ENGINE_GEMINI_<FIELD>."""

    model: str = "gemini-2.5-flash"
    grounded_structured: bool | None = None
    """Add Google Search to the structured call; None decides by model id (see `_grounded`)."""
    min_confidence: Confidence = _research.DEFAULT_MIN_CONFIDENCE
    """The lowest answer confidence accepted (§10.5)."""


OPTIONS = GeminiOptions
Context = ActionContext[GeminiOptions]


def _path(model: str) -> str:
    return f"/v1beta/models/{model.removeprefix('models/')}:generateContent"


def _grounded(ctx: Context, model: str) -> bool:
    """Whether to add Google Search to the structured call. §10.2: the combination is documented
    for Gemini 3 models only (older ones answer 400 "Tool use with a response mime type
    'application/json' is unsupported"), so by default only Gemini 3 ids search; the setting
    `gemini_grounded_structured` overrides it."""
    setting = ctx.options.grounded_structured
    if setting is None:
        return model.removeprefix("models/").startswith("gemini-3")
    return setting


def _request(task: ResearchTask, data: BaseModel, ctx: Context, model: str) -> dict[str, Any]:
    company, domain = _research.company_and_domain(data)
    # §10.2: responseSchema is the OpenAPI 3.0 subset with upper-case types and `nullable`
    schema = {
        "type": "OBJECT",
        "properties": {
            "url": {"type": "STRING", "nullable": True, "description": _research.URL_DESCRIPTION},
            "confidence": {
                "type": "STRING",
                "enum": list(_research.CONFIDENCE_LEVELS),
                "description": _research.CONFIDENCE_DESCRIPTION,
            },
        },
        "required": ["url", "confidence"],
        "propertyOrdering": ["url", "confidence"],
    }
    body: dict[str, Any] = {
        "systemInstruction": {"parts": [{"text": task.instructions}]},
        "contents": [{"role": "user", "parts": [{"text": task.question(company, domain)}]}],
        "generationConfig": {"responseMimeType": "application/json", "responseSchema": schema, "temperature": 0},
    }
    if _grounded(ctx, model):
        body["tools"] = [{"google_search": {}}]
    return body


def _error_result(status: int, body: Any) -> ActionResult:
    """A 400 (§10.4): API_KEY_INVALID is an auth failure; any other (INVALID_ARGUMENT,
    FAILED_PRECONDITION…) a failure with the error's own status."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return failed(f"HTTP {status}", http_status=status, provider_status=None, raw=body)
    reasons = [d.get("reason") for d in error.get("details") or [] if isinstance(d, dict)]
    message = str(error.get("message") or f"HTTP {status}")
    if KEY_INVALID in reasons:
        return failed(f"authentication failed: {message}", http_status=status, provider_status=KEY_INVALID, raw=body)
    return failed(message, http_status=status, provider_status=str(error.get("status") or status), raw=body)


@dataclass
class _Reply:
    """A completed answer whose text parsed as JSON."""

    status: int
    body: dict[str, Any]
    answer: Any
    finish: str


async def _ask(body: dict[str, Any], ctx: Context, model: str) -> _Reply | ActionResult:
    """One generateContent call: the parsed JSON answer, or the failed attempt (§10.3, §10.4)."""
    response = await ctx.request(
        "POST",
        _path(model),
        json_body=body,
        headers={"x-goog-api-key": ctx.client.api_key or ""},
        accept={400},
    )
    answer_body: Any = response.json(NAME)
    status = response.status_code
    if status == 400:
        return _error_result(status, answer_body)
    if not isinstance(answer_body, dict):
        return failed("unexpected response shape", http_status=status, provider_status=None, raw=answer_body)
    # §10.3: a blocked prompt has no candidates and a promptFeedback.blockReason
    block = _dict(answer_body.get("promptFeedback")).get("blockReason")
    if block:
        return failed(f"prompt blocked: {block}", http_status=status, provider_status=str(block), raw=answer_body)
    candidates = answer_body.get("candidates")
    if not isinstance(candidates, list) or not candidates or not isinstance(candidates[0], dict):
        return failed(
            "no candidates in the answer", http_status=status, provider_status="no_candidates", raw=answer_body
        )
    candidate = candidates[0]
    finish = candidate.get("finishReason")
    if finish != "STOP":
        # SAFETY, MAX_TOKENS, RECITATION… (or none): the answer is cut or withheld [§10.3]
        return failed(
            f"generation stopped: {finish}",
            http_status=status,
            provider_status=str(finish) if finish else None,
            raw=answer_body,
        )
    parts = _dict(candidate.get("content")).get("parts")
    # thought summaries (only sent when asked for) are not the answer
    texts = [
        p.get("text")
        for p in (parts if isinstance(parts, list) else [])
        if isinstance(p, dict) and not p.get("thought")
    ]
    text = "".join(t for t in texts if isinstance(t, str))
    answer = _research.parse_answer(text)
    if answer is None:
        return failed(
            "the answer text is not JSON", http_status=status, provider_status="invalid_answer", raw=answer_body
        )
    # groundingMetadata URIs stay in `raw` as sources; they are never taken as the answer [§10.3]
    return _Reply(status, answer_body, answer, str(finish))


async def _resolve(task: ResearchTask, data: BaseModel, ctx: Context) -> ActionResult:
    model = ctx.options.model
    _, domain = _research.company_and_domain(data)
    reply = await _ask(_request(task, data, ctx, model), ctx, model)
    if isinstance(reply, ActionResult):
        return reply
    return _research.judge(
        task,
        reply.answer,
        domain,
        min_confidence=ctx.options.min_confidence,
        http_status=reply.status,
        provider_status=reply.finish,
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

_GEMINI_KEYS = ("description", "enum", "items", "properties", "required")
"""What is kept of the portable schema: the documented responseSchema subset [§10.2, G1]."""


def gemini_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The portable JSON schema in Gemini's dialect [§10.2]: upper-case types, `nullable` for a
    null union, `propertyOrdering` as declared, no `additionalProperties` (not in the subset)."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    named = [k for k in kinds if k != "null"]
    out: dict[str, Any] = {"type": str(named[0]).upper()}
    if "null" in kinds:
        out["nullable"] = True
    for key in _GEMINI_KEYS:
        if key not in schema:
            continue
        value = schema[key]
        if key == "properties":
            out[key] = {name: gemini_schema(sub) for name, sub in value.items()}
            out["propertyOrdering"] = list(value)
        elif key == "items":
            out[key] = gemini_schema(value)
        else:
            out[key] = value
    return out


def _structured_request(task: StructuredTask, values: dict[str, Any], ctx: Context, model: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "systemInstruction": {"parts": [{"text": _research.instructions(task)}]},
        "contents": [{"role": "user", "parts": [{"text": _research.prompt(values)}]}],
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseSchema": gemini_schema(task.schema),
            "temperature": 0,
        },
    }
    if _grounded(ctx, model):
        body["tools"] = [{"google_search": {}}]
    return body


async def _structured(task: StructuredTask, data: BaseModel, ctx: Context) -> ActionResult:
    model = ctx.options.model
    values, domain = _research.company_data(task, data, ctx.params)
    reply = await _ask(_structured_request(task, values, ctx, model), ctx, model)
    if isinstance(reply, ActionResult):
        return reply
    return _research.judge_structured(
        task, reply.answer, domain, http_status=reply.status, provider_status=reply.finish, raw=reply.body
    )


def _structured_action(task: StructuredTask) -> Action:
    async def run(data: BaseModel, ctx: Context) -> ActionResult:
        return await _structured(task, data, ctx)

    return Action(provider=NAME, name=task.action, run=run)


ACTIONS.update({op: _structured_action(task) for op, task in _research.STRUCTURED_TASKS.items()})
