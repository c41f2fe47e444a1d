"""The answer both fake LLMs (Gemini, OpenAI) give to the research operations.

The prompt names a company domain. The answer fills the properties of the requested JSON schema:
`url` is the G2 reviews URL when the prompt mentions G2, otherwise the pricing page on the domain;
`confidence` is "high" (or "low" with `url: null` when the company is not found).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox import data

IGNORED_DOMAINS = ("g2.com", "linkedin.com", "google.com", "openai.com", "example.com", "capterra.com")


@dataclass(slots=True)
class Research:
    trigger: str | None
    found: bool
    company: data.Company | None
    wants_g2: bool
    url: str | None
    answer: dict[str, Any]

    @property
    def citation_url(self) -> str | None:
        return self.url or (self.company.website if self.company else None)


def answer(provider: str, prompt: str, instructions: str, properties: dict[str, Any]) -> Research:
    lowered = f"{instructions}\n{prompt}".lower()
    wants_g2 = "g2" in data.tokens(lowered) or "g2.com" in lowered
    domains = [d for d in data.domains_in_text(prompt) if not any(d.endswith(x) for x in IGNORED_DOMAINS)]
    domain = domains[0] if domains else ""
    trigger = data.trigger_of(domain) if domain else data.trigger_of(prompt)
    company = data.company(domain) if domain else None
    found = bool(company) and not data.is_not_found(provider, (company.key if company else ""), trigger)
    url = None
    if found and company:
        url = company.g2_url if wants_g2 else company.pricing_url
    values: dict[str, Any] = {}
    for name, spec in (properties or {"url": {}, "confidence": {}}).items():
        values[name] = _fill(name, spec if isinstance(spec, dict) else {}, found, url, company, wants_g2)
    return Research(trigger, found, company, wants_g2, url, values)


def _fill(name: str, spec: dict[str, Any], found: bool, url: str | None, c: data.Company | None, g2: bool) -> Any:
    lowered = name.lower()
    kind = spec.get("type")
    kinds = {str(k).lower() for k in (kind if isinstance(kind, list) else [kind])}
    enum = spec.get("enum") if isinstance(spec.get("enum"), list) else None
    if lowered == "confidence" or "confidence" in lowered:
        wanted = "high" if found else "low"
        if enum and wanted not in enum:
            return enum[0] if found else enum[-1]
        return wanted
    if enum:
        return enum[0]
    if "url" in lowered or lowered in ("link", "page"):
        if "g2" in lowered and c and found:
            return c.g2_url
        if "pricing" in lowered and c and found:
            return c.pricing_url
        return url
    if kinds & {"boolean"}:
        return found
    if lowered == "score" and kinds & {"integer", "number"}:
        return structured_score(c) if found and c else None
    if kinds & {"number", "integer"}:
        return 1 if found else 0
    if kinds & {"array"}:
        return structured_list(lowered, c) if found and c else []
    if lowered == "summary" and c and found:
        return f"{c.name} ({c.domain}) is a {c.industry} company of about {c.employee_count} people in {c.city}."
    if not found or c is None:
        return None
    if "domain" in lowered:
        return c.domain
    if "name" in lowered or "company" in lowered:
        return c.name
    what = "G2 reviews page" if g2 else "pricing page"
    return f"The {what} of {c.name} ({c.domain})."


# --- structured research and derivation (the five operations of app/providers/_research.py) ---
# Deterministic answers per company: the same domain always gets the same competitors, customers,
# titles and score, and every URL is on a company website the sandbox knows.


def structured_score(c: data.Company) -> int:
    return data.digest("icp-fit", c.domain) % 101


def structured_list(name: str, c: data.Company) -> list[Any]:
    """The list a property asks for, by its name; [] for one the sandbox does not know."""
    if name == "competitors":
        rivals = [data.company(data.generated_domain("competitor:" + c.domain, i)) for i in range(3)]
        return [{"name": r.name, "domain": r.domain, "reason": f"Also sells {c.industry} software."} for r in rivals]
    if name == "customers":
        buyers = [data.company(data.generated_domain("customer:" + c.domain, i)) for i in range(3)]
        return [
            {"name": b.name, "domain": b.domain, "evidence_url": f"{c.website}/customers/{data.slugify(b.name)}"}
            for b in buyers
        ]
    if name == "job_titles":
        first = data.digest("icp-titles", c.domain) % len(data.TITLES)
        return [data.TITLES[(first + i) % len(data.TITLES)] for i in range(4)]
    if name == "reasons":
        return [f"Industry: {c.industry}.", f"Size: about {c.employee_count} employees.", f"Based in {c.country}."]
    if name == "recent_news":
        return [
            {"title": f"{c.name} announces its {c.founded_year + 10} roadmap", "url": f"{c.website}/blog/roadmap",
             "date": "2026-10-01"},
            {"title": f"{c.name} opens an office in {c.city}", "url": f"{c.website}/news/{data.slugify(c.city)}",
             "date": None},
        ]  # fmt: skip
    if name == "talking_points":
        return [f"How {c.name} scales its {c.industry.lower()} operations.", "Their hiring plans for next year."]
    return []
