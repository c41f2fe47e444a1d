"""CompanyEnrich: company enrichment by domain and people/company search (docs/providers.md §7, §13.7).

Auth is the header `Authorization: Bearer <key>` [§7, C3, C4]. Enrichment is
`GET /companies/enrich?domain=<domain>`, answered with a top-level company object in which unknown
fields are left out rather than sent as null [§7.1, C2]; a 404 means the domain cannot be enriched
(not_found). Searches are `POST /companies/search` and `POST /people/search`, paged by
`page`/`pageSize` [§7.2]. The error body shape is UNCONFIRMED [§7.3]: it is read leniently.
"""

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from app.contracts.entities import CompanyInput, SearchInput
from app.contracts.normalize import normalize_domain, normalize_linkedin_url
from app.providers._fields import as_dict as _dict
from app.providers._fields import as_int as _int
from app.providers._fields import text as _text
from app.providers._http import ProviderResponse
from app.providers._search import clean, iso_countries, page_answer, skip_reason
from app.providers.base import Action, ActionContext, ActionResult, AttemptStatus, Price, failed, found, not_found

NAME = "companyenrich"
BASE_URL = "https://api.companyenrich.com"
# synchronous API; docs/providers.md gives no latency figure for it
TIMEOUT_SECONDS = 30.0
ENRICH_PATH = "/companies/enrich"
SEARCH_COMPANIES_PATH = "/companies/search"
SEARCH_PEOPLE_PATH = "/people/search"

MAX_PAGE_SIZE = 100  # [§7.2] pageSize 1–100
MAX_WINDOW = 10_000  # [§7.2] page * pageSize ≤ 10,000 (the scroll endpoints beyond are not used)
# [§7.3] statuses whose body says what went wrong; 401/402/429/5xx are the HTTP layer's
INPUT_ERRORS = frozenset({400, 422})

# [§7.1, C5] employee buckets, canonical (LinkedIn-style) ↔ CompanyEnrich's labels. That "1K-5K"
# means 1001–5000 and so on is an assumption from the bucket series (UNCONFIRMED).
EMPLOYEE_LABELS = {
    "1-10": "1-10",
    "11-50": "11-50",
    "51-200": "51-200",
    "201-500": "201-500",
    "501-1000": "501-1K",
    "1001-5000": "1K-5K",
    "5001-10000": "5K-10K",
    "10001+": "over-10K",
}
CANONICAL_RANGES = {label: canonical for canonical, label in EMPLOYEE_LABELS.items()}
# [C5, third party digest of the vendor OpenAPI] the `seniority[]` values
SENIORITIES = frozenset(
    {"owner", "founder", "c-suite", "partner", "vp", "head", "director", "manager", "senior", "entry", "intern"}
)
SENIORITY_ALIASES = {"vice-president": "vp", "c-level": "c-suite", "cxo": "c-suite"}
# Filters mapped to documented body fields [§7.2]. Unknown enum values are silently ignored by
# CompanyEnrich [C5], which would widen the search, so values that cannot be mapped exactly make the
# action skip, as do filters with no documented field (company domains/names and industries for
# company search; free text, names, industries and head count for people search).
COMPANY_SEARCH_FILTERS = frozenset({"query", "locations", "employee_ranges"})
PERSON_SEARCH_FILTERS = frozenset({"company_domains", "job_titles", "seniorities", "locations"})


def _headers(ctx: ActionContext) -> dict[str, str]:
    return {"Authorization": f"Bearer {ctx.client.api_key or ''}", "Accept": "application/json"}


def _request_error(response: ProviderResponse, body: Any) -> ActionResult:
    """400/422: the body shape is UNCONFIRMED [§7.3]; read `error`, `message`, then problem+json
    `title`/`detail`, and keep the body."""
    fields = _dict(body)
    message = next((str(fields[k]) for k in ("error", "message", "detail", "title") if fields.get(k)), None)
    code = "validation_error" if response.status_code == 422 else "bad_request"
    return failed(
        message or f"HTTP {response.status_code}", http_status=response.status_code, provider_status=code, raw=body
    )


