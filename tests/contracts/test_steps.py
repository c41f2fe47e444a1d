"""The skip_if_fresh and fan_out declarations of a blueprint step (CONTRACT §9.1): typed, bounded,
and closed to other keys."""

import uuid

import pytest
from pydantic import ValidationError

from app.contracts.steps import MAX_CARRY, MAX_FRESH_HOURS, FanOut, SkipIfFresh

BLUEPRINT = str(uuid.uuid4())


def error_locs(model, raw):
    with pytest.raises(ValidationError) as e:
        model.model_validate_json(raw) if isinstance(raw, str) else model.model_validate(raw)
    return [".".join(str(p) for p in err["loc"]) for err in e.value.errors()]


class TestSkipIfFresh:
    @pytest.mark.parametrize("hours", [1, 24, MAX_FRESH_HOURS])
    def test_accepted(self, hours):
        assert SkipIfFresh.model_validate({"max_age_hours": hours}).max_age_hours == hours

    @pytest.mark.parametrize(
        "raw",
        [
            {},
            {"max_age_hours": 0},
            {"max_age_hours": -5},
            {"max_age_hours": MAX_FRESH_HOURS + 1},
            {"max_age_hours": 10**30},
            {"max_age_hours": "24"},
            {"max_age_hours": 24.0},
            {"max_age_hours": 1.5},
            {"max_age_hours": True},
            {"max_age_hours": None},
        ],
    )
    def test_refused(self, raw):
        assert error_locs(SkipIfFresh, raw) == ["max_age_hours"]

    def test_json_floats_are_refused_too(self):
        assert error_locs(SkipIfFresh, '{"max_age_hours": 24.0}') == ["max_age_hours"]

    def test_unknown_keys_are_refused(self):
        assert error_locs(SkipIfFresh, {"max_age_hours": 24, "max_age_days": 1}) == ["max_age_days"]


class TestFanOut:
    def test_defaults(self):
        fan_out = FanOut.model_validate({"blueprint_id": BLUEPRINT})
        assert fan_out.blueprint_id == uuid.UUID(BLUEPRINT)
        assert fan_out.max_children == 100
        assert fan_out.carry == []

    def test_accepted(self):
        fan_out = FanOut.model_validate_json(
            f'{{"blueprint_id": "{BLUEPRINT}", "max_children": 1000, "carry": ["domain", "hq.country", "tags.0"]}}'
        )
        assert fan_out.max_children == 1000
        assert fan_out.carry == ["domain", "hq.country", "tags.0"]
        assert FanOut.model_validate({"blueprint_id": BLUEPRINT, "max_children": 1}).max_children == 1

    @pytest.mark.parametrize(
        ("raw", "loc"),
        [
            ({}, "blueprint_id"),
            ({"blueprint_id": "not-a-uuid"}, "blueprint_id"),
            ({"blueprint_id": 42}, "blueprint_id"),
            ({"blueprint_id": BLUEPRINT, "max_children": 0}, "max_children"),
            ({"blueprint_id": BLUEPRINT, "max_children": 1001}, "max_children"),
            ({"blueprint_id": BLUEPRINT, "max_children": "10"}, "max_children"),
            ({"blueprint_id": BLUEPRINT, "max_children": 10.0}, "max_children"),
            ({"blueprint_id": BLUEPRINT, "max_children": True}, "max_children"),
            ({"blueprint_id": BLUEPRINT, "carry": "domain"}, "carry"),
            ({"blueprint_id": BLUEPRINT, "carry": ["domain", "company name"]}, "carry.1"),
            ({"blueprint_id": BLUEPRINT, "carry": ["a..b"]}, "carry.0"),
            ({"blueprint_id": BLUEPRINT, "carry": [""]}, "carry.0"),
            ({"blueprint_id": BLUEPRINT, "carry": ["x" * 201]}, "carry.0"),
            ({"blueprint_id": BLUEPRINT, "carry": [3]}, "carry.0"),
            ({"blueprint_id": BLUEPRINT, "carry": ["domain", "domain"]}, "carry"),
            ({"blueprint_id": BLUEPRINT, "carry": [f"f{i}" for i in range(MAX_CARRY + 1)]}, "carry"),
            ({"blueprint_id": BLUEPRINT, "depth": 2}, "depth"),
        ],
    )
    def test_refused(self, raw, loc):
        assert error_locs(FanOut, raw) == [loc]

    def test_declarations_are_immutable(self):
        fan_out = FanOut.model_validate({"blueprint_id": BLUEPRINT})
        with pytest.raises(ValidationError):
            fan_out.max_children = 5
