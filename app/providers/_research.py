"""What the research adapters (Gemini §10, OpenAI §11 of docs/providers.md) share: the two tasks,
their prompts, and the judging of the model's `{"url", "confidence"}` answer, including the URL
validation of docs/providers.md §10.5. Both providers go through `judge`, so they accept exactly
the same URLs.

G2 choice: a valid G2 URL is normalised to `https://www.g2.com/products/<slug>/reviews`, whatever
product sub-page (pricing, features, a review) or query the model returned. One product then has
one URL, which keeps entity values stable across providers and runs.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args
from urllib.parse import SplitResult, urlsplit

from pydantic import BaseModel

from app.contracts.entities import CompanyInput
from app.contracts.normalize import normalize_domain
from app.providers import _resolve as _resolve_checks
from app.providers._resolve import website_domain
from app.providers.base import ActionResult, AttemptStatus, failed, found, not_found

Confidence = Literal["high", "medium", "low"]
CONFIDENCE_LEVELS: tuple[Confidence, ...] = get_args(Confidence)
"""Best first: the `confidence` enum of the answer schema."""
DEFAULT_MIN_CONFIDENCE: Confidence = "medium"
"""docs/providers.md §10.5: a `low` answer is not accepted unless a setting lowers the bar."""

URL_DESCRIPTION = "The exact URL, or null when you could not find it. Never guess or construct a URL."
CONFIDENCE_DESCRIPTION = "How sure you are that the URL is right and belongs to this company."

_G2_HOSTS = frozenset({"g2.com", "www.g2.com"})
_SLUG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def validate_g2_url(url: str) -> str | None:
    """`https://www.g2.com/products/<slug>/reviews` for an https URL on g2.com whose path is
    `/products/<slug>[/...]`; None for anything else."""
    parts = _split(url)
    if parts is None or parts.scheme != "https" or parts.hostname not in _G2_HOSTS:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) < 2 or segments[0] != "products" or not _SLUG_RE.fullmatch(segments[1]):
        return None
    return f"https://www.g2.com/products/{segments[1]}/reviews"


def validate_pricing_url(url: str, domain: str) -> str | None:
    """The URL (without its fragment) when it is http(s) on `domain` or one of its subdomains;
    None otherwise (CONTRACT §8: the pricing page must be on the company's own domain)."""
    parts = _split(url)
    if parts is None or parts.scheme not in ("http", "https"):
        return None
    host = parts.hostname or ""
    if not (host == domain or host.endswith("." + domain)):
        return None
    return parts._replace(fragment="").geturl()


def _split(url: str) -> SplitResult | None:
    """The parsed URL when it is a plain absolute web URL (a valid host name, no credentials, no
    non-default port), else None."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    if port is not None and port != {"http": 80, "https": 443}.get(parts.scheme.lower()):
        return None
    if normalize_domain(parts.hostname) is None or any(c.isspace() for c in url.strip()):
        return None
    return parts._replace(scheme=parts.scheme.lower(), netloc=parts.hostname.rstrip("."))


@dataclass(frozen=True)
class ResearchTask:
    operation_id: str
    action: str
    output_key: str
    """The canonical output field (G2Output.g2_url / PricingOutput.pricing_page_url)."""
    schema_name: str
    instructions: str
    question: Callable[[CompanyInput, str], str]
    validate: Callable[[str, str], str | None]
    """(url, company domain) → the accepted URL, or None."""
    search_domains: Callable[[str], list[str]]
    """Domains a web-search tool may be restricted to (bare, no scheme)."""


def _company_line(company: CompanyInput, domain: str) -> str:
    line = f"Company: {company.name or '(name unknown)'}; website domain: {domain}"
    if company.linkedin_url:
        line += f"; LinkedIn: {company.linkedin_url}"
    return line


_COMMON_RULES = (
    "Answer only with the JSON object the schema asks for. Set url to null when you cannot find the page: a "
    "null answer is better than a wrong one. Never invent or construct a URL you have not seen."
)


def _g2_question(company: CompanyInput, domain: str) -> str:
    return f"{_company_line(company, domain)}. What is the G2 product page of this company's main product?"


def _pricing_question(company: CompanyInput, domain: str) -> str:
    return f"{_company_line(company, domain)}. What is the URL of this company's pricing page on {domain}?"


G2 = ResearchTask(
    operation_id="company.research.resolve_g2_url",
    action="resolve_g2_url",
    output_key="g2_url",
    schema_name="g2_url",
    instructions=(
        "You find the G2 (g2.com) product page of a company's own product. The URL must look like "
        "https://www.g2.com/products/<product-slug>/reviews and be the listing of a product made by the company "
        "itself, not by a competitor or a company with a similar name. " + _COMMON_RULES
    ),
    question=_g2_question,
    validate=lambda url, _domain: validate_g2_url(url),
    search_domains=lambda _domain: ["g2.com"],
)

PRICING = ResearchTask(
    operation_id="company.research.resolve_pricing_page_url",
    action="resolve_pricing_page_url",
    output_key="pricing_page_url",
    schema_name="pricing_page_url",
    instructions=(
        "You find the pricing page on a company's own website: the page that lists its plans or prices. The URL "
        "must be on the company's domain or one of its subdomains, never on a third-party site. " + _COMMON_RULES
    ),
    question=_pricing_question,
    validate=validate_pricing_url,
    search_domains=lambda domain: [domain],
)


def company_and_domain(data: BaseModel) -> tuple[CompanyInput, str]:
    """The company and its normalised domain; the engine has checked the operation's minimum
    (a domain or website, for the operations that need one) before any action runs."""
    assert isinstance(data, CompanyInput)
    # "" for an operation that looks the domain up (company.resolve.domain_from_name)
    return data, data.best_domain or ""


def parse_answer(text: str) -> Any:
    """The model's JSON answer, or None when the text is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def judge(
    task: ResearchTask,
    answer: Any,
    domain: str,
    *,
    min_confidence: str,
    http_status: int | None,
    provider_status: str | None,
    raw: Any,
) -> ActionResult:
    """Classify a parsed `{"url", "confidence"}` answer (docs/providers.md §10.5):
    - not the schema's shape → failed (`invalid_answer`);
    - `url` null or empty → not_found (`no_answer`);
    - a URL that fails validation → not_found (`rejected_url`);
    - confidence below `min_confidence` → not_found (`low_confidence`);
    - otherwise found, with `provider_status` the provider's own completion code."""
    if min_confidence not in CONFIDENCE_LEVELS:
        raise ValueError(f"min confidence must be one of {CONFIDENCE_LEVELS}, not {min_confidence!r}")
    if (
        not isinstance(answer, dict)
        or "url" not in answer
        or not isinstance(answer["url"], str | None)
        or answer.get("confidence") not in CONFIDENCE_LEVELS
    ):
        return failed(
            "the model's answer does not match the requested schema",
            http_status=http_status,
            provider_status="invalid_answer",
            raw=raw,
        )
    url = (answer["url"] or "").strip()
    if not url:
        return not_found(http_status=http_status, provider_status="no_answer", raw=raw)
    accepted = task.validate(url, domain)
    if accepted is None:
        return not_found(http_status=http_status, provider_status="rejected_url", raw=raw)
    if CONFIDENCE_LEVELS.index(answer["confidence"]) > CONFIDENCE_LEVELS.index(min_confidence):
        return not_found(http_status=http_status, provider_status="low_confidence", raw=raw)
    return found({task.output_key: accepted}, http_status=http_status, provider_status=provider_status, raw=raw)


