"""The v1 operation catalog (CONTRACT §8): each operation declared once.

This is the source of truth; `steps` in the database is kept in sync with it at migrate time
(`sync_catalog`), so blueprints can reference operations by id with a foreign key.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

from app.contracts import entities as e
from app.contracts.entities import EntityType


class Strategy(StrEnum):
    waterfall = "waterfall"
    """Providers in order; stop at the first found answer."""
    verify = "verify"
    """Verifiers in order; stop at the first conclusive verdict; an inconclusive one lets the next try."""
    find_then_verify = "find_then_verify"
    """Finders in order; a found email is verified with the verify order; an undeliverable one lets
    the next finder try."""
    search = "search"
    """Providers in order until the limit is reached; results merged and de-duplicated, each
    provider's next cursor kept."""
    local = "local"
    """No provider: our own function answers (`app/operations/local.py`), recorded as one attempt of
    provider `local`, never billed and never cached (docs/decisions/0064)."""


Minimum = Callable[[BaseModel], list[str]]


def _person_email(i: BaseModel) -> list[str]:
    assert isinstance(i, e.PersonInput)
    first, last = i.names()
    missing = [] if (first or last) else ["first_name|last_name|full_name"]
    if not (i.company_domain or i.company_name):
        missing.append("company_domain|company_name")
    return missing


def _email(i: BaseModel) -> list[str]:
    assert isinstance(i, e.PersonInput)
    return [] if i.best_email else ["work_email|email"]


def _phone(i: BaseModel) -> list[str]:
    assert isinstance(i, e.PersonInput)
    return [] if (i.linkedin_url or i.best_email) else ["linkedin_url|work_email|email"]


def _company_identity(i: BaseModel) -> list[str]:
    assert isinstance(i, e.CompanyInput)
    return [] if (i.best_domain or i.linkedin_url or i.name) else ["domain|website|linkedin_url|name"]


def _company_domain(i: BaseModel) -> list[str]:
    assert isinstance(i, e.CompanyInput)
    return [] if i.best_domain else ["domain|website"]


def _search_filters(i: BaseModel) -> list[str]:
    assert isinstance(i, e.SearchInput)
    return [] if i.filters_set() else ["|".join(e.SEARCH_FILTERS)]


@dataclass(frozen=True)
class OperationSpec:
    operation_id: str
    entity_type: EntityType
    name: str
    description: str
    default_providers: tuple[str, ...]
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    minimum: Minimum
    strategy: Strategy = Strategy.waterfall
    settings_read: tuple[str, ...] = ()
    timeout_seconds: int = 60
    max_retries: int = 2
    reads_stored_entity: bool = False
    """A local operation that compares with the org's stored record of the entity (found by natural key)."""
    params: tuple[str, ...] = ()
    """The step parameters (app/providers/base.StepParams fields) the operation needs, each given
    as `options.<name>` on /api/v1/execute or `step_config.<name>` in a blueprint; the others are
    refused for it."""


_SEARCH_PROVIDERS = ("prospeo", "blitzapi", "companyenrich")
_RESEARCH_PROVIDERS = ("gemini", "openai")
_RESEARCH_SETTINGS = (
    "gemini_model",
    "gemini_grounded_structured",
    "gemini_min_confidence",
    "openai_model",
    "openai_min_confidence",
    "openai_web_search",
)
_VERIFY_PROVIDERS = ("millionverifier", "reoon")

