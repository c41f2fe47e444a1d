"""Blueprint step conditions (CONTRACT §9.1): the grammar, its validation and its evaluation.

A condition is validated once, when a blueprint is written, into an immutable tree; a refusal
names the offending node (`steps[2].condition.all[1].op`). Evaluation on a run's cumulative
context is total: it never raises, whatever the context holds, and a comparison between values
of different types is false. The semantics are written down in docs/operations.md
("Conditions") and the choices in docs/decisions/0042-step-conditions.md.
"""

import copy
import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, TypeAlias

MAX_DEPTH = 8
"""Levels of condition nodes, the root counting as 1 (CONTRACT §9.1)."""
MAX_BRANCHES = 100
"""Conditions in one `all` / `any`; a blueprint that needs more is better split."""
MAX_LIST_VALUES = 1000
"""Values in an `in` / `not_in` list."""
MAX_VALUE_DEPTH = 32
"""Nesting of a comparison value (an object or a list compared whole)."""
MAX_PATH_LENGTH = 200

# ASCII only: `\w` would admit any Unicode letter or digit, and `int()` would read Unicode digits
_PATH_RE = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")
_INDEX_RE = re.compile(r"[0-9]{1,9}")


class Op(StrEnum):
    exists = "exists"
    not_exists = "not_exists"
    eq = "eq"
    ne = "ne"
    in_ = "in"
    not_in = "not_in"
    contains = "contains"
    gt = "gt"
    gte = "gte"
    lt = "lt"
    lte = "lte"


PRESENCE_OPS = frozenset({Op.exists, Op.not_exists})
LIST_OPS = frozenset({Op.in_, Op.not_in})
ORDER_OPS = frozenset({Op.gt, Op.gte, Op.lt, Op.lte})
_OP_NAMES = ", ".join(op.value for op in Op)
_COMBINATORS = ("all", "any", "not")
_LEAF_KEYS = frozenset({"field", "op", "value"})


@dataclass(frozen=True, slots=True)
class FieldCondition:
    field: str
    op: Op
    value: Any = None
    """None for exists / not_exists; never None otherwise (null is refused as a value)."""


