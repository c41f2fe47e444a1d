"""OpenAI (docs/providers.md §11, §13.11): `POST /v1/responses`.

Auth is `Authorization: Bearer <key>`. The reply's `output_text` is a JSON string filling
`text.format.schema` (same answer as Gemini). A `web_search_call` item precedes the message when
`tools` has `web_search` (or `web_search_preview`). Quota trigger (`nocredit…`) → 429
`insufficient_quota`; rate trigger → 429 `rate_limit_exceeded` with the `x-ratelimit-*` headers.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox import VALID_KEY
from sandbox.providers.base import Endpoint, Provider, bearer_token, json_response, read_json
from sandbox.providers.research import answer


class OpenAI(Provider):
    name = "openai"

    def endpoints(self) -> list[Endpoint]:
        return [Endpoint("POST", "/v1/responses", self.responses)]

    @staticmethod
    def error(
        status: int,
        message: str,
        kind: str,
        code: str | None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
        return json_response(body, status, headers)

    def server_error(self, status: int) -> Response:
        if status == 503:
            return self.error(503, "The engine is currently overloaded, please try again later.", "server_error", None)
        return self.error(
            status, "The server had an error while processing your request. Sorry about that!", "server_error", None
        )

    def too_many_requests(self, retry_after: float) -> Response:
        seconds = max(1, round(retry_after))
        headers = {
            "Retry-After": str(seconds),
            "x-ratelimit-limit-requests": "500",
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": f"{seconds}s",
            "x-ratelimit-limit-tokens": "200000",
            "x-ratelimit-remaining-tokens": "0",
            "x-ratelimit-reset-tokens": f"{seconds}s",
        }
        return self.error(
            429,
            "Rate limit reached for requests. Please try again later.",
            "requests",
            "rate_limit_exceeded",
            headers=headers,
        )

    def no_credit(self) -> Response:
        return self.error(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            "insufficient_quota",
        )

    async def responses(self, request: Request) -> Response:
        token = bearer_token(request)
        if not token:
            return self.error(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "invalid_request_error",
                None,
            )
        if token != VALID_KEY:
            shown = f"{token[:3]}****{token[-2:]}" if len(token) > 6 else "****"
            return self.error(401, f"Incorrect API key provided: {shown}.", "invalid_request_error", "invalid_api_key")
        body, ok = await read_json(request)
        if not ok or not isinstance(body, dict):
            return self.error(400, "We could not parse the JSON body of your request.", "invalid_request_error", None)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return self.error(400, "Missing required parameter: 'model'.", "invalid_request_error", None, "model")
        if body.get("input") in (None, "", []):
            return self.error(400, "Missing required parameter: 'input'.", "invalid_request_error", None, "input")
        prompt, system = _input_text(body.get("input"))
        instructions = body.get("instructions") if isinstance(body.get("instructions"), str) else ""
        instructions = f"{instructions}\n{system}".strip()
        text_config = body.get("text") if isinstance(body.get("text"), dict) else {}
        fmt = text_config.get("format") if isinstance(text_config.get("format"), dict) else {}
        schema = fmt.get("schema") if isinstance(fmt.get("schema"), dict) else {}
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        research = answer(self.name, prompt, instructions, properties)
        if response := self.trigger_response(research.trigger):
            return response
        text = json.dumps(research.answer)
        response_id = "resp_" + self.runtime.new_id("openai", 48)
        output: list[dict[str, Any]] = []
        tools = body.get("tools") if isinstance(body.get("tools"), list) else []
        if any(isinstance(t, dict) and t.get("type") in ("web_search", "web_search_preview") for t in tools):
            subject = research.company.name if research.company else "company"
            output.append(
                {
                    "type": "web_search_call",
                    "id": "ws_" + response_id[5:],
                    "status": "completed",
                    "action": {"type": "search", "query": f"{subject} {'G2' if research.wants_g2 else 'pricing'}"},
                }
            )
        citation = research.citation_url
        annotations = (
            [{"type": "url_citation", "url": citation, "title": citation, "start_index": 0, "end_index": 0}]
            if citation
            else []
        )
        output.append(
            {
                "type": "message",
                "id": "msg_" + response_id[5:],
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": annotations}],
            }
        )
        input_tokens = max(1, (len(prompt) + len(instructions)) // 4)
        output_tokens = max(1, len(text) // 4)
        return json_response(
            {
                "id": response_id,
                "object": "response",
                "created_at": int(time.time()),
                "status": "completed",
                "model": model,
                "output": output,
                "error": None,
                "incomplete_details": None,
                "usage": {
                    "input_tokens": input_tokens,
                    "output_tokens": output_tokens,
                    "total_tokens": input_tokens + output_tokens,
                },
            }
        )


def _input_text(node: Any) -> tuple[str, str]:
    """(user text, system text) of `input`: a string, or messages whose content is a string or parts."""
    if isinstance(node, str):
        return node, ""
    user: list[str] = []
    system: list[str] = []
    for item in node if isinstance(node, list) else []:
        if not isinstance(item, dict):
            continue
        texts = system if item.get("role") in ("system", "developer") else user
        content = item.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return "\n".join(user), "\n".join(system)
