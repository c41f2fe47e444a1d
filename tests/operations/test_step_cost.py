"""Issue 15: what a step (and an execute call) costs the database. A lookup that is one read runs
outside a transaction block, so it costs its statement alone, not BEGIN and COMMIT around it."""

import uuid

from app import metrics
from app.db import Db
from app.services import provider_keys as provider_keys_service
from app.services.budgets import UNLIMITED, BudgetGate


def _transactions() -> dict[str, int]:
    return dict(metrics.snapshot()["transactions"])


async def test_the_org_key_and_budget_lookups_open_no_transaction_block(app):
    db = Db(app.state.pool)  # the real one: the tests' savepoint Db has no such difference
    org_id = uuid.uuid4()  # no keys, no budgets: both lookups end at their one read
    before = _transactions()

    assert await provider_keys_service.org_keys(db, None, org_id) == {}
    assert await BudgetGate(db, org_id, None).reserve("prospeo", None) is UNLIMITED

    after = _transactions()
    assert after.get("short", 0) == before.get("short", 0)
    assert after.get("autocommit", 0) - before.get("autocommit", 0) == 2
