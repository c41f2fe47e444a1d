"""Provider sandbox: a local HTTP server that speaks the wire format of every paid data provider
(docs/providers.md §13) with deterministic data, for the demo, benchmarks and fault tests.

It is a separate process from the API. Nothing here imports `app`, and `app` never imports this
package: the only boundary between the two is HTTP (`DATA_ENGINE_<PROVIDER>_BASE_URL`).
"""

PROVIDERS: tuple[str, ...] = (
    "icypeas",
    "leadmagic",
    "millionverifier",
    "reoon",
    "prospeo",
    "blitzapi",
    "companyenrich",
    "parallel",
    "adyntel",
    "gemini",
    "openai",
)

VALID_KEY = "sandbox-key"
"""The one key every provider accepts."""

ADYNTEL_EMAIL = "sandbox@example.com"
"""Adyntel authenticates with `api_key` plus the account `email`, both in the JSON body."""