def _employee_range(label: Any) -> str | None:
    text = _text(label)
    return CANONICAL_RANGES.get(text, text) if text else None


def _company_fields(company: dict[str, Any]) -> dict[str, Any]:
    """Canonical fields of a CompanyEnrich company [§7.1]; a missing key is a null."""
    country = _dict(_dict(company.get("location")).get("country"))
    return {
        "name": _text(company.get("name")),
        "domain": normalize_domain(company.get("domain")) or normalize_domain(company.get("website")),
        "linkedin_url": normalize_linkedin_url(_dict(company.get("socials")).get("linkedin_url")),
        "industry": _text(company.get("industry")),
        # `employees` is a bucket label, never a count [§7.1]
        "employee_range": _employee_range(company.get("employees")),
        "hq_country": _text(country.get("code")) or _text(country.get("name")),
    }


def eligible_company(data: BaseModel) -> str | None:
    assert isinstance(data, CompanyInput)
    return None if data.best_domain else "missing_input:domain"


async def enrich_company(data: BaseModel, ctx: ActionContext) -> ActionResult:
    fetched = await _fetch_company(data, ctx)
    if isinstance(fetched, ActionResult):
        return fetched
    company, status, body = fetched
    location = _dict(company.get("location"))
    output = {
        **_company_fields(company),
        "website": _text(company.get("website")),
        "founded_year": _int(company.get("founded_year")),
        "description": _text(company.get("description")),
        "hq_city": _text(_dict(location.get("city")).get("name")),
        "hq_region": _text(_dict(location.get("state")).get("name")),
        "logo_url": _text(company.get("logo_url")),
        "profile_source": NAME,
    }
    if not (output["name"] or output["domain"]):
        return failed("the answer names no company", http_status=status, provider_status=None, raw=body)
    return found(output, http_status=status, provider_status=None, raw=body)


async def _fetch_company(data: BaseModel, ctx: ActionContext) -> ActionResult | tuple[dict[str, Any], int, Any]:
    """(the company object, HTTP status, body) of `GET /companies/enrich`, or the attempt's
    not_found (404) or failure."""
    assert isinstance(data, CompanyInput)
    response = await ctx.request(
        "GET", ENRICH_PATH, params={"domain": data.best_domain}, headers=_headers(ctx), accept={404} | INPUT_ERRORS
    )
    if response.status_code == 404:
        # "If the domain name cannot be enriched, the API returns a 404" [§7.1]; its body is
        # UNCONFIRMED and may not be JSON, so it is kept as received
        return not_found(http_status=404, provider_status="http_404", raw=response.body)
    body = response.json(NAME)
    if response.status_code in INPUT_ERRORS:
        return _request_error(response, body)
    if not isinstance(body, dict):
        return failed(
            "the answer is not a company object", http_status=response.status_code, provider_status=None, raw=body
        )
    # the company is top-level; a `company` or `data` wrapper is unwrapped when present (adapter rule, §7.1)
    company = next((body[k] for k in ("company", "data") if isinstance(body.get(k), dict)), body)
    return company, response.status_code, body


def _employees(data: SearchInput) -> list[str] | None:
    labels = [EMPLOYEE_LABELS.get(v, v) for v in clean(data.employee_ranges)]
    return None if any(label not in CANONICAL_RANGES for label in labels) else labels


def _seniorities(data: SearchInput) -> list[str] | None:
    values = [re.sub(r"[\s_]+", "-", v.lower()) for v in clean(data.seniorities)]
    values = [SENIORITY_ALIASES.get(v, v) for v in values]
    return None if any(v not in SENIORITIES for v in values) else values


def _page_number(cursor: Any) -> int | None:
    page = _int(cursor)
    return page if page is not None and page >= 1 else None