OPERATIONS: tuple[OperationSpec, ...] = (
    OperationSpec(
        "person.contact.resolve_email",
        EntityType.person,
        "Resolve work email",
        "Find a person's work email from their name and company, then verify it.",
        ("icypeas", "leadmagic", "parallel"),
        e.PersonInput,
        e.EmailOutput,
        _person_email,
        Strategy.find_then_verify,
        settings_read=(
            "icypeas_max_wait_seconds",
            "icypeas_read_interval_seconds",
            "icypeas_poll_interval_seconds",
            "parallel_processor",
            "parallel_max_wait_seconds",
            "reoon_mode",
            "millionverifier_timeout_seconds",
        ),
        # Icypeas may take 45 s, Parallel longer, then verification
        timeout_seconds=300,
    ),
    OperationSpec(
        "person.contact.verify_email",
        EntityType.person,
        "Verify email",
        "Verify deliverability of an email; Reoon only when MillionVerifier is inconclusive or fails.",
        _VERIFY_PROVIDERS,
        e.PersonInput,
        e.VerificationOutput,
        _email,
        Strategy.verify,
        settings_read=("millionverifier_timeout_seconds", "reoon_mode"),
        # Reoon's power mode can take over a minute
        timeout_seconds=150,
    ),
    OperationSpec(
        "person.contact.resolve_mobile_phone",
        EntityType.person,
        "Resolve mobile phone",
        "Find a person's mobile phone from a LinkedIn URL or an email.",
        ("leadmagic", "blitzapi"),
        e.PersonInput,
        e.PhoneOutput,
        _phone,
    ),
    OperationSpec(
        "person.search",
        EntityType.person,
        "Search people",
        "Search people across providers; results merged and de-duplicated, each provider's cursor kept.",
        _SEARCH_PROVIDERS,
        e.SearchInput,
        e.PersonSearchOutput,
        _search_filters,
        Strategy.search,
    ),
    OperationSpec(
        "company.enrich.profile",
        EntityType.company,
        "Enrich company profile",
        "Firmographic profile of a company from its domain, website, LinkedIn URL or name.",
        ("prospeo", "blitzapi", "companyenrich", "leadmagic"),
        e.CompanyInput,
        e.CompanyProfile,
        _company_identity,
    ),
    OperationSpec(
        "company.search",
        EntityType.company,
        "Search companies",
        "Search companies across providers; results merged and de-duplicated, each provider's cursor kept.",
        _SEARCH_PROVIDERS,
        e.SearchInput,
        e.CompanySearchOutput,
        _search_filters,
        Strategy.search,
    ),
    OperationSpec(
        "company.ads.search.linkedin",
        EntityType.company,
        "LinkedIn ads",
        "Ads the company runs on LinkedIn, by company domain.",
        ("adyntel",),
        e.CompanyInput,
        e.LinkedInAdsOutput,
        _company_domain,
        settings_read=("adyntel_email",),
    ),
    OperationSpec(
        "company.ads.search.meta",
        EntityType.company,
        "Meta ads",
        "Ads the company runs on Meta (Facebook, Instagram), by company domain.",
        ("adyntel",),
        e.CompanyInput,
        e.MetaAdsOutput,
        _company_domain,
        settings_read=("adyntel_email",),
    ),
    OperationSpec(
        "company.ads.search.google",
        EntityType.company,
        "Google ads",
        "Ads the company runs on Google, by company domain.",
        ("adyntel",),
        e.CompanyInput,
        e.GoogleAdsOutput,
        _company_domain,
        settings_read=("adyntel_email",),
    ),
    OperationSpec(
        "company.research.resolve_g2_url",
        EntityType.company,
        "Resolve G2 URL",
        "The company's G2 product page, as a validated URL.",
        _RESEARCH_PROVIDERS,
        e.CompanyInput,
        e.G2Output,
        _company_domain,
        settings_read=_RESEARCH_SETTINGS,
    ),
    OperationSpec(
        "company.research.resolve_pricing_page_url",
        EntityType.company,
        "Resolve pricing page URL",
        "The company's pricing page, on the company's own domain.",
        _RESEARCH_PROVIDERS,
        e.CompanyInput,
        e.PricingOutput,
        _company_domain,
        settings_read=_RESEARCH_SETTINGS,
    ),
)

# --- catalog growth, part 1: resolution, person profile, change detection (issue 13) ----------


def _company_name(i: BaseModel) -> list[str]:
    assert isinstance(i, e.CompanyInput)
    return [] if i.name else ["name"]


