"""Prospeo (docs/providers.md §5, §13.5): company enrichment, company search, person search.

Auth is the header `X-KEY`; `Content-Type: application/json` is required. Every body carries a
boolean `error`, and "no match" is an HTTP 400 with an `error_code`.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox import VALID_KEY, data, search
from sandbox.providers.base import (
    Endpoint,
    Provider,
    json_response,
    page_count,
    read_json,
    retry_after_header,
    text_field,
)

PER_PAGE = 25
MAX_PAGE = 1000
# (per minute, per day) of the Starter plan, reported in headers only; the sandbox does not enforce them
LIMITS = {"enrich": (300, 2000), "search": (30, 1000)}


class Prospeo(Provider):
    name = "prospeo"

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        self.usage: dict[str, list[int]] = {}

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint("POST", "/enrich-company", self.enrich_company),
            Endpoint("POST", "/search-company", self.search_company),
            Endpoint("POST", "/search-person", self.search_person),
            Endpoint("POST", "/enrich-person", self.enrich_person),
        ]

    def reset(self) -> None:
        self.usage.clear()

    @staticmethod
    def error(code: str, status: int = 400, headers: dict[str, str] | None = None, **extra: Any) -> Response:
        return json_response({"error": True, "error_code": code, **extra}, status, headers)

    def server_error(self, status: int) -> Response:
        return self.error("INTERNAL_ERROR", status)

    def too_many_requests(self, retry_after: float) -> Response:
        return self.error("RATE_LIMITED", 429, retry_after_header(retry_after))

    def no_credit(self) -> Response:
        return self.error("INSUFFICIENT_CREDITS")

    def _headers(self, family: str) -> dict[str, str]:
        """The vendor's rate-limit headers, counted per endpoint family (informational)."""
        now = time.time()
        minute, day = int(now // 60), int(now // 86400)
        per_minute, per_day = LIMITS[family]
        usage = self.usage.get(family)
        if usage is None or usage[0] != day:
            usage = self.usage[family] = [day, 0, minute, 0]
        if usage[2] != minute:
            usage[2], usage[3] = minute, 0
        usage[1] += 1
        usage[3] += 1
        return {
            "x-minute-request-left": str(max(0, per_minute - usage[3])),
            "x-daily-request-left": str(max(0, per_day - usage[1])),
            "x-minute-rate-limit": str(per_minute),
            "x-daily-rate-limit": str(per_day),
            "x-minute-reset-seconds": str(60 - int(now % 60)),
            "x-daily-reset-seconds": str(86400 - int(now % 86400)),
        }

    async def _body(self, request: Request) -> tuple[dict[str, Any] | None, Response | None]:
        if request.headers.get("x-key") != VALID_KEY:
            return None, self.error("INVALID_API_KEY", 401)
        if request.headers.get("content-type", "").split(";", 1)[0].strip().lower() != "application/json":
            return None, self.error("INVALID_REQUEST", message="Content-Type must be application/json")
        body, ok = await read_json(request)
        if not ok or not isinstance(body, dict):
            return None, self.error("INVALID_REQUEST", message="The body is not a JSON object")
        return body, None

    # --- enrichment -----------------------------------------------------------------------------

    async def enrich_company(self, request: Request) -> Response:
        body, error = await self._body(request)
        if error:
            return error
        assert body is not None
        headers = self._headers("enrich")
        fields = body.get("data") if isinstance(body.get("data"), dict) else {}
        website = fields.get("company_website") or ""
        linkedin = fields.get("company_linkedin_url") or ""
        name = fields.get("company_name") or ""
        company_id = fields.get("company_id") or ""
        values = [v for v in (website, linkedin, name, company_id) if isinstance(v, str) and v.strip()]
        if not values:
            return self.error("INVALID_DATAPOINTS", headers=headers)
        trigger = data.trigger_of(values)
        if response := self.trigger_response(trigger):
            response.headers.update(headers)
            return response
        identifier = values[0]
        if data.is_not_found(self.name, data.company_key(identifier), trigger):
            return self.error("NO_MATCH", headers=headers)
        company = data.company(identifier)
        body = {"error": False, "free_enrichment": False, "company": self._company(company)}
        return json_response(body, 200, headers)

    async def enrich_person(self, request: Request) -> Response:
        """`/enrich-person` (docs/providers.md §5, SP §5.2): a LinkedIn URL, an email, or a name with a
        company field identifies the person; the answer holds `person` and `company`."""
        body, error = await self._body(request)
        if error:
            return error
        assert body is not None
        headers = self._headers("enrich")
        fields = body.get("data") if isinstance(body.get("data"), dict) else {}
        linkedin, email = text_field(fields, "linkedin_url"), text_field(fields, "email")
        first, last = text_field(fields, "first_name"), text_field(fields, "last_name")
        if not (first or last):
            first, last = data.split_full_name(text_field(fields, "full_name"))
        company_field = text_field(fields, "company_website", "company_name", "company_linkedin_url")
        if not (linkedin or email or ((first or last) and company_field)):
            return self.error("INVALID_DATAPOINTS", headers=headers)
        trigger = data.trigger_of([v for v in (linkedin, email, company_field) if v])
        if response := self.trigger_response(trigger):
            response.headers.update(headers)
            return response
        if linkedin:
            person = data.person_from_slug(data.linkedin_slug(linkedin) or data.slugify(linkedin))
        elif email:
            person = data.person_from_email(email)
        else:
            person = data.person(first, last, company_field)
        if data.is_not_found(self.name, "person:" + person.linkedin_slug, trigger):
            return self.error("NO_MATCH", headers=headers)
        company = data.company(person.domain)
        answer = {
            "error": False,
            "free_enrichment": False,
            "person": {
                "person_id": person.person_id,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "full_name": person.full_name,
                "linkedin_url": person.linkedin_url,
                "headline": f"{person.title} at {company.name}",
                "current_job_title": person.title,
                "job_history": [{"title": person.title, "company_name": company.name, "current": True}],
                "email": {"status": "VERIFIED", "revealed": True, "email": person.email},
            },
            "company": self._company(company),
        }
        return json_response(answer, 200, headers)

    @staticmethod
    def _company(c: data.Company) -> dict[str, Any]:
        return {
            "company_id": f"cmp_{c.company_id}",
            "name": c.name,
            "website": c.website,
            "domain": c.domain,
            "linkedin_url": c.linkedin_url,
            "industry": c.industry,
            "employee_count": c.employee_count,
            "employee_range": c.employee_range,
            "location": {
                "country": c.country,
                "country_code": c.country_code,
                "state": c.state,
                "city": c.city,
                "raw_address": f"{c.street}, {c.city}, {c.state} {c.postal_code}, {c.country}",
            },
            "founded": c.founded_year,
            "revenue_range": {"min": c.revenue // 2, "max": c.revenue * 2} if c.has_revenue else None,
            "description": c.description,
            "logo_url": c.logo_url,
            "phone": c.phone,
        }

    # --- search ---------------------------------------------------------------------------------

    async def _search(self, request: Request) -> tuple[search.Query | None, int, dict[str, str], Response | None]:
        body, error = await self._body(request)
        if error:
            return None, 0, {}, error
        assert body is not None
        headers = self._headers("search")
        page = body.get("page", 1)
        if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= MAX_PAGE:
            return None, 0, headers, self.error("INVALID_REQUEST", headers=headers, message="page is 1 to 1000")
        filters = body.get("filters")
        if not isinstance(filters, dict) or not _has_include(filters):
            return (
                None,
                0,
                headers,
                self.error(
                    "INVALID_FILTERS",
                    headers=headers,
                    filter_error="At least one filter with a non-empty `include` list is required",
                ),
            )
        query = search.parse(filters)
        if response := self.trigger_response(query.trigger):
            response.headers.update(headers)
            return None, 0, headers, response
        return query, page, headers, None

    def _pagination(self, total: int, page: int) -> dict[str, int]:
        return {
            "current_page": page,
            "per_page": PER_PAGE,
            "total_page": page_count(total, PER_PAGE),
            "total_count": total,
        }

    async def search_company(self, request: Request) -> Response:
        query, page, headers, error = await self._search(request)
        if error:
            return error
        assert query is not None
        total = search.company_total(self.name, query)
        rows = search.companies(self.name, query, (page - 1) * PER_PAGE, PER_PAGE)
        if not rows:
            return self.error("NO_RESULTS", headers=headers)
        results = [{"company": self._company(c)} for c in rows]
        body = {"error": False, "results": results, "pagination": self._pagination(total, page)}
        return json_response(body, 200, headers)

    async def search_person(self, request: Request) -> Response:
        query, page, headers, error = await self._search(request)
        if error:
            return error
        assert query is not None
        total = search.people_total(self.name, query)
        rows = search.people(self.name, query, (page - 1) * PER_PAGE, PER_PAGE)
        if not rows:
            return self.error("NO_RESULTS", headers=headers)
        results = [
            {
                "person": {
                    "person_id": f"per_{p.person_id}",
                    "first_name": p.first_name,
                    "last_name": p.last_name,
                    "full_name": p.full_name,
                    "current_job_title": p.title,
                    "linkedin_url": p.linkedin_url,
                    "location": {"city": p.city, "country_code": p.country_code},
                },
                "company": {"name": c.name, "domain": c.domain, "website": c.website, "linkedin_url": c.linkedin_url},
            }
            for p, c in rows
        ]
        body = {"error": False, "results": results, "pagination": self._pagination(total, page)}
        return json_response(body, 200, headers)


def _has_include(node: Any) -> bool:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "include" and isinstance(value, list) and value:
                return True
            if _has_include(value):
                return True
    return False
