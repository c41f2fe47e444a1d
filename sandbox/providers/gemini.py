"""Gemini (docs/providers.md §10, §13.10): `POST /v1beta/models/{model}:generateContent`.

Any model id is accepted. The key comes from the header `x-goog-api-key` or the query `key`; a bad
key is a 400 `INVALID_ARGUMENT` with reason `API_KEY_INVALID`, as Google answers it. The reply text
is a JSON string filling `generationConfig.responseSchema` (camelCase or snake_case, or
`responseJsonSchema`). `groundingMetadata` is present when the request enables `google_search`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox import VALID_KEY
from sandbox.providers.base import Endpoint, Provider, json_response, read_json, retry_after_header
from sandbox.providers.research import answer

STATUS_NAMES = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}
STATUS_NAMES |= {500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"


class Gemini(Provider):
    name = "gemini"

    def endpoints(self) -> list[Endpoint]:
        return [Endpoint("POST", "/v1beta/models/{model}:generateContent", self.generate)]

    @staticmethod
    def error(
        status: int, message: str, details: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        body: dict[str, Any] = {"code": status, "message": message, "status": STATUS_NAMES.get(status, "UNKNOWN")}
        if details is not None:
            body["details"] = details
        return json_response({"error": body}, status, headers)

    def server_error(self, status: int) -> Response:
        if status == 503:
            return self.error(503, "The model is overloaded. Please try again later.")
        return self.error(status, "An internal error has occurred. Please retry or report it.")

    def too_many_requests(self, retry_after: float) -> Response:
        return self.error(
            429,
            "Resource has been exhausted (e.g. check quota).",
            [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{max(1, round(retry_after))}s"}],
            retry_after_header(retry_after),
        )

    def no_credit(self) -> Response:
        return self.error(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaId": "sandbox-quota"}]}],
        )

    async def generate(self, request: Request) -> Response:
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        if not key:
            return self.error(
                403,
                "Method doesn't allow unregistered callers (callers without established identity). "
                "Please use API Key or other form of API consumer identity to call this API.",
            )
        if key != VALID_KEY:
            return self.error(
                400,
                "API key not valid. Please pass a valid API key.",
                [{"@type": ERROR_INFO, "reason": "API_KEY_INVALID", "domain": "googleapis.com"}],
            )
        body, ok = await read_json(request)
        if not ok or not isinstance(body, dict):
            return self.error(400, "Invalid JSON payload received.")
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            return self.error(400, "* GenerateContentRequest.contents: contents is not specified")
        prompt = _texts(contents)
        instructions = _texts(body.get("systemInstruction") or body.get("system_instruction"))
        config = body.get("generationConfig") or body.get("generation_config") or {}
        schema = {}
        if isinstance(config, dict):
            schema = (
                config.get("responseSchema") or config.get("response_schema") or config.get("responseJsonSchema") or {}
            )
        properties = schema.get("properties") if isinstance(schema, dict) else None
        research = answer(self.name, prompt, instructions, properties if isinstance(properties, dict) else {})
        if response := self.trigger_response(research.trigger):
            return response
        text = json.dumps(research.answer)
        candidate: dict[str, Any] = {
            "content": {"role": "model", "parts": [{"text": text}]},
            "finishReason": "STOP",
            "index": 0,
        }
        if _grounded(body.get("tools")):
            source = research.citation_url
            subject = research.company.name if research.company else "company"
            query = f"{subject} {'G2' if research.wants_g2 else 'pricing'}"
            candidate["groundingMetadata"] = {
                "webSearchQueries": [query],
                "groundingChunks": [{"web": {"uri": source, "title": source}}] if source else [],
                "groundingSupports": [],
            }
        prompt_tokens = max(1, len(prompt.split()) + len(instructions.split()))
        output_tokens = max(1, len(text) // 4)
        return json_response(
            {
                "candidates": [candidate],
                "usageMetadata": {
                    "promptTokenCount": prompt_tokens,
                    "candidatesTokenCount": output_tokens,
                    "totalTokenCount": prompt_tokens + output_tokens,
                },
                "modelVersion": request.path_params["model"],
            }
        )


def _texts(node: Any) -> str:
    """All `parts[].text` of a content list or a single content object."""
    items = node if isinstance(node, list) else [node] if isinstance(node, dict) else []
    texts = []
    for item in items:
        parts = item.get("parts") if isinstance(item, dict) else None
        for part in parts if isinstance(parts, list) else []:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
    return "\n".join(texts)


def _grounded(tools: Any) -> bool:
    if not isinstance(tools, list):
        return False
    return any(isinstance(t, dict) and ({"google_search", "googleSearch"} & set(t)) for t in tools)
