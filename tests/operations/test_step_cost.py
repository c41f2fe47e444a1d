"""Issue 15: what a step (and an execute call) costs the database. A lookup that is one read runs
outside a transaction block, so it costs its statement alone, not BEGIN and COMMIT around it."""

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from app.db import Db
from app.services import provider_keys as provider_keys_service
from app.services.budgets import UNLIMITED, BudgetGate


class CountingDb(Db):
    """The real Db, counting what this instance opens (the process-wide metrics also count the
    app's background jobs, which may run at any moment)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool)
        self.opened: Counter[str] = Counter()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        self.opened["transaction"] += 1
        async with super().transaction() as conn:
            yield conn

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[asyncpg.Connection]:
        self.opened["autocommit"] += 1
        async with super().autocommit() as conn:
            yield conn


async def test_the_org_key_and_budget_lookups_open_no_transaction_block(app):
    db = CountingDb(app.state.pool)  # the real one: the tests' savepoint Db has no such difference
    org_id = uuid.uuid4()  # no keys, no budgets: both lookups end at their one read

    assert await provider_keys_service.org_keys(db, None, org_id) == {}
    assert await BudgetGate(db, org_id, None).reserve("prospeo", None) is UNLIMITED

    assert db.opened == {"autocommit": 2}
