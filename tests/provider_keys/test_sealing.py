"""Sealing at rest: rotation and `python -m app reencrypt-keys`, webhook secrets (sealed, and the
plaintext rows written before migration 022), and pacing per key rather than per provider."""

import asyncio
import base64
import os
import uuid

import asyncpg
import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.encryption import Keyring, SealedValueError, generate_spec, key_fingerprint
from app.operations.engine import Engine
from app.operations.providers import KeyedGate, OrgKey, RateGateDb
from app.services import provider_keys as provider_keys_service
from app.services import webhooks as webhooks_service
from app.services.reencrypt import reencrypt_all
from tests import pg
from tests.conftest import TEST_SECRETS, SavepointDb
from tests.factories import create_tenant

CURRENT = Keyring.parse(TEST_SECRETS["encryption_key"])
LEGACY_SECRET = "whsec_" + base64.b64encode(b"l" * 8 + os.urandom(24)).decode()


async def legacy_webhook(conn, org_id, url="https://hooks.example.com/in"):
    return await conn.fetchval(
        "INSERT INTO webhooks (org_id, url, events, secret) VALUES ($1, $2, '{submission.completed}', $3) RETURNING id",
        org_id,
        url,
        LEGACY_SECRET,
    )


async def test_rotation_reseals_every_secret_under_the_new_key_and_the_old_key_can_go(conn):
    tenant = await create_tenant(conn)
    key = "leadmagicKey_" + uuid.uuid4().hex
    sealed = CURRENT.seal(key, binding=provider_keys_service.binding(tenant.org.id, "leadmagic"))
    await conn.execute(
        "INSERT INTO org_provider_keys (org_id, provider, sealed_key, last4) VALUES ($1, 'leadmagic', $2, 'abcd')",
        tenant.org.id,
        sealed,
    )
    legacy = await legacy_webhook(conn, tenant.org.id)
    rotated = Keyring.parse(f"{generate_spec('k2')},{TEST_SECRETS['encryption_key']}")

    async with conn.transaction():
        report = await reencrypt_all(conn, rotated)
    mine = await conn.fetchval("SELECT sealed_key FROM org_provider_keys WHERE org_id = $1", tenant.org.id)
    secret = await conn.fetchval("SELECT secret FROM webhooks WHERE id = $1", legacy)
    assert mine.startswith("enc1:k2:") and secret.startswith("enc1:k2:")
    assert report.provider_keys.resealed >= 1 and report.webhook_secrets.resealed >= 1 and report.ok
    # the old key removed: the new one alone opens everything
    only_new = Keyring(rotated.keys[:1])
    assert only_new.open(mine, binding=provider_keys_service.binding(tenant.org.id, "leadmagic")) == key
    assert webhooks_service.open_secret(only_new, tenant.org.id, legacy, secret) == LEGACY_SECRET
    with pytest.raises(SealedValueError, match="does not hold"):
        CURRENT.open(mine, binding=provider_keys_service.binding(tenant.org.id, "leadmagic"))
    # a second run finds nothing left to do
    async with conn.transaction():
        again = await reencrypt_all(conn, rotated)
    assert again.provider_keys.resealed == 0 and again.webhook_secrets.resealed == 0


async def test_the_reencrypt_command_rotates_a_database_and_reports_what_does_not_open(admin_dsn):
    name = f"dex_reencrypt_{uuid.uuid4().hex[:8]}"
    dsn = await pg.recreate_database(admin_dsn, name, template=pg.TEMPLATE_DB)
    try:
        conn = await asyncpg.connect(dsn)
        try:
            org = await conn.fetchval(
                "INSERT INTO orgs (name, slug) VALUES ('Rotating', $1) RETURNING id", "rotating-keys"
            )
            for provider, keyring in (("leadmagic", CURRENT), ("prospeo", Keyring.parse(generate_spec("gone")))):
                sealed = keyring.seal("key-" + provider, binding=provider_keys_service.binding(org, provider))
                await conn.execute(
                    "INSERT INTO org_provider_keys (org_id, provider, sealed_key, last4) VALUES ($1, $2, $3, 'wxyz')",
                    org,
                    provider,
                    sealed,
                )
        finally:
            await conn.close()
        new = generate_spec("k9")
        env = {
            **{f"DATA_ENGINE_{k.upper()}": v for k, v in TEST_SECRETS.items()},
            "DATA_ENGINE_DATABASE_URL": dsn,
            "DATA_ENGINE_ENCRYPTION_KEY": f"{new},{TEST_SECRETS['encryption_key']}",
        }
        result = await asyncio.to_thread(CliRunner().invoke, cli, ["reencrypt-keys"], env=env)
        assert result.exit_code == 1, result.output  # one key was sealed under a key no longer configured
        assert "provider keys: 1 re-encrypted under k9, 0 already current, 1 failed" in result.output
        assert "key-leadmagic" not in result.output and "key-prospeo" not in result.output
        conn = await asyncpg.connect(dsn)
        try:
            rows = dict(await conn.fetch("SELECT provider, sealed_key FROM org_provider_keys"))
        finally:
            await conn.close()
        assert rows["leadmagic"].startswith("enc1:k9:") and rows["prospeo"].startswith("enc1:gone:")
    finally:
        await pg.drop_database(admin_dsn, name)


async def test_two_keys_of_one_provider_keep_separate_pacing_schedules(conn):
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    gate = RateGateDb(SavepointDb(conn), sleep=sleep)
    first = KeyedGate(gate, key_fingerprint("icypeas", "key-of-org-a-000"))
    second = KeyedGate(gate, key_fingerprint("icypeas", "key-of-org-b-000"))
    await first.wait_turn("icypeas:reads", 30)
    await first.wait_turn("icypeas:reads", 30)  # the same key waits its turn
    assert len(waits) == 1 and waits[0] > 20
    await second.wait_turn("icypeas:reads", 30)  # another key does not queue behind it
    await gate.wait_turn("icypeas:reads", 30)  # nor does the deployment key
    assert len(waits) == 1
    keys = {r["key"] for r in await conn.fetch("SELECT key FROM provider_rate_slots WHERE key LIKE 'icypeas:reads%'")}
    assert {"icypeas:reads", f"icypeas:reads@{first.fingerprint}", f"icypeas:reads@{second.fingerprint}"} <= keys
    assert not any("key-of-org" in k for k in keys)


def test_each_key_gets_its_own_client_with_its_own_concurrency(app):
    engine: Engine = app.state.engine
    a, b = OrgKey("key-a-0000000", "fa"), OrgKey("key-b-0000000", "fb")
    client_a, gate_a = engine.client_for("reoon", {"reoon": a})
    again, _ = engine.client_for("reoon", {"reoon": a})
    client_b, _ = engine.client_for("reoon", {"reoon": b})
    deployment, gate = engine.client_for("reoon", {})
    assert client_a is again and client_a.api_key == "key-a-0000000" and client_b.api_key == "key-b-0000000"
    assert len({id(c._semaphore) for c in (client_a, client_b, deployment)}) == 3
    assert gate_a.fingerprint == "fa" and gate is engine.providers.gate
    assert engine.client_for("reoon", {"reoon": OrgKey(None, "unreadable")}) == "org_key_unreadable"
    assert "key-a-0000000" not in repr(a)
