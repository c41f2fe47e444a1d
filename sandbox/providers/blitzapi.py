"""BlitzAPI (docs/providers.md §6, §13.6): enrichment and search under `/v2`.

Auth is the header `x-api-key`. "Not found" is HTTP 200 with `found: false` (or an empty result
page); a missing required field is 422 `INVALID_INPUT`. Search pages by an opaque `cursor`.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox import VALID_KEY, data, search
from sandbox.providers.base import (
    Endpoint,
    Provider,
    iso_now,
    json_response,
    page_count,
    read_json,
    retry_after_header,
    text_field,
)

DEFAULT_MAX_RESULTS = 10
MAX_RESULTS = 50


class BlitzApi(Provider):
    name = "blitzapi"

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint("POST", "/v2/enrichment/domain-to-linkedin", self.domain_to_linkedin),
            Endpoint("POST", "/v2/enrichment/company", self.company),
            Endpoint("POST", "/v2/enrichment/phone", self.phone),
            Endpoint("POST", "/v2/enrichment/email", self.email),
            Endpoint("POST", "/v2/enrichment/linkedin-to-domain", self.linkedin_to_domain),
            Endpoint("POST", "/v2/enrichment/email-to-person", self.email_to_person),
            Endpoint("POST", "/v2/search/companies", self.search_companies),
            Endpoint("POST", "/v2/search/people", self.search_people),
            Endpoint("POST", "/v2/search/employee-finder", self.employee_finder),
            Endpoint("GET", "/v2/account/key-info", self.key_info),
        ]

    def server_error(self, status: int) -> Response:
        message = "Service unavailable" if status == 503 else "Internal server error"
        return json_response({"message": message}, status)

    def too_many_requests(self, retry_after: float) -> Response:
        return json_response({"message": "Rate limit exceeded, slow down"}, 429, retry_after_header(retry_after))

    def no_credit(self) -> Response:
        body = {"message": "Insufficient credits balance", "fair_usage": {"next_reset_at": iso_now(86400)}}
        return json_response(body, 402)

    @staticmethod
    def invalid(message: str) -> Response:
        return json_response({"success": False, "error": {"code": "INVALID_INPUT", "message": message}}, 422)

    def _denied(self, request: Request) -> Response | None:
        key = request.headers.get("x-api-key")
        if key is None:
            return json_response({"success": False, "message": "Missing API key"}, 401)
        if key != VALID_KEY:
            return json_response({"success": False, "message": "Invalid API key"}, 401)
        return None

    async def _body(self, request: Request) -> tuple[dict[str, Any] | None, Response | None]:
        if denied := self._denied(request):
            return None, denied
        body, ok = await read_json(request)
        if not ok or not isinstance(body, dict):
            return None, self.invalid("The body must be a JSON object")
        return body, None

    # --- enrichment -----------------------------------------------------------------------------

    async def domain_to_linkedin(self, request: Request) -> Response:
        body, error = await self._body(request)
        if error:
            return error
        domain = text_field(body, "domain")
        if not domain:
            return self.invalid("domain is required")
        trigger = data.trigger_of(domain)
        if response := self.trigger_response(trigger):
            return response
        if data.is_not_found(self.name, data.company_key(domain), trigger):
            return json_response({"found": False, "company_linkedin_url": None})
        c = data.company(domain)
        return json_response(
            {"found": True, "company_linkedin_url": c.linkedin_url, "company_name": c.name, "other": []}
        )

    async def company(self, request: Request) -> Response:
        body, error = await self._body(request)
        if error:
            return error
        url = text_field(body, "company_linkedin_url")
        if not url:
            return self.invalid("company_linkedin_url is required")
        if not data.linkedin_slug(url):
            return self.invalid("company_linkedin_url must be a LinkedIn company URL")
        trigger = data.trigger_of(url)
        if response := self.trigger_response(trigger):
            return response
        if data.is_not_found(self.name, data.company_key(url), trigger):
            return json_response({"found": False, "company": None})
        return json_response({"found": True, "company": self._company(data.company(url))})

    async def phone(self, request: Request) -> Response:
        body, error = await self._body(request)
        if error:
            return error
        url = text_field(body, "person_linkedin_url")
        if not url:
            return self.invalid("person_linkedin_url is required")
        trigger = data.trigger_of(url)
        if response := self.trigger_response(trigger):
            return response
        slug = data.linkedin_slug(url) or data.slugify(url)
        if data.is_not_found(self.name, slug, trigger):
            return json_response({"found": False, "phone": None})
        return json_response({"found": True, "phone": data.person_from_slug(slug).phone_e164})

    async def email(self, request: Request) -> Response:
        body, error = await self._body(request)
        if error:
            return error
        url = text_field(body, "person_linkedin_url")
        if not url:
            return self.invalid("person_linkedin_url is required")
        trigger = data.trigger_of(url)
        if response := self.trigger_response(trigger):
            return response
        slug = data.linkedin_slug(url) or data.slugify(url)
        if data.is_not_found(self.name, "email:" + slug, trigger):
            return json_response({"found": False, "email": None, "all_emails": []})
        p = data.person_from_slug(slug)
        company = data.company(p.domain)
        entry = {
            "email": p.email,
            "job_order_in_profile": 1,
            "company_linkedin_url": company.linkedin_url,
            "email_domain": p.domain,
        }
        return json_response({"found": True, "email": p.email, "all_emails": [entry]})

    async def linkedin_to_domain(self, request: Request) -> Response:
        body, error = await self._body(request)
        if error:
            return error
        url = text_field(body, "company_linkedin_url")
        if not url or not data.linkedin_slug(url):
            return self.invalid("company_linkedin_url is required")
        trigger = data.trigger_of(url)
        if response := self.trigger_response(trigger):
            return response
        if data.is_not_found(self.name, data.company_key(url), trigger):
            return json_response({"found": False, "email_domain": None})
        return json_response({"found": True, "email_domain": data.company(url).domain})

    async def email_to_person(self, request: Request) -> Response:
        body, error = await self._body(request)
        if error:
            return error
        email = text_field(body, "email")
        if not email or "@" not in email:
            return self.invalid("email is required")
        trigger = data.trigger_of(email)
        if response := self.trigger_response(trigger):
            return response
        person = data.person_from_email(email)
        if data.is_not_found(self.name, "person:" + person.linkedin_slug, trigger):
            return json_response({"found": False, "person": None})
        return json_response({"found": True, "person": self._person(person, data.company(person.domain))})

    async def key_info(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        return json_response(
            {
                "valid": True,
                "id": "key_sandbox",
                "remaining_credits": 100_000,
                "next_reset_at": iso_now(30 * 86400),
                "max_requests_per_seconds": 5,
                "allowed_apis": [e.path for e in self.endpoints()],
                "active_plans": [{"name": "Sandbox", "status": "active", "started_at": "2025-01-01T00:00:00.000Z"}],
            }
        )

    # --- search ---------------------------------------------------------------------------------

    def _page_args(self, body: dict[str, Any], query_key: str) -> tuple[int, int] | Response:
        """(offset, max_results) from `max_results` and the opaque `cursor`."""
        size = body.get("max_results", DEFAULT_MAX_RESULTS)
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_RESULTS:
            return self.invalid(f"max_results must be an integer from 1 to {MAX_RESULTS}")
        cursor = body.get("cursor")
        if cursor in (None, ""):
            return 0, size
        offset = _decode_cursor(cursor, query_key)
        if offset is None:
            return self.invalid("cursor is not valid for this search")
        return offset, size

    async def search_companies(self, request: Request) -> Response:
        body, error = await self._body(request)
        if error:
            return error
        assert body is not None
        if not isinstance(body.get("company"), dict):
            return self.invalid("company filter is required")
        query = search.parse(body.get("company"))
        paging = self._page_args(body, query.key)
        if isinstance(paging, Response):
            return paging
        if response := self.trigger_response(query.trigger):
            return response
        offset, size = paging
        total = search.company_total(self.name, query)
        rows = [self._company(c) for c in search.companies(self.name, query, offset, size)]
        return json_response(_page(total, rows, size, offset, query.key))

    async def search_people(self, request: Request) -> Response:
        body, error = await self._body(request)
        if error:
            return error
        assert body is not None
        filters = {k: body[k] for k in ("company", "people") if isinstance(body.get(k), dict)}
        if not filters:
            return self.invalid("a company or people filter is required")
        query = search.parse(filters)
        paging = self._page_args(body, query.key)
        if isinstance(paging, Response):
            return paging
        if response := self.trigger_response(query.trigger):
            return response
        offset, size = paging
        total = search.people_total(self.name, query)
        rows = [self._person(p, c) for p, c in search.people(self.name, query, offset, size)]
        return json_response(_page(total, rows, size, offset, query.key))

    async def employee_finder(self, request: Request) -> Response:
        body, error = await self._body(request)
        if error:
            return error
        assert body is not None
        url = text_field(body, "company_linkedin_url")
        if not url or not data.linkedin_slug(url):
            return self.invalid("company_linkedin_url is required")
        size = body.get("max_results", DEFAULT_MAX_RESULTS)
        page = body.get("page", 1)
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in (size, page)) or size > MAX_RESULTS:
            return self.invalid("max_results and page must be positive integers")
        query = search.Query(key=data.search_key(url), domains=[data.domain_for(url)], trigger=data.trigger_of(url))
        if response := self.trigger_response(query.trigger):
            return response
        total = search.people_total(self.name, query)
        rows = search.people(self.name, query, (page - 1) * size, size)
        return json_response(
            {
                "company_linkedin_url": url,
                "max_results": size,
                "results_length": len(rows),
                "page": page,
                "total_pages": page_count(total, size),
                "results": [self._person(p, c) for p, c in rows],
            }
        )

    # --- shapes ---------------------------------------------------------------------------------

    @staticmethod
    def _company(c: data.Company) -> dict[str, Any]:
        return {
            "linkedin_url": c.linkedin_url,
            "linkedin_id": c.linkedin_id,
            "name": c.name,
            "about": c.description,
            "specialties": [c.industry],
            "industry": c.industry,
            "type": c.company_type.replace("-", " ").title(),
            "size": c.employee_range,
            "employees_on_linkedin": max(1, c.employee_count * 7 // 10),
            "followers": c.followers,
            "founded_year": c.founded_year,
            "hq": {
                "city": c.city,
                "state": c.state,
                "postcode": c.postal_code,
                "country_code": c.country_code,
                "country_name": c.country,
                "region": c.state,
                "continent": c.continent,
                "street": c.street,
            },
            "domain": c.domain,
            "website": c.website,
        }

    @staticmethod
    def _person(p: data.Person, c: data.Company) -> dict[str, Any]:
        return {
            "first_name": p.first_name,
            "last_name": p.last_name,
            "full_name": p.full_name,
            "headline": f"{p.title} at {c.name}",
            "about_me": None,
            "location": {
                "city": p.city,
                "state_code": p.state_code,
                "country_code": p.country_code,
                "continent": p.continent,
            },
            "linkedin_url": p.linkedin_url,
            "connections_count": p.connections,
            "profile_picture_url": None,
            "experiences": [
                {
                    "job_title": p.title,
                    "company_name": c.name,
                    "company_linkedin_url": c.linkedin_url,
                    "company_domain": c.domain,
                    "job_start_date": f"{2015 + data.digest('start', p.linkedin_slug) % 10}-01-01",
                    "job_end_date": None,
                    "job_is_current": True,
                }
            ],
            "education": [],
            "skills": [],
        }


def _page(total: int, rows: list[dict[str, Any]], size: int, offset: int, query_key: str) -> dict[str, Any]:
    following = offset + len(rows)
    cursor = _encode_cursor(following, query_key) if rows and following < total else None
    return {
        "total_results": total,
        "results": rows,
        "results_length": len(rows),
        "max_results": size,
        "cursor": cursor,
    }


def _encode_cursor(offset: int, query_key: str) -> str:
    raw = json.dumps({"o": offset, "q": data.digest("cursor", query_key) % 1_000_000_007})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: Any, query_key: str) -> int | None:
    if not isinstance(cursor, str):
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset, check = raw["o"], raw["q"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(offset, int) or offset < 0 or check != data.digest("cursor", query_key) % 1_000_000_007:
        return None
    return offset