def _company_email(i: BaseModel) -> list[str]:
    assert isinstance(i, e.CompanyEmailInput)
    return [] if i.best_email else ["work_email|email"]


def _company_linkedin(i: BaseModel) -> list[str]:
    assert isinstance(i, e.CompanyInput)
    return [] if i.linkedin_url else ["linkedin_url"]


def _person_identity(i: BaseModel) -> list[str]:
    assert isinstance(i, e.PersonInput)
    if i.linkedin_url or i.best_email:
        return []
    first, last = i.names()
    if (first or last) and (i.company_domain or i.company_name or i.company_linkedin_url):
        return []
    return [
        "linkedin_url|work_email|email|"
        "(first_name|last_name|full_name & company_domain|company_name|company_linkedin_url)"
    ]


def _person_key(i: BaseModel) -> list[str]:
    assert isinstance(i, e.PersonInput)
    return [] if (i.linkedin_url or i.best_email) else ["linkedin_url|work_email|email"]


def _company_key(i: BaseModel) -> list[str]:
    assert isinstance(i, e.CompanyInput)
    return [] if (i.best_domain or i.linkedin_url) else ["domain|website|linkedin_url"]


_RESOLUTION_OPERATIONS: tuple[OperationSpec, ...] = (
    OperationSpec(
        "company.resolve.domain_from_name",
        EntityType.company,
        "Resolve domain from name",
        "The company's web domain from its name: search providers (an exact name match only), then "
        "research models whose answer must be a live domain (docs/decisions/0065).",
        ("prospeo", "blitzapi", "leadmagic", "gemini", "openai"),
        e.CompanyInput,
        e.CompanyDomainOutput,
        _company_name,
        settings_read=_RESEARCH_SETTINGS,
    ),
    OperationSpec(
        "company.resolve.domain_from_email",
        EntityType.company,
        "Resolve domain from email",
        "The company's domain read from a work email; free-mail and disposable domains are no answer.",
        (),
        e.CompanyEmailInput,
        e.CompanyDomainOutput,
        _company_email,
        Strategy.local,
    ),
    OperationSpec(
        "company.resolve.domain_from_linkedin",
        EntityType.company,
        "Resolve domain from LinkedIn",
        "The company's web domain from its LinkedIn company page URL.",
        ("blitzapi", "prospeo", "leadmagic"),
        e.CompanyInput,
        e.CompanyDomainOutput,
        _company_linkedin,
    ),
    OperationSpec(
        "company.resolve.linkedin_from_domain",
        EntityType.company,
        "Resolve LinkedIn from domain",
        "The company's LinkedIn company page URL from its domain or website.",
        ("blitzapi", "prospeo", "companyenrich", "leadmagic"),
        e.CompanyInput,
        e.CompanyLinkedInOutput,
        _company_domain,
    ),
    OperationSpec(
        "person.resolve.linkedin_from_email",
        EntityType.person,
        "Resolve LinkedIn from email",
        "A person's LinkedIn profile URL from their work email.",
        ("prospeo", "blitzapi", "leadmagic"),
        e.PersonInput,
        e.PersonLinkedInOutput,
        _email,
    ),
    OperationSpec(
        "person.enrich.profile",
        EntityType.person,
        "Enrich person profile",
        "A person's current title, employer, seniority, location and LinkedIn URL, from a LinkedIn URL, "
        "an email, or a name and a company.",
        ("prospeo", "blitzapi", "leadmagic"),
        e.PersonInput,
        e.PersonProfile,
        _person_identity,
    ),
    OperationSpec(
        "person.derive.detect_changes",
        EntityType.person,
        "Detect person changes",
        "The fields of the run's context that differ from the org's stored record of this person; "
        "job_changed when the title or the employer did.",
        (),
        e.PersonInput,
        e.PersonChangesOutput,
        _person_key,
        Strategy.local,
        reads_stored_entity=True,
    ),
    OperationSpec(
        "company.derive.detect_changes",
        EntityType.company,
        "Detect company changes",
        "The fields of the run's context that differ from the org's stored record of this company.",
        (),
        e.CompanyInput,
        e.CompanyChangesOutput,
        _company_key,
        Strategy.local,
        reads_stored_entity=True,
    ),
)
OPERATIONS = OPERATIONS + _RESOLUTION_OPERATIONS
# --- research, derivation and technographics (issue 13 items 2b and 3) ----------------------
# Structured answers (JSON schema) from Gemini, then OpenAI, then a Parallel task run; every URL
# in an answer is checked before it is kept (docs/decisions/0067-research-operations.md).
_STRUCTURED_PROVIDERS = ("gemini", "openai", "parallel")
_STRUCTURED_SETTINGS = (
    "gemini_model",
    "gemini_grounded_structured",
    "openai_model",
    "openai_web_search",
    "parallel_processor",
    "parallel_max_wait_seconds",
)
# a Parallel `core` run takes 60 s to 5 min (docs/providers.md §8.3), after two quick LLM calls
_STRUCTURED_TIMEOUT = 300

