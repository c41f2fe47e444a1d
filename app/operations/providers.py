"""Provider clients built once from settings, and the cross-process rate gate."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from app.config import Settings
from app.db import Db
from app.encryption import Keyring
from app.providers import ADAPTERS
from app.providers._http import ProviderClient, RetryPolicy
from app.providers.base import ProviderOptions

ENSURE_SLOT = "INSERT INTO provider_rate_slots (key) VALUES ($1) ON CONFLICT (key) DO NOTHING"
# The row lock serialises every process's claim: each claim takes the next free slot and pushes
# the schedule one interval further. Returns the claimed slot (epoch seconds) and the seconds to
# wait until it.
CLAIM_SLOT = """
UPDATE provider_rate_slots
SET next_at = GREATEST(next_at, clock_timestamp()) + make_interval(secs => $2)
WHERE key = $1
RETURNING EXTRACT(EPOCH FROM (next_at - make_interval(secs => $2)))::float8 AS slot,
          EXTRACT(EPOCH FROM (next_at - make_interval(secs => $2) - clock_timestamp()))::float8 AS delay
"""


DEFAULT_CONCURRENCY = 16


class RateGateDb:
    """Account-wide pacing through Postgres: every API process (and the worker's calls through
    them) shares one schedule per key, so a provider's documented limit holds for the account."""

    def __init__(self, db: Db, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.db = db
        self.sleep = sleep

    async def claim(self, key: str, interval_seconds: float) -> tuple[float, float]:
        """Take the next slot: (its time in epoch seconds, the seconds to wait for it)."""
        async with self.db.transaction() as conn:
            await conn.execute(ENSURE_SLOT, key)
            row = await conn.fetchrow(CLAIM_SLOT, key, float(interval_seconds))
        return float(row["slot"]), float(row["delay"])

    async def wait_turn(self, key: str, interval_seconds: float) -> None:
        _, delay = await self.claim(key, interval_seconds)
        if delay > 0:
            await self.sleep(delay)


@dataclass(frozen=True)
class KeyedGate:
    """The rate gate seen by one key's calls: each schedule is the key's own (`<key>@<fingerprint>`),
    so an org's key is never paced by another org's traffic or the deployment key's."""

    gate: Any
    fingerprint: str

    async def wait_turn(self, key: str, interval_seconds: float) -> None:
        await self.gate.wait_turn(f"{key}@{self.fingerprint}", interval_seconds)


@dataclass(frozen=True)
class OrgKey:
    """An org's own key for one provider, opened for one operation's calls (CONTRACT §9.5)."""

    api_key: str | None = field(repr=False)
    """None: the org has a key for this provider that cannot be opened; the provider is skipped."""
    fingerprint: str
    """app/encryption.key_fingerprint: names the key's pacing and client, never reveals it."""


@dataclass
class Providers:
    clients: dict[str, ProviderClient]
    gate: Any
    options: dict[str, ProviderOptions]
    """Provider name → its adapter's typed settings (`IcypeasOptions`…), given to its actions as
    `ActionContext.options`."""
    secrets: list[str]
    usd_per_credit: dict[str, Decimal | None] = field(default_factory=dict)
    """Provider name → DATA_ENGINE_<PROVIDER>_USD_PER_CREDIT (None or absent: USD cost unknown)."""
    keyring: Keyring | None = None
    """Opens the orgs' own provider keys (app/services/provider_keys.py)."""

    @classmethod
    def from_settings(cls, settings: Settings, http: httpx.AsyncClient, gate: Any) -> "Providers":
        clients = {}
        options = {}
        for name, module in ADAPTERS.items():
            conf = settings.provider(name)
            options[name] = settings.provider_options(name)
            documented_concurrency: int = getattr(module, "CONCURRENCY", DEFAULT_CONCURRENCY)
            clients[name] = ProviderClient(
                name=name,
                http=http,
                base_url=conf.base_url or module.BASE_URL,
                api_key=conf.api_key.get_secret_value() if conf.api_key else None,
                timeout=conf.timeout_seconds or module.TIMEOUT_SECONDS,
                retry=RetryPolicy(
                    max_retries=conf.max_retries, retry_after_max=settings.provider_retry_after_max_seconds
                ),
                concurrency=conf.concurrency or documented_concurrency,
                rate_per_second=conf.rate_per_second or getattr(module, "RATE_PER_SECOND", None),
                rate_per_endpoint=getattr(module, "RATE_PER_ENDPOINT", False),
                path_rates=module.path_rates(options[name]) if hasattr(module, "path_rates") else {},
            )
        return cls(
            clients=clients,
            gate=gate,
            options=options,
            secrets=settings.all_secret_values(),
            usd_per_credit={name: settings.provider(name).usd_per_credit for name in ADAPTERS},
            keyring=settings.keyring() if settings.encryption_key is not None else None,
        )
