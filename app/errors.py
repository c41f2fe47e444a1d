"""The error hierarchy and the one place that renders CONTRACT §3's envelope."""

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class AppError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(
        self, message: str, *, code: str | None = None, details: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details
        self.headers = headers


class BadRequest(AppError):
    status_code = 400
    code = "bad_request"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"


class PaymentRequired(AppError):
    status_code = 402
    code = "payment_required"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"


# Pydantic error types (PydanticCustomError) that request models raise for input the schema cannot
# express but the API refuses: a date Postgres cannot store, a weak password, a filter that names
# nothing. They are answered 400 with the type as the code and the field named, not 422.
BAD_INPUT_ERROR_TYPES = frozenset({"invalid_date", "weak_password", "invalid_filter", "unknown_provider"})


def not_found(kind: str) -> NotFound:
    """Another tenant's object and a missing one give the same answer (CONTRACT §3)."""
    return NotFound(f"{kind.replace('_', ' ')} not found", code=f"{kind}_not_found")


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def _json_error(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    if exc.status_code >= 500:
        log.error("request failed: %s", exc.message)
    return _json_error(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


def _clean_validation_errors(errors: Any) -> list[dict[str, Any]]:
    cleaned = []
    for err in errors:
        # never echo the whole input back: it may be huge or hold a secret
        cleaned.append({"loc": list(err.get("loc", ())), "msg": err.get("msg"), "type": err.get("type")})
    return cleaned


def _takes_form(request: Request) -> bool:
    """The matched route reads a multipart form (`batch/submit-csv`), not JSON."""
    body_field = getattr(request.scope.get("route"), "body_field", None)
    return isinstance(getattr(body_field, "field_info", None), params.Form)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") in ("json_invalid", "json_type") for e in errors):
        return _json_error(400, "invalid_json", "the request body is not valid JSON")
    content_type = request.headers.get("content-type", "")
    if request.headers.get("content-length", "0") != "0":
        if _takes_form(request):
            if "multipart/form-data" not in content_type:
                return _json_error(415, "unsupported_media_type", "send the body as multipart/form-data")
        elif "json" not in content_type:
            return _json_error(
                415, "unsupported_media_type", "send the body as JSON with Content-Type: application/json"
            )
    if errors and all(e.get("type") in BAD_INPUT_ERROR_TYPES for e in errors):
        first = errors[0]
        loc = [str(p) for p in first.get("loc", ())]
        field = ".".join(loc[1:] if loc[:1] == ["body"] else loc)
        return _json_error(400, first["type"], first.get("msg", "bad input"), {"field": field})
    return _json_error(
        422, "validation_error", "the request body does not match the schema", _clean_validation_errors(errors)
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "route_not_found", 405: "method_not_allowed", 413: "payload_too_large"}
    code = codes.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    return _json_error(exc.status_code, code, message, headers=getattr(exc, "headers", None))


# Postgres unreachable, restarting or dropping connections: a fault of the moment, not a bug.
# The pool replaces dead connections on the next acquire, so the client is told to retry.
DATABASE_UNAVAILABLE = (
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
    ConnectionError,
)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return _json_error(
        503,
        "database_unavailable",
        "the database is unavailable; retry shortly",
        headers={"Retry-After": "1"},
    )


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    # rendered by Starlette's outermost middleware, outside RequestIdMiddleware: add the id here
    request_id = str(request.scope.get("state", {}).get("request_id", "-"))
    log.exception("unhandled error on %s %s (request %s)", request.method, request.url.path, request_id)
    return _json_error(
        500,
        "internal_error",
        "an internal error occurred; it has been logged",
        {"request_id": request_id},
        headers={"x-request-id": request_id},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for kind in DATABASE_UNAVAILABLE:
        app.add_exception_handler(kind, _database_unavailable)
    app.add_exception_handler(Exception, _unhandled)
