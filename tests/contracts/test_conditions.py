"""Step conditions (CONTRACT §9.1): the grammar refuses what it cannot mean, naming the node, and
evaluation is total on any context, with mismatched types comparing false."""

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.contracts.conditions import (
    MAX_BRANCHES,
    MAX_DEPTH,
    MAX_LIST_VALUES,
    MISSING,
    AllOf,
    AnyOf,
    FieldCondition,
    InvalidCondition,
    Not,
    Op,
    evaluate,
    lookup,
    to_json,
    validate_condition,
)

WHERE = "steps[2].condition"


def holds(raw: dict[str, Any], context: Any) -> bool:
    return evaluate(validate_condition(raw, WHERE), context)


def leaf(field: str, op: str, *value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, **({"value": value[0]} if value else {})}


def refused(raw: Any) -> InvalidCondition:
    with pytest.raises(InvalidCondition) as e:
        validate_condition(raw, WHERE)
    assert isinstance(e.value, ValueError)
    assert e.value.code == "invalid_condition"
    assert str(e.value) == f"{e.value.field}: {e.value.message}"
    return e.value


# --- validation: the typed tree --------------------------------------------------------------


class TestParse:
    def test_a_leaf_becomes_a_field_condition(self):
        assert validate_condition(leaf("work_email", "exists"), WHERE) == FieldCondition("work_email", Op.exists)
        assert validate_condition(leaf("n", "gt", 3), WHERE) == FieldCondition("n", Op.gt, 3)

    def test_combinators_become_their_nodes(self):
        raw = {"all": [{"any": [leaf("a", "exists"), {"not": leaf("b", "eq", "x")}]}, leaf("c", "in", [1, 2])]}
        assert validate_condition(raw, WHERE) == AllOf(
            (
                AnyOf((FieldCondition("a", Op.exists), Not(FieldCondition("b", Op.eq, "x")))),
                FieldCondition("c", Op.in_, [1, 2]),
            )
        )

    @pytest.mark.parametrize("op", [op.value for op in Op])
    def test_every_operator_is_accepted(self, op):
        value = {"exists": (), "not_exists": (), "in": (["a"],), "not_in": (["a"],)}.get(op, ("a",))
        assert validate_condition(leaf("f", op, *value), WHERE).op == Op(op)

    def test_to_json_round_trips(self):
        raw = {
            "any": [
                {"all": [leaf("a.b.0", "exists"), leaf("n", "gte", 2.5), leaf("s", "lt", "2024-01-01")]},
                {"not": leaf("tags", "contains", {"k": [1, True]})},
                leaf("country", "not_in", ["US", "CA"]),
                leaf("x", "ne", False),
            ]
        }
        tree = validate_condition(raw, WHERE)
        assert to_json(tree) == raw
        assert validate_condition(to_json(tree), WHERE) == tree

    def test_the_tree_does_not_follow_later_changes_to_the_input(self):
        raw = leaf("country", "in", ["US"])
        tree = validate_condition(raw, WHERE)
        raw["value"].append("FR")
        assert not evaluate(tree, {"country": "FR"})

    @pytest.mark.parametrize("path", ["a", "A_b", "work_email", "a.b.c", "emails.0", "0", "a.10.b", "x" * 200])
    def test_field_paths_accepted(self, path):
        assert validate_condition(leaf(path, "exists"), WHERE) == FieldCondition(path, Op.exists)


