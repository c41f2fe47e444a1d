import asyncpg
from fastapi import APIRouter

from app.deps import PoolDep
from app.errors import ServiceUnavailable
from app.models.common import Data, Schema
from app.routers._responses import errors

router = APIRouter(tags=["health"])


class Health(Schema):
    status: str
    database: str


@router.get("/health", response_model=Data[Health], responses={503: errors(503)[503]})
async def health(pool: PoolDep) -> Data[Health]:
    """Liveness and database reachability."""
    try:
        async with pool.acquire(timeout=5) as conn:
            await conn.fetchval("SELECT 1")
    except (OSError, TimeoutError, asyncpg.PostgresError) as e:
        raise ServiceUnavailable("the database is unreachable", code="database_unavailable") from e
    return Data(data=Health(status="ok", database="ok"))
