"""LeadMagic: email finder, mobile finder and company search (docs/providers.md §2).

Every call is a synchronous `POST` with a JSON body and the header `X-API-Key` (§2). Errors are
RFC 9457 problem bodies `{"success": false, "errors": [{"code", ...}], "meta": {...}}` (§2.4):
401/402/403/429/5xx are left to the HTTP layer (typed errors; 429 and 5xx retried); 400 is read
here so the vendor's `errors[0].code` is kept; 404 means "not found" on company search only.
"""

import functools
import re
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from app.contracts.entities import CompanyInput, PersonInput
from app.contracts.normalize import normalize_domain, normalize_email, normalize_linkedin_url
from app.providers._resolve import same_name
from app.providers.base import (
    Action,
    ActionContext,
    ActionResult,
    ActionRun,
    AttemptStatus,
    Price,
    failed,
    found,
    not_found,
)

NAME = "leadmagic"
BASE_URL = "https://api.leadmagic.io"
# §2 documents no latency; the calls are synchronous lookups (the email finder probes mail servers)
TIMEOUT_SECONDS = 30.0

EMAIL_FINDER = "/v1/people/email-finder"
MOBILE_FINDER = "/v1/people/mobile-finder"
COMPANY_SEARCH = "/v1/companies/company-search"
B2B_PROFILE = "/v1/people/b2b-profile"
PROFILE_SEARCH = "/v1/people/profile-search"

# §2.1: valid, valid_catch_all and catch_all carry an email (the engine verifies it afterwards);
# not_found carries none
EMAIL_FOUND_STATUSES = frozenset({"valid", "valid_catch_all", "catch_all"})
EMAIL_NOT_FOUND = "not_found"
# §2.4: the 404 codes that mean "no such company" on company search
COMPANY_NOT_FOUND_CODES = frozenset({"resource_not_found", "profile_not_found"})
# §2.3: the message value the spec defines for a company that is not found
COMPANY_NOT_FOUND_MESSAGE = "company not found"
LINKEDIN_COMPANY = "https://www.linkedin.com/company/"
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_%.-]*$")
_PHONE_DIGITS = re.compile(r"^\+?\d{6,15}$")


def _headers(ctx: ActionContext) -> dict[str, str]:
    return {"X-API-Key": ctx.client.api_key or ""}


def _problem(body: Any) -> tuple[str, str] | None:
    """(code, message) of an RFC 9457 error body (§2.4), or None when the body is not an error."""
    if not isinstance(body, dict) or not (body.get("success") is False or body.get("errors")):
        return None
    errors = body.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    code = str(first.get("code") or "error")
    message = str(first.get("detail") or first.get("title") or body.get("message") or code)
    return code, message


def _error(body: Any, http_status: int) -> ActionResult:
    problem = _problem(body)
    if problem is None:
        return failed(f"HTTP {http_status}", http_status=http_status, provider_status=None, raw=body)
    code, message = problem
    return failed(message, http_status=http_status, provider_status=code, raw=body)


# --- person.contact.resolve_email -----------------------------------------------------------


def email_eligible(data: BaseModel) -> str | None:
    assert isinstance(data, PersonInput)
    # §2.1: `first_name` is required unless `full_name` is given; a last name alone is not enough
    return None if (data.first_name or data.full_name) else "missing_input:first_name|full_name"


def _email_request(data: PersonInput) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if data.first_name:
        body["first_name"], body["last_name"] = data.first_name, data.last_name
    else:
        body["full_name"] = data.full_name
    # §2.1: domain is the more accurate key; company_name is the alternative
    if data.company_domain:
        body["domain"] = data.company_domain
    if data.company_name:
        body["company_name"] = data.company_name
    return {k: v for k, v in body.items() if v}


