"""Prospeo: company enrichment and person/company search (docs/providers.md §5, §13.5).

Every call is a JSON `POST` with the headers `X-KEY: <key>` and `Content-Type: application/json`
(required) [§5, P3]. Every body carries a boolean `error`; the outcome is decided from its
`error_code`, never from the HTTP status alone [§5.3]: "no match" (`NO_MATCH`, `NO_RESULTS`), out of
credits and bad input all come back as HTTP 400.

Search pages hold 25 results, at most 1,000 pages [§5.2]; there is no page-size parameter, so a
page is cut to the caller's `limit` and the next cursor is the next page number.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from app.contracts.entities import CompanyInput, PersonInput, SearchInput
from app.contracts.normalize import normalize_domain, normalize_linkedin_url
from app.providers._fields import as_dict as _dict
from app.providers._fields import as_int as _int
from app.providers._fields import text as _text
from app.providers._http import ProviderResponse
from app.providers._resolve import first_exact
from app.providers._search import page_answer, skip_reason
from app.providers.base import Action, ActionContext, ActionResult, Price, ProviderOptions, failed, found, not_found

NAME = "prospeo"
BASE_URL = "https://api.prospeo.io"
# synchronous API; docs/providers.md gives no latency figure for it
TIMEOUT_SECONDS = 30.0
ENRICH_COMPANY_PATH = "/enrich-company"
SEARCH_COMPANY_PATH = "/search-company"
SEARCH_PERSON_PATH = "/search-person"
ENRICH_PERSON_PATH = "/enrich-person"
# [§5.4, P7 https://prospeo.io/api-docs/rate-limits] enrichment and search are limited separately,
# per second: enrichment 5/s (Starter, Growth) to 30/s (Pro); search 1/s (Starter), 2/s (Growth),
# 5/s (Pro). The defaults are the Starter plan's; settings raise them.
RATE_PER_SECOND = 5.0
SEARCH_BUCKET = "search"


class ProspeoOptions(ProviderOptions):
    """DATA_ENGINE_PROSPEO_<FIELD>; enrichment's pace is the common `rate_per_second`."""

    search_rate_per_second: float = Field(default=1.0, gt=0)
    """Search is paced apart from enrichment: 1/s on the Starter plan, 2 on Growth, 5 on Pro [P7];
    raise it to your plan's."""


OPTIONS = ProspeoOptions


def path_rates(options: ProspeoOptions) -> dict[str, tuple[str, float]]:
    """Both search routes share the one search limit (`search_rate_per_second`)."""
    rate = options.search_rate_per_second
    return {SEARCH_COMPANY_PATH: (SEARCH_BUCKET, rate), SEARCH_PERSON_PATH: (SEARCH_BUCKET, rate)}


# [§5.3] no-match codes are answers; every other 400 code is a failure
NOT_FOUND_CODES = frozenset({"NO_MATCH", "NO_RESULTS"})
# [§5.3, §0.1.4] a vendor-side fault reported as 400: the only 400 that is re-sent
RETRY_CODE = "INTERNAL_ERROR"
MAX_PAGE = 1000  # [§5.2]

# Only filters whose API shape docs/providers.md documents are mapped [§5.2, SP §5.3]: the API-only
# `filters.company.websites` / `filters.company.names`, and `person_job_title` / `person_seniority`
# ({"include": [...]}). Industry, location and headcount values must come from Prospeo's own
# suggestion lists, which are not documented here, and there is no free-text filter: a search that
# sets one of those is skipped rather than run with the filter silently dropped.
COMPANY_SEARCH_FILTERS = frozenset({"company_domains", "company_names"})
PERSON_SEARCH_FILTERS = COMPANY_SEARCH_FILTERS | {"job_titles", "seniorities"}


def _headers(ctx: ActionContext) -> dict[str, str]:
    return {"X-KEY": ctx.client.api_key or "", "Content-Type": "application/json"}


