"""Where the effective SECRET_KEY came from, and start-up messages that say so."""

from __future__ import annotations

import pytest

from hermetic import Hermetic
from hermetic.security.errors import ConfigurationError
from hermetic.security.secrets import check_secret_keys, load_secret_key

STRONG = "0cZ9v1-8cGm3V1Xr2yQ6tLk4pN7sW0eB5hJ2uD8fA3q"


@pytest.fixture
def env_key(monkeypatch, tmp_path):
    """Only HERMETIC_SECRET_KEY is set (as after ``export HERMETIC_SECRET_KEY=...``)."""
    for name in ("SECRET_KEY", "SECRET_KEY_FILE", "HERMETIC_SECRET_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HERMETIC_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("HERMETIC_SECRET_KEY", STRONG)


@pytest.fixture
def no_key(monkeypatch, tmp_path):
    for name in ("SECRET_KEY", "HERMETIC_SECRET_KEY", "SECRET_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("HERMETIC_SECRET_KEY_FILE", raising=False)
    monkeypatch.setenv("HERMETIC_SECRETS_DIR", str(tmp_path))


def test_load_secret_key_reports_the_source(tmp_path):
    config: dict = {}
    origins = load_secret_key(config, environ={"HERMETIC_SECRET_KEY": STRONG}, secrets_dir="/x")
    assert "HERMETIC_SECRET_KEY" in origins["SECRET_KEY"].source
    key_file = tmp_path / "key"
    key_file.write_text(STRONG)
    origins = load_secret_key({}, environ={"SECRET_KEY_FILE": str(key_file)}, secrets_dir="/x")
    assert "SECRET_KEY_FILE" in origins["SECRET_KEY"].source
    (tmp_path / "secret_key").write_text(STRONG)
    origins = load_secret_key({}, environ={}, secrets_dir=str(tmp_path))
    assert "secrets folder" in origins["SECRET_KEY"].source
    assert STRONG not in repr(origins)


def test_app_config_replacing_loaded_key_with_weak_value_is_named(env_key):
    # flaskr: app.config.from_mapping(SECRET_KEY="dev") after HERMETIC_SECRET_KEY was loaded.
    app = Hermetic(__name__)
    app.config.from_mapping(SECRET_KEY="dev")
    with pytest.raises(ConfigurationError) as info:
        app.security_check()
    message = str(info.value)
    assert "loaded from the HERMETIC_SECRET_KEY environment variable" in message
    assert "then replaced by the app's config" in message
    assert "'d***'" in message
    assert "remove SECRET_KEY from the app's config" in message
    assert STRONG not in message and "'dev'" not in message


def test_config_class_with_none_keeps_the_loaded_key(env_key):
    # class Config: SECRET_KEY = os.environ.get("SECRET_KEY")  -> None
    class Config:
        SECRET_KEY = None

    app = Hermetic(__name__)
    app.config.from_object(Config)
    app.security_check()  # no "SECRET_KEY is not set"
    assert app.config["SECRET_KEY"] == STRONG


def test_weak_key_from_app_config_without_loaded_key_says_so(no_key):
    app = Hermetic(__name__)
    app.config.from_mapping(SECRET_KEY="dev")
    with pytest.raises(ConfigurationError) as info:
        app.security_check()
    message = str(info.value)
    assert "set by the app's config" in message and "'d***'" in message
    assert "HERMETIC_SECRET_KEY" in message and "remove SECRET_KEY" in message


def test_weak_key_from_environment_names_the_variable(no_key, monkeypatch):
    monkeypatch.setenv("HERMETIC_SECRET_KEY", "short-key")
    app = Hermetic(__name__)
    with pytest.raises(ConfigurationError) as info:
        app.security_check()
    message = str(info.value)
    assert "from the HERMETIC_SECRET_KEY environment variable" in message
    assert "too short" in message and "short-key" not in message


def test_missing_key_lists_the_sources(no_key):
    (problem,) = check_secret_keys({"SECRET_KEY": None})
    assert "not set" in problem and "HERMETIC_SECRET_KEY" in problem


def test_hermetic_check_reports_the_origin(env_key):
    from hermetic.security.checks import run_checks

    app = Hermetic(__name__)
    app.config.from_mapping(SECRET_KEY="dev")
    messages = [f.message for f in run_checks(app) if f.id == "secret_key"]
    assert messages and "then replaced by the app's config" in messages[0]
