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
    400: "Bad input",
    401: "Missing or invalid credentials",
    403: "The caller's role may not do this",
    404: "Not found, or not visible to the caller",
    409: "Conflict with an existing object",
    413: "Body too large",
    415: "Body is not JSON",
    422: "Body does not match the schema",
    429: "Rate limited",
    503: "A dependency is unavailable",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Always documents 401, 413 and 422, which any authenticated JSON endpoint may return."""
    wanted = sorted({401, 413, 422, *codes})
    return {code: {"model": ErrorResponse, "description": _DESCRIPTIONS[code]} for code in wanted}
