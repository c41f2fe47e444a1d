"""Fan-out (CONTRACT §9.1): a search step whose results become child pipeline runs.

Pure rules, no I/O: the declaration a blueprint step carries, which operations may fan out, the
input a child gets (the result's canonical fields plus the fields carried from its parent) and
the natural key children are de-duplicated by within a submission.
docs/decisions/0051-fan-out.md records the choices.
"""

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.contracts.normalize import normalize_domain, normalize_email, normalize_linkedin_url

MAX_DEPTH = 3
"""A root run is depth 0; a run at MAX_DEPTH creates no children."""

# the list a search operation returns, and the entity type its results are
RESULT_LISTS: dict[str, tuple[str, str]] = {
    "person.search": ("people", "person"),
    "company.search": ("companies", "company"),
}

# company parent → person child when `carry` is not given: the employer the search was for
DEFAULT_CARRY: dict[tuple[str, str], dict[str, str]] = {
    ("company", "person"): {"domain": "company_domain", "name": "company_name", "linkedin_url": "company_linkedin_url"},
}

FieldName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")]


class FanOut(BaseModel):
    """`{"blueprint_id", "max_children"?: 1..1000 (default 100), "carry"?: [field]}`."""

    model_config = ConfigDict(extra="forbid")

    blueprint_id: uuid.UUID = Field(description="The blueprint each result runs through, of the same org")
    max_children: int = Field(default=100, ge=1, le=1000, strict=True, description="Results turned into children")
    carry: list[FieldName] | None = Field(
        default=None,
        max_length=50,
        description="Fields of the parent's context copied into each child's input (default: company → person "
        "carries domain, name and linkedin_url as company_domain, company_name, company_linkedin_url)",
    )


def carried(parent_type: str, child_type: str, carry: list[str] | None, context: dict[str, Any]) -> dict[str, Any]:
    """The parent's fields a child starts with. A company's own `domain`/`name`/`linkedin_url`
    always land under their `company_` names in a person child: they describe the employer."""
    renames = DEFAULT_CARRY.get((parent_type, child_type), {})
    names = list(renames) if carry is None else carry
    out: dict[str, Any] = {}
    for name in names:
        value = context.get(name)
        if value is not None:
            out[renames.get(name, name)] = value
    return out


def child_input(result: dict[str, Any], carry: dict[str, Any]) -> dict[str, Any]:
    """The result's canonical fields (non-null, without the provider's `source` tag) over the
    carried ones: what the provider said about this result wins."""
    own = {k: v for k, v in result.items() if v is not None and k != "source"}
    return {**carry, **own}


def natural_key(entity_type: str, data: dict[str, Any]) -> str | None:
    """The identity CONTRACT §7 resolves records by (company: domain, then LinkedIn URL; person:
    LinkedIn URL, then work email); None when the result has none."""
    if entity_type == "company":
        domain = normalize_domain(_text(data.get("domain"))) or normalize_domain(_text(data.get("website")))
        if domain:
            return f"company:domain:{domain}"
        linkedin = normalize_linkedin_url(_text(data.get("linkedin_url")))
        return f"company:linkedin:{linkedin}" if linkedin else None
    linkedin = normalize_linkedin_url(_text(data.get("linkedin_url")))
    if linkedin:
        return f"person:linkedin:{linkedin}"
    email = normalize_email(_text(data.get("work_email"))) or normalize_email(_text(data.get("email")))
    return f"person:email:{email}" if email else None


def search_input(run_entity_type: str, operation_id: str, fan_out: FanOut | None, context: dict[str, Any]) -> dict:
    """What a search step of another entity's run searches for. A person.search in a company run
    looks for that company's people: without filters of its own it takes the company's domain
    (else its name). A fan-out step asks for as many results as it may turn into children."""
    data = dict(context)
    if operation_id == "person.search" and run_entity_type == "company":
        if not data.get("company_domains") and not data.get("company_names"):
            domain = normalize_domain(_text(data.get("domain"))) or normalize_domain(_text(data.get("website")))
            if domain:
                data["company_domains"] = [domain]
            elif _text(data.get("name")):
                data["company_names"] = [_text(data.get("name"))]
    if fan_out is not None and "limit" not in data:
        # SearchInput takes at most 100 per call (app/contracts/entities.py)
        data["limit"] = min(fan_out.max_children, 100)
    return data


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
