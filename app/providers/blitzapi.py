"""BlitzAPI: mobile phone, company enrichment and people/company search (docs/providers.md §6, §13.6).

Every call is a JSON `POST` under `/v2` with the header `x-api-key: <key>` (not `Authorization`)
[§6, B1, B4]. Enrichment answers carry `found`; `found: false` is a normal HTTP 200 miss [§6.3].
Every enrichment and search call is billable, so none is re-sent after a read timeout [§0.1.4, B4].

Company enrichment needs the company's LinkedIn URL: with only a domain, `domain-to-linkedin` runs
first, and its miss ends the attempt as not_found without the second call [§6.1, CONTRACT §8].
"""

import hashlib
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from app.contracts.entities import CompanyInput, PersonInput, SearchInput
from app.contracts.normalize import normalize_domain, normalize_linkedin_url
from app.providers._fields import as_dict as _dict
from app.providers._fields import as_int as _int
from app.providers._fields import text as _text
from app.providers._http import ProviderResponse
from app.providers._resolve import first_exact
from app.providers._search import clean, iso_countries, page_answer, skip_reason
from app.providers.base import (
    UNKNOWN_PRICE,
    Action,
    ActionContext,
    ActionResult,
    AttemptStatus,
    failed,
    found,
    not_found,
)

NAME = "blitzapi"
BASE_URL = "https://api.blitz-api.ai"
# synchronous API; docs/providers.md gives no latency figure for it
TIMEOUT_SECONDS = 30.0
PHONE_PATH = "/v2/enrichment/phone"
DOMAIN_TO_LINKEDIN_PATH = "/v2/enrichment/domain-to-linkedin"
COMPANY_PATH = "/v2/enrichment/company"
SEARCH_COMPANIES_PATH = "/v2/search/companies"
SEARCH_PEOPLE_PATH = "/v2/search/people"
KEY_INFO_PATH = "/v2/account/key-info"
LINKEDIN_TO_DOMAIN_PATH = "/v2/enrichment/linkedin-to-domain"
EMAIL_TO_PERSON_PATH = "/v2/enrichment/email-to-person"
# [B3, B4 README "rate_limit_rps=5.0", docs/CONTEXT.md §2] 5 requests/s by default, counted per
# endpoint (the key's own value is `key-info.max_requests_per_seconds`): paced per path, as the
# official SDK does
RATE_PER_SECOND = 5.0
RATE_PER_ENDPOINT = True

# [SP §6.2] `max_results` is 1–50 on company search; the same cap is assumed for people search
# (UNCONFIRMED: docs/providers.md gives no bound for it)
MAX_RESULTS = 50
# An empty page that still gives a cursor is followed (a middle page can be empty [B4]); this many
# pages at most per call, so a provider that keeps answering empty pages cannot loop us forever.
# Blitz bills per result, so an empty page costs nothing but a request.
MAX_EMPTY_PAGES = 10
# [§6.2] the people-search `job_level` values (employee-finder list); matched case-insensitively
JOB_LEVELS = {v.lower(): v for v in ("C-Team", "Director", "Manager", "Other", "Staff", "VP")}
# [§6.2, B4] CompanyFilter has no domain filter, and people search has no free-text one: a search
# that sets such a filter is skipped rather than run with the filter silently dropped.
COMPANY_SEARCH_FILTERS = frozenset({"query", "company_names", "industries", "locations", "employee_ranges"})
PERSON_SEARCH_FILTERS = frozenset(
    {"company_names", "industries", "employee_ranges", "job_titles", "seniorities", "locations"}
)

# 422 (invalid input) is classified from its body; enrichment also reads 404 [§6.3]
SEARCH_ACCEPT = frozenset({422})
ENRICH_ACCEPT = frozenset({404, 422})

# Keys (by fingerprint) that `key-info` confirmed valid in this process: a 404 is only "not found"
# for a key known to be good [§6.3].
_GOOD_KEYS: set[str] = set()


def _headers(ctx: ActionContext) -> dict[str, str]:
    return {"x-api-key": ctx.client.api_key or "", "Content-Type": "application/json"}