class TestRefusals:
    """Each refusal names the exact node: the blueprint service answers 400 with details.field."""

    @pytest.mark.parametrize(
        ("raw", "field"),
        [
            ("work_email", WHERE),
            (None, WHERE),
            ([leaf("a", "exists")], WHERE),
            ({}, WHERE),
            ({"all": [leaf("a", "exists")], "any": [leaf("a", "exists")]}, f"{WHERE}.any"),
            ({"not": leaf("a", "exists"), "field": "a"}, f"{WHERE}.field"),
            ({"all": leaf("a", "exists")}, f"{WHERE}.all"),
            ({"any": []}, f"{WHERE}.any"),
            ({"all": []}, f"{WHERE}.all"),
            ({"any": [leaf("a", "exists")] * (MAX_BRANCHES + 1)}, f"{WHERE}.any"),
            ({"not": []}, f"{WHERE}.not"),
            ({"not": None}, f"{WHERE}.not"),
            ({"op": "exists"}, f"{WHERE}.field"),
            ({"field": "a"}, f"{WHERE}.op"),
            ({"field": "a", "op": "exists", "negate": True}, f"{WHERE}.negate"),
            ({"Field": "a", "op": "exists"}, f"{WHERE}.Field"),
            (leaf("a", "equals", 1), f"{WHERE}.op"),
            (leaf("a", "EQ", 1), f"{WHERE}.op"),
            ({"field": "a", "op": None, "value": 1}, f"{WHERE}.op"),
            ({"field": "a", "op": ["eq"], "value": 1}, f"{WHERE}.op"),
            (leaf("a", "exists", True), f"{WHERE}.value"),
            (leaf("a", "not_exists", None), f"{WHERE}.value"),
            (leaf("a", "eq"), f"{WHERE}.value"),
            (leaf("a", "eq", None), f"{WHERE}.value"),
            (leaf("a", "ne", None), f"{WHERE}.value"),
            (leaf("a", "contains", None), f"{WHERE}.value"),
            (leaf("a", "in", "US"), f"{WHERE}.value"),
            (leaf("a", "not_in", {"US": 1}), f"{WHERE}.value"),
            (leaf("a", "in", []), f"{WHERE}.value"),
            (leaf("a", "in", ["x"] * (MAX_LIST_VALUES + 1)), f"{WHERE}.value"),
            (leaf("a", "not_in", ["US", None]), f"{WHERE}.value[1]"),
            (leaf("a", "gt", True), f"{WHERE}.value"),
            (leaf("a", "gte", [1]), f"{WHERE}.value"),
            (leaf("a", "lt", {"n": 1}), f"{WHERE}.value"),
            (leaf("a", "eq", math.nan), f"{WHERE}.value"),
            (leaf("a", "eq", [1, math.inf]), f"{WHERE}.value[1]"),
            (leaf("a", "eq", {"k": {"j": (1, 2)}}), f"{WHERE}.value.k.j"),
            (leaf("a", "eq", {1: "x"}), f"{WHERE}.value"),
            (leaf("a", "eq", {1, 2}), f"{WHERE}.value"),
        ],
    )
    def test_refusal_names_the_node(self, raw, field):
        assert refused(raw).field == field

    @pytest.mark.parametrize(
        "path",
        ["", ".", "a.", ".a", "a..b", "a b", "a-b", "a.b[0]", "a/b", "é", "a.٣", "$.a", "x" * 201, 7, None, ["a"]],
    )
    def test_bad_field_paths_are_refused(self, path):
        e = refused({"field": path, "op": "exists"})
        assert e.field == f"{WHERE}.field"
        assert "dotted path" in e.message

    def test_the_path_reaches_deep_nodes(self):
        raw = {
            "all": [
                leaf("a", "exists"),
                {"any": [{"field": "b", "op": "between", "value": [1, 2]}]},
            ]
        }
        assert refused(raw).field == f"{WHERE}.all[1].any[0].op"
        raw = {"any": [leaf("a", "exists"), {"not": {"all": [leaf("b", "exists"), leaf("c", "in", "x")]}}]}
        assert refused(raw).field == f"{WHERE}.any[1].not.all[1].value"

    def test_the_first_offending_node_is_named(self):
        raw = {"all": [leaf("a", "bad"), leaf("b", "bad")]}
        assert refused(raw).field == f"{WHERE}.all[0].op"
        assert refused(leaf("a", "eq", [1, math.nan, [math.inf]])).field == f"{WHERE}.value[1]"
        assert refused(leaf("a", "eq", {"x": {"y": math.nan}, "z": math.inf})).field == f"{WHERE}.value.x.y"
        assert refused(leaf("a", "in", [None, math.nan])).field == f"{WHERE}.value[0]"
        assert refused(leaf("a", "in", [math.nan, None])).field == f"{WHERE}.value[0]"

    def test_values_nest_at_most_32_levels(self):
        value: Any = 1
        for _ in range(32):
            value = [value]
        validate_condition(leaf("a", "eq", value), WHERE)
        validate_condition(leaf("a", "in", [value[0]]), WHERE)
        e = refused(leaf("a", "eq", [value]))
        assert e.field == f"{WHERE}.value" + "[0]" * 33
        assert "32 levels" in e.message
        assert refused(leaf("a", "in", [value])).field == f"{WHERE}.value" + "[0]" * 33

    def test_messages_say_what_is_wrong(self):
        assert "unknown operator" in refused(leaf("a", "between", 1)).message
        assert "at least one" in refused({"all": []}).message
        assert "takes no value" in refused(leaf("a", "exists", 1)).message
        assert "exists" in refused(leaf("a", "eq", None)).message


