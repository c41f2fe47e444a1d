"""An org's own provider keys (table org_provider_keys, migration 022). Rows hold the key sealed
(app/encryption.py); these functions never see it in clear.

Provider keys belong to the org as a whole: there is no company scope to filter on."""

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

KEY_COLUMNS = "id, provider, last4, created_at, last_used_at"

# setting a key again replaces it: a new key is a new key (created_at now, never used yet)
UPSERT_KEY = f"""
INSERT INTO org_provider_keys (org_id, provider, sealed_key, last4) VALUES ($1, $2, $3, $4)
ON CONFLICT (org_id, provider) DO UPDATE
SET sealed_key = EXCLUDED.sealed_key, last4 = EXCLUDED.last4, created_at = now(), last_used_at = NULL
RETURNING {KEY_COLUMNS}
"""
LIST_KEYS = f"""
SELECT {KEY_COLUMNS} FROM org_provider_keys
WHERE org_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $4
"""
DELETE_KEY = "DELETE FROM org_provider_keys WHERE org_id = $1 AND provider = $2 RETURNING provider"
SEALED_KEYS = "SELECT provider, sealed_key FROM org_provider_keys WHERE org_id = $1"
# the condition keeps concurrent callers from rewriting a row that is fresh enough already
TOUCH_KEYS = """
UPDATE org_provider_keys SET last_used_at = now()
WHERE org_id = $1 AND provider = ANY ($2::text[])
  AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $3))
"""

# --- re-encryption (acts for every org: the operator's command, not a tenant call) ------------

ALL_SEALED_KEYS = "SELECT id, org_id, provider, sealed_key FROM org_provider_keys ORDER BY id FOR UPDATE"
RESEAL_KEY = "UPDATE org_provider_keys SET sealed_key = $3 WHERE id = $1 AND sealed_key = $2"


@dataclass(frozen=True)
class StoredKey:
    id: uuid.UUID
    provider: str
    last4: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True)
class SealedRow:
    id: uuid.UUID
    org_id: uuid.UUID
    provider: str
    sealed_key: str


async def upsert_key(conn: asyncpg.Connection, org_id: uuid.UUID, provider: str, sealed: str, last4: str) -> StoredKey:
    row = await conn.fetchrow(UPSERT_KEY, org_id, provider, sealed, last4)
    return StoredKey(**dict(row))


async def list_keys(
    conn: asyncpg.Connection, org_id: uuid.UUID, after: tuple[datetime | None, uuid.UUID | None], limit: int
) -> list[StoredKey]:
    rows = await conn.fetch(LIST_KEYS, org_id, after[0], after[1], limit + 1)
    return [StoredKey(**dict(r)) for r in rows]


async def delete_key(conn: asyncpg.Connection, org_id: uuid.UUID, provider: str) -> bool:
    return await conn.fetchval(DELETE_KEY, org_id, provider) is not None


async def sealed_keys(conn: asyncpg.Connection, org_id: uuid.UUID) -> dict[str, str]:
    """provider → the org's sealed key."""
    return {r["provider"]: r["sealed_key"] for r in await conn.fetch(SEALED_KEYS, org_id)}


async def touch(conn: asyncpg.Connection, org_id: uuid.UUID, providers: list[str], min_interval_seconds: float) -> None:
    await conn.execute(TOUCH_KEYS, org_id, providers, float(min_interval_seconds))


async def all_sealed_for_update(conn: asyncpg.Connection) -> list[SealedRow]:
    return [SealedRow(**dict(r)) for r in await conn.fetch(ALL_SEALED_KEYS)]


async def reseal(conn: asyncpg.Connection, row_id: uuid.UUID, old: str, new: str) -> bool:
    return (await conn.execute(RESEAL_KEY, row_id, old, new)).split()[-1] == "1"
