"""Users of an org, plus the two global lookups authentication needs (by id, by email).

An email is unique within an org only: the same person in two orgs is two rows."""

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from app.auth.context import Role
from app.errors import Conflict
from app.models.users import User

USER_COLUMNS = """id, org_id, company_id, email::text AS email, full_name, role, is_active,
    password_hash IS NOT NULL AS has_password, created_at, updated_at"""

INSERT_USER = f"""
INSERT INTO users (org_id, company_id, email, full_name, role, password_hash)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING {USER_COLUMNS}
"""
GET_USER = f"""
SELECT {USER_COLUMNS} FROM users
WHERE id = $1 AND org_id = $2 AND ($3::uuid IS NULL OR company_id = $3)
"""
LIST_USERS_FOR_ORG = f"""
SELECT {USER_COLUMNS} FROM users
WHERE org_id = $1
  AND ($2::uuid IS NULL OR company_id = $2)
  AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $5
"""
DEACTIVATE_USER = f"""
UPDATE users SET is_active = false WHERE id = $1 AND org_id = $2
RETURNING {USER_COLUMNS}
"""
# Taken before a user's session mints a token, against a concurrent deactivation (which locks
# the row first): see LOCK_CHAIN_USERS in api_tokens.py.
LOCK_USER_IF_ACTIVE = "SELECT is_active FROM users WHERE id = $1 AND org_id = $2 FOR SHARE"
# Authentication: a session is valid only while both the user and its org are active.
GET_ACTIVE_USER = f"""
SELECT {USER_COLUMNS} FROM users u
WHERE u.id = $1 AND u.is_active
  AND EXISTS (SELECT 1 FROM orgs o WHERE o.id = u.org_id AND o.is_active)
"""
# Every active membership of an email, or only the one in the named org (by slug). The org slug
# comes back so an ambiguous login can name the orgs the password opened, and nothing else.
GET_LOGIN_USERS = f"""
SELECT {USER_COLUMNS}, password_hash, org_slug FROM (
    SELECT u.*, o.slug::text AS org_slug FROM users u
    JOIN orgs o ON o.id = u.org_id AND o.is_active
    WHERE u.email = $1 AND u.is_active AND ($2::text IS NULL OR o.slug = $2)
) memberships
ORDER BY created_at, id
LIMIT $3
"""


async def insert_user(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    *,
    company_id: uuid.UUID | None,
    email: str,
    full_name: str | None,
    role: Role,
    password_hash: str | None,
) -> User:
    try:
        row = await conn.fetchrow(INSERT_USER, org_id, company_id, email, full_name, role.value, password_hash)
    except asyncpg.UniqueViolationError as e:
        # unique per org only: this says nothing about other orgs
        raise Conflict("a user with this email already exists in this org", code="email_taken") from e
    return User.model_validate(dict(row))


async def get_user(
    conn: asyncpg.Connection, org_id: uuid.UUID, company_scope: uuid.UUID | None, user_id: uuid.UUID
) -> User | None:
    row = await conn.fetchrow(GET_USER, user_id, org_id, company_scope)
    return User.model_validate(dict(row)) if row else None


async def list_users_for_org(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    company_scope: uuid.UUID | None,
    after: tuple[datetime | None, uuid.UUID | None],
    limit: int,
) -> list[User]:
    rows = await conn.fetch(LIST_USERS_FOR_ORG, org_id, company_scope, after[0], after[1], limit + 1)
    return [User.model_validate(dict(r)) for r in rows]


async def deactivate_user(conn: asyncpg.Connection, org_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
    row = await conn.fetchrow(DEACTIVATE_USER, user_id, org_id)
    return User.model_validate(dict(row)) if row else None


async def lock_user_if_active(conn: asyncpg.Connection, org_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval(LOCK_USER_IF_ACTIVE, user_id, org_id))


async def get_active_user(conn: asyncpg.Connection, user_id: uuid.UUID) -> User | None:
    row = await conn.fetchrow(GET_ACTIVE_USER, user_id)
    return User.model_validate(dict(row)) if row else None


@dataclass(frozen=True)
class LoginCandidate:
    user: User
    password_hash: str | None
    org_slug: str


async def get_login_users(
    conn: asyncpg.Connection, email: str, org_slug: str | None, limit: int
) -> list[LoginCandidate]:
    rows = await conn.fetch(GET_LOGIN_USERS, email, org_slug, limit)
    candidates = []
    for row in rows:
        data = dict(row)
        password_hash, slug = data.pop("password_hash"), data.pop("org_slug")
        candidates.append(LoginCandidate(User.model_validate(data), password_hash, slug))
    return candidates


GET_USER_BY_EMAIL = f"SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 AND email = $2"
SET_PASSWORD_HASH = "UPDATE users SET password_hash = $3 WHERE id = $1 AND org_id = $2"


async def get_user_by_email(conn: asyncpg.Connection, org_id: uuid.UUID, email: str) -> User | None:
    row = await conn.fetchrow(GET_USER_BY_EMAIL, org_id, email)
    return User.model_validate(dict(row)) if row else None


async def set_password_hash(
    conn: asyncpg.Connection, org_id: uuid.UUID, user_id: uuid.UUID, password_hash: str
) -> None:
    await conn.execute(SET_PASSWORD_HASH, user_id, org_id, password_hash)
