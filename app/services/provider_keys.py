"""An org's own provider keys (CONTRACT §9.5; docs/provider-keys.md): set, list and delete them,
and open them for the org's provider calls.

A key is sealed (app/encryption.py) before it reaches a query and opened only to make a call; it
appears in no answer (only its last four characters), no error and no log line."""

import logging
import time
import uuid
from collections.abc import Callable

import asyncpg

from app.auth.context import AuthContext
from app.db import Db
from app.encryption import Keyring, SealedValueError, key_fingerprint
from app.errors import not_found
from app.models.common import Page
from app.models.provider_keys import ProviderKey, ProviderKeyDeleted, ProviderKeyListRequest, ProviderKeySetRequest
from app.operations.providers import OrgKey
from app.pagination import decode_cursor, encode_cursor
from app.repositories import provider_keys as provider_keys_repo
from app.repositories.provider_keys import StoredKey

log = logging.getLogger(__name__)

# last_used_at is "to about a minute": each process writes it at most this often per (org, provider)
TOUCH_INTERVAL_SECONDS = 60.0
_TOUCHES_KEPT = 10_000


def binding(org_id: uuid.UUID, provider: str) -> tuple[str, ...]:
    """What a sealed provider key belongs to: it opens only in this org's row for this provider."""
    return ("provider_key", str(org_id), provider)


def _public(row: StoredKey) -> ProviderKey:
    return ProviderKey(provider=row.provider, last4=row.last4, created_at=row.created_at, last_used_at=row.last_used_at)


async def set_key(
    conn: asyncpg.Connection, auth: AuthContext, keyring: Keyring, body: ProviderKeySetRequest
) -> ProviderKey:
    org_id = auth.tenant_org_id
    sealed = keyring.seal(body.api_key, binding=binding(org_id, body.provider))
    row = await provider_keys_repo.upsert_key(conn, org_id, body.provider, sealed, body.api_key[-4:])
    return _public(row)


async def list_keys(conn: asyncpg.Connection, auth: AuthContext, body: ProviderKeyListRequest) -> Page[ProviderKey]:
    rows = await provider_keys_repo.list_keys(conn, auth.tenant_org_id, decode_cursor(body.cursor), body.limit)
    cursor = encode_cursor(rows[body.limit - 1].created_at, rows[body.limit - 1].id) if len(rows) > body.limit else None
    return Page[ProviderKey](items=[_public(r) for r in rows[: body.limit]], next_cursor=cursor)


async def delete_key(conn: asyncpg.Connection, auth: AuthContext, provider: str) -> ProviderKeyDeleted:
    if not await provider_keys_repo.delete_key(conn, auth.tenant_org_id, provider):
        raise not_found("provider_key")
    return ProviderKeyDeleted(provider=provider)


async def org_keys(db: Db, keyring: Keyring | None, org_id: uuid.UUID) -> dict[str, OrgKey]:
    """The org's keys, opened for one operation's calls. A key that does not open (a row copied
    from another org, a data key no longer configured) is kept as unusable: the org asked for its
    own key on that provider, so the call is skipped rather than made with the deployment's."""
    async with db.autocommit() as conn:
        sealed = await provider_keys_repo.sealed_keys(conn, org_id)
    keys: dict[str, OrgKey] = {}
    for provider, value in sealed.items():
        try:
            if keyring is None:
                raise SealedValueError("no DATA_ENGINE_ENCRYPTION_KEY is loaded")
            api_key = keyring.open(value, binding=binding(org_id, provider))
        except SealedValueError as e:
            log.warning("org %s: its %s key cannot be used: %s", org_id, provider, e)
            keys[provider] = OrgKey(api_key=None, fingerprint="unreadable")
            continue
        keys[provider] = OrgKey(api_key=api_key, fingerprint=key_fingerprint(provider, api_key))
    return keys


class UsageTouches:
    """Decides when `last_used_at` is written: at most once per TOUCH_INTERVAL_SECONDS per (org,
    provider) in this process, so the hot path of a busy org costs no write per call."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._last: dict[tuple[uuid.UUID, str], float] = {}

    def due(self, org_id: uuid.UUID, providers: list[str]) -> list[str]:
        now = self.clock()
        due = [
            p for p in providers if now - self._last.get((org_id, p), -TOUCH_INTERVAL_SECONDS) >= TOUCH_INTERVAL_SECONDS
        ]
        if len(self._last) > _TOUCHES_KEPT:
            self._last.clear()  # forgetting only costs one early write per key
        for provider in due:
            self._last[(org_id, provider)] = now
        return due


touches = UsageTouches()


async def record_use(conn: asyncpg.Connection, org_id: uuid.UUID, providers: list[str]) -> None:
    """Notes that the org's calls used its keys of `providers` (throttled; see UsageTouches)."""
    due = touches.due(org_id, providers)
    if due:
        await provider_keys_repo.touch(conn, org_id, due, TOUCH_INTERVAL_SECONDS)
