"""Secrets never reach the audit log: every configured secret is replaced wherever it appears in
a stored provider response, and values under credential-looking keys are dropped."""

from typing import Any

REDACTED = "[REDACTED]"
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


def redact(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, dict):
        return {
            k: (REDACTED if str(k).lower() in SENSITIVE_KEYS and v else redact(v, secrets)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            if secret and secret in value:
                value = value.replace(secret, REDACTED)
        # NUL cannot be stored in jsonb text
        return value.replace("\x00", "")
    return value
