"""Gemini: the research operations by structured output (docs/providers.md §10).

`POST /v1beta/models/{model}:generateContent` with the key in the header `x-goog-api-key` [§10.1],
`generationConfig.responseMimeType: application/json` plus a `responseSchema` asking for
`{"url", "confidence"}` [§10.2]. The answer text is JSON; the URL is validated by the shared rules
of `app/providers/_research.py` before it is accepted.
"""

from typing import Any

from pydantic import BaseModel

from app.providers import _research
from app.providers._fields import as_dict as _dict
from app.providers._research import Confidence, ResearchTask
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


async def _resolve(task: ResearchTask, data: BaseModel, ctx: Context) -> ActionResult:
    model = ctx.options.model
    _, domain = _research.company_and_domain(data)
    response = await ctx.request(
        "POST",
        _path(model),
        json_body=_request(task, data, ctx, model),
        headers={"x-goog-api-key": ctx.client.api_key or ""},
        accept={400},
    )
    body: Any = response.json(NAME)
    status = response.status_code
    if status == 400:
        return _error_result(status, body)
    if not isinstance(body, dict):
        return failed("unexpected response shape", http_status=status, provider_status=None, raw=body)
    # §10.3: a blocked prompt has no candidates and a promptFeedback.blockReason
    block = _dict(body.get("promptFeedback")).get("blockReason")
    if block:
        return failed(f"prompt blocked: {block}", http_status=status, provider_status=str(block), raw=body)
    candidates = body.get("candidates")
    if not isinstance(candidates, list) or not candidates or not isinstance(candidates[0], dict):
        return failed("no candidates in the answer", http_status=status, provider_status="no_candidates", raw=body)
    candidate = candidates[0]
    finish = candidate.get("finishReason")
    if finish != "STOP":
        # SAFETY, MAX_TOKENS, RECITATION… (or none): the answer is cut or withheld [§10.3]
        return failed(
            f"generation stopped: {finish}",
            http_status=status,
            provider_status=str(finish) if finish else None,
            raw=body,
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
        return failed("the answer text is not JSON", http_status=status, provider_status="invalid_answer", raw=body)
    # groundingMetadata URIs stay in `raw` as sources; they are never taken as the answer [§10.3]
    return _research.judge(
        task,
        answer,
        domain,
        min_confidence=ctx.options.min_confidence,
        http_status=status,
        provider_status=finish,
        raw=body,
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
