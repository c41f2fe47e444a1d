"""Webhook subscriptions of an org, their outbox (deliveries) and attempts.

Tenant functions take the org and the caller's company scope (None = the whole org). The
delivery functions at the end act for every org: the delivery loop is the platform's, and each
row it touches carries its own org."""

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from app.models.webhooks import Webhook, WebhookAttempt

WEBHOOK_COLUMNS = "id, org_id, company_id, url, events, previous_secret_expires_at, created_at, updated_at"

INSERT_WEBHOOK = f"""
INSERT INTO webhooks (id, org_id, company_id, url, events, secret) VALUES ($6, $1, $2, $3, $4, $5)
RETURNING {WEBHOOK_COLUMNS}
"""
LIST_WEBHOOKS = f"""
SELECT {WEBHOOK_COLUMNS} FROM webhooks
WHERE org_id = $1
  AND ($2::uuid IS NULL OR company_id = $2)
  AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $5
"""
GET_WEBHOOK = f"""
SELECT {WEBHOOK_COLUMNS} FROM webhooks
WHERE id = $1 AND org_id = $2 AND ($3::uuid IS NULL OR company_id = $3)
"""
DELETE_WEBHOOK = """
DELETE FROM webhooks WHERE id = $1 AND org_id = $2 AND ($3::uuid IS NULL OR company_id = $3) RETURNING id
"""
# The old secret keeps signing until $5; a rotation within that window replaces the new secret
# and leaves the original previous one (the one receivers may still hold) in place.
ROTATE_SECRET = f"""
UPDATE webhooks SET
    previous_secret = CASE WHEN previous_secret_expires_at > $6 THEN previous_secret ELSE secret END,
    previous_secret_expires_at = CASE WHEN $5::timestamptz IS NULL THEN NULL
        WHEN previous_secret_expires_at > $6 THEN previous_secret_expires_at ELSE $5 END,
    secret = $4
WHERE id = $1 AND org_id = $2 AND ($3::uuid IS NULL OR company_id = $3)
RETURNING {WEBHOOK_COLUMNS}
"""
LIST_ATTEMPTS = """
SELECT a.id, a.delivery_id, a.webhook_id, d.event_type, a.attempt, a.status_code, a.error, a.duration_ms, a.at,
    a.next_attempt_at, d.status AS delivery_status
FROM webhook_delivery_attempts a
JOIN webhook_deliveries d ON d.id = a.delivery_id AND d.org_id = a.org_id
WHERE a.webhook_id = $1 AND a.org_id = $2
  AND ($3::timestamptz IS NULL OR (a.at, a.id) < ($3, $4::uuid))
ORDER BY a.at DESC, a.id DESC
LIMIT $5
"""
# The outbox rows of one event: one per subscription of the org that wants this event type,
# org-wide ones and those of the event's company.
ENQUEUE_EVENT = """
INSERT INTO webhook_deliveries (org_id, webhook_id, event_type, body)
SELECT org_id, id, $3, $4 FROM webhooks
WHERE org_id = $1 AND $3 = ANY (events) AND (company_id IS NULL OR company_id = $2)
"""

# --- delivery (acts for every org) ------------------------------------------------------------

# Due deliveries, at most $3 per webhook (a receiver gets bounded concurrency) and $4 in all,
# claimed by pushing next_attempt_at to the end of a lease: the claim commits at once, no lock is
# held while the HTTP call runs, SKIP LOCKED lets several processes claim side by side, and a
# process that dies mid-call leaves the row due again when its lease ends (at least once).
CLAIM_DUE = """
WITH due AS (
    SELECT id, row_number() OVER (PARTITION BY webhook_id ORDER BY next_attempt_at, id) AS n
    FROM webhook_deliveries
    WHERE status = 'pending' AND next_attempt_at <= $1
),
picked AS (
    SELECT d.id FROM webhook_deliveries d JOIN due ON due.id = d.id
    WHERE due.n <= $3 AND d.status = 'pending' AND d.next_attempt_at <= $1
    ORDER BY d.next_attempt_at, d.id
    LIMIT $4
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries d SET next_attempt_at = $2
FROM picked, webhooks w
WHERE d.id = picked.id AND w.id = d.webhook_id AND w.org_id = d.org_id
RETURNING d.id, d.org_id, d.webhook_id, d.event_type, d.body, d.attempts, d.created_at, w.url, w.secret,
    CASE WHEN w.previous_secret_expires_at > $1 THEN w.previous_secret END AS previous_secret
"""
RECORD_ATTEMPT = """
INSERT INTO webhook_delivery_attempts (org_id, webhook_id, delivery_id, attempt, status_code, error, duration_ms, at,
    next_attempt_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (delivery_id, attempt) DO NOTHING
"""
# `attempts = $2 - 1` guards against a second claimer of an expired lease recording the same attempt
FINISH_ATTEMPT = """
UPDATE webhook_deliveries SET status = $3, attempts = $2, next_attempt_at = COALESCE($4, next_attempt_at),
    last_status_code = $5, last_error = $6
WHERE id = $1 AND attempts = $2 - 1
"""


