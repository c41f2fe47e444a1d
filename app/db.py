"""The asyncpg pool and the one-transaction-per-request dependency."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from app import metrics
from app.config import Settings


class EncodedJson(bytes):
    """JSON text encoded once and written as is to a json/jsonb column: the value many rows of
    one COPY share (a submission's blueprint snapshot, a step's config) is not encoded per row."""

    @classmethod
    def of(cls, value: object) -> "EncodedJson":
        return cls(json.dumps(value, separators=(",", ":")).encode())


def _encode_jsonb(value: object) -> bytes:
    # jsonb's binary wire format is a version byte (1) followed by the JSON text
    if isinstance(value, EncodedJson):
        return b"\x01" + value
    return b"\x01" + json.dumps(value, separators=(",", ":")).encode()


def _decode_jsonb(data: bytes) -> object:
    return json.loads(data[1:])


def _encode_json(value: object) -> bytes:
    if isinstance(value, EncodedJson):
        return bytes(value)
    return json.dumps(value, separators=(",", ":")).encode()


async def init_connection(conn: asyncpg.Connection) -> None:
    """Binary codecs, so COPY (bulk submit) can write json/jsonb columns too."""
    await conn.set_type_codec(
        "jsonb", encoder=_encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec("json", encoder=_encode_json, decoder=json.loads, schema="pg_catalog", format="binary")


async def _no_reset(conn: asyncpg.Connection) -> None:
    return None


async def create_pool(settings: Settings, dsn: str, *, role: str = "api") -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        command_timeout=settings.db_command_timeout_seconds,
        timeout=10,
        statement_cache_size=settings.db_statement_cache_size,
        server_settings={"application_name": f"data-engine.{settings.env.value}.{role}"},
        init=init_connection,
        # The default reset runs RESET ALL / UNLISTEN / advisory unlock on every release: one extra
        # round trip (and server transaction) per acquire. The API keeps no session state.
        reset=_no_reset,
    )
    assert pool is not None
    return pool


async def get_conn(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """One pooled connection and one transaction per request: commit on return, roll back on raise."""
    pool: asyncpg.Pool = request.app.state.pool
    metrics.count_transaction("request")
    async with pool.acquire() as conn, conn.transaction():
        yield conn


# scope="function": the transaction commits before the response is sent. FastAPI's default
# ("request") would commit after, so a client could read its 200 and then miss its own write (or
# get a 200 for a commit that then failed); found by the reliability suite's e2e setup.
ConnDep = Annotated[asyncpg.Connection, Depends(get_conn, scope="function")]


class Db:
    """Short transactions on demand, for handlers that must not hold a connection while they wait
    on something slow (provider calls): `async with db.transaction() as conn: ...`."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        metrics.count_transaction("short")
        async with self.pool.acquire() as conn, conn.transaction():
            yield conn

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection outside any transaction block: each statement commits on its own.
        For one read, or statements that need no atomicity together; it saves the BEGIN and
        COMMIT round trips of `transaction()` (issue 15: a step ran four one-read transactions)."""
        metrics.count_transaction("autocommit")
        async with self.pool.acquire() as conn:
            yield conn


async def get_db(request: Request) -> Db:
    return request.app.state.db


DbDep = Annotated[Db, Depends(get_db)]
