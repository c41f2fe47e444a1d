"""The schema base, reusable field types and the response envelopes."""

import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError
from zxcvbn import zxcvbn

from app.auth.context import Role


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Postgres text and jsonb cannot hold NUL, and UTF-8 cannot carry lone surrogates (JSON can spell
# both as \\u escapes): such a body would fail at the database after the work was done
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
# free-form objects (inputs, contexts, metadata) nest a few levels; far deeper ones only exhaust
# the serialisers (pydantic's dump and Postgres' jsonb parser stop, with an error, long before 1000)
MAX_JSON_DEPTH = 64


def unstorable_text_at(data: Any) -> tuple[list[str | int], str] | None:
    """The location of the first value Postgres cannot store, and why; None when all is storable."""
    stack: list[tuple[Any, list[str | int]]] = [(data, [])]
    while stack:  # iterative: a deeply nested body must not exhaust the interpreter's stack
        value, loc = stack.pop()
        if len(loc) > MAX_JSON_DEPTH:
            return loc[:MAX_JSON_DEPTH], f"nests deeper than {MAX_JSON_DEPTH} levels"
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                return loc, "text must not contain NUL characters or unpaired surrogates"
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and _UNSTORABLE.search(key):
                    key = key.encode("utf-8", "backslashreplace").decode()
                    return [*loc, key], "keys must not contain NUL characters or unpaired surrogates"
                stack.append((item, [*loc, key]))
        elif isinstance(value, list):
            stack.extend((item, [*loc, i]) for i, item in enumerate(value))
    return None


def in_utc_range(value: datetime) -> datetime | None:
    """The instant in UTC, or None when it has no offset or falls outside year 1..9999 in UTC.

    Python parses `9999-12-31T23:59:59-05:00`, but its UTC instant is in year 10000: the database
    driver then fails on it (a 500). Inside years 1..9999 UTC every instant fits Postgres'
    timestamptz (4713 BC to 294276 AD), so this one rule, applied before any query, is enough."""
    if value.tzinfo is None or value.utcoffset() is None:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return None


def _storable_instant(value: datetime) -> datetime:
    utc = in_utc_range(value)
    if utc is None:
        raise PydanticCustomError("invalid_date", "the date must fall between years 1 and 9999 in UTC")
    return utc


# an amount of credits or USD: exact in Python and in Postgres (numeric), a JSON number on the wire
Money = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


# a timestamp a client sends: with an offset, and storable (answered 400 `invalid_date` otherwise)
Instant = Annotated[AwareDatetime, AfterValidator(_storable_instant)]


class RequestSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        problem = unstorable_text_at(data)
        if problem is not None:
            where = ".".join(str(p) for p in problem[0]) or "body"
            raise ValueError(f"{where}: {problem[1]}")
        return data


class RequestPart(BaseModel):
    """A model only ever validated inside a RequestSchema body (a batch's entity): the body's walk
    above has already checked its text, so 10,000 entities are not walked a second time each."""

    model_config = ConfigDict(extra="forbid")


T = TypeVar("T")


class Data(BaseModel, Generic[T]):
    data: T


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def _trimmed(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must contain a character other than whitespace")
    return value


# Length limits and patterns apply to the string as sent, exactly as the OpenAPI schema states
# them; surrounding whitespace is trimmed only after that (decision 0012). Trimming first would
# accept a 201-character name that starts with a tab, which the schema says is refused.
Name = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_trimmed), Field(description="Display name")
]
Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$"),
    Field(description="Lower-case letters, digits and hyphens; unique across the platform"),
]
ExternalRef = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_trimmed)]
# the pattern admits no whitespace at all; lower-cased after the checks (lower-casing can change a
# string's length, e.g. "İ")
Email = Annotated[
    str, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), AfterValidator(str.lower)
]
PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 256
# zxcvbn rates the guesses an attacker needs, from its lists (30,000 breached passwords, common
# words and names) and patterns (repeats, sequences, keyboard walks, dates). Score 2 means at least
# 10^6 guesses, out of reach of a throttled online attack (NIST SP 800-63B; docs/decisions/0022).
PASSWORD_MIN_SCORE = 2
# zxcvbn's matching is superlinear: rate a prefix (a guessable prefix makes a weak password anyway)
_PASSWORD_RATED_CHARS = 72
_SERVICE_WORDS = ["data-engine-x", "dataengine", "data engine", "enrichment"]


def _acceptable_password(value: str) -> str:
    """NIST SP 800-63B: length (by the schema), no composition rules, and no password that a
    blocklist of breached, dictionary, repetitive or context-specific values would catch."""
    if not value.strip():
        raise PydanticCustomError("weak_password", "the password must not be only whitespace")
    if zxcvbn(value[:_PASSWORD_RATED_CHARS], user_inputs=_SERVICE_WORDS)["score"] < PASSWORD_MIN_SCORE:
        raise PydanticCustomError(
            "weak_password",
            "the password is too common or too easy to guess (a breached password, words, repeats or "
            "sequences); a longer passphrase of unrelated words works",
        )
    return value


# any password a user sets: 12 to 256 characters (422 outside, as the schema says), then the
# blocklist check (400 `weak_password` naming the field)
Password = Annotated[
    str,
    StringConstraints(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH),
    AfterValidator(_acceptable_password),
]
# numbers and booleans of request bodies are strict, as the schema says: `true` is not a page size
# and "yes" is not a boolean (pydantic's lax mode would take both)
Limit = Annotated[int, Field(ge=1, le=500, strict=True, description="Page size (default 50, max 500)")]
Cursor = Annotated[str, StringConstraints(max_length=512), Field(description="next_cursor of the previous page")]


class ListRequest(RequestSchema):
    limit: Limit = 50
    cursor: Cursor | None = None


class Timestamped(Schema):
    id: uuid.UUID
    created_at: datetime
    updated_at: datetime


__all__ = [
    "Data",
    "Email",
    "ExternalRef",
    "Instant",
    "ListRequest",
    "Money",
    "Name",
    "Page",
    "Password",
    "RequestSchema",
    "Role",
    "Schema",
    "Slug",
    "Timestamped",
]
