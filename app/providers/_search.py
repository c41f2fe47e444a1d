"""What the search adapters (Prospeo §5, BlitzAPI §6, CompanyEnrich §7 of docs/providers.md)
share: when a search is skipped without a call, and how a page of results becomes the answer.

The filters are `SearchFilters` (app/contracts/entities.py); each adapter says which of them it
maps. A search that sets any other is skipped rather than run with the filter silently dropped,
and a search that would filter nothing is skipped too: every one of these providers bills per
result, over its whole database for an unfiltered search.
"""

import re
from collections.abc import Callable, Mapping
from typing import Any

from app.contracts.entities import SEARCH_FILTERS, SearchInput
from app.providers.base import ActionResult, failed, found, not_found

ISO_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


def clean(values: list[str] | None) -> list[str]:
    """The non-blank values, stripped."""
    return [v.strip() for v in values or [] if v and v.strip()]


def iso_countries(data: SearchInput) -> list[str] | None:
    """`locations` as upper-case ISO 3166-1 alpha-2 codes; None when one is something else (a
    country name cannot be mapped without a table the providers' docs do not give)."""
    values = clean(data.locations)
    if any(not ISO_COUNTRY.match(v) for v in values):
        return None
    return [v.upper() for v in values]


def skip_reason(
    data: SearchInput,
    provider: str,
    supported: frozenset[str],
    *,
    filters: Callable[[SearchInput], dict[str, Any]],
    cursor_ok: Callable[[Any], bool],
    mapped: Mapping[str, Callable[[SearchInput], object | None]] | None = None,
) -> str | None:
    """Why `provider` skips this search, or None when it runs. In order:
    - `unsupported_filter:<f>,…`: a filter set that the provider does not map (`supported`), or
      whose values it cannot take (`mapped[f](data)` is None);
    - `no_more_results`: the provider's cursor is None (it said it was exhausted);
    - `invalid_cursor`: `cursor_ok` refuses the provider's cursor;
    - `missing_input:<f>|…`: the request `filters` builds filters nothing."""
    set_filters = data.filters_set()
    unsupported = [f for f in set_filters if f not in supported]
    for field, mapper in (mapped or {}).items():
        if field in supported and field in set_filters and mapper(data) is None:
            unsupported.append(field)
    if unsupported:
        return "unsupported_filter:" + ",".join(unsupported)
    cursors = data.cursors or {}
    if provider in cursors:
        if cursors[provider] is None:
            return "no_more_results"
        if not cursor_ok(cursors[provider]):
            return "invalid_cursor"
    if not any(filters(data).values()):
        return "missing_input:" + "|".join(f for f in SEARCH_FILTERS if f in supported)
    return None


def page_answer(
    payload: Any,
    *,
    provider: str,
    rows_key: str,
    list_key: str,
    to_item: Callable[[dict[str, Any]], dict[str, Any]],
    limit: int,
    next_cursor: Callable[[dict[str, Any]], Any],
    http_status: int,
) -> ActionResult:
    """One page of results: failed when `payload[rows_key]` is not a list, not_found when it holds
    no row, else found with at most `limit` rows mapped by `to_item` (as `list_key`) and
    `next_cursors = {provider: next_cursor(payload)}`, None on the last page."""
    results = payload.get(rows_key) if isinstance(payload, dict) else None
    if not isinstance(results, list):
        return failed(f"no {rows_key} list in the answer", http_status=http_status, provider_status=None, raw=payload)
    rows = [r for r in results if isinstance(r, dict)]
    if not rows:
        return not_found(http_status=http_status, provider_status=None, raw=payload)
    output = {list_key: [to_item(r) for r in rows[:limit]], "next_cursors": {provider: next_cursor(payload)}}
    return found(output, http_status=http_status, provider_status=None, raw=payload)