def _page(data: SearchInput) -> int:
    """The page to read: the cursor (checked by `eligible_*`), else the first."""
    return _page_number((data.cursors or {}).get(NAME)) or 1


def _search_skip(
    data: BaseModel, supported: frozenset[str], build: Callable[[SearchInput], dict[str, Any]]
) -> str | None:
    assert isinstance(data, SearchInput)
    return skip_reason(
        data,
        NAME,
        supported,
        filters=build,
        cursor_ok=lambda cursor: _page_number(cursor) is not None,
        # `countries[]` takes ISO 3166-1 alpha-2 codes [§7.2, C5]
        mapped={"locations": iso_countries, "employee_ranges": _employees, "seniorities": _seniorities},
    )


def eligible_company_search(data: BaseModel) -> str | None:
    return _search_skip(data, COMPANY_SEARCH_FILTERS, _company_filters)


def eligible_person_search(data: BaseModel) -> str | None:
    return _search_skip(data, PERSON_SEARCH_FILTERS, _people_filters)


def _next_page(payload: dict[str, Any], page: int, page_size: int) -> int | None:
    total = _int(payload.get("totalPages"))
    if total is None or page >= total or (page + 1) * page_size > MAX_WINDOW:
        return None
    return page + 1


async def _search(
    data: BaseModel,
    ctx: ActionContext,
    path: str,
    filters: dict[str, Any],
    list_key: str,
    to_item: Callable[[dict[str, Any]], dict[str, Any]],
) -> ActionResult:
    assert isinstance(data, SearchInput)
    page = _page(data)
    page_size = min(data.limit, MAX_PAGE_SIZE)
    body = {"page": page, "pageSize": page_size, **filters}
    # charged per result, with a minimum even for an empty page [§7.2]: never re-sent after a timeout
    response = await ctx.request("POST", path, json_body=body, headers=_headers(ctx), accept=INPUT_ERRORS)
    payload = response.json(NAME)
    if response.status_code in INPUT_ERRORS:
        return _request_error(response, payload)
    return page_answer(
        payload,
        provider=NAME,
        rows_key="items",
        list_key=list_key,
        to_item=to_item,
        limit=data.limit,
        next_cursor=lambda p: _next_page(p, page, page_size),
        http_status=response.status_code,
    )


def _company_item(company: dict[str, Any]) -> dict[str, Any]:
    return {**_company_fields(company), "source": NAME}


def _person_item(person: dict[str, Any]) -> dict[str, Any]:
    """A people-search item [§7.2]. Its `experiences[]` shape is not documented, so the employer is
    not read from it; `location` is read as `{country{code,name}}` [SP §7.2]."""
    country = _dict(_dict(person.get("location")).get("country"))
    return {
        "full_name": _text(person.get("name")),
        "first_name": _text(person.get("first_name")),
        "last_name": _text(person.get("last_name")),
        "title": _text(person.get("position")),
        "linkedin_url": normalize_linkedin_url(_dict(person.get("socials")).get("linkedin_url")),
        "location": _text(country.get("name")) or _text(country.get("code")),
        "source": NAME,
    }


def _company_filters(data: SearchInput) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    if data.query and data.query.strip():
        filters["query"] = data.query.strip()
    if countries := iso_countries(data):
        filters["countries"] = countries
    if employees := _employees(data):
        filters["employees"] = employees
    return filters


def _people_filters(data: SearchInput) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    if domains := data.domains():
        filters["domains"] = domains  # ≤ 100 [§7.2], as SearchInput allows
    if titles := clean(data.job_titles):
        # `positionQuery` is a list of strings [§7.2, C4]
        filters["positionQuery"] = titles
    if seniorities := _seniorities(data):
        filters["seniority"] = seniorities
    if countries := iso_countries(data):
        filters["countries"] = countries
    return filters


