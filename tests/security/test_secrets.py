"""Secret keys: sources, strength, masking in repr and logs."""

from __future__ import annotations

import logging

import pytest

from hermetic.security.errors import ConfigurationError
from hermetic.security.secrets import (
    KEY_FIX,
    MaskedConfig,
    SecretsFilter,
    check_secret_keys,
    is_secret_name,
    load_secret_key,
    weak_key_reason,
)

STRONG = "0cZ9v1-8cGm3V1Xr2yQ6tLk4pN7sW0eB5hJ2uD8fA3q"


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        (None, "not set"),
        ("", "not set"),
        ("dev", "placeholder"),
        ("changeme", "placeholder"),
        ("short-key-1234", "too short"),
        ("a" * 64, "distinct"),
        (12345, "must be str or bytes"),
    ],
)
def test_weak_keys_are_named(key, fragment):
    assert fragment in weak_key_reason(key)


def test_strong_keys_pass():
    assert weak_key_reason(STRONG) is None
    assert weak_key_reason(STRONG.encode()) is None


def test_problems_say_how_to_fix():
    (problem,) = check_secret_keys({"SECRET_KEY": "dev"})
    assert KEY_FIX in problem
    problems = check_secret_keys({"SECRET_KEY": STRONG, "SECRET_KEY_FALLBACKS": ["old"]})
    assert problems and "SECRET_KEY_FALLBACKS[0]" in problems[0]


def test_key_from_environment_then_file_then_secrets_dir(tmp_path):
    config: dict = {}
    load_secret_key(config, environ={"HERMETIC_SECRET_KEY": STRONG}, secrets_dir=str(tmp_path))
    assert config["SECRET_KEY"] == STRONG

    key_file = tmp_path / "key"
    key_file.write_text(STRONG + "\n")
    config = {}
    load_secret_key(config, environ={"SECRET_KEY_FILE": str(key_file)}, secrets_dir=str(tmp_path))
    assert config["SECRET_KEY"] == STRONG

    (tmp_path / "secret_key").write_text(STRONG)
    (tmp_path / "secret_key_fallbacks").write_text("old-one\nold-two\n")
    config = {}
    load_secret_key(config, environ={}, secrets_dir=str(tmp_path))
    assert config["SECRET_KEY"] == STRONG
    assert config["SECRET_KEY_FALLBACKS"] == ["old-one", "old-two"]


def test_config_value_wins_over_environment(tmp_path):
    config = {"SECRET_KEY": "from-config"}
    load_secret_key(config, environ={"HERMETIC_SECRET_KEY": STRONG}, secrets_dir=str(tmp_path))
    assert config["SECRET_KEY"] == "from-config"


def test_unreadable_key_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_secret_key({}, environ={"SECRET_KEY_FILE": str(tmp_path / "nope")}, secrets_dir="/x")


def test_nothing_found_leaves_config_empty(tmp_path):
    config: dict = {}
    load_secret_key(config, environ={}, secrets_dir=str(tmp_path))
    assert "SECRET_KEY" not in config


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("SECRET_KEY", True),
        ("SECRET_KEY_FALLBACKS", True),
        ("DATABASE_PASSWORD", True),
        ("API_TOKEN", True),
        ("JWT_PRIVATE_KEY", True),
        ("JWT_CLIENTS", True),
        ("SESSION_COOKIE_NAME", False),
        ("DEBUG", False),
        ("CSRF_HEADER_NAME", False),
        # Where something is, or how long it lasts, is not a secret.
        ("JWT_TOKEN_PATH", False),
        ("SECRET_KEY_FILE", False),
        ("HERMETIC_SECRET_KEY_FALLBACKS_FILE", False),
        ("JWT_ACCESS_TOKEN_TTL", False),
        ("PASSWORD_HASH_MEMORY_COST", False),
        ("CORS_ALLOW_CREDENTIALS", False),
        # A URL can carry a password (redis://:pw@host): still masked.
        ("TOKEN_STORE_URL", True),
        ("METRICS_TOKEN", True),
        ("JWT_SIGNING_KEYS", True),
    ],
)
def test_secret_names(name, secret):
    assert is_secret_name(name) is secret


def test_log_filter_keeps_paths_and_masks_the_secret_key(caplog):
    # The attack on readability: every log line naming the token endpoint
    # became "POST **********" because JWT_TOKEN_PATH's name holds TOKEN.
    logger = logging.getLogger("hermetic.test.secrets.paths")
    config = {
        "SECRET_KEY": STRONG,
        "JWT_TOKEN_PATH": "/oauth/token",
        "SECRET_KEY_FILE": "/run/secrets/secret_key",
    }
    logger.addFilter(SecretsFilter(config))
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("POST %s key=%s from %s", "/oauth/token", STRONG, "/run/secrets/secret_key")
    (record,) = caplog.records
    assert record.getMessage() == "POST /oauth/token key=********** from /run/secrets/secret_key"


def test_config_repr_masks_secrets():
    config = MaskedConfig(".", {"SECRET_KEY": STRONG, "DEBUG": False})
    text = repr(config)
    assert STRONG not in text
    assert "'**********'" in text and "'DEBUG': False" in text


def test_log_filter_redacts_secret_values(caplog):
    logger = logging.getLogger("hermetic.test.secrets")
    logger.addFilter(SecretsFilter({"SECRET_KEY": STRONG, "DB_PASSWORD": "hunter2-db"}))
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("connecting with %s and key=%s", "hunter2-db", STRONG)
    (record,) = caplog.records
    assert "hunter2-db" not in record.getMessage()
    assert STRONG not in record.getMessage()
    assert record.getMessage().count("**********") == 2


def test_one_filter_per_logger_serves_every_app():
    import gc

    from hermetic.security.secrets import redact_secrets_in

    logger = logging.getLogger("hermetic.test.secrets.shared")
    first = MaskedConfig(".", {"SECRET_KEY": STRONG})
    second = MaskedConfig(".", {"API_TOKEN": "token-of-the-second-app"})
    redact_secrets_in(logger, first)
    redact_secrets_in(logger, second)
    redact_secrets_in(logger, second)
    (only,) = [f for f in logger.filters if isinstance(f, SecretsFilter)]
    record = logging.LogRecord(
        "x", logging.INFO, "", 0, "%s %s", (STRONG, "token-of-the-second-app"), None
    )
    only.filter(record)
    assert record.getMessage() == "********** **********"
    # A changed secret is picked up; a discarded app stops being watched.
    first["SECRET_KEY"] = "a-brand-new-secret-value"
    record = logging.LogRecord("x", logging.INFO, "", 0, "a-brand-new-secret-value", None, None)
    only.filter(record)
    assert record.getMessage() == "**********"
    del first, second
    gc.collect()
    record = logging.LogRecord("x", logging.INFO, "", 0, "a-brand-new-secret-value", None, None)
    only.filter(record)
    assert record.getMessage() == "a-brand-new-secret-value"  # no app left to watch


@pytest.mark.parametrize(
    "key",
    [
        "SECRET_KEY_FILE",
        "HERMETIC_SECRET_KEY_FILE",
        "SECRET_KEY_FALLBACKS_FILE",
        "HERMETIC_SECRET_KEY_FALLBACKS_FILE",
    ],
)
def test_a_secret_file_setting_that_is_not_a_path_names_the_key(key):
    with pytest.raises(ConfigurationError, match=key):
        load_secret_key({key: 5}, environ={}, secrets_dir="/nonexistent")
