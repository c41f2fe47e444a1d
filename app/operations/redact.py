"""Secrets never reach the audit log: every configured secret is replaced wherever it appears in
a stored provider response, and values under credential-looking keys are dropped.

A provider rarely echoes a key verbatim. It echoes the URL it was called with (the key
percent-encoded in the query string), or a masked key (`sk-abcd1234…`, `…wxyz5678`). So each
secret is looked for in its plain and URL-encoded forms, and any run of at least
`MIN_PARTIAL` characters that starts or ends a form is redacted as well."""

import re
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "[REDACTED]"
# 8 characters of a random key are ~48 bits: an unrelated text repeating them is not a real risk
MIN_PARTIAL = 8
SENSITIVE_KEYS = frozenset(
    {
        "api_key",
        "apikey",
        "key",
        "api",
        "authorization",
        "x-api-key",
        "x-key",
        "token",
        "access_token",
        "secret",
        "password",
        "x-goog-api-key",
    }
)
_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def _forms(secret: str) -> list[str]:
    """The ways a secret shows up in text: as is, percent-encoded (both hex cases) and form-encoded."""
    encoded = quote(secret, safe="")
    forms = {secret, encoded, quote(secret, safe="/"), quote_plus(secret)}
    forms.add(_PERCENT_ESCAPE.sub(lambda m: m.group(0).lower(), encoded))
    return sorted(forms, key=len, reverse=True)


class _Matcher:
    def __init__(self, secrets: tuple[str, ...]) -> None:
        self.forms = [f for s in secrets if s for f in _forms(s)]
        self.partial = [f for f in self.forms if len(f) >= MIN_PARTIAL]
        ends = {f[:MIN_PARTIAL] for f in self.partial} | {f[-MIN_PARTIAL:] for f in self.partial}
        ends |= {f for f in self.forms if len(f) < MIN_PARTIAL}
        # one search tells whether a string holds anything to redact (almost always not)
        self.any = re.compile("|".join(re.escape(e) for e in sorted(ends, key=len, reverse=True))) if ends else None

    def scrub(self, value: str) -> str:
        if self.any is None or not self.any.search(value):
            return value
        for form in self.forms:
            value = value.replace(form, REDACTED)
        for form in self.partial:
            value = _scrub_partial(value, form)
        return value


def _scrub_partial(value: str, form: str) -> str:
    """Redacts every run that is a prefix or a suffix of `form` of at least MIN_PARTIAL characters."""
    spans = []
    head, tail = form[:MIN_PARTIAL], form[-MIN_PARTIAL:]
    start = value.find(head)
    while start != -1:
        end = start + MIN_PARTIAL
        while end < len(value) and end - start < len(form) and value[end] == form[end - start]:
            end += 1
        spans.append((start, end))
        start = value.find(head, end)
    end = value.find(tail)
    while end != -1:
        stop = end + MIN_PARTIAL
        begin, k = end, len(form) - MIN_PARTIAL - 1
        while begin > 0 and k >= 0 and value[begin - 1] == form[k]:
            begin, k = begin - 1, k - 1
        spans.append((begin, stop))
        end = value.find(tail, stop)
    if not spans:
        return value
    merged: list[tuple[int, int]] = []
    for begin, stop in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((begin, stop))
    out, last = [], 0
    for begin, stop in merged:
        out += [value[last:begin], REDACTED]
        last = stop
    out.append(value[last:])
    return "".join(out)


@lru_cache(maxsize=32)
def _matcher(secrets: tuple[str, ...]) -> _Matcher:
    return _Matcher(secrets)


def redact(value: Any, secrets: list[str]) -> Any:
    return _redact(value, _matcher(tuple(secrets)))


def _redact(value: Any, matcher: _Matcher) -> Any:
    if isinstance(value, dict):
        return {
            k: (REDACTED if str(k).lower() in SENSITIVE_KEYS and v else _redact(v, matcher)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact(v, matcher) for v in value]
    if isinstance(value, str):
        # NUL cannot be stored in jsonb text
        return matcher.scrub(value).replace("\x00", "")
    return value
