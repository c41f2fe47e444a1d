"""The real `python -m sandbox` process, through tests/sandbox_server.py."""

import httpx
import pytest

from app import stack as app_stack
from app.config import PROVIDER_NAMES
from tests.sandbox_server import PROVIDERS, SANDBOX_ADYNTEL_EMAIL, SANDBOX_KEY, sandbox_provider_env, start_sandbox


def _run(sandbox):
    """20 calls with faults on, then one plain data call: (status sequence, data body)."""
    with httpx.Client(base_url=sandbox.url("millionverifier")) as client:
        statuses = [
            client.get("/api/v3/", params={"api": "sandbox-key", "email": f"p{i}@acme.com"}).status_code
            for i in range(20)
        ]
    with httpx.Client() as client:
        r = client.post(
            f"{sandbox.url('leadmagic')}/v1/companies/company-search",
            headers={"X-API-Key": "sandbox-key"},
            json={"company_domain": "found-restart.com"},
        )
    return statuses, r.json()


def test_subprocess_lifecycle_determinism_across_restarts_and_control_api():
    runs = []
    for _ in range(2):
        with start_sandbox(seed=11, error_rate=0.4, icypeas_delay_ms=0) as sandbox:
            assert sandbox.health()["seed"] == 11
            runs.append(_run(sandbox))
            stats = sandbox.stats()
            assert stats["providers"]["millionverifier"]["total"]["requests"] == 20
            # runtime configuration and reset through the helper
            sandbox.configure(provider="millionverifier", error_rate=0)
            assert sandbox.stats()["providers"]["millionverifier"]["total"]["requests"] == 20
            reset = sandbox.reset()
            assert reset["global"]["error_rate"] == 0.4 and reset["global"]["icypeas_delay_ms"] == 0
            assert sandbox.stats()["total"]["requests"] == 0
            process = sandbox.process
        assert process.poll() is not None  # the context manager stopped it
    (statuses_a, body_a), (statuses_b, body_b) = runs
    assert statuses_a == statuses_b and 500 in statuses_a and 200 in statuses_a
    assert body_a == body_b and body_a["companyName"] == "Found Restart"


def test_provider_env_covers_every_provider():
    env = sandbox_provider_env("http://127.0.0.1:9100/")
    assert len(PROVIDERS) == 11
    for provider in PROVIDERS:
        assert env[f"DATA_ENGINE_{provider.upper()}_BASE_URL"] == f"http://127.0.0.1:9100/{provider}"
        assert env[f"DATA_ENGINE_{provider.upper()}_API_KEY"] == "sandbox-key"
    assert env["DATA_ENGINE_ADYNTEL_EMAIL"] == "sandbox@example.com"
    assert len(env) == 23


def test_the_launcher_repeats_the_sandbox_constants_faithfully():
    # app never imports the sandbox package, so app/stack.py and config.py hold copies
    assert (app_stack.SANDBOX_KEY, app_stack.SANDBOX_ADYNTEL_EMAIL) == (SANDBOX_KEY, SANDBOX_ADYNTEL_EMAIL)
    assert sorted(PROVIDER_NAMES) == sorted(PROVIDERS)


def test_a_bad_start_is_reported():
    with pytest.raises(RuntimeError, match="exited"):
        start_sandbox(error_rate=7)