async def search_companies(data: BaseModel, ctx: ActionContext) -> ActionResult:
    assert isinstance(data, SearchInput)
    return await _search(data, ctx, SEARCH_COMPANIES_PATH, _company_filters(data), "companies", _company_item)


async def search_people(data: BaseModel, ctx: ActionContext) -> ActionResult:
    assert isinstance(data, SearchInput)
    return await _search(data, ctx, SEARCH_PEOPLE_PATH, _people_filters(data), "people", _person_item)


# Enrich: 1 credit per call; whether a 404 (not found) is charged is UNCONFIRMED [§7.1]. Company
# search: 1 credit per company returned, minimum 1; people search: 2 per person, minimum 2 [§7.2, C5].
PRICES = {
    "person.search": Price(
        found=Decimal(2), not_found=Decimal(2), per_result=True, source="docs/providers.md §7.2 [SP, C5]"
    ),
    "company.enrich.profile": Price(found=Decimal(1), not_found=None, source="docs/providers.md §7.1 [SP]"),
    "company.search": Price(
        found=Decimal(1), not_found=Decimal(1), per_result=True, source="docs/providers.md §7.2 [SP, C5]"
    ),
    "company.resolve.linkedin_from_domain": Price(found=Decimal(1), not_found=None, source="docs/providers.md §15.4"),
    "company.enrich.technographics": Price(found=Decimal(1), not_found=None, source="docs/providers.md §7.1 [SP]"),
}
# --- catalog growth, part 1: resolution (issue 13) --------------------------------------------


async def linkedin_from_domain(data: BaseModel, ctx: ActionContext) -> ActionResult:
    """Enrich by domain [§7.1], read `socials.linkedin_url`."""
    result = await enrich_company(data, ctx)
    if result.status is not AttemptStatus.found:
        return result
    url = (result.output or {}).get("linkedin_url")
    if not url:
        return not_found(http_status=result.http_status, provider_status="no_linkedin_url", raw=result.raw)
    output = {"linkedin_url": url, "linkedin_source": NAME}
    return found(output, http_status=result.http_status, provider_status=result.provider_status, raw=result.raw)


# --- technographics (issue 13 item 2b) ------------------------------------------------------
MAX_TECHNOLOGIES = 500
"""More names than any real answer holds: a bound on what one entity field keeps."""


async def technographics(data: BaseModel, ctx: ActionContext) -> ActionResult:
    """The enrich answer's `technologies[]`, a list of technology names [§7.1, C2: present on every
    record the vendor published, empty on some]. An empty or missing list is not_found; entries
    that are not non-empty strings are skipped; names are de-duplicated case-insensitively, in the
    provider's order."""
    fetched = await _fetch_company(data, ctx)
    if isinstance(fetched, ActionResult):
        return fetched
    company, status, body = fetched
    raw = company.get("technologies")
    names: list[str] = []
    seen: set[str] = set()
    for item in raw if isinstance(raw, list) else []:
        name = " ".join(item.split()) if isinstance(item, str) else None
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            names.append(name[:200])
    if not names:
        return not_found(http_status=status, provider_status="no_technologies", raw=body)
    output = {"technologies": names[:MAX_TECHNOLOGIES], "technologies_source": NAME}
    return found(output, http_status=status, provider_status=None, raw=body)


ACTIONS = {
    "person.search": Action(provider=NAME, name="search", run=search_people, eligible=eligible_person_search),
    "company.enrich.profile": Action(provider=NAME, name="profile", run=enrich_company, eligible=eligible_company),
    "company.search": Action(provider=NAME, name="search", run=search_companies, eligible=eligible_company_search),
    "company.resolve.linkedin_from_domain": Action(
        provider=NAME, name="linkedin_from_domain", run=linkedin_from_domain, eligible=eligible_company
    ),
    "company.enrich.technographics": Action(
        provider=NAME, name="technographics", run=technographics, eligible=eligible_company
    ),
}