def nested(depth: int) -> dict[str, Any]:
    """A condition whose longest path has `depth` nodes, alternating all / any / not."""
    node: dict[str, Any] = leaf("a", "exists")
    for level in range(depth - 1):
        node = [{"all": [node]}, {"any": [node]}, {"not": node}][level % 3]
    return node


class TestDepth:
    def test_eight_levels_are_accepted(self):
        validate_condition(nested(MAX_DEPTH), WHERE)
        assert MAX_DEPTH == 8

    def test_nine_levels_are_refused_at_the_ninth_node(self):
        e = refused(nested(MAX_DEPTH + 1))
        # the outermost of 8 wrappers is `any` (level index 7 → 7 % 3 == 1), then the path descends
        assert e.field == f"{WHERE}.any[0].all[0].not.any[0].all[0].not.any[0].all[0]"
        assert "8 levels" in e.message

    def test_a_hostile_depth_is_refused_without_recursing_through_it(self):
        node: dict[str, Any] = leaf("a", "exists")
        for _ in range(100_000):
            node = {"not": node}
        assert "levels" in refused(node).message

    def test_not_chains_count_like_any_other_level(self):
        node: dict[str, Any] = leaf("a", "exists")
        for _ in range(MAX_DEPTH - 1):
            node = {"not": node}
        assert evaluate(validate_condition(node, WHERE), {"a": 1}) is False  # seven nots
        assert refused({"not": node}).field == WHERE + ".not" * MAX_DEPTH


# --- evaluation --------------------------------------------------------------------------------


class TestPresence:
    @pytest.mark.parametrize(
        ("context", "exists"),
        [
            ({"work_email": "ada@example.com"}, True),
            ({"work_email": 0}, True),
            ({"work_email": False}, True),
            ({"work_email": [""]}, True),
            ({}, False),
            ({"work_email": None}, False),
            ({"work_email": ""}, False),
            ({"work_email": "   "}, False),
            ({"work_email": []}, False),
            ({"work_email": {}}, False),
            ({"email": "ada@example.com"}, False),
        ],
    )
    def test_exists_and_not_exists_are_opposites(self, context, exists):
        assert holds(leaf("work_email", "exists"), context) is exists
        assert holds(leaf("work_email", "not_exists"), context) is not exists


