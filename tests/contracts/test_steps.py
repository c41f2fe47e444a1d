"""The skip_if_fresh and fan_out declarations of a blueprint step (CONTRACT §9.1): typed, bounded,
and closed to other keys."""

import uuid

import pytest
from pydantic import ValidationError

from app.contracts.steps import MAX_FRESH_HOURS, SkipIfFresh

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
