"""Parallel Task API (docs/providers.md §8, §13.8): asynchronous task runs.

`POST /v1/tasks/runs` answers 202 with a queued run; the run moves queued → running → completed
after `parallel_delay_ms`. `GET …/result?timeout=` blocks until completion, or answers 408 when the
run is not done within `timeout` seconds. The output fills every string field of the task's output
schema (`NOT_FOUND` when the person is not found).

The error body `{"type": "error", "error": {"ref_id", "message", "detail"}}` is assumed.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox import VALID_KEY, data
from sandbox.providers.base import (
    Endpoint,
    Provider,
    iso_now,
    json_response,
    read_json,
    remember,
    retry_after_header,
)
from sandbox.providers.research import answer

PROCESSORS = {"lite", "base", "core", "core2x", "pro", "ultra", "ultra2x", "ultra4x", "ultra8x"}
DEFAULT_RESULT_TIMEOUT = 600.0
NOT_FOUND = "NOT_FOUND"
FIRST_KEYS = ("first_name", "firstname", "first", "given_name")
LAST_KEYS = ("last_name", "lastname", "last", "family_name", "surname")
FULL_KEYS = ("full_name", "fullname", "name", "person_name", "person")
COMPANY_KEYS = (
    "company_domain", "domain", "website", "company_website", "domainOrCompany", "company", "company_name",
    "organization", "employer",
)  # fmt: skip
_NAME_PAIR = re.compile(r"\b([A-Z][a-z'\-]+)\s+([A-Z][a-z'\-]+)\b")
_NOT_NAMES = {"Find", "Return", "The", "What", "Work", "Email", "Company", "Person", "Search", "Look"}


@dataclass(slots=True)
class Run:
    run_id: str
    processor: str
    metadata: Any
    started: float
    delay: float
    created_at: str
    done_at: str
    found: bool
    person: data.Person
    output_schema: Any
    task_input: Any = None

    def status(self, now: float) -> str:
        elapsed = now - self.started
        if elapsed >= self.delay:
            return "completed"
        return "queued" if elapsed < self.delay / 3 else "running"

    def as_dict(self, now: float) -> dict[str, Any]:
        status = self.status(now)
        return {
            "run_id": self.run_id,
            "status": status,
            "is_active": status != "completed",
            "warnings": None,
            "processor": self.processor,
            "metadata": self.metadata,
            "created_at": self.created_at,
            "modified_at": self.done_at if status == "completed" else self.created_at,
        }


class Parallel(Provider):
    name = "parallel"

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        self.runs: dict[str, Run] = {}

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint("POST", "/v1/tasks/runs", self.create),
            Endpoint("GET", "/v1/tasks/runs/{run_id}", self.get_run),
            Endpoint("GET", "/v1/tasks/runs/{run_id}/result", self.result),
        ]

    def reset(self) -> None:
        self.runs.clear()

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        ref = self.runtime.new_id("parallel-ref", 16)
        body = {"type": "error", "error": {"ref_id": ref, "message": message, "detail": None}}
        return json_response(body, status, headers)

    def server_error(self, status: int) -> Response:
        return self.error(status, "Service unavailable" if status == 503 else "Internal server error")

    def too_many_requests(self, retry_after: float) -> Response:
        return self.error(429, "Rate limit exceeded", retry_after_header(retry_after))

    def no_credit(self) -> Response:
        return self.error(402, "Insufficient credit in account")

    def _denied(self, request: Request) -> Response | None:
        if request.headers.get("x-api-key") != VALID_KEY:
            return self.error(401, "Invalid or missing API key")
        return None

    async def create(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        body, ok = await read_json(request)
        if not ok or not isinstance(body, dict):
            return self.error(422, "The body must be a JSON object")
        task_input = body.get("input")
        processor = body.get("processor")
        if task_input in (None, "", {}) or not isinstance(task_input, str | dict):
            return self.error(422, "input is required (a string or an object)")
        if not isinstance(processor, str) or not processor:
            return self.error(422, "processor is required")
        if processor.removesuffix("-fast") not in PROCESSORS:
            return self.error(403, f"Processor {processor!r} is not available")
        metadata = body.get("metadata")
        task_spec = body.get("task_spec") if isinstance(body.get("task_spec"), dict) else {}
        first, last, company_text = _person_of(task_input)
        trigger = data.trigger_of(task_input)  # error and not-found triggers anywhere in the input
        if trigger not in data.TRIGGERS:
            trigger = data.trigger_of(first, last, company_text) or trigger  # `found…` on the identifiers
        if response := self.trigger_response(trigger):
            return response
        key = data.person_key(first, last, company_text) if first or last else data.search_key(task_input)
        person = data.person(first or last or "Alex", last if first else "", company_text or "example.com")
        delay = self.knobs.parallel_delay_ms / 1000
        run = Run(
            run_id="trun_" + self.runtime.new_id("parallel", 32),
            processor=processor,
            metadata=metadata,
            started=time.monotonic(),
            delay=delay,
            created_at=iso_now(),
            done_at=iso_now(delay),
            found=not data.is_not_found(self.name, key, trigger),
            person=person,
            output_schema=task_spec.get("output_schema"),
            task_input=task_input,
        )
        remember(self.runs, run.run_id, run)
        return json_response(run.as_dict(time.monotonic()), 202)

    async def get_run(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        run = self.runs.get(request.path_params["run_id"])
        if run is None:
            return self.error(404, "Run not found")
        return json_response(run.as_dict(time.monotonic()))

    async def result(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        run = self.runs.get(request.path_params["run_id"])
        if run is None:
            return self.error(404, "Run not found")
        raw_timeout = request.query_params.get("timeout")
        try:
            timeout = DEFAULT_RESULT_TIMEOUT if raw_timeout in (None, "") else float(raw_timeout)
        except ValueError:
            return self.error(422, "timeout must be a number of seconds")
        if timeout < 0:
            return self.error(422, "timeout must be a number of seconds")
        remaining = run.started + run.delay - time.monotonic()
        if remaining > 0:
            # wait for completion, but never longer than the caller's timeout
            await asyncio.sleep(min(remaining, timeout))
            if remaining > timeout:
                return self.error(408, "Run did not complete within the timeout; poll again")
        return json_response({"run": run.as_dict(math.inf), "output": self._output(run)})

    def _output(self, run: Run) -> dict[str, Any]:
        if _is_company_task(run.task_input):
            return self._research_output(run)
        p = run.person
        company = data.company(p.domain)
        schema = run.output_schema
        if isinstance(schema, str) or (isinstance(schema, dict) and schema.get("type") == "text"):
            text = f"{p.full_name} can be reached at {p.email}." if run.found else NOT_FOUND
            basis = [_basis("output", run.found, company)]
            return {"type": "text", "content": text, "basis": basis}
        properties = _schema_properties(schema) or {"work_email": {"type": "string"}}
        content: dict[str, Any] = {}
        for name, spec in properties.items():
            kind = spec.get("type") if isinstance(spec, dict) else None
            is_string = kind == "string" or (isinstance(kind, list) and "string" in kind) or kind is None
            if not is_string:
                content[name] = None
            else:
                content[name] = _value_for(name, p, company) if run.found else NOT_FOUND
        basis = [_basis(name, run.found, company) for name in content]
        return {"type": "json", "content": content, "basis": basis}

    def _research_output(self, run: Run) -> dict[str, Any]:
        """A company research task (app/providers/parallel.structured_body): the schema filled by
        the answer the fake LLMs give, with one basis entry per field."""
        properties = _schema_properties(run.output_schema)
        research = answer(self.name, json.dumps(run.task_input), "", properties)
        c = research.company or data.company("example.com")
        basis = [_basis(name, research.found, c) for name in research.answer]
        return {"type": "json", "content": research.answer, "basis": basis}


def _is_company_task(task_input: Any) -> bool:
    """A run whose input is a company (`company_domain`) and no person."""
    if not isinstance(task_input, dict) or not task_input.get("company_domain"):
        return False
    return not any(task_input.get(k) for k in (*FIRST_KEYS, *LAST_KEYS, "full_name"))


def _schema_properties(schema: Any) -> dict[str, Any]:
    if not isinstance(schema, dict):
        return {}
    inner = schema.get("json_schema") if isinstance(schema.get("json_schema"), dict) else schema
    properties = inner.get("properties")
    return properties if isinstance(properties, dict) else {}


def _value_for(field: str, p: data.Person, c: data.Company) -> str:
    name = field.lower()
    if "email" in name:
        return p.email
    if "phone" in name or "mobile" in name:
        return p.phone_e164
    if "linkedin" in name:
        return c.linkedin_url if "company" in name else p.linkedin_url
    if "domain" in name:
        return c.domain
    if "website" in name or "url" in name:
        return c.website
    if "company" in name or "organization" in name:
        return c.name
    if "title" in name or "position" in name or "role" in name:
        return p.title
    if "name" in name:
        return p.full_name
    return f"{p.full_name}, {p.title} at {c.name}"


def _basis(field: str, found: bool, c: data.Company) -> dict[str, Any]:
    if not found:
        return {
            "field": field,
            "citations": [],
            "reasoning": "No public source names a work email for this person.",
            "confidence": "low",
        }
    return {
        "field": field,
        "citations": [{"url": f"{c.website}/team", "title": f"{c.name} team", "excerpts": []}],
        "reasoning": f"The address follows the first.last pattern used on {c.domain}.",
        "confidence": "medium",
    }


def _person_of(task_input: Any) -> tuple[str, str, str]:
    """(first, last, company) from an object input, or guessed from a text input."""
    if isinstance(task_input, dict):
        lowered = {str(k).lower(): v for k, v in task_input.items() if isinstance(v, str)}
        first = next((lowered[k] for k in FIRST_KEYS if lowered.get(k)), "")
        last = next((lowered[k] for k in LAST_KEYS if lowered.get(k)), "")
        if not first and not last:
            first, last = data.split_full_name(next((lowered[k] for k in FULL_KEYS if lowered.get(k)), ""))
        company = next((lowered[k.lower()] for k in COMPANY_KEYS if lowered.get(k.lower())), "")
        return first.strip(), last.strip(), company.strip()
    text = str(task_input)
    domains = data.domains_in_text(text)
    pairs = [m for m in _NAME_PAIR.findall(text) if m[0] not in _NOT_NAMES and m[1] not in _NOT_NAMES]
    first, last = pairs[0] if pairs else ("", "")
    return first, last, domains[0] if domains else ""