async def _post(ctx: ActionContext, path: str, body: dict[str, Any]) -> tuple[ProviderResponse, Any]:
    """One logical call. HTTP 400 is an answer here (no match, credits, input); `INTERNAL_ERROR` is
    re-sent with the client's retry budget, since it is Prospeo's own fault and costs nothing."""
    retry = ctx.client.retry
    for attempt in range(retry.max_retries + 1):
        response = await ctx.request("POST", path, json_body=body, headers=_headers(ctx), accept={400})
        payload = response.json(NAME)
        if _error_code(payload) != RETRY_CODE or attempt == retry.max_retries:
            break
        await ctx.sleep(min(retry.initial * 2**attempt, retry.maximum))
    return response, payload


def _error_code(body: Any) -> str | None:
    if isinstance(body, dict) and body.get("error_code"):
        return str(body["error_code"])
    return None


def _refusal(response: ProviderResponse, body: Any) -> ActionResult | None:
    """not_found/failed when Prospeo did not answer with data (also for `error: true` with HTTP 200);
    None when the body is a success."""
    if response.status_code < 300 and isinstance(body, dict) and body.get("error") is not True:
        return None
    code = _error_code(body)
    if code in NOT_FOUND_CODES:
        return not_found(http_status=response.status_code, provider_status=code, raw=body)
    message = code or f"HTTP {response.status_code} without an error_code"
    if isinstance(body, dict) and body.get("filter_error"):
        message = f"{message}: {body['filter_error']}"
    return failed(message, http_status=response.status_code, provider_status=code, raw=body)


def _company_fields(company: dict[str, Any]) -> dict[str, Any]:
    """Canonical fields of a Prospeo company object [§5.1]; any property, even `location`, may be null."""
    location = _dict(company.get("location"))
    return {
        "name": _text(company.get("name")),
        "domain": normalize_domain(company.get("domain")) or normalize_domain(company.get("website")),
        "linkedin_url": normalize_linkedin_url(company.get("linkedin_url")),
        "industry": _text(company.get("industry")),
        "employee_count": _int(company.get("employee_count")),
        "employee_range": _text(company.get("employee_range")),
        "hq_country": _text(location.get("country_code")) or _text(location.get("country")),
    }


async def enrich_company(data: BaseModel, ctx: ActionContext) -> ActionResult:
    assert isinstance(data, CompanyInput)
    # every known datapoint goes in: more of them improve the match; the name alone is allowed but
    # discouraged [§5.1]
    fields = {
        "company_website": data.best_domain,
        "company_linkedin_url": data.linkedin_url,
        "company_name": data.name,
    }
    refused, payload, http_status = await _enrich_company_by(ctx, fields)
    if refused is not None:
        return refused
    company = payload["company"]
    location = _dict(company.get("location"))
    output = {
        **_company_fields(company),
        "website": _text(company.get("website")),
        "founded_year": _int(company.get("founded")),
        "description": _text(company.get("description")),
        "hq_city": _text(location.get("city")),
        "hq_region": _text(location.get("state")),
        "logo_url": _text(company.get("logo_url")),
        "profile_source": NAME,
    }
    result = found(output, http_status=http_status, provider_status=None, raw=payload)
    if payload.get("free_enrichment") is True:
        # a company this account already enriched is not charged again [§5.1, P5]
        result.cost_credits = Decimal(0)
    return result


def _page_number(cursor: Any) -> int | None:
    page = _int(cursor)
    return page if page is not None and 1 <= page <= MAX_PAGE else None


def _page(data: SearchInput) -> int:
    """The page to read: the cursor (checked by `eligible_*`), else the first."""
    return _page_number((data.cursors or {}).get(NAME)) or 1


def _search_skip(data: BaseModel, supported: frozenset[str]) -> str | None:
    assert isinstance(data, SearchInput)
    return skip_reason(
        data,
        NAME,
        supported,
        filters=lambda d: _filters(d, supported),
        cursor_ok=lambda cursor: _page_number(cursor) is not None,
    )


def eligible_company_search(data: BaseModel) -> str | None:
    return _search_skip(data, COMPANY_SEARCH_FILTERS)


def eligible_person_search(data: BaseModel) -> str | None:
    return _search_skip(data, PERSON_SEARCH_FILTERS)


