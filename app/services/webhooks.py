"""Webhook subscriptions, the URL rules that keep deliveries off internal networks, and
`enqueue_event`, which the pipeline calls inside the transaction of each state change
(CONTRACT §9.6; docs/webhooks.md)."""

import asyncio
import base64
import builtins
import ipaddress
import json
import re
import secrets
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from app.auth.context import AuthContext
from app.encryption import Keyring, SealedValueError, is_sealed
from app.errors import BadRequest, not_found
from app.models.common import Page
from app.models.webhooks import (
    Webhook,
    WebhookAttempt,
    WebhookCreated,
    WebhookCreateRequest,
    WebhookDeleted,
    WebhookDeliveriesRequest,
    WebhookEvent,
    WebhookListRequest,
    WebhookSecret,
)
from app.pagination import decode_cursor, encode_cursor, page
from app.repositories import companies as companies_repo
from app.repositories import webhooks as webhooks_repo

SECRET_PREFIX = "whsec_"  # the Standard Webhooks secret format: whsec_ + base64 of the key bytes
SECRET_BYTES = 32

# --- URL rules (SSRF) ----------------------------------------------------------------------------

Resolver = Callable[[str, int], Awaitable[builtins.list[str]]]
# cloud metadata endpoints; both are also link-local / unique-local, listed so the rule says so
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_HOST = re.compile(r"^[A-Za-z0-9._:%-]+$")


class UrlRefused(ValueError):
    """The URL may not receive deliveries; the message says why (and holds no secret)."""


async def system_resolver(host: str, port: int) -> builtins.list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def address_refusal(address: str) -> str | None:
    """Why deliveries may not go to this address in production; None when it is public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    # most specific first: Python counts loopback, link-local and unique-local as private too
    for kind, name in (
        ("loopback", "a loopback"),
        ("unspecified", "an unspecified"),
        ("link_local", "a link-local"),
        ("multicast", "a multicast"),
    ):
        if getattr(ip, f"is_{kind}"):
            return f"{name} address"
    if isinstance(ip, ipaddress.IPv6Address) and ip in _UNIQUE_LOCAL:
        return "a unique-local address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved or not ip.is_global:  # shared (100.64/10) and other special-purpose ranges
        return "a non-public address"
    return None


@dataclass(frozen=True)
class Target:
    """A checked URL, and in production the addresses it was checked at: the request goes to one
    of those, so a DNS answer that changes after the check (rebinding) cannot redirect it."""

    url: httpx.URL
    addresses: builtins.list[str] = field(default_factory=list)


@dataclass(frozen=True)
class UrlGuard:
    production: bool
    resolver: Resolver = system_resolver

    async def check(self, raw: str) -> Target:
        try:
            url = httpx.URL(raw)
        except (httpx.InvalidURL, ValueError, TypeError) as e:
            raise UrlRefused("the URL cannot be parsed") from e
        if url.scheme not in ("http", "https") or not url.host or not _HOST.match(url.host):
            raise UrlRefused("the URL must be an absolute http(s) URL with a host")
        if url.userinfo:
            raise UrlRefused("the URL must not hold credentials (user:password@)")
        if url.fragment:
            raise UrlRefused("the URL must not have a fragment")
        if not self.production:
            return Target(url)  # local mode: http and loopback receivers are fine (CONTRACT §9.6)
        if url.scheme != "https":
            raise UrlRefused("the URL must use https")
        port = url.port or 443
        try:
            addresses = [str(ipaddress.ip_address(url.host))]
        except ValueError:
            try:
                addresses = await self.resolver(url.host, port)
            except (OSError, UnicodeError) as e:
                raise UrlRefused("the host does not resolve") from e
        if not addresses:
            raise UrlRefused("the host does not resolve")
        for address in addresses:
            try:
                refusal = address_refusal(address)
            except ValueError as e:
                raise UrlRefused("the host resolves to something that is not an IP address") from e
            if refusal is not None:
                raise UrlRefused(f"the host resolves to {refusal}")
        return Target(url, [*dict.fromkeys(a.split("%", 1)[0] for a in addresses)])


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_binding(org_id: uuid.UUID, webhook_id: uuid.UUID) -> tuple[str, ...]:
    """What a sealed signing secret belongs to: it opens only in this org's row of this webhook."""
    return ("webhook_secret", str(org_id), str(webhook_id))


def open_secret(keyring: Keyring, org_id: uuid.UUID, webhook_id: uuid.UUID, stored: str) -> str:
    """The signing secret of a stored value: sealed (since migration 022), or a `whsec_` plaintext
    written before it, which keeps working until `python -m app reencrypt-keys` seals it."""
    if is_sealed(stored):
        return keyring.open(stored, binding=secret_binding(org_id, webhook_id))
    if stored.startswith(SECRET_PREFIX):
        return stored
    raise SealedValueError("the stored signing secret is neither sealed nor a whsec_ secret")


