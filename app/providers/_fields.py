"""Lenient readers for provider JSON: a provider's field may be missing, null or of another type,
and the mapping to canonical fields must never raise on that."""

from typing import Any


def text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