OPERATIONS += (
    OperationSpec(
        "company.research.discover_competitors",
        EntityType.company,
        "Discover competitors",
        "Companies that compete with this one, each with its domain and why it competes.",
        _STRUCTURED_PROVIDERS,
        e.CompanyResearchInput,
        e.CompetitorsOutput,
        _company_domain,
        settings_read=_STRUCTURED_SETTINGS,
        timeout_seconds=_STRUCTURED_TIMEOUT,
    ),
    OperationSpec(
        "company.research.lookup_customers",
        EntityType.company,
        "Look up customers",
        "Named customers of this company, each with a public page that shows the relationship.",
        _STRUCTURED_PROVIDERS,
        e.CompanyResearchInput,
        e.CustomersOutput,
        _company_domain,
        settings_read=_STRUCTURED_SETTINGS,
        timeout_seconds=_STRUCTURED_TIMEOUT,
    ),
    OperationSpec(
        "company.derive.icp_job_titles",
        EntityType.company,
        "ICP job titles",
        "The job titles to target at this company for the product in step_config.product.",
        _STRUCTURED_PROVIDERS,
        e.CompanyResearchInput,
        e.IcpJobTitlesOutput,
        _company_domain,
        settings_read=_STRUCTURED_SETTINGS,
        timeout_seconds=_STRUCTURED_TIMEOUT,
        params=("product",),
    ),
    OperationSpec(
        "company.derive.evaluate_icp_fit",
        EntityType.company,
        "Evaluate ICP fit",
        "A 0-100 score, with reasons, of how well this company fits the profile in step_config.criteria.",
        _STRUCTURED_PROVIDERS,
        e.CompanyResearchInput,
        e.IcpFitOutput,
        _company_domain,
        settings_read=_STRUCTURED_SETTINGS,
        timeout_seconds=_STRUCTURED_TIMEOUT,
        params=("criteria",),
    ),
    OperationSpec(
        "company.derive.intel_briefing",
        EntityType.company,
        "Intel briefing",
        "A short briefing on the company: summary, recent news with source URLs, talking points.",
        _STRUCTURED_PROVIDERS,
        e.CompanyResearchInput,
        e.IntelBriefingOutput,
        _company_domain,
        settings_read=_STRUCTURED_SETTINGS,
        timeout_seconds=_STRUCTURED_TIMEOUT,
    ),
    OperationSpec(
        "company.enrich.technographics",
        EntityType.company,
        "Technographics",
        "The technologies a company uses, by domain (CompanyEnrich's technologies list).",
        ("companyenrich",),
        e.CompanyInput,
        e.TechnographicsOutput,
        _company_domain,
    ),
)

OPERATIONS_BY_ID: dict[str, OperationSpec] = {op.operation_id: op for op in OPERATIONS}
