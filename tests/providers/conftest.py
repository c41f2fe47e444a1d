"""Adapter tests: the real adapter and the real HTTP policy, with the provider mocked by respx
at the HTTP boundary. Backoff is shortened so retry tests stay fast."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.operations.providers import RateGateDb
from app.providers._http import ProviderClient, RetryPolicy
from app.providers.base import ActionContext
from tests.conftest import PROVIDER_TEST_KEY as TEST_KEY  # noqa: E402

FAST_RETRY = RetryPolicy(max_retries=2, initial=0.01, maximum=0.02)

DEFAULT_OPTIONS: dict[str, Any] = {
    "millionverifier_timeout_seconds": 10,
    "reoon_mode": "power",
    "icypeas_max_wait_seconds": 45.0,
    "icypeas_read_interval_seconds": 0.0,
    "icypeas_poll_interval_seconds": 0.0,
    "parallel_processor": "core",
    "parallel_max_wait_seconds": 5.0,
    "gemini_model": "gemini-2.5-flash",
    "openai_model": "gpt-4.1-mini",
    "adyntel_email": "ops@example.com",
}


from tests.conftest import provider_base_url as base_url  # noqa: E402


@pytest.fixture
async def http_client():
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def provider_ctx(http_client, app) -> Callable[..., ActionContext]:
    """`provider_ctx("reoon", api_key=None, reoon_mode="quick", timeout=1.0)` → an ActionContext whose
    client targets `https://reoon.provider.test` (mock it with respx)."""

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
        )
        return ActionContext(client=client, options={**DEFAULT_OPTIONS, **options}, gate=RateGateDb(app.state.db))

    return make