class TestEquality:
    @pytest.mark.parametrize(
        ("found", "value", "equal"),
        [
            ("acme.com", "acme.com", True),
            ("Acme.com", "acme.com", False),  # exact: case matters
            (" acme.com", "acme.com", False),
            (3, 3, True),
            (3, 3.0, True),  # numbers are numbers
            (3, 3.5, False),
            (True, True, True),
            (False, False, True),
            (True, 1, False),  # a bool is not a number
            (1, True, False),
            (False, 0, False),
            (0, False, False),
            ("3", 3, False),
            (3, "3", False),
            ("true", True, False),
            ([1, 2], [1, 2], True),
            ([1, 2], [2, 1], False),
            ([1, True], [1, 1], False),
            ([1, None], [1, None], True),
            ({"a": 1, "b": [True]}, {"b": [True], "a": 1}, True),
            ({"a": 1}, {"a": True}, False),
            ({"a": 1}, {"a": 1, "b": 2}, False),
            ({"a": 1, "b": 2}, {"a": 1}, False),
            ({"a": 1}, {"b": 1}, False),
            ([1], 1, False),  # list vs scalar
            (1, [1], False),
            ("a", ["a"], False),
            ({}, [], False),
            (math.nan, 1, False),
        ],
    )
    def test_eq_and_ne(self, found, value, equal):
        context = {"f": found}
        assert holds(leaf("f", "eq", value), context) is equal
        same_type = type(found) is type(value) or all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in (found, value)
        )
        # ne is true only between values of one type that differ
        assert holds(leaf("f", "ne", value), context) is (same_type and not equal)

    def test_ne_on_different_types_is_false(self):
        assert holds(leaf("employees", "ne", 5), {"employees": "5"}) is False
        assert holds(leaf("verified", "ne", 1), {"verified": True}) is False
        assert holds(leaf("employees", "ne", 5), {"employees": 6}) is True

    def test_nan_in_a_context_equals_nothing(self):
        assert holds(leaf("f", "eq", [1]), {"f": [math.nan]}) is False
        assert holds(leaf("f", "ne", 1), {"f": math.nan}) is True


class TestMembership:
    @pytest.mark.parametrize(
        ("found", "values", "is_in"),
        [
            ("US", ["US", "CA"], True),
            ("FR", ["US", "CA"], False),
            ("us", ["US", "CA"], False),
            (2, [1, 2, 3], True),
            (2.0, [1, 2, 3], True),
            (True, [1, 2], False),
            (1, [True, False], False),
            ("1", [1, 2], False),
            ([1], [[1], [2]], True),
            ([1], [1, 2], False),  # a list field is compared whole, not element by element
            ({"a": 1}, [{"a": 1}], True),
        ],
    )
    def test_in(self, found, values, is_in):
        assert holds(leaf("f", "in", values), {"f": found}) is is_in

    @pytest.mark.parametrize(
        ("found", "values", "not_in"),
        [
            ("FR", ["US", "CA"], True),
            ("US", ["US", "CA"], False),
            (4, [1, 2, 3], True),
            (3.0, [1, 2, 3], False),
            ("4", [1, 2, 3], False),  # the field's type is in no listed value: mismatched, false
            (True, [1, 2], False),
            (2, [True, False], False),
            ("FR", ["US", 5], True),  # one listed value has the field's type
            ([3], [[1], [2]], True),
        ],
    )
    def test_not_in(self, found, values, not_in):
        assert holds(leaf("f", "not_in", values), {"f": found}) is not_in


class TestContains:
    @pytest.mark.parametrize(
        ("found", "value", "contains"),
        [
            ("VP of Sales", "Sales", True),
            ("VP of Sales", "sales", False),
            ("VP of Sales", "", True),
            ("Sales", "VP of Sales", False),
            (["a", "b"], "a", True),
            (["a", "b"], "c", False),
            ([1, 2], 2, True),
            ([1, 2], 2.0, True),
            ([1, 2], True, False),
            ([True], 1, False),
            ([[1, 2]], [1, 2], True),
            ([1, 2], [1, 2], False),  # an element, not a sub-list
            ([{"a": 1}], {"a": 1}, True),
            ("123", 1, False),
            (123, "1", False),
            ({"a": 1}, "a", False),
            (True, True, False),
            ([], "a", False),
        ],
    )
    def test_contains(self, found, value, contains):
        assert holds(leaf("f", "contains", value), {"f": found}) is contains


class TestOrder:
    @pytest.mark.parametrize(
        ("found", "value", "expected"),
        [
            # found, value → (gt, gte, lt, lte)
            (5, 3, (True, True, False, False)),
            (3, 3, (False, True, False, True)),
            (3, 3.0, (False, True, False, True)),
            (2.5, 3, (False, False, True, True)),
            (2**60, float(2**60), (False, True, False, True)),
            (2**53 + 1, 2.0**53, (True, True, False, False)),  # exact, not through float
            ("b", "a", (True, True, False, False)),
            ("B", "a", (False, False, True, True)),  # code-point order, case-sensitive
            ("2024-03-01", "2024-02-15", (True, True, False, False)),  # ISO dates order as strings
            ("2024-03-01T00:00:00Z", "2024-03-01", (True, True, False, False)),
            ("10", 9, (False, False, False, False)),
            (10, "9", (False, False, False, False)),
            (True, 0, (False, False, False, False)),
            ([5], 3, (False, False, False, False)),
            ({"n": 5}, 3, (False, False, False, False)),
            (math.nan, 3, (False, False, False, False)),
            (math.inf, 3, (True, True, False, False)),
        ],
    )
    def test_gt_gte_lt_lte(self, found, value, expected):
        context = {"f": found}
        got = tuple(holds(leaf("f", op, value), context) for op in ("gt", "gte", "lt", "lte"))
        assert got == expected


