"""Deterministic search results shared by Prospeo, BlitzAPI and CompanyEnrich.

A query is reduced to a canonical key plus the few filter values that shape the results:
explicit company domains or names (the results are exactly those companies), industries and job
titles (copied onto the generated rows). Without explicit companies the result set is a
deterministic sequence of generated companies whose length depends on the key and the provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox import data


@dataclass(slots=True)
class Query:
    key: str
    domains: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    industries: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    trigger: str | None = None

    @property
    def explicit_companies(self) -> list[str]:
        return self.domains + [n for n in self.names if data.domain_for(n) not in self.domains]


def _category(name: str, path: tuple[str, ...]) -> str | None:
    lowered = name.lower()
    if "website" in lowered or "domain" in lowered:
        return "domains"
    if "industr" in lowered:
        return "industries"
    if "title" in lowered or "position" in lowered:
        return "titles"
    if lowered in ("names", "company_name", "company_names") or (lowered == "name" and "company" in path):
        return "names"
    return None


def parse(filters: Any, *, ignore: tuple[str, ...] = ()) -> Query:
    """Builds a Query from a provider's filter object (any nesting of dicts and lists)."""
    clean = {k: v for k, v in filters.items() if k not in ignore} if isinstance(filters, dict) else filters
    query = Query(key=data.search_key(clean), trigger=data.trigger_of(clean))

    def walk(node: Any, parents: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "exclude":
                    continue
                walk(value, (*parents, str(key)))
            return
        values = [node] if isinstance(node, str) else node if isinstance(node, list) else []
        strings = [v.strip() for v in values if isinstance(v, str) and v.strip()]
        if not strings or not parents:
            return
        # the meaningful name is the nearest one that is not a structural word
        names = [p for p in parents if p not in ("include", "company", "people", "filters")]
        category = _category(names[-1], parents) if names else None
        if category == "domains":
            query.domains.extend(d for d in (data.norm_domain(s) for s in strings) if d and d not in query.domains)
        elif category is not None:
            bucket: list[str] = getattr(query, category)
            bucket.extend(s for s in strings if s not in bucket)

    walk(clean, ())
    return query


def company_total(provider: str, query: Query) -> int:
    if query.trigger == "notfound":
        return 0
    if query.explicit_companies:
        return len(query.explicit_companies)
    if query.trigger != data.FORCE_FOUND and data.hash_not_found(provider, query.key):
        return 0
    return data.total_results(provider, query.key)


def companies(provider: str, query: Query, offset: int, count: int) -> list[data.Company]:
    total = company_total(provider, query)
    out = []
    explicit = query.explicit_companies
    for index in range(offset, min(total, offset + count)):
        identifier = explicit[index] if explicit else data.generated_domain(query.key, index)
        industry = data.pick(tuple(query.industries), "ind", query.key, index) if query.industries else None
        out.append(data.company(identifier, industry=industry))
    return out


def people_total(provider: str, query: Query) -> int:
    if query.trigger == "notfound":
        return 0
    if query.explicit_companies:
        return sum(1 + data.digest("staff", data.company_key(c)) % 6 for c in query.explicit_companies)
    if query.trigger != data.FORCE_FOUND and data.hash_not_found(provider, query.key):
        return 0
    return data.total_results(provider, query.key)


def people(provider: str, query: Query, offset: int, count: int) -> list[tuple[data.Person, data.Company]]:
    total = people_total(provider, query)
    out = []
    explicit = query.explicit_companies
    # explicit companies: each contributes its own small staff, in order
    slots: list[tuple[str, int]] = []
    if explicit:
        for identifier in explicit:
            staff = 1 + data.digest("staff", data.company_key(identifier)) % 6
            slots.extend((identifier, n) for n in range(staff))
    for index in range(offset, min(total, offset + count)):
        if explicit:
            identifier, n = slots[index]
            seed_key = data.company_key(identifier)
        else:
            identifier, n, seed_key = data.generated_domain(query.key, index // 3), index, query.key
        company = data.company(identifier)
        title = data.pick(tuple(query.titles), "title", query.key, index) if query.titles else None
        out.append((data.generated_person(seed_key, n, company.domain, title), company))
    return out