async def _post(
    ctx: ActionContext, path: str, body: dict[str, Any], *, accept: frozenset[int] = SEARCH_ACCEPT
) -> tuple[ProviderResponse, Any]:
    response = await ctx.request("POST", path, json_body=body, headers=_headers(ctx), accept=accept)
    return response, response.json(NAME)


def _invalid_input(response: ProviderResponse, body: Any, raw: Any) -> ActionResult:
    """422 `{"success": false, "error": {"code": "INVALID_INPUT", "message"}}` [§6.3]."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = str(error.get("code") or "INVALID_INPUT")
    return failed(
        f"{code}: {error.get('message') or 'invalid input'}",
        http_status=response.status_code,
        provider_status=code,
        raw=raw,
    )


def _fingerprint(ctx: ActionContext) -> str:
    return hashlib.sha256(f"{ctx.client.base_url} {ctx.client.api_key}".encode()).hexdigest()


async def _key_is_good(ctx: ActionContext) -> bool:
    """`GET /v2/account/key-info` (free) → `{valid, ...}` [§6.3, B3]; a positive answer is remembered."""
    if _fingerprint(ctx) in _GOOD_KEYS:
        return True
    response = await ctx.request("GET", KEY_INFO_PATH, headers=_headers(ctx), accept={401, 403, 404})
    body = response.json(NAME) if response.status_code < 300 else None
    if isinstance(body, dict) and body.get("valid") is True:
        _GOOD_KEYS.add(_fingerprint(ctx))
        return True
    return False


async def _enrichment_answer(
    ctx: ActionContext, response: ProviderResponse, body: Any, raw: Any
) -> ActionResult | None:
    """not_found/failed for a call that gave no data; None when `found` is true.

    Whether an unknown entity comes back as `200 found:false` or as 404 is UNCONFIRMED; the SDK calls
    404 "API key or resource does not exist". Adapter rule [§6.3]: 404 is not_found only when
    `key-info` says the key is valid, otherwise it is an auth failure."""
    if response.status_code == 404:
        if await _key_is_good(ctx):
            return not_found(http_status=404, provider_status="http_404", raw=raw)
        return failed(
            "HTTP 404 and key-info does not confirm the key", http_status=404, provider_status="auth_error", raw=raw
        )
    if response.status_code == 422:
        return _invalid_input(response, body, raw)
    if not isinstance(body, dict) or not isinstance(body.get("found"), bool):
        return failed("no `found` flag in the answer", http_status=response.status_code, provider_status=None, raw=raw)
    if body["found"] is False:
        return not_found(http_status=response.status_code, provider_status="found:false", raw=raw)
    return None


def _phone(value: Any) -> str | None:
    """E.164-ish `+<digits>`; the documented answers are already E.164 (`+12025550123`) [§6.1]."""
    digits = re.sub(r"\D", "", str(value or ""))
    return "+" + digits if digits else None


def eligible_phone(data: BaseModel) -> str | None:
    assert isinstance(data, PersonInput)
    # the phone route takes a person LinkedIn URL only; an email alone is not enough [§6.1]
    return None if data.linkedin_url else "missing_input:linkedin_url"


async def resolve_mobile_phone(data: BaseModel, ctx: ActionContext) -> ActionResult:
    assert isinstance(data, PersonInput)
    response, body = await _post(ctx, PHONE_PATH, {"person_linkedin_url": data.linkedin_url}, accept=ENRICH_ACCEPT)
    if (answer := await _enrichment_answer(ctx, response, body, body)) is not None:
        return answer
    phone = _phone(body.get("phone"))
    if phone is None:
        return failed(
            "found without a phone number", http_status=response.status_code, provider_status="found:true", raw=body
        )
    # Blitz documents US numbers only [§6.1, B2]
    return found(
        {"mobile_phone": phone, "phone_source": NAME},
        http_status=response.status_code,
        provider_status="found:true",
        raw=body,
    )


def eligible_company(data: BaseModel) -> str | None:
    assert isinstance(data, CompanyInput)
    return None if (data.linkedin_url or data.best_domain) else "missing_input:linkedin_url|domain"


def _company_fields(company: dict[str, Any]) -> dict[str, Any]:
    """Canonical fields of a Blitz `Company` [§6.1, B4]. `size` is the LinkedIn size bucket and
    `employees_on_linkedin` the head count seen on LinkedIn, the only count Blitz gives."""
    hq = _dict(company.get("hq"))
    return {
        "name": _text(company.get("name")),
        "domain": normalize_domain(company.get("domain")) or normalize_domain(company.get("website")),
        "linkedin_url": normalize_linkedin_url(company.get("linkedin_url")),
        "industry": _text(company.get("industry")),
        "employee_count": _int(company.get("employees_on_linkedin")),
        "employee_range": _text(company.get("size")),
        "hq_country": _text(hq.get("country_code")) or _text(hq.get("country_name")),
    }


async def enrich_company(data: BaseModel, ctx: ActionContext) -> ActionResult:
    assert isinstance(data, CompanyInput)
    raw: dict[str, Any] = {"domain_to_linkedin": None, "company": None}
    linkedin_url = data.linkedin_url
    if not linkedin_url:
        # the bare domain is sent; whether a full URL matches equally is UNCONFIRMED [§6.1]
        response, body = await _post(ctx, DOMAIN_TO_LINKEDIN_PATH, {"domain": data.best_domain}, accept=ENRICH_ACCEPT)
        raw["domain_to_linkedin"] = body
        if (answer := await _enrichment_answer(ctx, response, body, raw)) is not None:
            return answer
        linkedin_url = normalize_linkedin_url(body.get("company_linkedin_url"))
        if linkedin_url is None:
            return failed(
                "found without a company LinkedIn URL",
                http_status=response.status_code,
                provider_status="found:true",
                raw=raw,
            )
    response, body = await _post(ctx, COMPANY_PATH, {"company_linkedin_url": linkedin_url}, accept=ENRICH_ACCEPT)
    raw["company"] = body
    if (answer := await _enrichment_answer(ctx, response, body, raw)) is not None:
        return answer
    company = body.get("company")
    if not isinstance(company, dict):
        return failed(
            "found without a company", http_status=response.status_code, provider_status="found:true", raw=raw
        )
    hq = _dict(company.get("hq"))
    output = {
        **_company_fields(company),
        "linkedin_url": normalize_linkedin_url(company.get("linkedin_url")) or linkedin_url,
        "website": _text(company.get("website")),
        "founded_year": _int(company.get("founded_year")),
        "description": _text(company.get("about")),
        "hq_city": _text(hq.get("city")),
        "hq_region": _text(hq.get("state")),
        "profile_source": NAME,
    }
    return found(output, http_status=response.status_code, provider_status="found:true", raw=raw)


def _company_filter(data: SearchInput, *, company_search: bool) -> dict[str, Any]:
    """CompanyFilter [§6.2, B4]. Categorical values (industry, size) must be Blitz's normalised ones;
    a wrong one silently returns 0 results [B5]. Free text and locations apply to the company itself
    only in a company search."""
    company: dict[str, Any] = {}
    if names := clean(data.company_names):
        company["name"] = {"include": names}
    if company_search and data.query and data.query.strip():
        company["keywords"] = {"include": [data.query.strip()]}
    if industries := clean(data.industries):
        company["industry"] = {"include": industries}
    if ranges := clean(data.employee_ranges):
        company["employee_range"] = ranges
    # `country_code[]` takes ISO 3166-1 alpha-2 codes [§6.2]
    if company_search and (countries := iso_countries(data)):
        company["hq"] = {"country_code": countries}
    return company


def _people_filter(data: SearchInput) -> dict[str, Any]:
    """PeopleFilter [§6.2]; `location.country_code[]` is from the official SDK's typed filters [B4
    `types/filters.py`], which docs/providers.md elides as `location{…}`."""
    people: dict[str, Any] = {}
    if titles := clean(data.job_titles):
        people["job_title"] = {"include": titles}
    if levels := clean(data.seniorities):
        people["job_level"] = [JOB_LEVELS.get(v.lower(), v) for v in levels]
    if countries := iso_countries(data):
        people["location"] = {"country_code": countries}
    return people


def _search_skip(
    data: BaseModel, supported: frozenset[str], build: Callable[[SearchInput], dict[str, Any]]
) -> str | None:
    assert isinstance(data, SearchInput)
    return skip_reason(
        data,
        NAME,
        supported,
        filters=build,
        cursor_ok=lambda cursor: isinstance(cursor, str),
        mapped={"locations": iso_countries},
    )


def eligible_company_search(data: BaseModel) -> str | None:
    return _search_skip(data, COMPANY_SEARCH_FILTERS, _companies_body)


def eligible_person_search(data: BaseModel) -> str | None:
    return _search_skip(data, PERSON_SEARCH_FILTERS, _people_body)


def _next_cursor(payload: dict[str, Any]) -> Any:
    # `cursor` is null on the last page [§6.2]
    return payload.get("cursor") or None


async def _search(
    data: BaseModel,
    ctx: ActionContext,
    path: str,
    body: dict[str, Any],
    list_key: str,
    to_item: Callable[[dict[str, Any]], dict[str, Any]],
) -> ActionResult:
    assert isinstance(data, SearchInput)
    body["max_results"] = min(data.limit, MAX_RESULTS)
    if cursor := (data.cursors or {}).get(NAME):
        body["cursor"] = cursor
    for _ in range(MAX_EMPTY_PAGES):
        response, payload = await _post(ctx, path, body)
        if response.status_code == 422:
            return _invalid_input(response, payload, payload)
        answer = page_answer(
            payload,
            provider=NAME,
            rows_key="results",
            list_key=list_key,
            to_item=to_item,
            limit=data.limit,
            next_cursor=_next_cursor,
            http_status=response.status_code,
        )
        if answer.status is not AttemptStatus.not_found:
            return answer
        # no rows on this page
        next_cursor = _next_cursor(payload)
        if next_cursor is None:
            return answer
        if next_cursor == body.get("cursor"):
            # the SDK's guard: a cursor that does not advance would fetch the same page forever [B4]
            return failed(
                "the search cursor did not advance", http_status=response.status_code, provider_status=None, raw=payload
            )
        # [B4 `_pagination_async.py` CursorPage.has_next_page] a middle page can be empty and still
        # carry a cursor: the walk goes on while one is given
        body["cursor"] = next_cursor
    # MAX_EMPTY_PAGES empty pages in a row: nothing this time, but not the end either, so the
    # cursor is handed back for a later call to resume from (docs/decisions/0017)
    output = {list_key: [], "next_cursors": {NAME: body["cursor"]}}
    return found(output, http_status=response.status_code, provider_status="empty_pages", raw=payload)


def _company_item(company: dict[str, Any]) -> dict[str, Any]:
    return {**_company_fields(company), "source": NAME}


def _person_item(person: dict[str, Any]) -> dict[str, Any]:
    """Canonical fields of a Blitz `Person` [§6.2]: the current job is the first experience marked
    `job_is_current`, else the first one listed."""
    experiences = [e for e in person.get("experiences") or [] if isinstance(e, dict)]
    job = next((e for e in experiences if e.get("job_is_current") is True), experiences[0] if experiences else {})
    location = _dict(person.get("location"))
    place = [_text(location.get(k)) for k in ("city", "state_code", "country_code")]
    return {
        "full_name": _text(person.get("full_name")),
        "first_name": _text(person.get("first_name")),
        "last_name": _text(person.get("last_name")),
        "title": _text(job.get("job_title")),
        "linkedin_url": normalize_linkedin_url(person.get("linkedin_url")),
        "company_name": _text(job.get("company_name")),
        "company_domain": normalize_domain(job.get("company_domain")),
        "location": ", ".join(p for p in place if p) or None,
        "source": NAME,
    }


def _companies_body(data: SearchInput) -> dict[str, Any]:
    return {"company": _company_filter(data, company_search=True)}


def _people_body(data: SearchInput) -> dict[str, Any]:
    body: dict[str, Any] = {}
    # `locations` filter where the people are, not where their employer is headquartered
    if company := _company_filter(data, company_search=False):
        body["company"] = company
    if people := _people_filter(data):
        body["people"] = people
    return body


async def search_companies(data: BaseModel, ctx: ActionContext) -> ActionResult:
    assert isinstance(data, SearchInput)
    return await _search(data, ctx, SEARCH_COMPANIES_PATH, _companies_body(data), "companies", _company_item)


async def search_people(data: BaseModel, ctx: ActionContext) -> ActionResult:
    assert isinstance(data, SearchInput)
    return await _search(data, ctx, SEARCH_PEOPLE_PATH, _people_body(data), "people", _person_item)


# Per-call cost depends on the plan (SP §6.4: the reference pages list credits, the pricing page
# flat plans with a fair-use quota; phone is 5 credits on the trial plan and free on the Unlimited
# Phone plan [§6.1, B2]): recorded as unknown.
PRICES = {
    "person.contact.resolve_mobile_phone": UNKNOWN_PRICE,
    "person.search": UNKNOWN_PRICE,
    "company.enrich.profile": UNKNOWN_PRICE,
    "company.search": UNKNOWN_PRICE,
    "company.resolve.domain_from_name": UNKNOWN_PRICE,
    "company.resolve.domain_from_linkedin": UNKNOWN_PRICE,
    "company.resolve.linkedin_from_domain": UNKNOWN_PRICE,
    "person.resolve.linkedin_from_email": UNKNOWN_PRICE,
    "person.enrich.profile": UNKNOWN_PRICE,
}
# --- catalog growth, part 1: resolution and person profile (issue 13) -------------------------

# How many companies a name search reads before giving up on an exact name match.
NAME_SEARCH_RESULTS = 10


def eligible_domain_lookup(data: BaseModel) -> str | None:
    assert isinstance(data, CompanyInput)
    return None if data.best_domain else "missing_input:domain"


async def linkedin_from_domain(data: BaseModel, ctx: ActionContext) -> ActionResult:
    """`domain-to-linkedin` → `{found, company_linkedin_url}` [§6.1]."""
    assert isinstance(data, CompanyInput)
    response, body = await _post(ctx, DOMAIN_TO_LINKEDIN_PATH, {"domain": data.best_domain}, accept=ENRICH_ACCEPT)
    if (answer := await _enrichment_answer(ctx, response, body, body)) is not None:
        return answer
    url = normalize_linkedin_url(body.get("company_linkedin_url"))
    if url is None:
        return failed(
            "found without a company LinkedIn URL",
            http_status=response.status_code,
            provider_status="found:true",
            raw=body,
        )
    output = {"linkedin_url": url, "linkedin_source": NAME}
    return found(output, http_status=response.status_code, provider_status="found:true", raw=body)


async def domain_from_linkedin(data: BaseModel, ctx: ActionContext) -> ActionResult:
    """`linkedin-to-domain` → `{found, email_domain}` [§6.1, B4 `LinkedinToDomainResponse`]: the
    domain the company's people have email at, which is the company's domain."""
    assert isinstance(data, CompanyInput)
    body_in = {"company_linkedin_url": data.linkedin_url}
    response, body = await _post(ctx, LINKEDIN_TO_DOMAIN_PATH, body_in, accept=ENRICH_ACCEPT)
    if (answer := await _enrichment_answer(ctx, response, body, body)) is not None:
        return answer
    domain = normalize_domain(body.get("email_domain"))
    if domain is None:
        return failed(
            "found without a domain", http_status=response.status_code, provider_status="found:true", raw=body
        )
    output = {"domain": domain, "domain_source": NAME}
    return found(output, http_status=response.status_code, provider_status="found:true", raw=body)


async def domain_from_name(data: BaseModel, ctx: ActionContext) -> ActionResult:
    """Company search by `company.name.include` [§6.2]; only a result named exactly as asked is the
    answer (docs/decisions/0065). Billed per result returned [§6.2]."""
    assert isinstance(data, CompanyInput)
    name = data.name or ""
    body = {"company": {"name": {"include": [name]}}, "max_results": NAME_SEARCH_RESULTS}
    response, payload = await _post(ctx, SEARCH_COMPANIES_PATH, body)
    if response.status_code == 422:
        return _invalid_input(response, payload, payload)
    rows = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(rows, list):
        return failed(
            "no results list in the answer", http_status=response.status_code, provider_status=None, raw=payload
        )
    companies = [r for r in rows if isinstance(r, dict)]
    candidates = [
        (_text(c.get("name")), normalize_domain(c.get("domain")) or normalize_domain(c.get("website")))
        for c in companies
    ]
    domain = first_exact(name, ((n, d) for n, d in candidates if d))
    if domain is None:
        status = "no_exact_match" if companies else "no_results"
        return not_found(http_status=response.status_code, provider_status=status, raw=payload)
    output = {"domain": domain, "domain_source": NAME}
    return found(output, http_status=response.status_code, provider_status=None, raw=payload)


def eligible_email(data: BaseModel) -> str | None:
    assert isinstance(data, PersonInput)
    return None if data.best_email else "missing_input:work_email|email"


async def _email_to_person(data: BaseModel, ctx: ActionContext) -> tuple[ActionResult | None, dict[str, Any]]:
    """`email-to-person` `{email}` → `{found, person: Person}` [B4 `EmailToPersonResponse`]: the
    person, or the answer when there is none."""
    assert isinstance(data, PersonInput)
    response, body = await _post(ctx, EMAIL_TO_PERSON_PATH, {"email": data.best_email}, accept=ENRICH_ACCEPT)
    if (answer := await _enrichment_answer(ctx, response, body, body)) is not None:
        return answer, {}
    person = body.get("person")
    if not isinstance(person, dict):
        return failed(
            "found without a person", http_status=response.status_code, provider_status="found:true", raw=body
        ), {}
    return None, {"person": person, "http_status": response.status_code, "raw": body}


async def linkedin_from_email(data: BaseModel, ctx: ActionContext) -> ActionResult:
    answer, hit = await _email_to_person(data, ctx)
    if answer is not None:
        return answer
    url = normalize_linkedin_url(hit["person"].get("linkedin_url"))
    if url is None:
        return not_found(http_status=hit["http_status"], provider_status="no_linkedin_url", raw=hit["raw"])
    output = {"linkedin_url": url, "linkedin_source": NAME}
    return found(output, http_status=hit["http_status"], provider_status="found:true", raw=hit["raw"])


async def enrich_person(data: BaseModel, ctx: ActionContext) -> ActionResult:
    """The profile from `email-to-person`; the current job as in search results (`_person_item`).
    Blitz gives no seniority for a person (UNCONFIRMED beyond the SDK's `Person` model)."""
    answer, hit = await _email_to_person(data, ctx)
    if answer is not None:
        return answer
    person = hit["person"]
    item = _person_item(person)
    experiences = [e for e in person.get("experiences") or [] if isinstance(e, dict)]
    job = next((e for e in experiences if e.get("job_is_current") is True), experiences[0] if experiences else {})
    output = {
        **{k: item[k] for k in ("full_name", "first_name", "last_name", "title", "linkedin_url")},
        **{k: item[k] for k in ("company_name", "company_domain", "location")},
        "company_linkedin_url": normalize_linkedin_url(job.get("company_linkedin_url")),
        "profile_source": NAME,
    }
    if not (output["full_name"] or output["linkedin_url"]):
        return failed("the person has no name", http_status=hit["http_status"], provider_status=None, raw=hit["raw"])
    return found(output, http_status=hit["http_status"], provider_status="found:true", raw=hit["raw"])


ACTIONS = {
    "person.contact.resolve_mobile_phone": Action(
        provider=NAME, name="resolve_mobile_phone", run=resolve_mobile_phone, eligible=eligible_phone
    ),
    "person.search": Action(provider=NAME, name="search", run=search_people, eligible=eligible_person_search),
    "company.enrich.profile": Action(provider=NAME, name="profile", run=enrich_company, eligible=eligible_company),
    "company.search": Action(provider=NAME, name="search", run=search_companies, eligible=eligible_company_search),
    "company.resolve.domain_from_name": Action(provider=NAME, name="domain_from_name", run=domain_from_name),
    "company.resolve.domain_from_linkedin": Action(
        provider=NAME, name="domain_from_linkedin", run=domain_from_linkedin
    ),
    "company.resolve.linkedin_from_domain": Action(
        provider=NAME, name="linkedin_from_domain", run=linkedin_from_domain, eligible=eligible_domain_lookup
    ),
    "person.resolve.linkedin_from_email": Action(
        provider=NAME, name="linkedin_from_email", run=linkedin_from_email, eligible=eligible_email
    ),
    "person.enrich.profile": Action(provider=NAME, name="profile", run=enrich_person, eligible=eligible_email),
}
