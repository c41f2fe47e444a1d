"""Pure ASGI middlewares: request ids on every response, refusing anonymous bodies before they are
read (401), and the body-size limit (413)."""

import json
import re
import uuid
from contextvars import ContextVar
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.auth import credentials
from app.config import Settings
from app.errors import error_body

REQUEST_ID_HEADER = b"x-request-id"
# echo a client's id only when it is short and harmless in a log line or a header
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


def request_id_of(scope: Scope) -> str:
    return str(scope.get("state", {}).get("request_id", "-"))


UNMATCHED_ROUTE = "(unmatched)"


def route_label(scope: Scope, router: Router | None) -> str:
    """What a request is counted under: its route's path template, a mount's prefix + `/*`
    (`/console/*`), or `(unmatched)`. Never the raw path: a client can vary that without end
    (every console page, every 404 a scanner tries), and each would be a counter kept forever."""
    route = scope.get("route")
    if route is None and router is not None:
        # answered before routing (the credential gate's 401, a 413): the route it was meant for
        route = next((r for r in router.routes if r.matches(scope)[0] is not Match.NONE), None)
        if route is not None and not isinstance(getattr(route, "path", None), str):
            # a router of API verbs matched: their paths are fixed (no path parameters), so the
            # path is the route's
            return str(scope["path"])
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED_ROUTE
    return f"{path}/*" if isinstance(route, Mount) else path


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp, router: Router | None = None) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER, b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                metrics.count_request(route_label(scope, self.router), message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER]
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


# the one anonymous endpoint that takes a body; it gets a small limit of its own
ANONYMOUS_BODY_PATHS = frozenset({"/api/auth/login"})
MAX_BODY_BYTES_STATE = "max_body_bytes"
# what an issued API token looks like (`dex_` + url-safe base64); checked before the body is read,
# the database lookup comes after
_API_TOKEN_SHAPE = re.compile(r"^dex_[A-Za-z0-9_-]{32,128}$")


async def _send_json(send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]) -> None:
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})


class CredentialGateMiddleware:
    """Answers 401 to a request that brings a body to `/api/` without a credential that could be
    valid there, before a byte of the body is read: parsing megabytes of JSON for a caller who is
    then refused let anonymous clients stall the API (issue 9 item 5).

    "Could be valid": the super-admin or internal key where those are accepted (compared in constant
    time), a session JWT whose signature and expiry check out, or a string shaped like an API
    token (its database lookup still comes after the body, in the auth dependency). Requests
    without a body pass through unchanged, so their answers (401, 404, 405) are the usual ones.
    The login endpoint stays anonymous, with its own small body limit."""

    def __init__(self, app: ASGIApp, settings: Settings, router: Router) -> None:
        self.app = app
        self.settings = settings
        self.router = router

    def _known(self, scope: Scope) -> bool:
        # an unknown path is answered 404 without reading a body: no need to refuse it first
        return any(route.matches(scope)[0] is not Match.NONE for route in self.router.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/"):
            await self.app(scope, receive, send)
            return
        if path in ANONYMOUS_BODY_PATHS:
            scope.setdefault("state", {})[MAX_BODY_BYTES_STATE] = self.settings.login_max_body_bytes
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if not _brings_body(headers):
            await self.app(scope, receive, send)
            return
        value = _bearer(headers.get(b"authorization"))
        if (value is not None and self._plausible(path, value)) or not self._known(scope):
            await self.app(scope, receive, send)
        elif value is None:
            await _refuse(send, "missing_credentials", "an Authorization: Bearer header is required")
        else:
            await _refuse(send, "invalid_credentials", "invalid or missing credentials")

    def _plausible(self, path: str, value: str) -> bool:
        if path.startswith("/api/super-admin/"):
            return credentials.constant_time_equals(value, self.settings.secret("super_admin_api_key"))
        if credentials.constant_time_equals(value, self.settings.secret("internal_api_key")):
            return True
        if path.startswith("/api/internal/"):
            return False
        if credentials.looks_like_api_token(value):
            return _API_TOKEN_SHAPE.match(value) is not None
        return credentials.decode_jwt(value, self.settings.secret("jwt_secret")) is not None


def _brings_body(headers: dict[bytes, bytes]) -> bool:
    return headers.get(b"content-length", b"0").strip() not in (b"0", b"") or b"transfer-encoding" in headers


def _bearer(header: bytes | None) -> str | None:
    # as FastAPI's HTTPBearer reads it: "<scheme> <value>", scheme case-insensitive
    if not header:
        return None
    scheme, _, value = header.decode("latin-1").partition(" ")
    return value if scheme.lower() == "bearer" and value else None


async def _refuse(send: Send, code: str, message: str) -> None:
    await _send_json(send, 401, error_body(code, message), [(b"www-authenticate", b"Bearer")])


class BodyTooLarge(StarletteHTTPException):
    """Raised while reading a streamed body; FastAPI lets HTTP exceptions through its body parser."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body exceeds {max_bytes} bytes")


class BodySizeLimitMiddleware:
    """Rejects bodies over the limit with 413, by Content-Length up front or while streaming. A
    middleware outside may lower the limit for one request (`scope["state"]["max_body_bytes"]`)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.default_max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = int(scope.get("state", {}).get(MAX_BODY_BYTES_STATE, self.default_max_bytes))
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > max_bytes
            except ValueError:
                too_big = False
            if too_big:
                await self._reject(send, max_bytes)
                return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge(max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await self._reject(send, max_bytes)

    async def _reject(self, send: Send, max_bytes: int) -> None:
        body = error_body("payload_too_large", f"the request body exceeds {max_bytes} bytes", {"max_bytes": max_bytes})
        await _send_json(send, 413, body, [])
