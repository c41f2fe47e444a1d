"""CSV columns (CONTRACT §9.7): which canonical fields a CSV may fill, the header aliases that
name them, and the columns an export writes. Pure rules, no I/O.

The field lists are derived from the catalog's input and output models, so a field an operation
gains is importable and exported without a change here; only the aliases are written by hand.
Choices: docs/decisions/0062-csv-import.md and 0063-csv-export.md.
"""

import re
import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from app.contracts.catalog import OPERATIONS
from app.contracts.entities import CompanyInput, EntityType, PersonInput

ENTITY_INPUT_MODELS: dict[EntityType, type[BaseModel]] = {
    EntityType.person: PersonInput,
    EntityType.company: CompanyInput,
}

DEFAULT_MAX_LENGTH = 2000
"""Cell limit for an importable field whose model declares none (an output field such as
`industry`): a spreadsheet cell is text, and nothing the engine reads is longer."""

# the columns before the canonical fields in an export, in this order
EXPORT_LEAD_COLUMNS: tuple[str, ...] = (
    "entity_index",
    "status",
    "error_message",
    "pipeline_run_id",
    "parent_pipeline_run_id",
    "depth",
    "entity_type",
)
OTHER_FIELDS_COLUMN = "other_fields"
"""Context keys that are not canonical fields of the run's entity type, as one JSON object."""

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection")."""


def header_key(name: str) -> str:
    """How a header is compared: case, spaces, underscores, hyphens and dots do not matter
    (`Work Email`, `work_email`, `WORK-EMAIL` and `workemail` are one key)."""
    return re.sub(r"[\s_\-.]+", "", name.strip().lower())


def _is_text(annotation: Any) -> bool:
    """`str` or `str | None` (plain text, not a Literal or a list)."""
    if annotation is str:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args == [str]
    return False


def _input_models(entity_type: EntityType) -> list[type[BaseModel]]:
    models: list[type[BaseModel]] = [ENTITY_INPUT_MODELS[entity_type]]
    for op in OPERATIONS:
        if op.entity_type == entity_type and op.input_model not in models:
            models.append(op.input_model)
    return models


def _output_models(entity_type: EntityType) -> list[type[BaseModel]]:
    models: list[type[BaseModel]] = []
    for op in OPERATIONS:
        if op.entity_type == entity_type and op.output_model not in models:
            models.append(op.output_model)
    return models


def importable_fields(entity_type: EntityType) -> dict[str, int]:
    """Canonical text fields a CSV may fill for this entity type → their maximum length: the
    entity input model's, then the other text inputs of its operations (`query`), then the text
    outputs (a phone or an industry the user already knows), in catalog order."""
    fields: dict[str, int] = {}
    for model in [*_input_models(entity_type), *_output_models(entity_type)]:
        for name, info in model.model_fields.items():
            if name in fields or not _is_text(info.annotation):
                continue
            limit = next((m.max_length for m in info.metadata if getattr(m, "max_length", None)), None)
            fields[name] = limit or DEFAULT_MAX_LENGTH
    return fields


def export_fields(entity_type: EntityType) -> list[str]:
    """Canonical fields of this entity type as export columns, in a stable order: the entity
    input model's fields, then its operations' outputs, in catalog order (search filters and the
    rest land in `other_fields`)."""
    out: list[str] = []
    for model in [ENTITY_INPUT_MODELS[entity_type], *_output_models(entity_type)]:
        out.extend(name for name in model.model_fields if name not in out)
    return out


# Common spreadsheet headers → canonical field, per entity type. Headers that spell a canonical
# field (`work_email`, `Company Domain` for a person) need no entry: header_key matches them.
_PERSON_ALIASES = {
    "email": "email",
    "emailaddress": "email",
    "workemailaddress": "work_email",
    "businessemail": "work_email",
    "linkedin": "linkedin_url",
    "linkedinurl": "linkedin_url",
    "linkedinprofile": "linkedin_url",
    "linkedinprofileurl": "linkedin_url",
    "personlinkedinurl": "linkedin_url",
    "first": "first_name",
    "firstname": "first_name",
    "givenname": "first_name",
    "last": "last_name",
    "lastname": "last_name",
    "surname": "last_name",
    "familyname": "last_name",
    "name": "full_name",
    "fullname": "full_name",
    "company": "company_name",
    "companyname": "company_name",
    "organization": "company_name",
    "organisation": "company_name",
    "employer": "company_name",
    "account": "company_name",
    "accountname": "company_name",
    "domain": "company_domain",
    "website": "company_domain",
    "companywebsite": "company_domain",
    "companyurl": "company_domain",
    "companylinkedin": "company_linkedin_url",
    "title": "title",
    "jobtitle": "title",
    "position": "title",
    "role": "title",
    "phone": "mobile_phone",
    "phonenumber": "mobile_phone",
    "mobile": "mobile_phone",
    "mobilephone": "mobile_phone",
    "mobilenumber": "mobile_phone",
    "cellphone": "mobile_phone",
}
_COMPANY_ALIASES = {
    "company": "name",
    "companyname": "name",
    "organization": "name",
    "organisation": "name",
    "account": "name",
    "accountname": "name",
    "companydomain": "domain",
    "domainname": "domain",
    "companywebsite": "website",
    "url": "website",
    "websiteurl": "website",
    "companyurl": "website",
    "linkedin": "linkedin_url",
    "linkedinurl": "linkedin_url",
    "companylinkedin": "linkedin_url",
    "companylinkedinurl": "linkedin_url",
    "linkedincompanyurl": "linkedin_url",
    "keywords": "query",
}
ALIASES: dict[EntityType, dict[str, str]] = {EntityType.person: _PERSON_ALIASES, EntityType.company: _COMPANY_ALIASES}


def field_for_header(entity_type: EntityType, header: str) -> str | None:
    """The canonical field a header names for this entity type, or None (an unknown column)."""
    fields = importable_fields(entity_type)
    key = header_key(header)
    by_key = {header_key(f): f for f in fields}
    if key in by_key:
        return by_key[key]
    alias = ALIASES[entity_type].get(key)
    return alias if alias in fields else None


def neutralize_formula(cell: str) -> str:
    """A cell a spreadsheet would run as a formula, prefixed with `'` so it shows as text."""
    return "'" + cell if cell.startswith(FORMULA_TRIGGERS) else cell