# --- subscriptions ------------------------------------------------------------------------------


async def _check_url(guard: UrlGuard, url: str) -> None:
    try:
        await guard.check(url)
    except UrlRefused as e:
        raise BadRequest(f"url: {e}", code="webhook_url_not_allowed", details={"field": "url"}) from e


async def create(
    conn: asyncpg.Connection, auth: AuthContext, body: WebhookCreateRequest, guard: UrlGuard, keyring: Keyring
) -> WebhookCreated:
    org_id = auth.tenant_org_id
    if (
        body.company_id is not None
        and await companies_repo.get_company(conn, org_id, auth.company_id, body.company_id) is None
    ):
        raise not_found("company")
    await _check_url(guard, body.url)
    secret = generate_secret()
    # the id is chosen here: the sealed secret is bound to it
    webhook_id = uuid.uuid4()
    webhook = await webhooks_repo.insert_webhook(
        conn,
        org_id,
        webhook_id=webhook_id,
        company_id=body.company_id,
        url=body.url,
        events=[e.value for e in body.events],
        secret=keyring.seal(secret, binding=secret_binding(org_id, webhook_id)),
    )
    return WebhookCreated(**webhook.model_dump(), secret=secret)


async def list(conn: asyncpg.Connection, auth: AuthContext, body: WebhookListRequest) -> Page[Webhook]:
    rows = await webhooks_repo.list_webhooks(
        conn, auth.tenant_org_id, auth.company_id, decode_cursor(body.cursor), body.limit
    )
    items, cursor = page(rows, body.limit)
    return Page[Webhook](items=items, next_cursor=cursor)


async def delete(conn: asyncpg.Connection, auth: AuthContext, webhook_id: uuid.UUID) -> WebhookDeleted:
    if not await webhooks_repo.delete_webhook(conn, auth.tenant_org_id, auth.company_id, webhook_id):
        raise not_found("webhook")
    return WebhookDeleted(webhook_id=webhook_id)


async def rotate_secret(
    conn: asyncpg.Connection,
    auth: AuthContext,
    webhook_id: uuid.UUID,
    grace: timedelta,
    keyring: Keyring,
    now: datetime | None = None,
) -> WebhookSecret:
    now = now or datetime.now(UTC)
    secret = generate_secret()
    webhook = await webhooks_repo.rotate_secret(
        conn,
        auth.tenant_org_id,
        auth.company_id,
        webhook_id,
        secret=keyring.seal(secret, binding=secret_binding(auth.tenant_org_id, webhook_id)),
        previous_until=now + grace if grace > timedelta(0) else None,
        now=now,
    )
    if webhook is None:
        raise not_found("webhook")
    return WebhookSecret(
        webhook_id=webhook.id, secret=secret, previous_secret_expires_at=webhook.previous_secret_expires_at
    )


async def deliveries(
    conn: asyncpg.Connection, auth: AuthContext, body: WebhookDeliveriesRequest
) -> Page[WebhookAttempt]:
    org_id = auth.tenant_org_id
    if await webhooks_repo.get_webhook(conn, org_id, auth.company_id, body.webhook_id) is None:
        raise not_found("webhook")
    rows = await webhooks_repo.list_attempts(conn, org_id, body.webhook_id, decode_cursor(body.cursor), body.limit)
    items = rows[: body.limit]
    cursor = encode_cursor(items[-1].at, items[-1].id) if len(rows) > body.limit else None
    return Page[WebhookAttempt](items=items, next_cursor=cursor)


# --- events -------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_body(event_type: str, data: dict[str, Any], at: datetime) -> str:
    """The Standard Webhooks payload `{type, timestamp, data}`, as the exact text every attempt sends."""
    return json.dumps(
        {"type": event_type, "timestamp": iso(at), "data": data}, separators=(",", ":"), default=_json_default
    )


async def enqueue_event(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    company_id: uuid.UUID | None,
    event_type: str,
    data: dict[str, Any],
) -> None:
    """Queue one event for every subscription of the org that wants it (org-wide ones and those
    of `company_id`). Call it on the connection of the transaction that makes the change, so the
    event exists exactly when the change commits; delivery happens later, outside it."""
    event = WebhookEvent(event_type)  # an unknown type is a programming error: ValueError
    await webhooks_repo.enqueue_event(
        conn, org_id, company_id, event.value, event_body(event.value, data, datetime.now(UTC))
    )
