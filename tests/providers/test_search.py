"""What the three search adapters share (app/providers/_search.py): the filters are declared once
(SearchFilters), and every provider skips a search that sets one it does not map."""

import pytest

from app.contracts.catalog import OPERATIONS_BY_ID
from app.contracts.entities import SEARCH_FILTERS, SearchFilters, SearchInput
from app.providers import blitzapi, companyenrich, prospeo
from app.providers._search import page_answer
from app.providers.base import AttemptStatus

SEARCHES = [
    (module, operation, supported)
    for module in (prospeo, blitzapi, companyenrich)
    for operation, supported in (
        ("company.search", module.COMPANY_SEARCH_FILTERS),
        ("person.search", module.PERSON_SEARCH_FILTERS),
    )
]


def test_the_filters_are_the_search_input_fields_but_paging():
    assert SEARCH_FILTERS == tuple(SearchFilters.model_fields)
    assert set(SearchInput.model_fields) - set(SEARCH_FILTERS) == {"limit", "cursors"}


@pytest.mark.parametrize("operation", ["person.search", "company.search"])
def test_the_search_minimum_names_every_filter(operation):
    minimum = OPERATIONS_BY_ID[operation].minimum
    assert minimum(SearchInput()) == ["|".join(SEARCH_FILTERS)]
    assert minimum(SearchInput(industries=["Software"])) == []


@pytest.mark.parametrize(("module", "operation", "supported"), SEARCHES)
def test_a_filter_the_provider_does_not_map_skips_the_search(module, operation, supported):
    eligible = module.ACTIONS[operation].eligible
    assert supported < set(SEARCH_FILTERS)
    for field in SEARCH_FILTERS:
        if field in supported:
            continue
        value = "x" if field == "query" else ["x"]
        assert eligible(SearchInput(**{field: value})) == f"unsupported_filter:{field}"


@pytest.mark.parametrize(("module", "operation", "supported"), SEARCHES)
def test_a_search_that_filters_nothing_is_skipped(module, operation, supported):
    eligible = module.ACTIONS[operation].eligible
    expected = "missing_input:" + "|".join(f for f in SEARCH_FILTERS if f in supported)
    assert eligible(SearchInput()) == expected


def test_a_page_is_cut_to_the_limit_and_keeps_the_next_cursor():
    payload = {"rows": [{"n": 1}, "junk", {"n": 2}, {"n": 3}], "next": 7}
    answer = page_answer(
        payload,
        provider="p",
        rows_key="rows",
        list_key="items",
        to_item=lambda r: {"n": r["n"] * 10},
        limit=2,
        next_cursor=lambda p: p["next"],
        http_status=200,
    )
    assert answer.status is AttemptStatus.found
    assert answer.output == {"items": [{"n": 10}, {"n": 20}], "next_cursors": {"p": 7}}


@pytest.mark.parametrize(
    ("payload", "status", "error"),
    [
        ({"rows": []}, AttemptStatus.not_found, None),
        ({"rows": ["junk"]}, AttemptStatus.not_found, None),
        ({"rows": None}, AttemptStatus.failed, "no rows list in the answer"),
        (["not", "an", "object"], AttemptStatus.failed, "no rows list in the answer"),
    ],
)
def test_a_page_without_rows_is_not_found_and_a_bad_shape_failed(payload, status, error):
    answer = page_answer(
        payload,
        provider="p",
        rows_key="rows",
        list_key="items",
        to_item=dict,
        limit=25,
        next_cursor=lambda p: None,
        http_status=200,
    )
    assert answer.status is status and answer.error == error and answer.raw == payload
