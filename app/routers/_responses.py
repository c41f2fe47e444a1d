"""Error responses declared on routes, so the OpenAPI schema documents the envelope."""

from typing import Any

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


_DESCRIPTIONS = {
    400: "Bad input, or a body that is not valid JSON",
    401: "Missing or invalid credentials",
    402: "A budget of the caller's org or company is exhausted (`budget_exhausted`)",
    403: "The caller's role may not do this",
    404: "Not found, or not visible to the caller",
    409: "Conflict with an existing object",
    413: "Body too large",
    415: "Body is not JSON",
    422: "Body does not match the schema",
    429: "Rate limited",
    503: "A dependency is unavailable",
}


# what any authenticated JSON endpoint may answer before its handler runs: a body that is not
# JSON (400) or not sent as JSON (415), a bad or missing credential (401), a body over the size
# limit (413) or off the schema (422), the caller's rate limit (429), Postgres unreachable (503)
ALWAYS = (400, 401, 413, 415, 422, 429, 503)


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The documented error responses of an endpoint: ALWAYS plus its own."""
    wanted = sorted({*ALWAYS, *codes})
    return {code: {"model": ErrorResponse, "description": _DESCRIPTIONS[code]} for code in wanted}
