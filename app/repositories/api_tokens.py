"""API tokens of an org, and the lookup by hash that authentication uses."""

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from app.auth.context import AuthMethod, Role
from app.models.api_tokens import ApiToken

TOKEN_COLUMNS = """id, org_id, company_id, user_id, name, role, token_prefix, expires_at, revoked_at,
    last_used_at, created_by_kind, created_by_user_id, created_by_api_token_id, created_at, updated_at"""

INSERT_API_TOKEN = f"""
INSERT INTO api_tokens (org_id, company_id, user_id, name, role, token_hash, token_prefix, expires_at,
    created_by_kind, created_by_user_id, created_by_api_token_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
RETURNING {TOKEN_COLUMNS}
"""
# What a token passes on to the tokens it mints: the root user of its own chain, else the user
# it acts for.
GET_CHAIN_ROOT_USER = """
SELECT COALESCE(created_by_user_id, user_id) FROM api_tokens WHERE id = $1 AND org_id = $2
"""
# The users a token's chain answers to (the users each ancestor acts for or was created by),
# locked against a concurrent deactivation: that takes the user row first, so either minting
# waits and sees the user inactive, or deactivation waits and its revocation sees the new token.
LOCK_CHAIN_USERS = """
WITH RECURSIVE chain (id, user_id, created_by_user_id, parent_id) AS (
    SELECT id, user_id, created_by_user_id, created_by_api_token_id FROM api_tokens WHERE id = $1 AND org_id = $2
  UNION
    SELECT t.id, t.user_id, t.created_by_user_id, t.created_by_api_token_id
    FROM api_tokens t JOIN chain c ON t.id = c.parent_id
    WHERE t.org_id = $2
)
SELECT u.is_active FROM users u
WHERE u.org_id = $2
  AND u.id IN (SELECT user_id FROM chain UNION SELECT created_by_user_id FROM chain)
FOR SHARE OF u
"""
# Deactivating a user revokes the tokens bound to them, the tokens whose chain they are the root
# of, and every token descended from either (a token minted by a token the user could use).
REVOKE_TOKENS_OF_USER = """
WITH RECURSIVE doomed (id) AS (
    SELECT id FROM api_tokens
    WHERE org_id = $1 AND (user_id = $2 OR created_by_user_id = $2)
  UNION
    SELECT t.id FROM api_tokens t JOIN doomed d ON t.created_by_api_token_id = d.id
    WHERE t.org_id = $1
)
UPDATE api_tokens SET revoked_at = now()
WHERE org_id = $1 AND revoked_at IS NULL AND id IN (SELECT id FROM doomed)
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
# for a user or was created by one, that user is active (deactivation through the API also
# revokes; this covers a user deactivated any other way).
GET_VALID_TOKEN_BY_HASH = """
SELECT t.id, t.org_id, t.company_id, t.user_id, t.role, t.last_used_at
FROM api_tokens t
JOIN orgs o ON o.id = t.org_id AND o.is_active
LEFT JOIN users u ON u.id = t.user_id
LEFT JOIN users c ON c.id = t.created_by_user_id
WHERE t.token_hash = $1
  AND t.revoked_at IS NULL
  AND (t.expires_at IS NULL OR t.expires_at > now())
  AND (t.user_id IS NULL OR u.is_active)
  AND (t.created_by_user_id IS NULL OR c.is_active)
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
    created_by_kind: AuthMethod,
    created_by_user_id: uuid.UUID | None,
    created_by_api_token_id: uuid.UUID | None,
) -> ApiToken:
    row = await conn.fetchrow(
        INSERT_API_TOKEN,
        org_id,
        company_id,
        user_id,
        name,
        role.value,
        token_hash,
        token_prefix,
        expires_at,
        created_by_kind.value,
        created_by_user_id,
        created_by_api_token_id,
    )
    return ApiToken.model_validate(dict(row))


async def get_chain_root_user(conn: asyncpg.Connection, org_id: uuid.UUID, api_token_id: uuid.UUID) -> uuid.UUID | None:
    return await conn.fetchval(GET_CHAIN_ROOT_USER, api_token_id, org_id)


async def chain_users_active(conn: asyncpg.Connection, org_id: uuid.UUID, api_token_id: uuid.UUID) -> bool:
    rows = await conn.fetch(LOCK_CHAIN_USERS, api_token_id, org_id)
    return all(r["is_active"] for r in rows)


async def revoke_tokens_of_user(conn: asyncpg.Connection, org_id: uuid.UUID, user_id: uuid.UUID) -> int:
    status = await conn.execute(REVOKE_TOKENS_OF_USER, org_id, user_id)
    return int(status.split()[-1])


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