@dataclass(frozen=True, slots=True)
class AllOf:
    conditions: tuple["Condition", ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    conditions: tuple["Condition", ...]


@dataclass(frozen=True, slots=True)
class Not:
    condition: "Condition"


Condition: TypeAlias = AllOf | AnyOf | Not | FieldCondition


class InvalidCondition(ValueError):
    """A condition the grammar refuses. `field` is where, e.g. `steps[0].condition.any[1].op`."""

    code = "invalid_condition"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# --- validation ---------------------------------------------------------------------------------


def is_field_path(value: object) -> bool:
    """A dotted path: segments of ASCII letters, digits and `_`; an all-digit segment also indexes a list."""
    return isinstance(value, str) and len(value) <= MAX_PATH_LENGTH and _PATH_RE.fullmatch(value) is not None


FIELD_PATH_RULE = (
    f"a dotted path of at most {MAX_PATH_LENGTH} characters: segments of letters, digits and _ "
    "(e.g. work_email, company.domain, emails.0)"
)


def validate_condition(raw: Any, where: str) -> Condition:
    """The condition as a typed tree, or InvalidCondition naming the offending node under `where`."""
    return _node(raw, where, 1)


def _node(raw: Any, where: str, depth: int) -> Condition:
    if depth > MAX_DEPTH:
        raise InvalidCondition(where, f"conditions nest at most {MAX_DEPTH} levels deep")
    if not isinstance(raw, dict):
        raise InvalidCondition(
            where, "a condition is an object: {all: [...]}, {any: [...]}, {not: {...}} or {field, op, value}"
        )
    if not raw:
        raise InvalidCondition(where, "a condition must not be empty")
    combinators = [k for k in _COMBINATORS if k in raw]
    if combinators:
        name = combinators[0]
        others = [k for k in raw if k != name]
        if others:
            raise InvalidCondition(_key_path(where, others[0]), f"a condition with {name!r} must have no other key")
        if name == "not":
            return Not(_node(raw["not"], f"{where}.not", depth + 1))
        return _branches(name, raw[name], f"{where}.{name}", depth)
    return _leaf(raw, where)


def _branches(name: str, items: Any, where: str, depth: int) -> Condition:
    if not isinstance(items, list):
        raise InvalidCondition(where, f"{name!r} takes a list of conditions")
    if not items:
        # all([]) is vacuously true and any([]) false: a blueprint author never means either
        raise InvalidCondition(where, f"{name!r} needs at least one condition")
    if len(items) > MAX_BRANCHES:
        raise InvalidCondition(where, f"{name!r} takes at most {MAX_BRANCHES} conditions")
    children = tuple(_node(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(items))
    return AllOf(children) if name == "all" else AnyOf(children)


def _leaf(raw: dict[Any, Any], where: str) -> FieldCondition:
    unknown = [k for k in raw if k not in _LEAF_KEYS]
    if unknown:
        raise InvalidCondition(
            _key_path(where, unknown[0]), "unknown key; a condition is all, any, not, or field + op (+ value)"
        )
    if "field" not in raw:
        raise InvalidCondition(f"{where}.field", "required")
    field = raw["field"]
    if not is_field_path(field):
        raise InvalidCondition(f"{where}.field", f"must be {FIELD_PATH_RULE}")
    if "op" not in raw:
        raise InvalidCondition(f"{where}.op", "required")
    try:
        op = Op(raw["op"])
    except (ValueError, TypeError):
        raise InvalidCondition(f"{where}.op", f"unknown operator; one of {_OP_NAMES}") from None
    at = f"{where}.value"
    if op in PRESENCE_OPS:
        if "value" in raw:
            raise InvalidCondition(at, f"{op.value} takes no value")
        return FieldCondition(field=field, op=op)
    if "value" not in raw:
        raise InvalidCondition(at, f"required for {op.value}")
    value = raw["value"]
    if value is None:
        raise InvalidCondition(at, "must not be null: a null field counts as missing; use exists or not_exists")
    if op in LIST_OPS:
        if not isinstance(value, list):
            raise InvalidCondition(at, f"{op.value} takes a list of values")
        if not value:
            raise InvalidCondition(at, f"{op.value} needs at least one value")
        if len(value) > MAX_LIST_VALUES:
            raise InvalidCondition(at, f"{op.value} takes at most {MAX_LIST_VALUES} values")
        for i, item in enumerate(value):
            if item is None:
                raise InvalidCondition(f"{at}[{i}]", "must not be null: a null field counts as missing")
            _check_json(item, f"{at}[{i}]", 1)
    else:
        _check_json(value, at, 0)
        if op in ORDER_OPS and _kind(value) not in ("number", "string"):
            raise InvalidCondition(at, f"{op.value} compares a number or a string")
    # a copy: the tree must not change when the caller's dict does
    return FieldCondition(field=field, op=op, value=copy.deepcopy(value))


def _check_json(value: Any, where: str, depth: int) -> None:
    """Only what JSON (and jsonb) can hold: a NaN or a tuple here would fail when stored, not now.

    Iterative and depth-first in document order, so the first offending node is the one named."""
    stack: list[tuple[Any, str, int]] = [(value, where, depth)]
    while stack:
        item, at, level = stack.pop()
        if level > MAX_VALUE_DEPTH:
            raise InvalidCondition(at, f"a value nests at most {MAX_VALUE_DEPTH} levels deep")
        if isinstance(item, float) and not math.isfinite(item):
            raise InvalidCondition(at, "numbers must be finite")
        if isinstance(item, list):
            stack.extend(reversed([(v, f"{at}[{i}]", level + 1) for i, v in enumerate(item)]))
        elif isinstance(item, dict):
            if any(not isinstance(key, str) for key in item):
                raise InvalidCondition(at, "object keys must be strings")
            stack.extend(reversed([(v, f"{at}.{key}", level + 1) for key, v in item.items()]))
        elif item is not None and not isinstance(item, bool | int | float | str):
            raise InvalidCondition(at, "must be a JSON value")


def _key_path(where: str, key: Any) -> str:
    return f"{where}.{str(key)[:100]}"


def to_json(condition: Condition) -> dict[str, Any]:
    """The canonical JSON form, to store; `validate_condition` reads it back to an equal tree."""
    if isinstance(condition, AllOf):
        return {"all": [to_json(c) for c in condition.conditions]}
    if isinstance(condition, AnyOf):
        return {"any": [to_json(c) for c in condition.conditions]}
    if isinstance(condition, Not):
        return {"not": to_json(condition.condition)}
    out: dict[str, Any] = {"field": condition.field, "op": condition.op.value}
    if condition.op not in PRESENCE_OPS:
        out["value"] = copy.deepcopy(condition.value)
    return out


# --- evaluation ---------------------------------------------------------------------------------


MISSING: Final = object()
"""What `lookup` returns for a path that leads nowhere or to null."""


def lookup(context: Any, field: str) -> Any:
    """The value at a dotted path, or `MISSING` (also for a null value: null means "not known")."""
    node = context
    for segment in field.split("."):
        if isinstance(node, dict):
            node = node.get(segment, MISSING)
        elif isinstance(node, list | tuple) and _INDEX_RE.fullmatch(segment):
            index = int(segment)
            node = node[index] if index < len(node) else MISSING
        else:
            return MISSING
        if node is MISSING or node is None:
            return MISSING
    return node


def _kind(value: Any) -> str | None:
    # bool first: True is an int to Python but not a number to a blueprint author
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "object"
    return None


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: types must match (True is not 1, 1 is 1.0); iterative, so no depth can overflow."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        kind = _kind(x)
        if kind is None or kind != _kind(y):
            return False
        if kind == "list":
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif kind == "object":
            if len(x) != len(y) or any(k not in y for k in x):
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif kind != "null" and not x == y:  # `not ==`: NaN is equal to nothing, itself included
            return False
    return True


def _blank(value: Any) -> bool:
    return (isinstance(value, str) and not value.strip()) or (isinstance(value, list | tuple | dict) and not value)


def _compare(op: Op, found: Any, value: Any) -> bool:
    kind = _kind(found)
    if op is Op.eq:
        return _equal(found, value)
    if op is Op.ne:
        return kind is not None and kind == _kind(value) and not _equal(found, value)
    if op in LIST_OPS:
        if not isinstance(value, list | tuple):
            return False
        if op is Op.in_:
            return any(_equal(found, v) for v in value)
        return any(_kind(v) == kind for v in value) and not any(_equal(found, v) for v in value)
    if op is Op.contains:
        if kind == "string" and isinstance(value, str):
            return value in found
        if kind == "list":
            return any(_equal(item, value) for item in found)
        return False
    if kind not in ("number", "string") or kind != _kind(value):
        return False
    if op is Op.gt:
        return bool(found > value)
    if op is Op.gte:
        return bool(found >= value)
    if op is Op.lt:
        return bool(found < value)
    return bool(found <= value)


def evaluate(condition: Condition, context: Any) -> bool:
    """Whether the condition holds on the context. Never raises, whatever the context holds."""
    if isinstance(condition, AllOf):
        return all(evaluate(c, context) for c in condition.conditions)
    if isinstance(condition, AnyOf):
        return any(evaluate(c, context) for c in condition.conditions)
    if isinstance(condition, Not):
        return not evaluate(condition.condition, context)
    found = lookup(context, condition.field)
    if condition.op is Op.exists:
        return found is not MISSING and not _blank(found)
    if condition.op is Op.not_exists:
        return found is MISSING or _blank(found)
    if found is MISSING:
        return False
    return _compare(condition.op, found, condition.value)