async def insert_webhook(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    *,
    webhook_id: uuid.UUID,
    company_id: uuid.UUID | None,
    url: str,
    events: list[str],
    secret: str,
) -> Webhook:
    """`secret` is the sealed signing secret (app/encryption.py), bound to `webhook_id`."""
    row = await conn.fetchrow(INSERT_WEBHOOK, org_id, company_id, url, events, secret, webhook_id)
    return Webhook.model_validate(dict(row))


async def list_webhooks(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    company_scope: uuid.UUID | None,
    after: tuple[datetime | None, uuid.UUID | None],
    limit: int,
) -> list[Webhook]:
    rows = await conn.fetch(LIST_WEBHOOKS, org_id, company_scope, after[0], after[1], limit + 1)
    return [Webhook.model_validate(dict(r)) for r in rows]


async def get_webhook(
    conn: asyncpg.Connection, org_id: uuid.UUID, company_scope: uuid.UUID | None, webhook_id: uuid.UUID
) -> Webhook | None:
    row = await conn.fetchrow(GET_WEBHOOK, webhook_id, org_id, company_scope)
    return Webhook.model_validate(dict(row)) if row else None


async def delete_webhook(
    conn: asyncpg.Connection, org_id: uuid.UUID, company_scope: uuid.UUID | None, webhook_id: uuid.UUID
) -> bool:
    return await conn.fetchval(DELETE_WEBHOOK, webhook_id, org_id, company_scope) is not None


async def rotate_secret(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    company_scope: uuid.UUID | None,
    webhook_id: uuid.UUID,
    *,
    secret: str,
    previous_until: datetime | None,
    now: datetime,
) -> Webhook | None:
    row = await conn.fetchrow(ROTATE_SECRET, webhook_id, org_id, company_scope, secret, previous_until, now)
    return Webhook.model_validate(dict(row)) if row else None


async def list_attempts(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    webhook_id: uuid.UUID,
    after: tuple[datetime | None, uuid.UUID | None],
    limit: int,
) -> list[WebhookAttempt]:
    rows = await conn.fetch(LIST_ATTEMPTS, webhook_id, org_id, after[0], after[1], limit + 1)
    return [WebhookAttempt.model_validate(dict(r)) for r in rows]


async def enqueue_event(
    conn: asyncpg.Connection, org_id: uuid.UUID, company_id: uuid.UUID | None, event_type: str, body: str
) -> int:
    status = await conn.execute(ENQUEUE_EVENT, org_id, company_id, event_type, body)
    return int(status.split()[-1])


@dataclass(frozen=True)
class ClaimedDelivery:
    id: uuid.UUID
    org_id: uuid.UUID
    webhook_id: uuid.UUID
    event_type: str
    body: str
    attempts: int
    created_at: datetime
    url: str
    secret: str
    previous_secret: str | None


async def claim_due(
    conn: asyncpg.Connection, now: datetime, lease_until: datetime, per_webhook: int, limit: int
) -> list[ClaimedDelivery]:
    rows = await conn.fetch(CLAIM_DUE, now, lease_until, per_webhook, limit)
    return [ClaimedDelivery(**dict(r)) for r in rows]


async def record_attempt(
    conn: asyncpg.Connection,
    delivery: ClaimedDelivery,
    *,
    attempt: int,
    status: str,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    at: datetime,
    next_attempt_at: datetime | None,
) -> bool:
    """Records one attempt and its outcome; False when the delivery was deleted or another
    claimer recorded this attempt already."""
    done = await conn.execute(FINISH_ATTEMPT, delivery.id, attempt, status, next_attempt_at, status_code, error)
    if done.split()[-1] == "0":
        return False
    await conn.execute(
        RECORD_ATTEMPT,
        delivery.org_id,
        delivery.webhook_id,
        delivery.id,
        attempt,
        status_code,
        error,
        duration_ms,
        at,
        next_attempt_at,
    )
    return True


# --- re-encryption (acts for every org: the operator's command) --------------------------------

ALL_SECRETS = "SELECT id, org_id, secret, previous_secret FROM webhooks ORDER BY id FOR UPDATE"
RESEAL_SECRETS = """
UPDATE webhooks SET secret = $4, previous_secret = $5
WHERE id = $1 AND secret = $2 AND previous_secret IS NOT DISTINCT FROM $3
"""


@dataclass(frozen=True)
class StoredSecrets:
    id: uuid.UUID
    org_id: uuid.UUID
    secret: str
    previous_secret: str | None


async def all_secrets_for_update(conn: asyncpg.Connection) -> list[StoredSecrets]:
    return [StoredSecrets(**dict(r)) for r in await conn.fetch(ALL_SECRETS)]


async def reseal_secrets(
    conn: asyncpg.Connection, row: StoredSecrets, secret: str, previous_secret: str | None
) -> bool:
    done = await conn.execute(RESEAL_SECRETS, row.id, row.secret, row.previous_secret, secret, previous_secret)
    return done.split()[-1] == "1"
