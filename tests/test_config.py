import base64
import json
import re
import stat
import types

import pytest
from pydantic import ValidationError

from app import config
from app.config import REPO_ROOT, Settings, load_or_create_local_secrets
from app.providers.adyntel import AdyntelOptions
from app.providers.base import ProviderOptions
from app.providers.gemini import GeminiOptions
from app.providers.icypeas import IcypeasOptions
from app.providers.openai import OpenAIOptions
from app.providers.prospeo import ProspeoOptions
from app.providers.reoon import ReoonOptions

STRONG = {
    "DATA_ENGINE_INTERNAL_API_KEY": "i" * 8 + "Xq9vB2mK7pL4nR8sT1wY5zA3cD6fG0hJ",
    "DATA_ENGINE_JWT_SECRET": "j" * 8 + "Xq9vB2mK7pL4nR8sT1wY5zA3cD6fG0hJ",
    "DATA_ENGINE_SUPER_ADMIN_API_KEY": "s" * 8 + "Xq9vB2mK7pL4nR8sT1wY5zA3cD6fG0hJ",
    "DATA_ENGINE_DATABASE_URL": "postgresql://db.example/prod",
    # two data keys: k2 seals, k1 still opens what it sealed (a rotation in progress)
    "DATA_ENGINE_ENCRYPTION_KEY": f"k2:{base64.b64encode(bytes(range(32))).decode()},"
    f"k1:{base64.urlsafe_b64encode(bytes(range(100, 132))).decode().rstrip('=')}",
}


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for key in list(STRONG) + ["DATA_ENGINE_ENV", "DATA_ENGINE_DATA_DIR"]:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATA_ENGINE_DATA_DIR", str(tmp_path / "data"))
    return monkeypatch


def test_production_names_every_missing_secret(clean_env):
    clean_env.setenv("DATA_ENGINE_ENV", "production")
    with pytest.raises(ValidationError) as e:
        Settings()
    message = str(e.value)
    for name in (
        "DATA_ENGINE_INTERNAL_API_KEY",
        "DATA_ENGINE_JWT_SECRET",
        "DATA_ENGINE_SUPER_ADMIN_API_KEY",
        "DATA_ENGINE_DATABASE_URL",
        "DATA_ENGINE_ENCRYPTION_KEY",
    ):
        assert name in message


def test_production_without_an_encryption_key_refuses_to_start_and_says_so(clean_env):
    clean_env.setenv("DATA_ENGINE_ENV", "production")
    for key, value in STRONG.items():
        clean_env.setenv(key, value)
    clean_env.delenv("DATA_ENGINE_ENCRYPTION_KEY")
    with pytest.raises(ValidationError, match="DATA_ENGINE_ENCRYPTION_KEY is not set") as e:
        Settings()
    assert "JWT" not in str(e.value)  # only the missing one is named


@pytest.mark.parametrize(
    "spec, why",
    [
        ("k1:" + base64.b64encode(bytes(range(16))).decode(), "16 bytes"),
        ("k1:" + base64.b64encode(bytes(32)).decode(), "not random"),
        ("k1:not base64 at all!!", "not base64"),
        ("just-a-long-password-without-an-id-0123456789", "key id"),
        ("k1:{0},k1:{0}".format(base64.b64encode(bytes(range(32))).decode()), "listed twice"),
    ],
)
@pytest.mark.parametrize("env", ["production", "local"])
def test_a_malformed_encryption_key_stops_the_start_without_echoing_it(clean_env, spec, why, env):
    clean_env.setenv("DATA_ENGINE_ENV", env)
    for key, value in STRONG.items():
        clean_env.setenv(key, value)
    clean_env.setenv("DATA_ENGINE_ENCRYPTION_KEY", spec)
    with pytest.raises(ValidationError, match="DATA_ENGINE_ENCRYPTION_KEY is malformed") as e:
        Settings()
    assert why in str(e.value)
    assert spec.split(":")[-1] not in str(e.value)


@pytest.mark.parametrize("weak", ["changeme", "short", "a" * 64, "secret"])
def test_production_refuses_a_weak_secret_and_names_it(clean_env, weak):
    clean_env.setenv("DATA_ENGINE_ENV", "production")
    for key, value in STRONG.items():
        clean_env.setenv(key, value)
    clean_env.setenv("DATA_ENGINE_JWT_SECRET", weak)
    with pytest.raises(ValidationError, match="DATA_ENGINE_JWT_SECRET is weak"):
        Settings()


def test_production_starts_with_strong_secrets_and_never_writes_local_ones(clean_env, tmp_path):
    clean_env.setenv("DATA_ENGINE_ENV", "production")
    for key, value in STRONG.items():
        clean_env.setenv(key, value)
    settings = Settings().with_local_secrets()
    assert settings.is_production()
    assert not (tmp_path / "data" / "secrets.json").exists()


