"""The asyncpg pool and the one-transaction-per-request dependency."""

import json
from collections.abc import AsyncIterator
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from app.config import Settings


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(typename, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(settings: Settings, dsn: str, *, role: str = "api") -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        command_timeout=settings.db_command_timeout_seconds,
        timeout=10,
        statement_cache_size=settings.db_statement_cache_size,
        server_settings={"application_name": f"data-engine.{settings.env.value}.{role}"},
        init=_init_connection,
    )
    assert pool is not None
    return pool


async def get_conn(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """One pooled connection and one transaction per request: commit on return, roll back on raise."""
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn, conn.transaction():
        yield conn


ConnDep = Annotated[asyncpg.Connection, Depends(get_conn)]