def reported_cost(run: ActionRun) -> ActionRun:
    """The action with the cost LeadMagic reports in the answer (`credits_consumed` [§2.1-2.3, L2])
    as the call's cost; an answer without it falls back to the documented `PRICES`."""

    @functools.wraps(run)
    async def priced(data: BaseModel, ctx: ActionContext[Any]) -> ActionResult:
        result = await run(data, ctx)
        consumed = result.raw.get("credits_consumed") if isinstance(result.raw, dict) else None
        if isinstance(consumed, int | float) and not isinstance(consumed, bool) and consumed >= 0:
            result.cost_credits = Decimal(str(consumed))
        return result

    return priced


@reported_cost
async def resolve_email(data: BaseModel, ctx: ActionContext) -> ActionResult:
    assert isinstance(data, PersonInput)
    response = await ctx.request(
        "POST", EMAIL_FINDER, json_body=_email_request(data), headers=_headers(ctx), accept={400}
    )
    body: Any = response.json(NAME)
    if response.status_code == 400 or _problem(body) is not None:
        return _error(body, response.status_code)
    if not isinstance(body, dict):
        return failed("unexpected response shape", http_status=response.status_code, provider_status=None, raw=body)
    status = body.get("status")
    if status is not None and status not in EMAIL_FOUND_STATUSES and status != EMAIL_NOT_FOUND:
        return failed(
            f"unknown status {status!r}", http_status=response.status_code, provider_status=str(status), raw=body
        )
    provider_status = str(status) if status is not None else None
    # §2.1 adapter rule: an empty email or status not_found both mean "not found"
    if status == EMAIL_NOT_FOUND or not body.get("email"):
        return not_found(http_status=response.status_code, provider_status=provider_status, raw=body)
    email = normalize_email(str(body["email"]))
    if email is None:
        return failed(
            "the provider returned an invalid email",
            http_status=response.status_code,
            provider_status=provider_status,
            raw=body,
        )
    # LeadMagic's `status` is its own certainty for the address (valid > valid_catch_all > catch_all)
    output = {"work_email": email, "email_confidence": provider_status, "email_verdict": None, "email_source": NAME}
    return found(output, http_status=response.status_code, provider_status=provider_status, raw=body)


# --- person.contact.resolve_mobile_phone ----------------------------------------------------


def _mobile_request(data: PersonInput) -> dict[str, Any]:
    # §2.2: any of profile_url, work_email, personal_email. Adapter rule (the canonical input has
    # no "personal" email): `work_email` goes as work_email, the generic `email` as personal_email.
    body: dict[str, Any] = {}
    if data.linkedin_url:
        body["profile_url"] = data.linkedin_url
    if data.work_email:
        body["work_email"] = data.work_email
    if data.email and data.email != data.work_email:
        body["personal_email"] = data.email
    return body


def normalize_phone(value: str) -> str:
    """`12077523358` → `+12077523358`. §2.2: the number comes as digits only, country code first;
    anything that is not a plain run of digits is kept as received."""
    compact = re.sub(r"[\s().-]", "", value)
    if _PHONE_DIGITS.match(compact):
        return "+" + compact.lstrip("+")
    return value.strip()


@reported_cost
async def resolve_mobile_phone(data: BaseModel, ctx: ActionContext) -> ActionResult:
    assert isinstance(data, PersonInput)
    response = await ctx.request(
        "POST", MOBILE_FINDER, json_body=_mobile_request(data), headers=_headers(ctx), accept={400}
    )
    body: Any = response.json(NAME)
    if response.status_code == 400 or _problem(body) is not None:
        return _error(body, response.status_code)
    if not isinstance(body, dict) or "mobile_number" not in body:
        return failed("unexpected response shape", http_status=response.status_code, provider_status=None, raw=body)
    # §2.2: no status field; `message` is one of two documented values, kept as the provider's code
    message = str(body["message"]) if body.get("message") is not None else None
    number = body.get("mobile_number")
    # §2.2: "not found" is HTTP 200 with mobile_number null (and credits_consumed 0)
    if not number or not str(number).strip():
        return not_found(http_status=response.status_code, provider_status=message, raw=body)
    output = {"mobile_phone": normalize_phone(str(number)), "phone_source": NAME}
    return found(output, http_status=response.status_code, provider_status=message, raw=body)


