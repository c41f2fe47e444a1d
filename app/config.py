"""Settings: one typed object, loaded once from the environment and `.env`.

In local mode a missing secret is generated once and kept in `<data_dir>/secrets.json` (mode
0600), so restarts keep working sessions, tokens and the secrets sealed at rest. In production
mode a missing or weak secret stops the start with a message naming the variable (CONTRACT §2).
"""

import json
import os
import secrets
from copy import deepcopy
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel, Field, SecretStr, create_model, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.encryption import EncryptionKeyError, Keyring, generate_spec
from app.providers import ADAPTERS, options_model
from app.providers.base import ProviderOptions

REPO_ROOT = Path(__file__).resolve().parent.parent

SECRET_FIELDS = ("internal_api_key", "jwt_secret", "super_admin_api_key", "encryption_key")
# 32 random bytes as url-safe base64 is 43 characters; anything much shorter is guessable.
MIN_SECRET_LENGTH = 32
PLACEHOLDER_SECRETS = {"changeme", "change-me", "changethis", "secret", "password", "test"}


class Environment(StrEnum):
    local = "local"
    production = "production"


class Orchestrator(StrEnum):
    local = "local"
    trigger = "trigger"


class WeakSecretError(ValueError):
    pass


PROVIDER_NAMES = tuple(ADAPTERS)


class ProviderSettings(BaseModel):
    """One provider's connection settings (DATA_ENGINE_<PROVIDER>_<FIELD>)."""

    api_key: SecretStr | None = None
    base_url: str | None = None
    """Replaces the documented origin; None means the provider's documented origin."""
    timeout_seconds: float | None = None
    """None means the adapter's default for that provider."""
    concurrency: int | None = None
    """None means the adapter's default (e.g. Reoon documents at most 5 parallel requests)."""
    rate_per_second: float | None = None
    """None means the adapter's documented default (BlitzAPI 5/s per endpoint, Prospeo 5/s
    enrichment), or unpaced when the provider documents none."""
    max_retries: int = 2
    usd_per_credit: Decimal | None = Field(default=None, ge=0)
    """What one of the provider's credits costs this deployment in USD (its plan's price), for the
    cost ledger and budgets (docs/costs.md). None: attempts' `cost_usd` stays unknown."""


