"""The result cache's key (CONTRACT §9.2): what makes two calls the same lookup.

Two calls are the same when they run the same operation over the same providers (and verifiers)
in the same order, on the same canonical input: the fields the operation reads, normalized. Keys
outside the input model (the rest of a pipeline's context) are never read by a provider, so they
are not part of the key; neither are field order, case, whitespace or the form of a domain or a
LinkedIn URL. The key is a hash: operation_runs stores it, not the input twice.
"""

import hashlib
import json
from typing import Any

from pydantic import BaseModel

from app.contracts.catalog import Strategy
from app.contracts.entities import CompanyInput, PersonInput
from app.operations.registry import Operation
from app.providers.base import StepParams

# bump when the canonical form changes: older rows then simply stop matching
KEY_VERSION = 1


def canonical_input(operation: Operation, data: BaseModel) -> dict[str, Any]:
    """The normalized fields the operation's providers read from `data` (its input model)."""
    if operation.spec.strategy is Strategy.verify:
        # the verifiers read one address (app/providers/millionverifier.py, reoon.py): the person
        # around it does not change the verdict, so five people sharing an email are one lookup
        assert isinstance(data, PersonInput)
        return {"email": data.best_email}
    fields: dict[str, Any] = {}
    for name in type(data).model_fields:
        value = _normalized(getattr(data, name))
        if value is not None:
            fields[name] = value
    if isinstance(data, CompanyInput):
        # the adapters read the domain only as `best_domain` (domain, else website, normalized)
        fields.pop("website", None)
        fields.pop("domain", None)
        if data.best_domain:
            fields["domain"] = data.best_domain
    return fields


def _normalized(value: Any) -> Any:
    """Emails, domains and LinkedIn URLs arrive already normalized by the input model; free text
    (names, titles, filters) is compared case- and whitespace-insensitively."""
    if isinstance(value, str):
        text = " ".join(value.split()).casefold()
        return text or None
    if isinstance(value, list):
        items = [v for v in (_normalized(v) for v in value) if v is not None]
        return items or None
    return value


def cache_key(
    operation: Operation,
    data: BaseModel,
    providers: list[str],
    verify_providers: list[str] | None,
    params: StepParams | None = None,
) -> str:
    material: dict[str, Any] = {
        "v": KEY_VERSION,
        "operation_id": operation.operation_id,
        "input": canonical_input(operation, data),
        "providers": providers,
        "verify_providers": verify_providers,
    }
    given = params.given() if params else {}
    if given:
        # the product or criteria change the answer as much as the company does; an operation
        # without step parameters keeps the key it always had
        material["params"] = {k: _normalized(v) for k, v in given.items()}
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