TASKS: dict[str, ResearchTask] = {task.operation_id: task for task in (G2, PRICING)}


# --- company.resolve.domain_from_name (docs/decisions/0065) -----------------------------------


def _website_question(company: CompanyInput, _domain: str) -> str:
    line = f"Company: {company.name}"
    if company.linkedin_url:
        line += f"; LinkedIn: {company.linkedin_url}"
    return f"{line}. What is the URL of this company's own official website (its home page)?"


WEBSITE = ResearchTask(
    operation_id="company.resolve.domain_from_name",
    action="domain_from_name",
    output_key="domain",
    schema_name="company_website",
    instructions=(
        "You find the official website of a company from its name: the home page of the company's own site, "
        "never a profile of it on a social network, a directory, a news site or Wikipedia. When several "
        "companies share the name and you cannot tell which one is meant, answer null. " + _COMMON_RULES
    ),
    question=_website_question,
    # the answer becomes the company's domain; resolution in DNS is checked by the action after this
    validate=website_domain,
    # no domain to restrict a web search to: the answer is the domain
    search_domains=lambda _domain: [],
)
TASKS[WEBSITE.operation_id] = WEBSITE


async def checked_domain(result: ActionResult, provider: str) -> ActionResult:
    """A found website is the answer only when its domain resolves in DNS (no HTTP fetch)."""
    if result.status is not AttemptStatus.found or not result.output:
        return result
    domain = result.output["domain"]
    if not await _resolve_checks.domain_resolves(domain):
        return not_found(http_status=result.http_status, provider_status="unresolvable_domain", raw=result.raw)
    result.output = {"domain": domain, "domain_source": provider}
    return result
