"""`python -m app reencrypt-keys`: moves every secret kept at rest to the current data key (the
first of DATA_ENGINE_ENCRYPTION_KEY), and seals the webhook secrets written in plaintext before
migration 022. Run it after putting a new key first; once it reports nothing left under an old key
and no failures, the old key can be removed from the setting (docs/provider-keys.md).

One transaction with the rows locked: a key set or a secret rotated meanwhile waits for it, and a
second run finds nothing to do. A value that does not open (its key is no longer configured, or
the row was tampered with) is left as it is and reported by row id, never by content."""

from dataclasses import dataclass, field

import asyncpg

from app.encryption import Keyring, SealedValueError, is_sealed
from app.repositories import provider_keys as provider_keys_repo
from app.repositories import webhooks as webhooks_repo
from app.services import provider_keys as provider_keys_service
from app.services import webhooks as webhooks_service


@dataclass
class Tally:
    resealed: int = 0
    current: int = 0
    failed: list[str] = field(default_factory=list)
    """`<table> <row id>: why` for each value that could not be opened."""


@dataclass
class Report:
    provider_keys: Tally
    webhook_secrets: Tally

    @property
    def ok(self) -> bool:
        return not self.provider_keys.failed and not self.webhook_secrets.failed


def _reseal(keyring: Keyring, value: str, binding: tuple[str, ...], *, legacy_prefix: str | None = None) -> str | None:
    """The value sealed under the current key; None when it already is."""
    if keyring.is_current(value):
        return None
    if legacy_prefix is not None and not is_sealed(value) and value.startswith(legacy_prefix):
        return keyring.seal(value, binding=binding)
    return keyring.seal(keyring.open(value, binding=binding), binding=binding)


async def reencrypt_all(conn: asyncpg.Connection, keyring: Keyring) -> Report:
    report = Report(Tally(), Tally())
    async with conn.transaction():
        for row in await provider_keys_repo.all_sealed_for_update(conn):
            binding = provider_keys_service.binding(row.org_id, row.provider)
            try:
                new = _reseal(keyring, row.sealed_key, binding)
            except SealedValueError as e:
                report.provider_keys.failed.append(f"org_provider_keys {row.id}: {e}")
                continue
            if new is None:
                report.provider_keys.current += 1
            elif await provider_keys_repo.reseal(conn, row.id, row.sealed_key, new):
                report.provider_keys.resealed += 1
        for hook in await webhooks_repo.all_secrets_for_update(conn):
            binding = webhooks_service.secret_binding(hook.org_id, hook.id)
            prefix = webhooks_service.SECRET_PREFIX
            try:
                secret = _reseal(keyring, hook.secret, binding, legacy_prefix=prefix)
                previous = (
                    _reseal(keyring, hook.previous_secret, binding, legacy_prefix=prefix)
                    if hook.previous_secret is not None
                    else None
                )
            except SealedValueError as e:
                report.webhook_secrets.failed.append(f"webhooks {hook.id}: {e}")
                continue
            if secret is None and previous is None:
                report.webhook_secrets.current += 1
            elif await webhooks_repo.reseal_secrets(
                conn, hook, secret or hook.secret, previous or hook.previous_secret
            ):
                report.webhook_secrets.resealed += 1
    return report
