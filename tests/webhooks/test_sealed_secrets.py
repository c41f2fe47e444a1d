"""Webhook signing secrets sealed at rest (migration 022): a new secret is stored sealed, and a
plaintext secret written before the migration still signs."""

import uuid

from tests.factories import create_tenant
from tests.provider_keys.test_sealing import LEGACY_SECRET, legacy_webhook
from tests.webhooks.test_delivery import _event


async def test_webhook_secrets_are_sealed_and_a_pre_022_plaintext_secret_still_signs(
    client, conn, receiver, make_deliverer
):
    tenant = await create_tenant(conn)
    hook = await client.post(
        "/api/webhooks/create",
        json={"url": receiver.url, "events": ["submission.completed"]},
        headers=tenant.headers("org_admin"),
    )
    created = hook.json()["data"]
    stored = await conn.fetchval("SELECT secret FROM webhooks WHERE id = $1", uuid.UUID(created["id"]))
    assert stored.startswith("enc1:") and created["secret"].removeprefix("whsec_")[:8] not in stored
    await conn.execute("DELETE FROM webhooks WHERE id = $1", uuid.UUID(created["id"]))
    await legacy_webhook(conn, tenant.org.id, receiver.url)
    receiver.secrets = [LEGACY_SECRET]
    await _event(conn, tenant)
    assert await make_deliverer().run_once() == 1
    assert [r.verified_with for r in receiver.received] == [[LEGACY_SECRET]]