def test_local_mode_generates_secrets_once_and_keeps_them_private(clean_env, tmp_path):
    first = Settings().with_local_secrets()
    path = tmp_path / "data" / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = Settings().with_local_secrets()
    for name in ("internal_api_key", "jwt_secret", "super_admin_api_key", "encryption_key"):
        assert first.secret(name) == second.secret(name)
        assert len(first.secret(name)) >= 32
    assert set(json.loads(path.read_text())) == {
        "internal_api_key",
        "jwt_secret",
        "super_admin_api_key",
        "encryption_key",
    }
    # the generated data key is a usable keyring, and what it seals survives a restart
    sealed = first.keyring().seal("a provider key", binding=("t",))
    assert second.keyring().open(sealed, binding=("t",)) == "a provider key"


def test_a_configured_secret_wins_over_the_local_file(clean_env, tmp_path):
    load_or_create_local_secrets(tmp_path / "data")
    clean_env.setenv("DATA_ENGINE_JWT_SECRET", STRONG["DATA_ENGINE_JWT_SECRET"])
    assert Settings().with_local_secrets().secret("jwt_secret") == STRONG["DATA_ENGINE_JWT_SECRET"]


def test_secrets_do_not_appear_in_the_settings_repr(clean_env):
    clean_env.setenv("DATA_ENGINE_JWT_SECRET", STRONG["DATA_ENGINE_JWT_SECRET"])
    assert STRONG["DATA_ENGINE_JWT_SECRET"] not in repr(Settings())


def test_the_orchestrator_follows_the_trigger_key(clean_env):
    assert Settings().effective_orchestrator == "local"
    clean_env.setenv("TRIGGER_SECRET_KEY", "tr_dev_x")
    assert Settings().effective_orchestrator == "trigger"
    clean_env.setenv("DATA_ENGINE_ORCHESTRATOR", "local")
    assert Settings().effective_orchestrator == "local"


def _env_example_names() -> list[str]:
    text = (REPO_ROOT / ".env.example").read_text()
    return re.findall(r"^(DATA_ENGINE_[A-Z0-9_]+)=", text, flags=re.MULTILINE)


def test_every_variable_of_the_env_example_is_a_setting():
    fields = set(Settings.model_fields)
    missing = [n for n in _env_example_names() if n.removeprefix("DATA_ENGINE_").lower() not in fields]
    assert missing == []


def test_provider_settings_reach_the_adapters_typed(clean_env):
    clean_env.setenv("DATA_ENGINE_ICYPEAS_MAX_WAIT_SECONDS", "10")
    clean_env.setenv("DATA_ENGINE_REOON_MODE", "quick")
    clean_env.setenv("DATA_ENGINE_GEMINI_GROUNDED_STRUCTURED", "true")
    clean_env.setenv("DATA_ENGINE_OPENAI_WEB_SEARCH", "false")
    clean_env.setenv("DATA_ENGINE_PROSPEO_SEARCH_RATE_PER_SECOND", "2")
    clean_env.setenv("DATA_ENGINE_ADYNTEL_EMAIL", "ops@example.com")
    settings = Settings()
    assert settings.provider_options("icypeas") == IcypeasOptions(max_wait_seconds=10.0)
    assert settings.provider_options("reoon") == ReoonOptions(mode="quick")
    assert settings.provider_options("gemini") == GeminiOptions(grounded_structured=True)
    assert settings.provider_options("openai") == OpenAIOptions(web_search=False)
    assert settings.provider_options("prospeo") == ProspeoOptions(search_rate_per_second=2.0)
    email = settings.provider_options("adyntel")
    assert isinstance(email, AdyntelOptions) and email.email is not None
    assert email.email.get_secret_value() == "ops@example.com"
    # a provider without settings of its own gets the empty model
    assert type(settings.provider_options("leadmagic")) is ProviderOptions


def test_a_secret_option_is_scrubbed_like_a_key(clean_env):
    clean_env.setenv("DATA_ENGINE_ADYNTEL_EMAIL", "ops@example.com")
    clean_env.setenv("DATA_ENGINE_ICYPEAS_API_KEY", "icy-key-123456")
    assert {"ops@example.com", "icy-key-123456"} <= set(Settings().all_secret_values())


def test_a_provider_option_out_of_bounds_stops_the_start(clean_env):
    clean_env.setenv("DATA_ENGINE_PROSPEO_SEARCH_RATE_PER_SECOND", "0")
    with pytest.raises(ValidationError, match="prospeo_search_rate_per_second"):
        Settings()


def test_an_option_named_like_a_connection_setting_is_refused(monkeypatch):
    # e.g. an OPTIONS field `timeout_seconds` would be DATA_ENGINE_<P>_TIMEOUT_SECONDS, the client timeout
    class Clashing(ProviderOptions):
        timeout_seconds: int = 10

    fake = types.ModuleType("fake")
    fake.OPTIONS = Clashing  # type: ignore[attr-defined]
    monkeypatch.setattr(config, "ADAPTERS", {"fake": fake})
    with pytest.raises(RuntimeError, match="fake_timeout_seconds is declared twice"):
        config._provider_fields()
