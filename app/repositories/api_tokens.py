"""API tokens of an org, and the lookup by hash that authentication uses."""

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from app.auth.context import Role
from app.models.api_tokens import ApiToken

TOKEN_COLUMNS = """id, org_id, company_id, user_id, name, role, token_prefix, expires_at, revoked_at,
    last_used_at, created_at, updated_at"""

INSERT_API_TOKEN = f"""
INSERT INTO api_tokens (org_id, company_id, user_id, name, role, token_hash, token_prefix, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING {TOKEN_COLUMNS}
"""
LIST_API_TOKENS_FOR_ORG = f"""
SELECT {TOKEN_COLUMNS} FROM api_tokens
WHERE org_id = $1
  AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $4
"""
# Revoking twice keeps the first revocation time.
REVOKE_API_TOKEN = f"""
UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now())
WHERE id = $1 AND org_id = $2
RETURNING {TOKEN_COLUMNS}
"""
# A token authenticates only while it is unrevoked, unexpired, its org is active and, when it acts
# for a user, that user is active.
GET_VALID_TOKEN_BY_HASH = """
SELECT t.id, t.org_id, t.company_id, t.user_id, t.role, t.last_used_at
FROM api_tokens t
JOIN orgs o ON o.id = t.org_id AND o.is_active
LEFT JOIN users u ON u.id = t.user_id
WHERE t.token_hash = $1
  AND t.revoked_at IS NULL
  AND (t.expires_at IS NULL OR t.expires_at > now())
  AND (t.user_id IS NULL OR u.is_active)
"""
# last_used_at is kept to the minute: writing it on every request would make every read a write.
TOUCH_API_TOKEN = """
UPDATE api_tokens SET last_used_at = now()
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
"""


@dataclass(frozen=True)
class TokenIdentity:
    id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID | None
    user_id: uuid.UUID | None
    role: Role
    last_used_at: datetime | None


async def insert_api_token(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    *,
    company_id: uuid.UUID | None,
    user_id: uuid.UUID | None,
    name: str,
    role: Role,
    token_hash: str,
    token_prefix: str,
    expires_at: datetime | None,
) -> ApiToken:
    row = await conn.fetchrow(
        INSERT_API_TOKEN, org_id, company_id, user_id, name, role.value, token_hash, token_prefix, expires_at
    )
    return ApiToken.model_validate(dict(row))


async def list_api_tokens_for_org(
    conn: asyncpg.Connection, org_id: uuid.UUID, after: tuple[datetime | None, uuid.UUID | None], limit: int
) -> list[ApiToken]:
    rows = await conn.fetch(LIST_API_TOKENS_FOR_ORG, org_id, after[0], after[1], limit + 1)
    return [ApiToken.model_validate(dict(r)) for r in rows]


async def revoke_api_token(conn: asyncpg.Connection, org_id: uuid.UUID, api_token_id: uuid.UUID) -> ApiToken | None:
    row = await conn.fetchrow(REVOKE_API_TOKEN, api_token_id, org_id)
    return ApiToken.model_validate(dict(row)) if row else None


async def get_valid_token_by_hash(conn: asyncpg.Connection, token_hash: str) -> TokenIdentity | None:
    row = await conn.fetchrow(GET_VALID_TOKEN_BY_HASH, token_hash)
    if row is None:
        return None
    return TokenIdentity(
        id=row["id"],
        org_id=row["org_id"],
        company_id=row["company_id"],
        user_id=row["user_id"],
        role=Role(row["role"]),
        last_used_at=row["last_used_at"],
    )


async def touch_api_token(conn: asyncpg.Connection, api_token_id: uuid.UUID) -> None:
    await conn.execute(TOUCH_API_TOKEN, api_token_id)