def _filters(data: SearchInput, supported: frozenset[str]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    company: dict[str, Any] = {}
    if domains := data.domains():
        company["websites"] = {"include": domains}
    if names := [n.strip() for n in data.company_names or [] if n.strip()]:
        company["names"] = {"include": names}
    if company:
        filters["company"] = company
    if "job_titles" in supported and (titles := [t.strip() for t in data.job_titles or [] if t.strip()]):
        filters["person_job_title"] = {"include": titles}
    if "seniorities" in supported and (levels := [s.strip() for s in data.seniorities or [] if s.strip()]):
        # values must be Prospeo's own (e.g. "Director"); a wrong one is refused with INVALID_FILTERS
        filters["person_seniority"] = {"include": levels}
    return filters


def _next_page(payload: dict[str, Any], page: int) -> int | None:
    pagination = _dict(payload.get("pagination"))
    current = _int(pagination.get("current_page")) or page
    total = _int(pagination.get("total_page"))
    if total is None or current >= total or current >= MAX_PAGE:
        return None
    return current + 1


async def _search(
    data: BaseModel,
    ctx: ActionContext,
    path: str,
    supported: frozenset[str],
    list_key: str,
    to_item: Callable[[dict[str, Any]], dict[str, Any]],
) -> ActionResult:
    assert isinstance(data, SearchInput)
    page = _page(data)
    response, payload = await _post(ctx, path, {"page": page, "filters": _filters(data, supported)})
    if (refused := _refusal(response, payload)) is not None:
        return refused
    # a page always holds 25 rows [§5.2]: the rows cut off by `limit` are not seen again on the next page
    return page_answer(
        payload,
        provider=NAME,
        rows_key="results",
        list_key=list_key,
        to_item=to_item,
        limit=data.limit,
        next_cursor=lambda p: _next_page(p, page),
        http_status=response.status_code,
    )


def _person_item(row: dict[str, Any]) -> dict[str, Any]:
    person = _dict(row.get("person"))
    company = _dict(row.get("company"))
    return {
        "full_name": _text(person.get("full_name")),
        "title": _text(person.get("current_job_title")),
        "linkedin_url": normalize_linkedin_url(person.get("linkedin_url")),
        "company_name": _text(company.get("name")),
        "company_domain": normalize_domain(company.get("domain")) or normalize_domain(company.get("website")),
        "source": NAME,
    }


def _company_item(row: dict[str, Any]) -> dict[str, Any]:
    return {**_company_fields(_dict(row.get("company"))), "source": NAME}


async def search_people(data: BaseModel, ctx: ActionContext) -> ActionResult:
    return await _search(data, ctx, SEARCH_PERSON_PATH, PERSON_SEARCH_FILTERS, "people", _person_item)


async def search_companies(data: BaseModel, ctx: ActionContext) -> ActionResult:
    return await _search(data, ctx, SEARCH_COMPANY_PATH, COMPANY_SEARCH_FILTERS, "companies", _company_item)


# Enrichment: 1 credit per match, 0 for no match or a repeat (`free_enrichment`) [§5.1, P5];
# search: 1 credit per page that returns at least one result [§5.2, P1, P2].
PRICES = {
    "person.search": Price(found=Decimal(1), not_found=Decimal(0), source="docs/providers.md §5.2 [P1]"),
    "company.enrich.profile": Price(found=Decimal(1), not_found=Decimal(0), source="docs/providers.md §5.1 [P5]"),
    "company.search": Price(found=Decimal(1), not_found=Decimal(0), source="docs/providers.md §5.2 [P2]"),
    # resolution and profile (§15.2). A match that lacks the asked field is charged but answers
    # not_found, so a not_found's cost is unknown unless no match is certain (NO_MATCH is free).
    "company.resolve.domain_from_name": Price(found=Decimal(1), not_found=None, source="docs/providers.md §15.2 [P2]"),
    "company.resolve.domain_from_linkedin": Price(found=Decimal(1), not_found=None, source="docs/providers.md §15.2"),
    "company.resolve.linkedin_from_domain": Price(found=Decimal(1), not_found=None, source="docs/providers.md §15.2"),
    "person.resolve.linkedin_from_email": Price(
        found=Decimal(1), not_found=None, source="docs/providers.md §15.2 [P4]"
    ),
    "person.enrich.profile": Price(found=Decimal(1), not_found=Decimal(0), source="docs/providers.md §15.2 [P4]"),
}
# --- catalog growth, part 1: resolution and person profile (issue 13) -------------------------


async def _enrich(
    ctx: ActionContext, path: str, body: dict[str, Any], key: str
) -> tuple[ActionResult | None, Any, int]:
    """An enrichment call [§5.1, §5.2] whose answer must hold the `key` object: (the refusal or
    None, body, HTTP status)."""
    response, payload = await _post(ctx, path, body)
    if (refused := _refusal(response, payload)) is not None:
        return refused, payload, response.status_code
    if not isinstance(payload.get(key), dict):
        refused = failed(f"no {key} in the answer", http_status=response.status_code, provider_status=None, raw=payload)
        return refused, payload, response.status_code
    return None, payload, response.status_code


async def _enrich_company_by(ctx: ActionContext, fields: dict[str, Any]) -> tuple[ActionResult | None, Any, int]:
    """`/enrich-company` [§5.1] with the given datapoints (empty ones left out)."""
    return await _enrich(ctx, ENRICH_COMPANY_PATH, {"data": {k: v for k, v in fields.items() if v}}, "company")


async def domain_from_linkedin(data: BaseModel, ctx: ActionContext) -> ActionResult:
    """LinkedIn → domain: enrich by `company_linkedin_url`, read `company.domain` [SP §5.1]."""
    assert isinstance(data, CompanyInput)
    refused, payload, status = await _enrich_company_by(ctx, {"company_linkedin_url": data.linkedin_url})
    if refused is not None:
        return refused
    domain = _company_fields(payload["company"])["domain"]
    if domain is None:
        return not_found(http_status=status, provider_status="no_domain", raw=payload)
    return found({"domain": domain, "domain_source": NAME}, http_status=status, provider_status=None, raw=payload)


async def linkedin_from_domain(data: BaseModel, ctx: ActionContext) -> ActionResult:
    """Domain → LinkedIn: enrich by `company_website`, read `company.linkedin_url` [SP §5.1]."""
    assert isinstance(data, CompanyInput)
    refused, payload, status = await _enrich_company_by(ctx, {"company_website": data.best_domain})
    if refused is not None:
        return refused
    url = _company_fields(payload["company"])["linkedin_url"]
    if url is None:
        return not_found(http_status=status, provider_status="no_linkedin_url", raw=payload)
    output = {"linkedin_url": url, "linkedin_source": NAME}
    return found(output, http_status=status, provider_status=None, raw=payload)


async def domain_from_name(data: BaseModel, ctx: ActionContext) -> ActionResult:
    """`/search-company` with the API-only `filters.company.names` [§5.2]; only a company named
    exactly as asked is the answer (docs/decisions/0065). One credit per page with a result."""
    assert isinstance(data, CompanyInput)
    name = data.name or ""
    body = {"page": 1, "filters": {"company": {"names": {"include": [name]}}}}
    response, payload = await _post(ctx, SEARCH_COMPANY_PATH, body)
    if (refused := _refusal(response, payload)) is not None:
        return refused
    rows = payload.get("results")
    if not isinstance(rows, list):
        return failed(
            "no results list in the answer", http_status=response.status_code, provider_status=None, raw=payload
        )
    companies = [_company_fields(_dict(r.get("company"))) for r in rows if isinstance(r, dict)]
    domain = first_exact(name, ((c["name"], c["domain"]) for c in companies if c["domain"]))
    if domain is None:
        return not_found(http_status=response.status_code, provider_status="no_exact_match", raw=payload)
    output = {"domain": domain, "domain_source": NAME}
    return found(output, http_status=response.status_code, provider_status=None, raw=payload)


def _person_datapoints(data: PersonInput) -> dict[str, Any]:
    """`/enrich-person` `data` [P4]: every datapoint known; its minimum is a LinkedIn URL, an email,
    or a name with a company field."""
    fields = {
        "linkedin_url": data.linkedin_url,
        "email": data.best_email,
        "first_name": data.first_name,
        "last_name": data.last_name,
        "full_name": data.full_name,
        "company_website": data.company_domain,
        "company_name": data.company_name,
        "company_linkedin_url": data.company_linkedin_url,
    }
    return {k: v for k, v in fields.items() if v}


async def _enrich_person(data: BaseModel, ctx: ActionContext) -> tuple[ActionResult | None, Any, int]:
    """`/enrich-person` [P4, SP §5.2] without the mobile (10 credits): 1 credit per match, none for
    NO_MATCH or a record already enriched on the account."""
    assert isinstance(data, PersonInput)
    body = {"only_verified_email": False, "enrich_mobile": False, "data": _person_datapoints(data)}
    return await _enrich(ctx, ENRICH_PERSON_PATH, body, "person")


def eligible_email(data: BaseModel) -> str | None:
    assert isinstance(data, PersonInput)
    return None if data.best_email else "missing_input:work_email|email"


async def linkedin_from_email(data: BaseModel, ctx: ActionContext) -> ActionResult:
    assert isinstance(data, PersonInput)
    # only the email is sent: the answer must be the person behind it, not a name look-alike
    refused, payload, status = await _enrich_person(PersonInput(email=data.best_email), ctx)
    if refused is not None:
        return refused
    url = normalize_linkedin_url(payload["person"].get("linkedin_url"))
    if url is None:
        return not_found(http_status=status, provider_status="no_linkedin_url", raw=payload)
    return found({"linkedin_url": url, "linkedin_source": NAME}, http_status=status, provider_status=None, raw=payload)


def _current_job(person: dict[str, Any]) -> dict[str, Any]:
    """The current `job_history` entry (the first marked `current`) [P4 person object]."""
    jobs = [j for j in person.get("job_history") or [] if isinstance(j, dict)]
    return next((j for j in jobs if j.get("current") is True), {})


async def enrich_person(data: BaseModel, ctx: ActionContext) -> ActionResult:
    """`person{full_name, first_name, last_name, linkedin_url, current_job_title, job_history[]}` and
    the employer `company{name, domain, website, linkedin_url}` [P4]. The person's `location` and
    `seniority` fields are UNCONFIRMED (the company object's `location{city, state, country}` shape is
    assumed): read when present, else null."""
    refused, payload, status = await _enrich_person(data, ctx)
    if refused is not None:
        return refused
    person, company = payload["person"], _dict(payload.get("company"))
    job = _current_job(person)
    location = _dict(person.get("location"))
    place = [_text(location.get(k)) for k in ("city", "state", "country")]
    employer = _company_fields(company) if company else {"name": None, "domain": None, "linkedin_url": None}
    output = {
        "full_name": _text(person.get("full_name")),
        "first_name": _text(person.get("first_name")),
        "last_name": _text(person.get("last_name")),
        "title": _text(person.get("current_job_title")) or _text(job.get("title")),
        "seniority": _text(person.get("seniority")) or _text(job.get("seniority")),
        "company_name": employer["name"] or _text(job.get("company_name")),
        "company_domain": employer["domain"],
        "company_linkedin_url": employer["linkedin_url"],
        "location": ", ".join(p for p in place if p) or None,
        "linkedin_url": normalize_linkedin_url(person.get("linkedin_url")),
        "profile_source": NAME,
    }
    return found(output, http_status=status, provider_status=None, raw=payload)


ACTIONS = {
    "person.search": Action(provider=NAME, name="search", run=search_people, eligible=eligible_person_search),
    "company.enrich.profile": Action(provider=NAME, name="profile", run=enrich_company),
    "company.search": Action(provider=NAME, name="search", run=search_companies, eligible=eligible_company_search),
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
    "person.enrich.profile": Action(provider=NAME, name="profile", run=enrich_person),
}
