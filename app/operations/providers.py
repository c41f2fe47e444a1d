"""Provider clients built once from settings, and the cross-process rate gate."""

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from app.db import Db
from app.providers import ADAPTERS
from app.providers._http import ProviderClient, RetryPolicy

ENSURE_SLOT = "INSERT INTO provider_rate_slots (key) VALUES ($1) ON CONFLICT (key) DO NOTHING"
# The row lock serialises every process's claim: each claim takes the next free slot and pushes
# the schedule one interval further. Returns the seconds to wait until the claimed slot.
CLAIM_SLOT = """
UPDATE provider_rate_slots
SET next_at = GREATEST(next_at, clock_timestamp()) + make_interval(secs => $2)
WHERE key = $1
RETURNING EXTRACT(EPOCH FROM (next_at - make_interval(secs => $2) - clock_timestamp()))::float8
"""


DEFAULT_CONCURRENCY = 16


class RateGateDb:
    """Account-wide pacing through Postgres: every API process (and the worker's calls through
    them) shares one schedule per key, so a provider's documented limit holds for the account."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def wait_turn(self, key: str, interval_seconds: float) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(ENSURE_SLOT, key)
            delay = await conn.fetchval(CLAIM_SLOT, key, float(interval_seconds))
        if delay > 0:
            await asyncio.sleep(float(delay))


@dataclass
class Providers:
    clients: dict[str, ProviderClient]
    gate: Any
    options: dict[str, Any]
    """The provider-specific settings actions read (reoon_mode, icypeas_*, model names…)."""
    secrets: list[str]

    @classmethod
    def from_settings(cls, settings: Any, http: httpx.AsyncClient, gate: Any) -> "Providers":
        clients = {}
        for name, module in ADAPTERS.items():
            conf = settings.provider(name)
            clients[name] = ProviderClient(
                name=name,
                http=http,
                base_url=conf.base_url or module.BASE_URL,
                api_key=conf.api_key.get_secret_value() if conf.api_key else None,
                timeout=conf.timeout_seconds or module.TIMEOUT_SECONDS,
                retry=RetryPolicy(max_retries=conf.max_retries),
                concurrency=conf.concurrency or getattr(module, "CONCURRENCY", DEFAULT_CONCURRENCY),
                rate_per_second=conf.rate_per_second,
            )
        options = {
            k: v
            for k, v in settings.model_dump().items()
            if k.split("_")[0] in ADAPTERS
            and not k.endswith(
                ("_api_key", "_base_url", "_timeout_seconds", "_concurrency", "_rate_per_second", "_max_retries")
            )
        }
        if settings.adyntel_email is not None:
            options["adyntel_email"] = settings.adyntel_email.get_secret_value()
        return cls(clients=clients, gate=gate, options=options, secrets=settings.all_secret_values())
