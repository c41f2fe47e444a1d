"""The only unscoped lookups: which org owns an object, for super-admin calls that name an
object by id alone. Table names come from this module's constants, never from input."""

import uuid

import asyncpg

ORG_OF = {
    "company": "SELECT org_id FROM companies WHERE id = $1",
    "user": "SELECT org_id FROM users WHERE id = $1",
    "api_token": "SELECT org_id FROM api_tokens WHERE id = $1",
    "blueprint": "SELECT org_id FROM blueprints WHERE id = $1",
}


async def org_of(conn: asyncpg.Connection, kind: str, object_id: uuid.UUID) -> uuid.UUID | None:
    return await conn.fetchval(ORG_OF[kind], object_id)
