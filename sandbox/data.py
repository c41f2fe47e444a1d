"""Deterministic fake data and the found / not-found rules.

Nothing here is random: every value is derived from a hash of the normalised input, so the same
input gives the same answer in every request, every process and every seed. The seed of the
sandbox only drives fault injection (knobs), never data.

Two rules decide whether an input is found (docs/sandbox.md, "Triggers"):

1. Triggers. A token of an identifier that starts with `notfound`, `error500`, `ratelimit` or
   `nocredit` forces that outcome (tokens are the runs of letters and digits, so the local part of
   an email, the first label of a domain, a LinkedIn slug and a name are all covered). An
   identifier whose head (`head()`: LinkedIn slug, host, local part or text) starts with `found`
   forces "found" and bypasses rule 2.
2. The 1-in-5 rule. Otherwise `blake2b("<provider>:<key>", digest_size=8)` read as a big-endian
   integer, modulo 5, equal to 0 means "not found". `key` is the normalised subject of the
   request (see `person_key`, `company_key`, `search_key`). Including the provider makes the
   providers of a waterfall disagree now and then, as real ones do.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

TRIGGERS = ("notfound", "error500", "ratelimit", "nocredit")
ERROR_TRIGGERS = ("error500", "ratelimit", "nocredit")
FORCE_FOUND = "found"
VERIFIER_VERDICTS = ("invalid", "catchall", "unknown", "disposable")

_TOKEN = re.compile(r"[a-z0-9]+")
_DOMAIN = re.compile(r"(?<![a-z0-9@.-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24})(?![a-z0-9-])")


# ---------------------------------------------------------------------------------------------
# hashing


def digest(*parts: object) -> int:
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def stable_uuid(*parts: object) -> str:
    text = "\x1f".join(str(p) for p in parts)
    return str(uuid.UUID(bytes=hashlib.blake2b(text.encode(), digest_size=16).digest(), version=4))


class Rolls:
    """Sixteen independent 32-bit draws from one hash of the input (cheaper than one hash each)."""

    __slots__ = ("_bytes",)

    def __init__(self, *parts: object) -> None:
        text = "\x1f".join(str(p) for p in parts)
        self._bytes = hashlib.blake2b(text.encode(), digest_size=64).digest()

    def n(self, slot: int, modulo: int) -> int:
        return int.from_bytes(self._bytes[slot * 4 : slot * 4 + 4], "big") % modulo

    def pick(self, slot: int, options: tuple[Any, ...] | list[Any]) -> Any:
        return options[self.n(slot, len(options))]


def pick(options: tuple[Any, ...] | list[Any], *parts: object) -> Any:
    return options[digest(*parts) % len(options)]


def hash_not_found(provider: str, key: str) -> bool:
    """Rule 2: roughly one key in five is not found at a given provider."""
    return digest_plain(f"{provider}:{key}") % 5 == 0


def digest_plain(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


# ---------------------------------------------------------------------------------------------
# triggers


def tokens(value: str) -> list[str]:
    """Runs of ASCII letters and digits, lowercased (accents are folded: `José` → `jose`)."""
    if not value.isascii():
        value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return _TOKEN.findall(value.lower())


def trigger_of(*values: object) -> str | None:
    """The first trigger among the identifiers (any token), or "found" when the head of one of them
    starts with `found` (see `head`)."""
    forced = False
    for value in _strings(values):
        for token in tokens(value):
            for trigger in TRIGGERS:
                if token.startswith(trigger):
                    return trigger
        if not forced:
            first = tokens(head(value))
            forced = bool(first) and first[0].startswith(FORCE_FOUND)
    return FORCE_FOUND if forced else None


def head(value: str) -> str:
    """The part of an identifier a person reads first: a LinkedIn slug, the host of a URL (without
    `www.`), the local part of an email, or the text itself."""
    text = value.strip().lower()
    slug = linkedin_slug(text)
    if slug:
        return slug
    if "://" in text or text.startswith("www."):
        return norm_domain(text)
    if "@" in text and " " not in text:
        return text.split("@", 1)[0]
    return text


def is_not_found(provider: str, key: str, trigger: str | None) -> bool:
    """Rules 1 and 2 together (error triggers are handled by the caller before this)."""
    if trigger == "notfound":
        return True
    if trigger == FORCE_FOUND:
        return False
    return hash_not_found(provider, key)


def _strings(values: Any) -> list[str]:
    """Every string in a nesting of dicts, lists and tuples, in order."""
    if isinstance(values, str):
        return [values]
    if isinstance(values, dict):
        values = list(values.values())
    if isinstance(values, list | tuple):
        return [s for item in values for s in _strings(item)]
    return []


# ---------------------------------------------------------------------------------------------
# normalisation


def norm_domain(value: str | None) -> str:
    """`https://www.Acme.com/about` → `acme.com`; '' when nothing is left."""
    if not value:
        return ""
    text = value.strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    text = text.rsplit("@", 1)[-1].split(":", 1)[0].strip(".")
    if text.startswith("www."):
        text = text[4:]
    return text


def looks_like_domain(value: str) -> bool:
    text = norm_domain(value)
    return "." in text and " " not in text and bool(_DOMAIN.fullmatch(text))


def slugify(value: str) -> str:
    return "-".join(tokens(value))


def stem_of_domain(domain: str) -> str:
    return norm_domain(domain).split(".", 1)[0]


def company_key(value: str | None) -> str:
    """Key of a company given as a domain, a URL, a LinkedIn URL or a name: its stem.

    `acme.com`, `https://www.acme.com`, `linkedin.com/company/acme` and `Acme` all give `acme`,
    so one company looks the same whichever identifier a provider is asked with.
    """
    if not value:
        return ""
    text = value.strip()
    slug = linkedin_slug(text)
    if slug:
        return slug
    if looks_like_domain(text):
        return stem_of_domain(text)
    return "".join(tokens(text))


def domain_for(value: str | None) -> str:
    """A domain for a company given as a domain, URL or name (`Acme Corp` → `acmecorp.com`)."""
    if not value:
        return ""
    text = value.strip()
    slug = linkedin_slug(text)
    if slug:
        return f"{slug}.com"
    if looks_like_domain(text):
        return norm_domain(text)
    return "".join(tokens(text)) + ".com"


def linkedin_slug(value: str | None) -> str:
    """The slug of a LinkedIn company or person URL, or '' if it is not one."""
    if not value or "linkedin.com/" not in value.lower():
        return ""
    path = value.lower().split("linkedin.com/", 1)[1]
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if len(parts) >= 2 and parts[0] in ("company", "in", "school", "showcase", "pub"):
        return parts[1]
    return parts[0] if parts else ""


def person_key(first: str | None, last: str | None, company: str | None) -> str:
    names = " ".join(t for t in tokens(f"{first or ''} {last or ''}"))
    return f"{names}@{domain_for(company)}"


def search_key(filters: Any) -> str:
    return json.dumps(filters, sort_keys=True, separators=(",", ":"), default=str).lower()


def domains_in_text(text: str) -> list[str]:
    found = []
    for match in _DOMAIN.finditer(text.lower()):
        domain = norm_domain(match.group(1))
        if domain and domain not in found:
            found.append(domain)
    return found


def split_full_name(full_name: str | None) -> tuple[str, str]:
    parts = (full_name or "").split()
    if not parts:
        return "", ""
    return parts[0], " ".join(parts[1:])


def email_local(first: str, last: str) -> str:
    a, b = "".join(tokens(first)), "".join(tokens(last))
    if a and b:
        return f"{a}.{b}"
    return a or b


# ---------------------------------------------------------------------------------------------
# vocabularies

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
    "Mia", "Mateo", "Amelia", "Benjamin", "Harper", "Henry", "Evelyn", "Alexander", "Abigail",
    "Sebastian", "Emily", "Daniel", "Ella", "Michael", "Scarlett", "Owen", "Grace", "Samuel",
    "Chloe", "Jack", "Priya", "Wei", "Fatima", "Diego", "Aisha", "Kenji", "Ingrid", "Omar",
    "Lena", "Rafael", "Nadia", "Tomas", "Yara", "Arjun", "Sofia", "Malik", "Hana", "Pierre",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
    "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Young", "Allen",
    "King", "Wright", "Patel", "Chen", "Nguyen", "Kim", "Schmidt", "Rossi", "Dubois", "Silva",
    "Kowalski", "Novak", "Okafor", "Tanaka", "Larsen", "Haddad", "Costa", "Weber", "Ivanova",
)  # fmt: skip
TITLES = (
    "Chief Executive Officer", "Chief Technology Officer", "VP of Sales", "VP of Marketing",
    "Head of Growth", "Director of Engineering", "Engineering Manager", "Senior Software Engineer",
    "Product Manager", "Account Executive", "Sales Development Representative", "Head of Operations",
    "Chief Financial Officer", "Marketing Manager", "Customer Success Manager", "Data Scientist",
    "Head of People", "Solutions Engineer", "Revenue Operations Manager", "Founder",
)  # fmt: skip
SENIORITY = {
    "Chief": "c-suite", "VP": "vp", "Head": "head", "Director": "director", "Manager": "manager",
    "Founder": "owner", "Senior": "senior",
}  # fmt: skip
DEPARTMENTS = (
    ("Engineer", "engineering"), ("Technology", "engineering"), ("Data", "engineering"),
    ("Sales", "sales"), ("Account", "sales"), ("Revenue", "sales"), ("Marketing", "marketing"),
    ("Growth", "marketing"), ("Product", "product"), ("Financial", "finance"), ("People", "hr"),
    ("Customer", "customer_success"), ("Operations", "operations"), ("Executive", "executive"),
    ("Founder", "executive"),
)  # fmt: skip
INDUSTRIES = (
    "Software Development", "IT Services and IT Consulting", "Financial Services",
    "Marketing Services", "Hospital and Health Care", "Retail", "Manufacturing",
    "Computer and Network Security", "Staffing and Recruiting", "E-Learning Providers",
    "Logistics and Supply Chain", "Real Estate", "Biotechnology Research", "Insurance",
    "Advertising Services", "Renewable Energy Semiconductor Manufacturing",
)  # fmt: skip
# (city, state, state code, country, country code, continent, postal code, area code)
CITIES = (
    ("San Francisco", "California", "CA", "United States", "US", "North America", "94105", "415"),
    ("New York", "New York", "NY", "United States", "US", "North America", "10013", "212"),
    ("Austin", "Texas", "TX", "United States", "US", "North America", "78701", "512"),
    ("Boston", "Massachusetts", "MA", "United States", "US", "North America", "02110", "617"),
    ("Chicago", "Illinois", "IL", "United States", "US", "North America", "60606", "312"),
    ("Seattle", "Washington", "WA", "United States", "US", "North America", "98101", "206"),
    ("Denver", "Colorado", "CO", "United States", "US", "North America", "80202", "303"),
    ("Atlanta", "Georgia", "GA", "United States", "US", "North America", "30303", "404"),
    ("London", "England", "ENG", "United Kingdom", "GB", "Europe", "EC2A 4NE", "202"),
    ("Berlin", "Berlin", "BE", "Germany", "DE", "Europe", "10115", "202"),
    ("Paris", "Ile-de-France", "IDF", "France", "FR", "Europe", "75002", "202"),
    ("Toronto", "Ontario", "ON", "Canada", "CA", "North America", "M5V 2T6", "416"),
)  # fmt: skip
STREETS = ("Market Street", "Main Street", "Congress Avenue", "Harbor Way", "Oak Lane", "King Street")
# (range label, low, high, CompanyEnrich label)
EMPLOYEE_BANDS = (
    ("1-10", 1, 10, "1-10"),
    ("11-50", 11, 50, "11-50"),
    ("51-200", 51, 200, "51-200"),
    ("201-500", 201, 500, "201-500"),
    ("501-1000", 501, 1000, "501-1K"),
    ("1001-5000", 1001, 5000, "1K-5K"),
    ("5001-10000", 5001, 10000, "5K-10K"),
    ("10001+", 10001, 60000, "over-10K"),
)
_BAND_WEIGHTS = (10, 24, 26, 16, 10, 8, 4, 2)  # sums to 100
REVENUE_BANDS = (
    ("under-1m", 0, 1_000_000),
    ("1m-10m", 1_000_000, 10_000_000),
    ("10m-50m", 10_000_000, 50_000_000),
    ("50m-100m", 50_000_000, 100_000_000),
    ("100m-200m", 100_000_000, 200_000_000),
    ("200m-1b", 200_000_000, 1_000_000_000),
    ("over-1b", 1_000_000_000, 5_000_000_000),
)
COMPANY_TYPES = ("private", "private", "private", "public", "self-owned", "partnership", "nonprofit")
NAME_PARTS_A = (
    "blue", "north", "bright", "swift", "clear", "iron", "silver", "open", "green", "true",
    "rapid", "nova", "summit", "harbor", "pixel", "quantum", "cedar", "atlas", "lumen", "vertex",
)  # fmt: skip
NAME_PARTS_B = (
    "labs", "works", "data", "cloud", "logic", "stack", "forge", "signal", "ops", "metrics",
    "path", "grid", "scale", "flow", "byte", "point", "wave", "leaf", "line", "loop",
)  # fmt: skip
FREE_EMAIL_DOMAINS = frozenset(("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com"))
ROLE_LOCAL_PARTS = frozenset(
    ("info", "sales", "support", "admin", "contact", "hello", "team", "office", "billing", "hr", "jobs", "marketing")
)


# ---------------------------------------------------------------------------------------------
# entities


@dataclass(frozen=True, slots=True)
class Company:
    key: str
    domain: str
    name: str
    industry: str
    employee_count: int
    employee_range: str
    employees_label: str  # CompanyEnrich's enum
    employee_low: int
    employee_high: int
    founded_year: int
    city: str
    state: str
    state_code: str
    country: str
    country_code: str
    continent: str
    postal_code: str
    street: str
    phone: str
    linkedin_slug: str
    linkedin_id: int
    followers: int
    company_type: str
    revenue_label: str
    revenue: int
    description: str
    has_revenue: bool  # some providers leave unknown keys out (CompanyEnrich)
    company_id: str  # 16 hex digits

    @property
    def website(self) -> str:
        return f"https://{self.domain}"

    @property
    def linkedin_url(self) -> str:
        return f"https://www.linkedin.com/company/{self.linkedin_slug}"

    @property
    def logo_url(self) -> str:
        return f"https://{self.domain}/logo.png"

    @property
    def g2_url(self) -> str:
        return f"https://www.g2.com/products/{self.linkedin_slug}/reviews"

    @property
    def pricing_url(self) -> str:
        return f"https://{self.domain}/pricing"


def company(identifier: str | None, *, industry: str | None = None) -> Company:
    """The company behind a domain, URL, LinkedIn URL or name."""
    return _company(identifier or "", industry or "")


@functools.lru_cache(maxsize=16384)
def _company(identifier: str, industry: str) -> Company:
    key = company_key(identifier) or "unknown"
    domain = domain_for(identifier) or f"{key}.com"
    roll = Rolls("company", key)
    band_roll = roll.n(0, 100)
    index = 0
    for index, weight in enumerate(_BAND_WEIGHTS):  # noqa: B007 - index is the result
        if band_roll < weight:
            break
        band_roll -= weight
    label, low, high, ce_label = EMPLOYEE_BANDS[index]
    count = low + roll.n(1, high - low + 1)
    city = roll.pick(2, CITIES)
    revenue_index = min(len(REVENUE_BANDS) - 1, max(0, index - 1 + roll.n(3, 2)))
    revenue_label, rev_low, rev_high = REVENUE_BANDS[revenue_index]
    chosen_industry = industry or roll.pick(4, INDUSTRIES)
    text = identifier.strip()
    if text and not linkedin_slug(text) and not looks_like_domain(text):
        name = text  # asked by name: keep the caller's spelling
    else:
        name = " ".join(word.capitalize() for word in re.split(r"[-_]+", key) if word) or key
    founded = 1975 + roll.n(5, 49)
    return Company(
        key=key,
        domain=domain,
        name=name,
        industry=chosen_industry,
        employee_count=count,
        employee_range=label,
        employees_label=ce_label,
        employee_low=low,
        employee_high=high,
        founded_year=founded,
        city=city[0],
        state=city[1],
        state_code=city[2],
        country=city[3],
        country_code=city[4],
        continent=city[5],
        postal_code=city[6],
        street=f"{1 + roll.n(6, 998)} {roll.pick(7, STREETS)}",
        phone=f"+1{city[7]}55501{roll.n(8, 100):02d}",
        linkedin_slug=key,
        linkedin_id=10_000_000 + roll.n(9, 89_999_999),
        followers=count * (3 + roll.n(10, 40)),
        company_type=roll.pick(11, COMPANY_TYPES),
        revenue_label=revenue_label,
        revenue=rev_low + roll.n(12, max(1, rev_high - rev_low)),
        description=(
            f"{name} is a {chosen_industry.lower()} company founded in {founded} and based in {city[0]}, "
            f"{city[3]}. It serves business customers from its headquarters and {count} employees."
        ),
        has_revenue=roll.n(13, 3) != 0,
        company_id=f"{roll.n(14, 1 << 32):08x}{roll.n(15, 1 << 32):08x}",
    )


@dataclass(frozen=True, slots=True)
class Person:
    first_name: str
    last_name: str
    domain: str
    title: str
    linkedin_slug: str
    mobile_digits: str  # 11 digits, no "+", as LeadMagic formats it
    city: str
    state_code: str
    country_code: str
    continent: str
    connections: int

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def email(self) -> str:
        return f"{email_local(self.first_name, self.last_name)}@{self.domain}"

    @property
    def linkedin_url(self) -> str:
        return f"https://www.linkedin.com/in/{self.linkedin_slug}"

    @property
    def phone_e164(self) -> str:
        return "+" + self.mobile_digits

    @property
    def person_id(self) -> str:
        return f"{digest_plain('person-id:' + self.linkedin_slug):016x}"

    @property
    def seniority(self) -> str:
        for word, level in SENIORITY.items():
            if word in self.title:
                return level
        return "entry"

    @property
    def department(self) -> str:
        for word, department in DEPARTMENTS:
            if word in self.title:
                return department
        return "other"


def person(first: str, last: str, company_identifier: str | None, *, title: str | None = None) -> Person:
    """A named person at a company; the email is `first.last@domain`."""
    return _person(first, last, company_identifier or "", title or "")


@functools.lru_cache(maxsize=16384)
def _person(first: str, last: str, company_identifier: str, title: str) -> Person:
    first = first.strip().title() if first.islower() or first.isupper() else first.strip()
    last = last.strip().title() if last.islower() or last.isupper() else last.strip()
    domain = domain_for(company_identifier) or "example.com"
    key = person_key(first, last, domain)
    roll = Rolls("person", key)
    base = slugify(f"{first} {last}") or "member"
    city = roll.pick(0, CITIES[:8])  # US numbers only (Blitz documents US phones)
    return Person(
        first_name=first,
        last_name=last,
        domain=domain,
        title=title or roll.pick(1, TITLES),
        linkedin_slug=f"{base}-{roll.n(2, 0xFFFF):04x}",
        mobile_digits=f"1{city[7]}55501{roll.n(3, 100):02d}",
        city=city[0],
        state_code=city[2],
        country_code=city[4],
        continent=city[5],
        connections=50 + roll.n(4, 950),
    )


def person_from_slug(slug: str) -> Person:
    """The person behind a LinkedIn `/in/<slug>` URL (names guessed from the slug)."""
    words = [w for w in slug.split("-") if w.isalpha()]
    if len(words) >= 2:
        first, last = words[0].capitalize(), words[1].capitalize()
    else:
        first = pick(FIRST_NAMES, "slug-first", slug)
        last = pick(LAST_NAMES, "slug-last", slug)
    found = person(first, last, pick(NAME_PARTS_A, "slug-co", slug) + pick(NAME_PARTS_B, "slug-co2", slug) + ".com")
    return dataclasses.replace(found, linkedin_slug=slug)


def generated_person(seed_key: str, index: int, domain: str, title: str | None = None) -> Person:
    roll = Rolls("generated-person", seed_key, index)
    first, last = roll.pick(0, FIRST_NAMES), roll.pick(1, LAST_NAMES)
    return person(first, last, domain, title=title)


def generated_domain(seed_key: str, index: int) -> str:
    roll = Rolls("generated-company", seed_key, index)
    a, b, suffix = roll.pick(0, NAME_PARTS_A), roll.pick(1, NAME_PARTS_B), roll.n(2, 100)
    return f"{a}{b}{suffix}.com" if suffix >= 50 else f"{a}{b}.com"


def total_results(provider: str, key: str, low: int = 3, high: int = 140) -> int:
    return low + digest("total", provider, key) % (high - low + 1)


def verdict_of(email: str) -> str:
    """Verifier verdict from the local part: invalid, catchall, unknown, disposable or ok."""
    local = email.strip().lower().split("@", 1)[0]
    for verdict in VERIFIER_VERDICTS:
        if local.startswith(verdict):
            return verdict
    return "ok"


def person_from_email(email: str) -> Person:
    """The person behind a work email `first.last@domain` (names from the local part)."""
    local, _, domain = email.strip().lower().partition("@")
    words = [w for w in re.split(r"[._-]+", local) if w.isalpha()]
    first = words[0].capitalize() if words else pick(FIRST_NAMES, "email-first", local)
    last = words[1].capitalize() if len(words) > 1 else pick(LAST_NAMES, "email-last", local)
    return person(first, last, domain or "example.com")