class _CoreSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DATA_ENGINE_",
        env_file=".env",
        env_ignore_empty=True,
        extra="ignore",
        # a settings error is printed at startup: it must not show the environment's values (secrets)
        hide_input_in_errors=True,
    )

    env: Environment = Environment.local
    data_dir: Path = REPO_ROOT / ".data"
    database_url: str | None = None
    # a session-mode connection (Supabase's direct or session-pooler URL) for what needs a session:
    # the periodic jobs' leader lock (app/periodic.py). Unset: database_url
    direct_database_url: str | None = None
    # Embedded Postgres listens on loopback only; the port is fixed so the worker and tools
    # started separately find it.
    embedded_postgres_port: int = 54329
    db_pool_min_size: int = 2
    db_pool_max_size: int = 10
    db_command_timeout_seconds: float = 30.0
    # Supabase's transaction pooler (port 6543) and PgBouncer cannot keep prepared statements.
    db_statement_cache_size: int = 100
    # API processes `make run` starts on one port (uvicorn workers); unset: one per CPU
    api_workers: int | None = Field(default=None, ge=1, le=64)
    # how often an API process that does not run the periodic jobs tries to take them over
    periodic_campaign_seconds: float = Field(default=5.0, gt=0)

    internal_api_key: SecretStr | None = None
    jwt_secret: SecretStr | None = None
    super_admin_api_key: SecretStr | None = None
    # the data keys that seal org provider keys and webhook secrets at rest: `kid:base64key,…`, the
    # first seals, all open (app/encryption.py, docs/provider-keys.md)
    encryption_key: SecretStr | None = None
    # an org's calls to a provider it has no key of its own for are `not_configured`, instead of
    # spending the deployment's key (CONTRACT §9.5)
    byo_keys_only: bool = False
    jwt_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)

    api_url: str = "http://127.0.0.1:8000"
    orchestrator: Orchestrator | None = None
    trigger_secret_key: SecretStr | None = Field(default=None, validation_alias="TRIGGER_SECRET_KEY")
    trigger_api_url: str = Field(default="https://api.trigger.dev", validation_alias="TRIGGER_API_URL")

    # a local worker host silent for this long is dead: its graphile-worker job locks are released
    worker_stale_seconds: float = Field(default=10.0, ge=1.0)
    # a pipeline step sleeps through a provider's Retry-After up to this long; a longer wait ends
    # the call at once and the step is handed back to the worker to run again later, so no worker
    # slot is held while a provider's rate limit recovers (issue 9 item 14)
    step_max_inline_wait_seconds: float = Field(default=10.0, ge=0.0)
    max_body_bytes: int = 10 * 1024 * 1024
    # the one anonymous endpoint with a body (login): an email and a password fit in far less
    login_max_body_bytes: int = Field(default=16 * 1024, ge=1024)
    max_batch_entities: int = 10_000
    # runs in one submission, fan-out children included (CONTRACT §9.1): past it no more children
    max_runs_per_submission: int = Field(default=100_000, ge=1)
    # per-credential token buckets (app/ratelimit.py): an API token, a session's user, or the
    # internal key per org gets `burst` requests, refilled at `per_minute`; 0 turns a limit off
    rate_limit_per_minute: float = Field(default=1200, ge=0)
    rate_limit_burst: int = Field(default=200, ge=0)
    internal_rate_limit_per_minute: float = Field(default=60_000, ge=0)
    internal_rate_limit_burst: int = Field(default=2000, ge=0)
    # every tenant credential of one org together (CONTRACT §9.4): more tokens buy no more rate
    org_rate_limit_per_minute: float = Field(default=6000, ge=0)
    org_rate_limit_burst: int = Field(default=1000, ge=0)
    # login attempts (app/ratelimit.py LoginThrottle): failures per email, attempts per client
    # address; a successful login does not count
    login_account_attempts_per_minute: float = Field(default=1, ge=0)
    login_account_attempts_burst: int = Field(default=10, ge=0)
    login_address_attempts_per_minute: float = Field(default=30, ge=0)
    login_address_attempts_burst: int = Field(default=60, ge=0)

    # Provider order per operation, overriding the catalog's defaults for this deployment,
    # e.g. DATA_ENGINE_PROVIDER_ORDER='{"person.contact.resolve_email": ["leadmagic", "icypeas"]}'
    provider_order: dict[str, list[str]] = Field(default_factory=dict)
    # The longest provider Retry-After a call sleeps through before retrying; a provider asking for
    # more fails the attempt at once with its retry_after kept (app/providers/_http.py)
    provider_retry_after_max_seconds: float = Field(default=120.0, ge=0)
    # A found, not_found or verified operation run answers the same lookup of the same org for this
    # long without calling a provider (CONTRACT §9.2, docs/operations.md "Result cache"); 0 turns it off
    result_cache_ttl_hours: float = Field(default=168, ge=0)
    # Each provider's own settings (DATA_ENGINE_ICYPEAS_MAX_WAIT_SECONDS, DATA_ENGINE_REOON_MODE, …)
    # are the fields of its adapter's OPTIONS model (app/providers/<name>.py), added below with the
    # connection settings.

    # Outgoing webhooks (CONTRACT §9.6; docs/webhooks.md). The delivery loop runs in every API
    # process; processes share the due deliveries (FOR UPDATE SKIP LOCKED).
    webhook_delivery_enabled: bool = True
    webhook_poll_interval_seconds: float = Field(default=1.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # the wait after each failed attempt; once it is used up the delivery is `failed`. The default
    # retries for about 31.7 h over 12 attempts (5 s, 30 s, 2 m, 10 m, 30 m, 1 h, 2 h, 4 h, 8 h ×3)
    webhook_retry_schedule_seconds: list[float] = Field(
        default_factory=lambda: [5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 28800.0, 28800.0],
        min_length=1,
    )
    webhook_max_in_flight_per_webhook: int = Field(default=4, ge=1)
    webhook_batch_size: int = Field(default=100, ge=1)
    # after a rotation the previous secret keeps signing this long; 0 = at once
    webhook_secret_grace_hours: float = Field(default=24.0, ge=0)

    @model_validator(mode="after")
    def _check_secrets(self) -> Self:
        if self.encryption_key is not None:
            try:
                Keyring.parse(self.encryption_key.get_secret_value())
            except EncryptionKeyError as e:
                # in every mode: a key that cannot open what is stored must stop the start
                raise WeakSecretError(f"DATA_ENGINE_ENCRYPTION_KEY is malformed: {e}") from None
        if self.env is Environment.production:
            problems = []
            for name in SECRET_FIELDS:
                value = getattr(self, name)
                if value is None:
                    problems.append(f"DATA_ENGINE_{name.upper()} is not set")
                elif _is_weak(value.get_secret_value()):
                    problems.append(
                        f"DATA_ENGINE_{name.upper()} is weak (use at least {MIN_SECRET_LENGTH} random characters)"
                    )
            if self.database_url is None:
                problems.append("DATA_ENGINE_DATABASE_URL is not set (production never uses the embedded Postgres)")
            if problems:
                raise WeakSecretError("refusing to start in production: " + "; ".join(problems))
        return self

    @property
    def effective_orchestrator(self) -> Orchestrator:
        if self.orchestrator is not None:
            return self.orchestrator
        return Orchestrator.trigger if self.trigger_secret_key else Orchestrator.local

    def is_production(self) -> bool:
        return self.env is Environment.production

    def provider(self, name: str) -> ProviderSettings:
        values = {f: getattr(self, f"{name}_{f}") for f in ProviderSettings.model_fields}
        return ProviderSettings(**values)

    def provider_options(self, name: str) -> ProviderOptions:
        """The adapter's own settings as its typed `OPTIONS` model (e.g. `IcypeasOptions`)."""
        model = options_model(ADAPTERS[name])
        return model.model_validate({f: getattr(self, f"{name}_{f}") for f in model.model_fields})

    def all_secret_values(self) -> list[str]:
        """Every configured secret, for scrubbing logs and stored provider responses."""
        values = [getattr(self, n) for n in SECRET_FIELDS] + [self.trigger_secret_key]
        for name in PROVIDER_NAMES:
            values.append(self.provider(name).api_key)
            # an option typed SecretStr is a credential too (the Adyntel account email)
            values += [v for v in self.provider_options(name).model_dump().values() if isinstance(v, SecretStr)]
        texts = [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]
        if self.encryption_key is not None:
            # each data key on its own too: the setting may list several
            texts += self.keyring().material()
        return texts

    def keyring(self) -> Keyring:
        """The data keys of DATA_ENGINE_ENCRYPTION_KEY (checked when the settings were loaded)."""
        return Keyring.parse(self.secret("encryption_key"))

    def secret(self, name: str) -> str:
        value = getattr(self, name)
        if value is None:
            raise RuntimeError(f"secret {name} is not loaded")
        return value.get_secret_value()

    def with_local_secrets(self) -> Self:
        """Fill missing secrets from (or into) the local secrets file; never in production."""
        if self.is_production() or all(getattr(self, n) is not None for n in SECRET_FIELDS):
            return self
        stored = load_or_create_local_secrets(self.data_dir)
        updates = {n: SecretStr(stored[n]) for n in SECRET_FIELDS if getattr(self, n) is None}
        return self.model_copy(update=updates)


def _provider_fields() -> dict[str, Any]:
    """Flat fields (icypeas_api_key, icypeas_max_wait_seconds, …), so each reads
    DATA_ENGINE_<PROVIDER>_<FIELD>: the connection fields of `ProviderSettings` for every provider,
    and the adapter's `OPTIONS` fields with their types, defaults and bounds. One name can only be
    one setting: a clash stops the import."""
    fields: dict[str, Any] = {}
    for name, module in ADAPTERS.items():
        for model in (ProviderSettings, options_model(module)):
            for field, info in model.model_fields.items():
                key = f"{name}_{field}"
                if key in fields or key in _CoreSettings.model_fields:
                    raise RuntimeError(f"setting {key} is declared twice ({model.__name__})")
                fields[key] = (info.annotation, deepcopy(info))
    return fields


# the type checker sees the core class; code reads the provider fields through `provider(name)`
# and `provider_options(name)`
if TYPE_CHECKING:
    Settings = _CoreSettings
else:
    Settings = create_model("Settings", __base__=_CoreSettings, **_provider_fields())


def _is_weak(value: str) -> bool:
    return len(value) < MIN_SECRET_LENGTH or value.strip().lower() in PLACEHOLDER_SECRETS or len(set(value)) < 8


def load_or_create_local_secrets(data_dir: Path) -> dict[str, str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secrets.json"
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text())
    missing = [n for n in SECRET_FIELDS if not stored.get(n)]
    if missing:
        for name in missing:
            stored[name] = generate_spec() if name == "encryption_key" else secrets.token_urlsafe(32)
        # write-then-rename so two processes starting together never see a half-written file
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(stored, f)
        if path.exists():
            # another process may have won the race: keep its values
            current = json.loads(path.read_text())
            if all(current.get(n) for n in SECRET_FIELDS):
                tmp.unlink()
                return current
        tmp.replace(path)
    return stored


def get_settings() -> _CoreSettings:
    return Settings().with_local_secrets()