class TestMissing:
    @pytest.mark.parametrize(
        "raw",
        [
            leaf("f", "eq", 1),
            leaf("f", "ne", 1),
            leaf("f", "in", [1]),
            leaf("f", "not_in", [1]),
            leaf("f", "contains", "a"),
            leaf("f", "gt", 1),
            leaf("f", "gte", 1),
            leaf("f", "lt", 1),
            leaf("f", "lte", "a"),
        ],
    )
    @pytest.mark.parametrize("context", [{}, {"f": None}, {"g": 1}])
    def test_a_missing_or_null_field_makes_every_comparison_false(self, raw, context):
        assert holds(raw, context) is False
        # `not` inverts the whole answer, so it is the way to say "unless the field says so"
        assert holds({"not": raw}, context) is True


class TestPaths:
    CONTEXT = {
        "company": {"domain": "acme.com", "size": {"min": 50}, "0": "key zero"},
        "emails": ["a@acme.com", {"address": "b@acme.com", "verdict": "deliverable"}, None],
        "matrix": [[1, 2], [3, 4]],
        "flat.key": "not reachable",
    }

    @pytest.mark.parametrize(
        ("path", "value"),
        [
            ("company.domain", "acme.com"),
            ("company.size.min", 50),
            ("company.0", "key zero"),  # on an object, digits are a key
            ("emails.0", "a@acme.com"),
            ("emails.1.verdict", "deliverable"),
            ("matrix.1.0", 3),
            ("emails.00", "a@acme.com"),
        ],
    )
    def test_paths_reach_into_objects_and_lists(self, path, value):
        assert lookup(self.CONTEXT, path) == value
        assert holds(leaf(path, "eq", value), self.CONTEXT) is True
        assert holds(leaf(path, "exists"), self.CONTEXT) is True

    @pytest.mark.parametrize(
        "path",
        [
            "company.name",
            "company.domain.tld",  # through a string
            "company.size.min.x",  # through a number
            "emails.2",  # null
            "emails.3",  # past the end
            "emails.first",  # a name on a list
            "emails.999999999",
            "nothing.at.all",
            "flat",
        ],
    )
    def test_paths_that_lead_nowhere_are_missing(self, path):
        assert lookup(self.CONTEXT, path) is MISSING
        assert holds(leaf(path, "exists"), self.CONTEXT) is False
        assert holds(leaf(path, "not_exists"), self.CONTEXT) is True
        assert holds(leaf(path, "ne", "x"), self.CONTEXT) is False

    def test_a_context_that_is_not_an_object_has_no_fields(self):
        for context in (None, [], "text", 3, [{"a": 1}]):
            assert holds(leaf("a", "exists"), context) is False
            assert holds(leaf("0.a", "eq", 1), context) is (context == [{"a": 1}])


