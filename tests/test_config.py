import json
import stat

import pytest
from pydantic import ValidationError

from app.config import Settings, load_or_create_local_secrets

STRONG = {
    "DATA_ENGINE_INTERNAL_API_KEY": "i" * 8 + "Xq9vB2mK7pL4nR8sT1wY5zA3cD6fG0hJ",
    "DATA_ENGINE_JWT_SECRET": "j" * 8 + "Xq9vB2mK7pL4nR8sT1wY5zA3cD6fG0hJ",
    "DATA_ENGINE_SUPER_ADMIN_API_KEY": "s" * 8 + "Xq9vB2mK7pL4nR8sT1wY5zA3cD6fG0hJ",
    "DATA_ENGINE_DATABASE_URL": "postgresql://db.example/prod",
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
    ):
        assert name in message


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
    for name in ("internal_api_key", "jwt_secret", "super_admin_api_key"):
        assert first.secret(name) == second.secret(name)
        assert len(first.secret(name)) >= 32
    assert set(json.loads(path.read_text())) == {"internal_api_key", "jwt_secret", "super_admin_api_key"}


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
