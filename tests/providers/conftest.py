"""Adapter tests: the real adapter and the real HTTP policy, with the provider mocked by respx
at the HTTP boundary. Every wait goes through a fake clock: tests assert the waits asked for
(`clock.sleeps`), never how long the machine took."""

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app.operations.providers import RateGateDb
from app.providers import ADAPTERS, options_model
from app.providers._http import ProviderClient, RetryPolicy
from app.providers.adyntel import AdyntelOptions
from app.providers.base import ActionContext, ProviderOptions
from app.providers.icypeas import IcypeasOptions
from app.providers.parallel import ParallelOptions
from tests.conftest import PROVIDER_TEST_KEY as TEST_KEY  # noqa: E402

FAST_RETRY = RetryPolicy(max_retries=2, initial=0.01, maximum=0.02)

# where a test differs from the defaults: no real waits between Icypeas reads, a short Parallel
# budget, an Adyntel account email
TEST_OPTIONS: dict[str, ProviderOptions] = {
    "icypeas": IcypeasOptions(read_interval_seconds=0.0, poll_interval_seconds=0.0),
    "parallel": ParallelOptions(max_wait_seconds=5.0),
    "adyntel": AdyntelOptions(email=SecretStr("ops@example.com")),
}


def options_for(provider: str, **overrides: Any) -> ProviderOptions:
    """The provider's typed options for a test: TEST_OPTIONS (else the defaults) with `overrides`,
    validated as the settings would be."""
    base = TEST_OPTIONS.get(provider) or options_model(ADAPTERS[provider])()
    return type(base).model_validate({**base.model_dump(), **overrides})


from tests.conftest import provider_base_url as base_url  # noqa: E402


class FakeClock:
    """A monotonic clock that moves only when slept on (or `advance`d), with a wall clock that
    moves with it. `sleeps` lists every wait asked for."""

    def __init__(self, wall: float = 1_750_000_000.0) -> None:
        # starts at (about) the real monotonic time, so a deadline set from time.monotonic() still
        # applies; a whole number keeps sums of binary fractions (0.5, 0.25) exact
        self.start = self.now = float(int(time.monotonic()) + 1)
        self.wall = wall
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.wall + (self.now - self.start)

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


def retry_at(clock: FakeClock, seconds: float) -> str:
    """A Retry-After in its HTTP-date form, `seconds` after the fake wall clock's now."""
    return format_datetime(datetime.fromtimestamp(clock.time() + seconds, UTC), usegmt=True)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def http_client():
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def provider_ctx(http_client, app, clock) -> Callable[..., ActionContext]:
    """`provider_ctx("reoon", api_key=None, mode="quick", timeout=1.0)` → an ActionContext whose
    client targets `https://reoon.provider.test` (mock it with respx); keyword arguments other than
    api_key, timeout and max_retries are fields of the provider's options model (`ReoonOptions`)."""

    def make(
        provider: str, *, api_key: str | None = TEST_KEY, timeout: float = 5.0, max_retries: int = 2, **options: Any
    ) -> ActionContext:
        client = ProviderClient(
            name=provider,
            http=http_client,
            base_url=base_url(provider),
            api_key=api_key,
            timeout=timeout,
            retry=RetryPolicy(max_retries=max_retries, initial=0.01, maximum=0.02),
            clock=clock.monotonic,
            wall_clock=clock.time,
            sleep=clock.sleep,
        )
        gate = RateGateDb(app.state.db, sleep=clock.sleep)
        return ActionContext(client=client, options=options_for(provider, **options), gate=gate)

    return make
