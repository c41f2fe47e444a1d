"""The v1 operation catalog (CONTRACT §8): each operation declared once.

This is the source of truth; `steps` in the database is kept in sync with it at migrate time
(`sync_catalog`), so blueprints can reference operations by id with a foreign key.
"""

from dataclasses import dataclass

from app.models.operations import EntityType


@dataclass(frozen=True)
class OperationSpec:
    operation_id: str
    entity_type: EntityType
    name: str
    description: str
    default_providers: tuple[str, ...]
    timeout_seconds: int = 60
    max_retries: int = 2


_SEARCH_PROVIDERS = ("prospeo", "blitzapi", "companyenrich")
_RESEARCH_PROVIDERS = ("gemini", "openai")

OPERATIONS: tuple[OperationSpec, ...] = (
    OperationSpec(
        "person.contact.resolve_email",
        EntityType.person,
        "Resolve work email",
        "Find a person's work email from their name and company, then verify it.",
        ("icypeas", "leadmagic", "parallel"),
        # Icypeas may take up to 45 s per search, plus verification
        timeout_seconds=120,
    ),
    OperationSpec(
        "person.contact.verify_email",
        EntityType.person,
        "Verify email",
        "Verify deliverability of an email; Reoon only when MillionVerifier is inconclusive.",
        ("millionverifier", "reoon"),
    ),
    OperationSpec(
        "person.contact.resolve_mobile_phone",
        EntityType.person,
        "Resolve mobile phone",
        "Find a person's mobile phone from a LinkedIn URL or an email.",
        ("leadmagic", "blitzapi"),
    ),
    OperationSpec(
        "person.search",
        EntityType.person,
        "Search people",
        "Search people across providers; results merged and de-duplicated.",
        _SEARCH_PROVIDERS,
    ),
    OperationSpec(
        "company.enrich.profile",
        EntityType.company,
        "Enrich company profile",
        "Firmographic profile of a company from its domain or LinkedIn URL.",
        ("prospeo", "blitzapi", "companyenrich", "leadmagic"),
    ),
    OperationSpec(
        "company.search",
        EntityType.company,
        "Search companies",
        "Search companies across providers; results merged and de-duplicated.",
        _SEARCH_PROVIDERS,
    ),
    OperationSpec(
        "company.ads.search.linkedin",
        EntityType.company,
        "LinkedIn ads",
        "Ads the company runs on LinkedIn, by company domain.",
        ("adyntel",),
    ),
    OperationSpec(
        "company.ads.search.meta",
        EntityType.company,
        "Meta ads",
        "Ads the company runs on Meta (Facebook, Instagram), by company domain.",
        ("adyntel",),
    ),
    OperationSpec(
        "company.ads.search.google",
        EntityType.company,
        "Google ads",
        "Ads the company runs on Google, by company domain.",
        ("adyntel",),
    ),
    OperationSpec(
        "company.research.resolve_g2_url",
        EntityType.company,
        "Resolve G2 URL",
        "The company's G2 product page, as a validated URL.",
        _RESEARCH_PROVIDERS,
    ),
    OperationSpec(
        "company.research.resolve_pricing_page_url",
        EntityType.company,
        "Resolve pricing page URL",
        "The company's pricing page, on the company's own domain.",
        _RESEARCH_PROVIDERS,
    ),
)

OPERATIONS_BY_ID: dict[str, OperationSpec] = {op.operation_id: op for op in OPERATIONS}
