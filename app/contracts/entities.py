"""Canonical inputs and outputs of the v1 operations (CONTRACT §8).

Inputs accept the whole cumulative pipeline context: unknown keys are kept (extra="allow") and
only the fields an operation reads are typed. Outputs are what an operation merges back into the
context; their keys are the canonical entity fields.
"""

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.contracts.normalize import normalize_domain, normalize_email, normalize_linkedin_url, split_full_name

EmailVerdict = Literal["deliverable", "undeliverable", "risky", "unknown"]


class EntityType(StrEnum):
    company = "company"
    person = "person"


class CanonicalInput(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)


class PersonInput(CanonicalInput):
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    full_name: str | None = Field(default=None, max_length=400)
    linkedin_url: str | None = Field(default=None, max_length=500)
    work_email: str | None = Field(default=None, max_length=320)
    email: str | None = Field(default=None, max_length=320)
    company_domain: str | None = Field(default=None, max_length=500)
    company_name: str | None = Field(default=None, max_length=300)
    company_linkedin_url: str | None = Field(default=None, max_length=500)
    title: str | None = Field(default=None, max_length=300)

    @field_validator("company_domain")
    @classmethod
    def _domain(cls, v: str | None) -> str | None:
        return normalize_domain(v) if v else None

    @field_validator("linkedin_url", "company_linkedin_url")
    @classmethod
    def _linkedin(cls, v: str | None) -> str | None:
        return normalize_linkedin_url(v) if v else None

    @field_validator("work_email", "email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        return normalize_email(v) if v else None

    def names(self) -> tuple[str | None, str | None]:
        """(first, last), from the separate fields or split from the full name."""
        if self.first_name or self.last_name:
            return self.first_name, self.last_name
        return split_full_name(self.full_name)

    @property
    def best_email(self) -> str | None:
        return self.work_email or self.email


class CompanyInput(CanonicalInput):
    name: str | None = Field(default=None, max_length=300)
    domain: str | None = Field(default=None, max_length=500)
    website: str | None = Field(default=None, max_length=500)
    linkedin_url: str | None = Field(default=None, max_length=500)

    @field_validator("linkedin_url")
    @classmethod
    def _linkedin(cls, v: str | None) -> str | None:
        return normalize_linkedin_url(v) if v else None

    @property
    def best_domain(self) -> str | None:
        return normalize_domain(self.domain) or normalize_domain(self.website)


class SearchFilters(CanonicalInput):
    """The filters of person.search and company.search, declared once: each search provider says
    which of them it maps (app/providers/_search.py), and skips a search that sets another."""

    query: str | None = Field(default=None, max_length=300, description="Free-text keywords")
    company_domains: list[str] | None = Field(default=None, max_length=100)
    company_names: list[str] | None = Field(default=None, max_length=100)
    job_titles: list[str] | None = Field(default=None, max_length=50)
    seniorities: list[str] | None = Field(default=None, max_length=20)
    industries: list[str] | None = Field(default=None, max_length=50)
    locations: list[str] | None = Field(default=None, max_length=50, description="Country names or ISO codes")
    employee_ranges: list[str] | None = Field(default=None, max_length=20, description='e.g. "11-50", "51-200"')

    def filters_set(self) -> list[str]:
        """The filters this search sets, in declaration order."""
        return [f for f in SEARCH_FILTERS if getattr(self, f)]

    def domains(self) -> list[str]:
        return [d for d in (normalize_domain(x) for x in self.company_domains or []) if d]


SEARCH_FILTERS: tuple[str, ...] = tuple(SearchFilters.model_fields)


class SearchInput(SearchFilters):
    """Filters shared by person.search and company.search; each provider maps what it supports."""

    limit: int = Field(default=25, ge=1, le=100)
    cursors: dict[str, Any] | None = Field(
        default=None, description="next_cursors of a previous answer: resumes each provider where it stopped"
    )


# --- outputs -------------------------------------------------------------------------------


class CanonicalOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmailOutput(CanonicalOutput):
    work_email: str | None = None
    email_confidence: str | None = None
    email_verdict: EmailVerdict | None = None
    email_source: str | None = None


class VerificationOutput(CanonicalOutput):
    email_verdict: EmailVerdict
    email_verification_status: str | None = None
    email_verified_by: str | None = None


class PhoneOutput(CanonicalOutput):
    mobile_phone: str | None = None
    phone_source: str | None = None


class CompanyProfile(CanonicalOutput):
    name: str | None = None
    domain: str | None = None
    website: str | None = None
    linkedin_url: str | None = None
    industry: str | None = None
    employee_count: int | None = None
    employee_range: str | None = None
    founded_year: int | None = None
    description: str | None = None
    hq_city: str | None = None
    hq_region: str | None = None
    hq_country: str | None = None
    logo_url: str | None = None
    profile_source: str | None = None


class PersonResult(CanonicalOutput):
    full_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    linkedin_url: str | None = None
    company_name: str | None = None
    company_domain: str | None = None
    location: str | None = None
    source: str


class CompanyResult(CanonicalOutput):
    name: str | None = None
    domain: str | None = None
    linkedin_url: str | None = None
    industry: str | None = None
    employee_count: int | None = None
    employee_range: str | None = None
    hq_country: str | None = None
    source: str


class PersonSearchOutput(CanonicalOutput):
    people: list[PersonResult]
    next_cursors: dict[str, Any]


class CompanySearchOutput(CanonicalOutput):
    companies: list[CompanyResult]
    next_cursors: dict[str, Any]


class Ad(CanonicalOutput):
    ad_id: str | None = None
    platform: str | None = None
    format: str | None = None
    headline: str | None = None
    text: str | None = None
    landing_url: str | None = None
    preview_url: str | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    is_active: bool | None = None


class AdsResult(CanonicalOutput):
    ads: list[Ad]
    total_ads: int | None = None
    next_cursor: str | None = None


class LinkedInAdsOutput(CanonicalOutput):
    linkedin_ads: AdsResult


class MetaAdsOutput(CanonicalOutput):
    meta_ads: AdsResult


class GoogleAdsOutput(CanonicalOutput):
    google_ads: AdsResult


class G2Output(CanonicalOutput):
    g2_url: str | None = None


class PricingOutput(CanonicalOutput):
    pricing_page_url: str | None = None


# --- catalog growth, part 1: resolution, person profile, change detection (issue 13) ----------


class CompanyEmailInput(CompanyInput):
    """company.resolve.domain_from_email: a company known by someone's email address."""

    email: str | None = Field(default=None, max_length=320)
    work_email: str | None = Field(default=None, max_length=320)

    @field_validator("email", "work_email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        return normalize_email(v) if v else None

    @property
    def best_email(self) -> str | None:
        return self.work_email or self.email


class CompanyDomainOutput(CanonicalOutput):
    domain: str | None = None
    domain_source: str | None = None
    """The provider that gave the domain, or `email` when it was read from an email address."""


class CompanyLinkedInOutput(CanonicalOutput):
    linkedin_url: str | None = None
    linkedin_source: str | None = None


class PersonLinkedInOutput(CanonicalOutput):
    linkedin_url: str | None = None
    linkedin_source: str | None = None


class PersonProfile(CanonicalOutput):
    full_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    seniority: str | None = None
    company_name: str | None = None
    company_domain: str | None = None
    company_linkedin_url: str | None = None
    location: str | None = None
    linkedin_url: str | None = None
    profile_source: str | None = None


class FieldChange(CanonicalOutput):
    """One field whose new value differs from the org's stored record."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    field: str
    from_: Any = Field(alias="from")
    to: Any


class CompanyChangesOutput(CanonicalOutput):
    changed: list[FieldChange]
    compared_to_version: int | None = None
    """The stored record's version compared with; None when the org has no record of this entity yet."""


class PersonChangesOutput(CompanyChangesOutput):
    job_changed: bool
    """The title or the employer changed (the classic signal)."""


# --- research, derivation and technographics (issue 13 items 2b and 3) ----------------------


class CompanyResearchInput(CompanyInput):
    """A company as the research and derivation operations read it: its identity plus the
    firmographics a profile step may have put in the context. They are typed (so the result cache
    keys on them) and cut, never refused, when long: a pipeline's context is not the caller's typo."""

    industry: str | None = None
    employee_count: int | None = Field(default=None, ge=0)
    employee_range: str | None = None
    hq_country: str | None = None
    description: str | None = None

    @field_validator("industry", "employee_range", "hq_country", mode="before")
    @classmethod
    def _short(cls, v: Any) -> Any:
        return v[:300] if isinstance(v, str) else v

    @field_validator("description", mode="before")
    @classmethod
    def _long(cls, v: Any) -> Any:
        return v[:2000] if isinstance(v, str) else v

    @field_validator("employee_count", mode="before")
    @classmethod
    def _count(cls, v: Any) -> Any:
        # a count a provider gave as text ("51-200") is not a count: unknown rather than refused
        return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None


class Competitor(CanonicalOutput):
    name: str
    domain: str | None = None
    reason: str | None = None


class CompetitorsOutput(CanonicalOutput):
    competitors: list[Competitor]


class Customer(CanonicalOutput):
    name: str
    domain: str | None = None
    evidence_url: str
    """A public page that shows the relationship (case study, logo wall, press release)."""


class CustomersOutput(CanonicalOutput):
    customers: list[Customer]


class IcpJobTitlesOutput(CanonicalOutput):
    icp_job_titles: list[str]


class IcpFitOutput(CanonicalOutput):
    icp_fit_score: int = Field(ge=0, le=100)
    icp_fit_reasons: list[str]


class NewsItem(CanonicalOutput):
    title: str
    url: str
    date: str | None = None
    """ISO 8601 (YYYY-MM-DD or YYYY-MM) when the model gave one."""


class IntelBriefing(CanonicalOutput):
    summary: str
    recent_news: list[NewsItem]
    talking_points: list[str]


class IntelBriefingOutput(CanonicalOutput):
    intel_briefing: IntelBriefing


class TechnographicsOutput(CanonicalOutput):
    technologies: list[str]
    technologies_source: str | None = None