class TestCombinators:
    CONTEXT = {"work_email": "ada@acme.com", "email_verdict": "risky", "employees": 40}

    def test_all_any_not(self):
        found = leaf("work_email", "exists")
        risky = leaf("email_verdict", "eq", "risky")
        big = leaf("employees", "gte", 100)
        assert holds({"all": [found, risky]}, self.CONTEXT) is True
        assert holds({"all": [found, risky, big]}, self.CONTEXT) is False
        assert holds({"any": [big, risky]}, self.CONTEXT) is True
        assert holds({"any": [big, {"not": found}]}, self.CONTEXT) is False
        assert holds({"not": big}, self.CONTEXT) is True
        assert holds({"not": {"not": big}}, self.CONTEXT) is False
        assert holds({"all": [found]}, self.CONTEXT) is True
        assert holds({"any": [big]}, self.CONTEXT) is False

    def test_the_documented_examples(self):
        # docs/operations.md "Conditions"
        verify_found = {"field": "work_email", "op": "exists"}
        assert holds(verify_found, {"work_email": "ada@acme.com"}) is True
        assert holds(verify_found, {"work_email": None}) is False
        phone_for_seniors = {
            "all": [
                {"field": "seniority", "op": "in", "value": ["vp", "c_suite", "founder"]},
                {"not": {"field": "mobile_phone", "op": "exists"}},
            ]
        }
        assert holds(phone_for_seniors, {"seniority": "vp"}) is True
        assert holds(phone_for_seniors, {"seniority": "vp", "mobile_phone": "+15550100"}) is False
        assert holds(phone_for_seniors, {"seniority": "intern"}) is False
        second_finder = {
            "any": [
                {"field": "work_email", "op": "not_exists"},
                {"field": "email_verdict", "op": "in", "value": ["undeliverable", "unknown"]},
            ]
        }
        assert holds(second_finder, {}) is True
        assert holds(second_finder, {"work_email": "a@b.co", "email_verdict": "unknown"}) is True
        assert holds(second_finder, {"work_email": "a@b.co", "email_verdict": "deliverable"}) is False


# --- properties --------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
keys = st.sampled_from(["a", "b", "0", "1", "work_email", "company"])
paths = st.lists(keys, min_size=1, max_size=4).map(".".join)
contexts = st.dictionaries(keys, json_values, max_size=6)
ops = st.sampled_from([op.value for op in Op])


@st.composite
def raw_leaves(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(ops)
    raw: dict[str, Any] = {"field": draw(paths), "op": op}
    if op in ("in", "not_in"):
        raw["value"] = draw(st.lists(json_values.filter(lambda v: v is not None), min_size=1, max_size=4))
    elif op in ("gt", "gte", "lt", "lte"):
        raw["value"] = draw(st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8))
    elif op not in ("exists", "not_exists"):
        raw["value"] = draw(json_values.filter(lambda v: v is not None))
    return raw


raw_conditions = st.recursive(
    raw_leaves(),
    lambda inner: (
        st.builds(lambda c: {"not": c}, inner)
        | st.lists(inner, min_size=1, max_size=3).map(lambda cs: {"all": cs})
        | st.lists(inner, min_size=1, max_size=3).map(lambda cs: {"any": cs})
    ),
    max_leaves=12,
)
PROPERTY = settings(
    derandomize=True, database=None, max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


class TestProperties:
    @PROPERTY
    @given(raw=raw_conditions, context=contexts | json_values)
    def test_evaluate_never_raises_and_not_inverts(self, raw, context):
        try:
            tree = validate_condition(raw, WHERE)
        except InvalidCondition:
            return  # too deep, or a NaN / infinity drawn as a value
        result = evaluate(tree, context)
        assert isinstance(result, bool)
        assert evaluate(Not(tree), context) is not result

    @PROPERTY
    @given(raw=raw_conditions)
    def test_valid_conditions_validate_and_round_trip(self, raw):
        try:
            tree = validate_condition(raw, WHERE)
        except InvalidCondition as e:
            assert e.field.startswith(WHERE)
            return
        assert _finite(to_json(tree))
        assert validate_condition(to_json(tree), WHERE) == tree

    @PROPERTY
    @given(
        raw=json_values | st.dictionaries(st.sampled_from(["all", "any", "not", "field", "op", "value"]), json_values)
    )
    def test_any_json_either_validates_or_is_refused_with_a_field(self, raw):
        try:
            validate_condition(raw, WHERE)
        except InvalidCondition as e:
            assert e.field.startswith(WHERE)

    @PROPERTY
    @given(field=paths, context=contexts)
    def test_exists_and_not_exists_partition_every_context(self, field, context):
        exists = holds(leaf(field, "exists"), context)
        assert holds(leaf(field, "not_exists"), context) is not exists