# --- company.enrich.profile -----------------------------------------------------------------


def _company_request(data: CompanyInput) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if data.best_domain:
        body["company_domain"] = data.best_domain
    if data.linkedin_url:
        body["profile_url"] = data.linkedin_url
    if data.name:
        body["company_name"] = data.name
    return body


def _linkedin(body: dict[str, Any]) -> str | None:
    # §2.3: `b2b_profile_url` is a slug in the vendor example; the URL is built from it (adapter
    # rule). A full URL there is accepted too. What `url` holds is UNCONFIRMED: used only when it is
    # a LinkedIn URL.
    value = body.get("b2b_profile_url")
    if isinstance(value, str) and value.strip():
        text = value.strip()
        url = normalize_linkedin_url(text)
        if url is None and _SLUG.match(text) and "." not in text:
            url = normalize_linkedin_url(LINKEDIN_COMPANY + text)
        if url is not None:
            return url
    other = body.get("url")
    return normalize_linkedin_url(other) if isinstance(other, str) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _first(body: dict[str, Any], *keys: str) -> Any:
    """The first of `keys` present with a value: the company answer is documented in two casings
    (§2.3) — camelCase on the docs page (L1, L3), snake_case in the vendor's OpenAPI file and MCP
    server (L2 `DetailedCompany`, L7) — so every field is read under both names."""
    for key in keys:
        value = body.get(key)
        if value is not None and value != "":
            return value
    return None


def _employee_range(body: dict[str, Any]) -> str | None:
    span = _first(body, "employeeCountRange", "employee_count_range")
    if isinstance(span, dict):
        start, end = _int(span.get("start")), _int(span.get("end"))
        if start is not None and end is not None:
            return f"{start}-{end}"
        if start is not None:
            return f"{start}+"
    # `employeeRange` (docs example, L2 llms-full.txt) and `employee_range` (L2) are text already
    text = _first(body, "employeeRange", "employee_range")
    return (str(text).strip() or None) if isinstance(text, str | int) else None


_YEAR = re.compile(r"^(\d{4})(?:$|[-/])")


def _year(value: Any) -> int | None:
    """A year from an int, a "2022" string, or a date string that starts with the year."""
    if isinstance(value, dict):
        return _int(value.get("year"))
    number = _int(value)
    if number is not None:
        return number
    match = _YEAR.match(value.strip()) if isinstance(value, str) else None
    return int(match.group(1)) if match else None


def _founded(body: dict[str, Any]) -> int | None:
    # `founded_year` (string, L2 v1), `foundedOn`/`founded_on` {year} (L2), `founded` (docs example)
    for key in ("founded_year", "foundedOn", "founded_on", "founded"):
        year = _year(body.get(key))
        if year is not None and 1000 <= year <= 9999:
            return year
    return None


def _headquarters(body: dict[str, Any]) -> dict[str, Any]:
    """`headquarter{…}` (L2 v1), `headquarters{…}` (docs example), else the entry of `locations[]`
    flagged `headquarter: true` (L2 `DetailedCompany`, L7)."""
    for key in ("headquarter", "headquarters"):
        if isinstance(body.get(key), dict):
            return body[key]
    locations = body.get("locations")
    if isinstance(locations, list):
        for place in locations:
            if isinstance(place, dict) and place.get("headquarter") is True:
                return place
    return {}


