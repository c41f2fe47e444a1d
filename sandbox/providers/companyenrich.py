"""CompanyEnrich (docs/providers.md §7, §13.7): enrich by domain, company search, people search.

Auth is `Authorization: Bearer <key>`. Enrich answers a top-level company object and leaves
unknown keys out; a domain it cannot enrich is a 404. Searches page by `page` / `pageSize`.
The error bodies are assumed (problem-style `title` / `status` / `detail`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox import VALID_KEY, data, search
from sandbox.providers.base import (
    Endpoint,
    Provider,
    bearer_token,
    json_response,
    page_count,
    read_json,
    retry_after_header,
)

DEFAULT_PAGE_SIZE = 10
MAX_WINDOW = 10_000
TITLES = {400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 404: "Not Found"}
TITLES |= {422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error"}
TITLES |= {503: "Service Unavailable"}


class CompanyEnrich(Provider):
    name = "companyenrich"

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint("GET", "/companies/enrich", self.enrich),
            Endpoint("POST", "/companies/search", self.search_companies),
            Endpoint("POST", "/people/search", self.search_people),
        ]

    @staticmethod
    def problem(status: int, detail: str | None = None, headers: dict[str, str] | None = None) -> Response:
        body: dict[str, Any] = {"title": TITLES.get(status, "Error"), "status": status}
        if detail:
            body["detail"] = detail
        return json_response(body, status, headers)

    def server_error(self, status: int) -> Response:
        return self.problem(status)

    def too_many_requests(self, retry_after: float) -> Response:
        return self.problem(429, "Rate limit exceeded", retry_after_header(retry_after))

    def no_credit(self) -> Response:
        return self.problem(402, "Insufficient credits")

    def _denied(self, request: Request) -> Response | None:
        token = bearer_token(request)
        if token != VALID_KEY:
            return self.problem(401, "Missing or invalid API key" if token is None else "Invalid API key")
        return None

    async def enrich(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        domain = request.query_params.get("domain", "").strip()
        if not domain:
            return self.problem(400, "The domain query parameter is required")
        trigger = data.trigger_of(domain)
        if response := self.trigger_response(trigger):
            return response
        if not data.looks_like_domain(domain) or data.is_not_found(self.name, data.company_key(domain), trigger):
            return self.problem(404)
        return json_response(self._company(data.company(domain)))

    @staticmethod
    def _company(c: data.Company) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": data.stable_uuid("companyenrich", c.key),
            "name": c.name,
            "domain": c.domain,
            "website": c.website,
            "type": c.company_type,
            "industry": c.industry,
            "industries": [c.industry],
            "employees": c.employees_label,
            "revenue": c.revenue_label,
            "description": c.description,
            "technologies": _technologies(c),
            "founded_year": c.founded_year,
            "location": {
                "country": {"code": c.country_code, "name": c.country},
                "state": {"name": c.state, "code": c.state_code},
                "city": {"name": c.city},
                "address": f"{c.street}, {c.city}",
                "postal_code": c.postal_code,
                "phone": c.phone,
            },
            "socials": {"linkedin_url": c.linkedin_url, "linkedin_id": str(c.linkedin_id)},
            "logo_url": c.logo_url,
            "updated_at": "2025-06-01T00:00:00Z",
        }
        # the vendor leaves unknown values out instead of sending null
        if not c.has_revenue:
            del body["revenue"]
            del body["type"]
        return body

    async def _search_body(self, request: Request) -> tuple[dict[str, Any] | None, int, int, Response | None]:
        if denied := self._denied(request):
            return None, 0, 0, denied
        body, ok = await read_json(request)
        if not ok or not isinstance(body, dict):
            return None, 0, 0, self.problem(400, "The body must be a JSON object")
        page, size = body.get("page", 1), body.get("pageSize", DEFAULT_PAGE_SIZE)
        for name, value, low, high in (("page", page, 1, MAX_WINDOW), ("pageSize", size, 1, 100)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                return None, 0, 0, self.problem(422, f"{name} must be an integer from {low} to {high}")
        if page * size > MAX_WINDOW:
            return None, 0, 0, self.problem(422, f"page * pageSize must not exceed {MAX_WINDOW}")
        return body, page, size, None

    async def search_companies(self, request: Request) -> Response:
        body, page, size, error = await self._search_body(request)
        if error:
            return error
        query = search.parse(body, ignore=("page", "pageSize"))
        if response := self.trigger_response(query.trigger):
            return response
        total = search.company_total(self.name, query)
        rows = [self._company(c) for c in search.companies(self.name, query, (page - 1) * size, size)]
        return json_response({"items": rows, "page": page, "totalPages": page_count(total, size), "totalItems": total})

    async def search_people(self, request: Request) -> Response:
        body, page, size, error = await self._search_body(request)
        if error:
            return error
        query = search.parse(body, ignore=("page", "pageSize"))
        if response := self.trigger_response(query.trigger):
            return response
        total = search.people_total(self.name, query)
        rows = [
            {
                "id": data.stable_uuid("companyenrich-person", p.linkedin_slug),
                "name": p.full_name,
                "first_name": p.first_name,
                "last_name": p.last_name,
                "position": p.title,
                "seniority": p.seniority,
                "department": p.department,
                "location": {"city": {"name": p.city}, "country": {"code": p.country_code}},
                "socials": {"linkedin_url": p.linkedin_url},
                "experiences": [{"company": {"name": c.name, "domain": c.domain}, "position": p.title}],
                "image_url": None,
            }
            for p, c in search.people(self.name, query, (page - 1) * size, size)
        ]
        return json_response({"items": rows, "page": page, "totalPages": page_count(total, size), "totalItems": total})


TECHNOLOGIES = (
    "Google Analytics", "Google Tag Manager", "HubSpot", "Salesforce", "Cloudflare", "React", "WordPress",
    "Stripe", "Intercom", "Segment", "Amazon Web Services", "Zendesk", "Shopify", "Hotjar", "Slack",
)  # fmt: skip


def _technologies(c: data.Company) -> list[str]:
    """`technologies[]`, a list of names [§7.1]: four to seven, the same for a domain every time."""
    roll = data.Rolls("companyenrich-tech", c.domain)
    first, count = roll.n(0, len(TECHNOLOGIES)), 4 + roll.n(1, 4)
    return [TECHNOLOGIES[(first + i) % len(TECHNOLOGIES)] for i in range(count)]
