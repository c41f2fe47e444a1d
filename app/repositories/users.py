"""Users of an org, plus the two global lookups authentication needs (by id, by email)."""

import uuid
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
# Authentication: a session is valid only while both the user and its org are active.
GET_ACTIVE_USER = f"""
SELECT {USER_COLUMNS} FROM users u
WHERE u.id = $1 AND u.is_active
  AND EXISTS (SELECT 1 FROM orgs o WHERE o.id = u.org_id AND o.is_active)
"""
GET_LOGIN_USER = f"""
SELECT {USER_COLUMNS}, password_hash FROM users u
WHERE u.email = $1 AND u.is_active
  AND EXISTS (SELECT 1 FROM orgs o WHERE o.id = u.org_id AND o.is_active)
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
        raise Conflict("a user with this email already exists", code="email_taken") from e
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


async def get_active_user(conn: asyncpg.Connection, user_id: uuid.UUID) -> User | None:
    row = await conn.fetchrow(GET_ACTIVE_USER, user_id)
    return User.model_validate(dict(row)) if row else None


async def get_login_user(conn: asyncpg.Connection, email: str) -> tuple[User, str | None] | None:
    row = await conn.fetchrow(GET_LOGIN_USER, email)
    if row is None:
        return None
    data = dict(row)
    password_hash = data.pop("password_hash")
    return User.model_validate(data), password_hash


GET_USER_BY_EMAIL = f"SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 AND email = $2"
SET_PASSWORD_HASH = "UPDATE users SET password_hash = $3 WHERE id = $1 AND org_id = $2"


async def get_user_by_email(conn: asyncpg.Connection, org_id: uuid.UUID, email: str) -> User | None:
    row = await conn.fetchrow(GET_USER_BY_EMAIL, org_id, email)
    return User.model_validate(dict(row)) if row else None


async def set_password_hash(
    conn: asyncpg.Connection, org_id: uuid.UUID, user_id: uuid.UUID, password_hash: str
) -> None:
    await conn.execute(SET_PASSWORD_HASH, user_id, org_id, password_hash)