def _str(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def company_profile(body: dict[str, Any]) -> dict[str, Any]:
    """Canonical CompanyProfile from the company-search answer, in either casing (§2.3)."""
    hq = _headquarters(body)
    website = _str(_first(body, "websiteUrl", "website_url"))
    return {
        "name": _company_name(body),
        "domain": normalize_domain(website),
        "website": website,
        "linkedin_url": _linkedin(body),
        "industry": _str(body.get("industry")),
        "employee_count": _int(_first(body, "employeeCount", "employee_count")),
        "employee_range": _employee_range(body),
        "founded_year": _founded(body),
        "description": _str(body.get("description")),
        "hq_city": _str(hq.get("city")),
        "hq_region": _str(_first(hq, "geographicArea", "geographic_area")),
        "hq_country": _str(hq.get("country")),
        "logo_url": _str(body.get("logo_url")),
        "profile_source": NAME,
    }


def _company_name(body: dict[str, Any]) -> str | None:
    return _str(_first(body, "companyName", "company_name"))


@reported_cost
async def enrich_company(data: BaseModel, ctx: ActionContext) -> ActionResult:
    assert isinstance(data, CompanyInput)
    response = await ctx.request(
        "POST", COMPANY_SEARCH, json_body=_company_request(data), headers=_headers(ctx), accept={400, 404}
    )
    body: Any = response.json(NAME)
    problem = _problem(body)
    if response.status_code == 404:
        # §2.3/§2.4: whether "not found" comes as 404 or as 200 is UNCONFIRMED; both are handled
        if problem is not None and problem[0] in COMPANY_NOT_FOUND_CODES:
            return not_found(http_status=404, provider_status=problem[0], raw=body)
        return _error(body, 404)
    if response.status_code == 400 or problem is not None:
        return _error(body, response.status_code)
    if not isinstance(body, dict):
        return failed("unexpected response shape", http_status=response.status_code, provider_status=None, raw=body)
    message = str(body["message"]) if body.get("message") is not None else None
    if not _company_name(body):
        # §2.3 adapter rule: no company name (either casing) with no credits spent (or the message "Company not
        # found") is "not found"; a charged answer without a company is not understood
        if (message or "").strip().lower() == COMPANY_NOT_FOUND_MESSAGE or not body.get("credits_consumed"):
            return not_found(http_status=response.status_code, provider_status=message, raw=body)
        return failed(
            "charged answer without a company", http_status=response.status_code, provider_status=message, raw=body
        )
    return found(company_profile(body), http_status=response.status_code, provider_status=message, raw=body)


# LeadMagic reports each call's cost in `credits_consumed` (docs/providers.md §2.1-2.3 [L1, L2, L5]);
# the documented prices stand in when an answer lacks it: email 1 credit when found, mobile 5 per
# number found, company 1 when found, and nothing charged for "not found" [L1, L5, SP §2].
PRICES = {
    "person.contact.resolve_email": Price(
        found=Decimal(1), not_found=Decimal(0), reported=True, source="docs/providers.md §2.1 [L1]"
    ),
    "person.contact.resolve_mobile_phone": Price(
        found=Decimal(5), not_found=Decimal(0), reported=True, source="docs/providers.md §2.2 [L2, L5]"
    ),
    "company.enrich.profile": Price(
        found=Decimal(1), not_found=Decimal(0), reported=True, source="docs/providers.md §2.3 [L2, SP]"
    ),
    # resolution and profile (docs/providers.md §15.3): the reported credits_consumed is the cost
    "company.resolve.domain_from_name": Price(
        found=Decimal(1), not_found=None, reported=True, source="docs/providers.md §15.3 [L2]"
    ),
    "company.resolve.domain_from_linkedin": Price(
        found=Decimal(1), not_found=None, reported=True, source="docs/providers.md §15.3 [L2]"
    ),
    "company.resolve.linkedin_from_domain": Price(
        found=Decimal(1), not_found=None, reported=True, source="docs/providers.md §15.3 [L2]"
    ),
    "person.resolve.linkedin_from_email": Price(
        found=Decimal(10), not_found=Decimal(0), reported=True, source="docs/providers.md §15.3 [L2]"
    ),
    "person.enrich.profile": Price(
        found=Decimal(1), not_found=None, reported=True, source="docs/providers.md §15.3 [L2]"
    ),
}
# --- catalog growth, part 1: resolution and person profile (issue 13) -------------------------


def _company_answer(result: ActionResult, output: dict[str, Any] | None) -> ActionResult:
    """The company search's answer turned into a resolution's: not_found when the company it found
    lacks the field asked for (`output` None)."""
    if result.status is not AttemptStatus.found:
        return result
    if output is None:
        return not_found(http_status=result.http_status, provider_status="field_missing", raw=result.raw)
    return found(output, http_status=result.http_status, provider_status=result.provider_status, raw=result.raw)


@reported_cost
async def domain_from_linkedin(data: BaseModel, ctx: ActionContext) -> ActionResult:
    """Company search by `profile_url` [§2.3], read `websiteUrl`/`website_url`."""
    assert isinstance(data, CompanyInput)
    result = await enrich_company(CompanyInput(linkedin_url=data.linkedin_url), ctx)
    domain = (result.output or {}).get("domain")
    return _company_answer(result, {"domain": domain, "domain_source": NAME} if domain else None)


@reported_cost
async def linkedin_from_domain(data: BaseModel, ctx: ActionContext) -> ActionResult:
    """Company search by `company_domain` [§2.3], read `b2b_profile_url` as for the profile."""
    assert isinstance(data, CompanyInput)
    result = await enrich_company(CompanyInput(domain=data.best_domain), ctx)
    url = (result.output or {}).get("linkedin_url")
    return _company_answer(result, {"linkedin_url": url, "linkedin_source": NAME} if url else None)


@reported_cost
async def domain_from_name(data: BaseModel, ctx: ActionContext) -> ActionResult:
    """Company search by `company_name` [§2.3]; the company found must be named exactly as asked
    (docs/decisions/0065). Charged 1 credit when a company is found, even one refused here."""
    assert isinstance(data, CompanyInput)
    result = await enrich_company(CompanyInput(name=data.name), ctx)
    profile = result.output or {}
    if result.status is AttemptStatus.found and not same_name(data.name, profile.get("name")):
        return not_found(http_status=result.http_status, provider_status="no_exact_match", raw=result.raw)
    domain = profile.get("domain")
    return _company_answer(result, {"domain": domain, "domain_source": NAME} if domain else None)


def _person_answer(response: Any, body: Any) -> ActionResult | None:
    """not_found/failed for a people lookup that gave no data; None for a 200 answer to read. A 404
    with `resource_not_found`/`profile_not_found` is not_found [§2.4]; whether a miss comes as that
    404 or as 200 without the field is UNCONFIRMED, so both are read."""
    problem = _problem(body)
    if response.status_code == 404:
        if problem is not None and problem[0] in COMPANY_NOT_FOUND_CODES:
            return not_found(http_status=404, provider_status=problem[0], raw=body)
        return _error(body, 404)
    if response.status_code == 400 or problem is not None:
        return _error(body, response.status_code)
    if not isinstance(body, dict):
        return failed("unexpected response shape", http_status=response.status_code, provider_status=None, raw=body)
    return None


def eligible_email(data: BaseModel) -> str | None:
    assert isinstance(data, PersonInput)
    return None if data.best_email else "missing_input:work_email|email"


@reported_cost
async def linkedin_from_email(data: BaseModel, ctx: ActionContext) -> ActionResult:
    """`POST /v1/people/b2b-profile` `{work_email}` → `{profile_url, message, credits_consumed}`
    (10 credits, free when not found) [L2 `emailToProfile`, SP §2.4]."""
    assert isinstance(data, PersonInput)
    response = await ctx.request(
        "POST", B2B_PROFILE, json_body={"work_email": data.best_email}, headers=_headers(ctx), accept={400, 404}
    )
    body: Any = response.json(NAME)
    if (answer := _person_answer(response, body)) is not None:
        return answer
    message = str(body["message"]) if body.get("message") is not None else None
    url = normalize_linkedin_url(_str(body.get("profile_url")))
    if url is None:
        return not_found(http_status=response.status_code, provider_status=message, raw=body)
    output = {"linkedin_url": url, "linkedin_source": NAME}
    return found(output, http_status=response.status_code, provider_status=message, raw=body)


def eligible_profile(data: BaseModel) -> str | None:
    assert isinstance(data, PersonInput)
    return None if data.linkedin_url else "missing_input:linkedin_url"


@reported_cost
async def enrich_person(data: BaseModel, ctx: ActionContext) -> ActionResult:
    """`POST /v1/people/profile-search` `{profile_url}` → `PersonProfile` [L2]: `full_name`,
    `first_name`, `last_name`, `company_name`, `company_website`, `company_linkedin_url`,
    `location`, `experiences[{title, subtitle, caption}]`. The title is `professional_title` (L2
    llms-full.txt), else the first experience's `title` (that it is the current job is UNCONFIRMED);
    the headline is never taken for the title. No seniority is documented."""
    assert isinstance(data, PersonInput)
    response = await ctx.request(
        "POST", PROFILE_SEARCH, json_body={"profile_url": data.linkedin_url}, headers=_headers(ctx), accept={400, 404}
    )
    body: Any = response.json(NAME)
    if (answer := _person_answer(response, body)) is not None:
        return answer
    message = str(body["message"]) if body.get("message") is not None else None
    experiences = [e for e in body.get("experiences") or [] if isinstance(e, dict)]
    title = _str(body.get("professional_title")) or (_str(experiences[0].get("title")) if experiences else None)
    output = {
        "full_name": _str(body.get("full_name")),
        "first_name": _str(body.get("first_name")),
        "last_name": _str(body.get("last_name")),
        "title": title,
        "company_name": _str(body.get("company_name")),
        "company_domain": normalize_domain(_str(body.get("company_website"))),
        "company_linkedin_url": normalize_linkedin_url(_str(body.get("company_linkedin_url"))),
        "location": _str(body.get("location")),
        "linkedin_url": normalize_linkedin_url(_str(body.get("profile_url"))) or data.linkedin_url,
        "profile_source": NAME,
    }
    if not (output["full_name"] or output["first_name"]):
        # an answer without a person: a miss when nothing was charged, else not understood (as §2.3)
        if not body.get("credits_consumed"):
            return not_found(http_status=response.status_code, provider_status=message, raw=body)
        return failed(
            "charged answer without a person", http_status=response.status_code, provider_status=message, raw=body
        )
    return found(output, http_status=response.status_code, provider_status=message, raw=body)


ACTIONS = {
    "person.contact.resolve_email": Action(
        provider=NAME, name="resolve_email", run=resolve_email, eligible=email_eligible
    ),
    "person.contact.resolve_mobile_phone": Action(provider=NAME, name="resolve_mobile_phone", run=resolve_mobile_phone),
    "company.enrich.profile": Action(provider=NAME, name="profile", run=enrich_company),
    "company.resolve.domain_from_name": Action(provider=NAME, name="domain_from_name", run=domain_from_name),
    "company.resolve.domain_from_linkedin": Action(
        provider=NAME, name="domain_from_linkedin", run=domain_from_linkedin
    ),
    "company.resolve.linkedin_from_domain": Action(
        provider=NAME, name="linkedin_from_domain", run=linkedin_from_domain
    ),
    "person.resolve.linkedin_from_email": Action(
        provider=NAME, name="linkedin_from_email", run=linkedin_from_email, eligible=eligible_email
    ),
    "person.enrich.profile": Action(provider=NAME, name="profile", run=enrich_person, eligible=eligible_profile),
}
