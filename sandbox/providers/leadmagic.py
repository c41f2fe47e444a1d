"""LeadMagic (docs/providers.md §2, §13.2): email finder, mobile finder, company search.

Auth is the header `X-API-Key`. Errors are RFC 9457 problem+json bodies.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox import VALID_KEY, data
from sandbox.providers.base import Endpoint, Provider, iso_now, json_response, read_json, text_field

PROBLEM_TYPE = "application/problem+json"
EMAIL_STATUSES = ("valid",) * 17 + ("valid_catch_all",) * 2 + ("catch_all",)


class LeadMagic(Provider):
    name = "leadmagic"

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint("POST", "/v1/people/email-finder", self.email_finder),
            Endpoint("POST", "/v1/people/mobile-finder", self.mobile_finder),
            Endpoint("POST", "/v1/companies/company-search", self.company_search),
            Endpoint("POST", "/v1/people/b2b-profile", self.b2b_profile),
            Endpoint("POST", "/v1/people/profile-search", self.profile_search),
        ]

    def problem(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> Response:
        error: dict[str, Any] = {
            "type": f"https://leadmagic.io/docs/errors/{code.replace('_', '-').lower()}",
            "title": title,
            "status": status,
            "code": code,
        }
        if detail:
            error["detail"] = detail
        error.update(extra)
        body = {
            "success": False,
            "errors": [error],
            "meta": {"request_id": "req_" + self.runtime.new_id("leadmagic-req", 20), "timestamp": iso_now()},
        }
        return json_response(body, status, headers, PROBLEM_TYPE)

    def server_error(self, status: int) -> Response:
        if status == 503:
            return self.problem(503, "service_unavailable", "Service Unavailable", "Please retry shortly.")
        return self.problem(500, "INTERNAL_ERROR", "Internal Server Error", "Please wait 30 seconds and retry.")

    def too_many_requests(self, retry_after: float) -> Response:
        seconds = max(1, math.ceil(retry_after))
        return self.problem(
            429,
            "rate_limit_exceeded",
            "Too Many Requests",
            "Rate limit exceeded for this endpoint.",
            headers={"Retry-After": str(seconds)},
            context={"retry_after_seconds": seconds},
        )

    def no_credit(self) -> Response:
        return self.problem(
            402,
            "insufficient_credits",
            "Payment Required",
            "Not enough credits for this request.",
            context={"credits_required": 1, "credits_available": 0},
        )

    async def _body(self, request: Request) -> tuple[dict[str, Any] | None, Response | None]:
        key = request.headers.get("x-api-key")
        if key is None:
            return None, self.problem(401, "missing_authentication", "Unauthorized", "Send your key in X-API-Key.")
        if key != VALID_KEY:
            return None, self.problem(401, "invalid_api_key", "Unauthorized", "The API key is not valid.")
        body, ok = await read_json(request)
        if not ok or not isinstance(body, dict):
            return None, self.problem(400, "invalid_json", "Bad Request", "The body is not a JSON object.")
        return body, None

    def _missing(self, *params: str) -> Response:
        return self.problem(
            400,
            "missing_required_field",
            "Bad Request",
            f"One of {', '.join(params)} is required.",
            param=list(params),
        )

    # --- handlers -------------------------------------------------------------------------------

    async def email_finder(self, request: Request) -> Response:
        body, error = await self._body(request)
        if error:
            return error
        assert body is not None
        first, last = text_field(body, "first_name"), text_field(body, "last_name")
        full = text_field(body, "full_name")
        if full and not first:
            first, last = data.split_full_name(full)
        domain = data.norm_domain(text_field(body, "domain"))
        company_name = text_field(body, "company_name")
        if not first:
            return self._missing("first_name", "full_name")
        if not domain and not company_name:
            return self._missing("domain", "company_name")
        target = domain or company_name
        trigger = data.trigger_of(first, last, target)
        if response := self.trigger_response(trigger):
            return response
        key = data.person_key(first, last, target)
        if data.is_not_found(self.name, key, trigger):
            return json_response(
                {
                    "email": None,
                    "status": "not_found",
                    "credits_consumed": 0,
                    "message": "No email found for this person at this company.",
                },
                headers={"X-Credits-Cost": "0"},
            )
        person = data.person(first, last, target)
        company = data.company(person.domain)
        return json_response(
            {
                "email": person.email,
                "status": data.pick(EMAIL_STATUSES, "lm-status", key),
                "credits_consumed": 1,
                "message": "Valid email found.",
                "first_name": person.first_name,
                "last_name": person.last_name,
                "domain": person.domain,
                "mx_record": f"aspmx.l.google.com ({person.domain})",
                "mx_provider": "Google",
                "mx_security_gateway": False,
                "has_mx": True,
                "mx_records_full": [{"priority": 1, "exchange": "aspmx.l.google.com"}],
                "company_name": company_name or company.name,
                "company_industry": company.industry,
                "company_size": company.employee_range,
                "company_founded": company.founded_year,
                "company_location": {
                    "name": f"{company.city}, {company.state}, {company.country}",
                    "locality": company.city,
                    "region": company.state,
                    "metro": company.city,
                    "country": company.country,
                    "continent": company.continent,
                    "street_address": company.street,
                    "address_line_2": None,
                    "postal_code": company.postal_code,
                    "geo": None,
                },
                "company_profile_url": company.linkedin_url,
                "company_profile_id": str(company.linkedin_id),
                "company_facebook_url": f"https://www.facebook.com/{company.key}",
                "company_twitter_url": f"https://twitter.com/{company.key}",
                "company_type": company.company_type,
                "employment_verified": True,
            },
            headers={"X-Credits-Cost": "1"},
        )

    async def mobile_finder(self, request: Request) -> Response:
        body, error = await self._body(request)
        if error:
            return error
        assert body is not None
        profile_url = text_field(body, "profile_url")
        work_email = text_field(body, "work_email")
        personal_email = text_field(body, "personal_email")
        if not (profile_url or work_email or personal_email):
            return self._missing("profile_url", "work_email", "personal_email")
        trigger = data.trigger_of(profile_url, work_email, personal_email)
        if response := self.trigger_response(trigger):
            return response
        slug = data.linkedin_slug(profile_url) or data.slugify(profile_url)
        key = slug or (work_email or personal_email).lower()
        email = work_email or personal_email or None
        if data.is_not_found(self.name, key, trigger):
            return json_response(
                {
                    "profile_url": profile_url or None,
                    "email": email,
                    "mobile_number": None,
                    "credits_consumed": 0,
                    "message": "No mobile number found for this contact.",
                },
                headers={"X-Credits-Cost": "0"},
            )
        if slug:
            person = data.person_from_slug(slug)
        else:
            local, _, domain = (email or "").lower().partition("@")
            first, _, last = local.replace("_", ".").partition(".")
            person = data.person(first or local, last, domain)
        return json_response(
            {
                "profile_url": profile_url or None,
                "email": email,
                "mobile_number": person.mobile_digits,
                "credits_consumed": 5,
                "message": "Mobile number found.",
            },
            headers={"X-Credits-Cost": "5"},
        )

    async def b2b_profile(self, request: Request) -> Response:
        """Email → profile URL (10 credits, free when not found; docs/providers.md §2)."""
        body, error = await self._body(request)
        if error:
            return error
        email = text_field(body, "work_email")
        if not email:
            return self._missing("work_email")
        trigger = data.trigger_of(email)
        if response := self.trigger_response(trigger):
            return response
        person = data.person_from_email(email)
        if data.is_not_found(self.name, "b2b:" + person.linkedin_slug, trigger):
            return json_response({"profile_url": None, "message": "Profile URL not found", "credits_consumed": 0})
        return json_response(
            {"profile_url": person.linkedin_url, "message": "Profile URL found", "credits_consumed": 10}
        )

    async def profile_search(self, request: Request) -> Response:
        """Profile URL → `PersonProfile` (docs/providers.md §2); a miss is the 404 problem body."""
        body, error = await self._body(request)
        if error:
            return error
        url = text_field(body, "profile_url")
        if not url:
            return self._missing("profile_url")
        trigger = data.trigger_of(url)
        if response := self.trigger_response(trigger):
            return response
        slug = data.linkedin_slug(url) or data.slugify(url)
        if data.is_not_found(self.name, "profile:" + slug, trigger):
            return self.problem(404, "profile_not_found", "Not Found", "No profile for this URL.")
        person = data.person_from_slug(slug)
        company = data.company(person.domain)
        return json_response(
            {
                "profile_url": person.linkedin_url,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "full_name": person.full_name,
                "public_identifier": person.linkedin_slug,
                "headline": f"{person.title} at {company.name}",
                "professional_title": person.title,
                "company_name": company.name,
                "company_website": company.domain,
                "company_linkedin_url": company.linkedin_url,
                "location": f"{person.city}, {person.state_code}",
                "experiences": [{"title": person.title, "subtitle": company.name, "caption": "2020 - Present"}],
                "credits_consumed": 1,
            }
        )

    async def company_search(self, request: Request) -> Response:
        body, error = await self._body(request)
        if error:
            return error
        assert body is not None
        domain = text_field(body, "company_domain")
        profile_url = text_field(body, "profile_url")
        name = text_field(body, "company_name")
        if not (domain or profile_url or name):
            return self._missing("company_domain", "profile_url", "company_name")
        if domain:
            identifier = domain
        elif profile_url:  # a company LinkedIn URL or its bare slug
            lowered = profile_url.lower()
            identifier = profile_url if "linkedin.com" in lowered else f"https://www.linkedin.com/company/{lowered}"
        else:
            identifier = name
        trigger = data.trigger_of(domain, profile_url, name)
        if response := self.trigger_response(trigger):
            return response
        key = data.company_key(identifier)
        if data.is_not_found(self.name, key, trigger):
            return self.problem(404, "resource_not_found", "Not Found", "Company not found")
        c = data.company(identifier)
        hq = {
            "country": c.country_code,
            "city": c.city,
            "geographicArea": c.state,
            "postalCode": c.postal_code,
            "line1": c.street,
            "line2": None,
            "description": "Headquarters",
        }
        if data.digest("leadmagic-casing", key) % 2:
            # the other documented casing: the OpenAPI file's snake_case `DetailedCompany`
            # (github.com/LeadMagic/leadmagic-openapi, also the vendor's MCP server); adapters must
            # read both (docs/providers.md §2.3)
            return json_response(
                {
                    "credits_consumed": 1,
                    "company_name": c.name,
                    "company_id": c.linkedin_id,
                    "locations": [
                        {
                            "country": c.country_code,
                            "city": c.city,
                            "geographic_area": c.state,
                            "postal_code": c.postal_code,
                            "line1": c.street,
                            "line2": None,
                            "description": "Headquarters",
                            "headquarter": True,
                            "localized_name": c.city,
                        }
                    ],
                    "employee_count": c.employee_count,
                    "specialities": [c.industry],
                    "employee_count_range": {"start": c.employee_low, "end": c.employee_high},
                    "tagline": f"{c.name}: {c.industry.lower()}",
                    "follower_count": c.followers,
                    "industry": c.industry,
                    "description": c.description,
                    "website_url": c.website,
                    "founded_on": {"month": None, "year": c.founded_year, "day": None},
                    "universal_name": c.linkedin_slug,
                    "url": c.linkedin_url,
                },
                headers={"X-Credits-Cost": "1"},
            )
        return json_response(
            {
                "message": "Company found.",
                "credits_consumed": 1,
                "companyName": c.name,
                "companyId": c.linkedin_id,
                "locations": [
                    {**hq, "headquarter": True, "localizedName": c.city, "latitude": None, "longitude": None}
                ],
                "employeeCount": c.employee_count,
                "specialities": [c.industry],
                "employeeCountRange": {"start": c.employee_low, "end": c.employee_high},
                "tagline": f"{c.name}: {c.industry.lower()}",
                "followerCount": c.followers,
                "industry": c.industry,
                "description": c.description,
                "websiteUrl": c.website,
                "headquarter": hq,
                "foundedOn": {"month": None, "year": c.founded_year, "day": None},
                "universalName": c.linkedin_slug,
                "hashtag": None,
                "url": c.linkedin_url,
                "logo_url": c.logo_url,
                "founded_year": str(c.founded_year),
                "ownership_status": c.company_type,
                "revenue": c.revenue if c.has_revenue else None,
                "employee_range": c.employee_range,
                "twitter_url": f"https://twitter.com/{c.key}",
                "b2b_profile_url": c.linkedin_slug,
                "facebook_url": f"https://www.facebook.com/{c.key}",
                "stock_ticker": None,
            },
            headers={"X-Credits-Cost": "1"},
        )
