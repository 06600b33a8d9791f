"""The start-up check of settings read outside a shield (``_settings_check.py``)."""

from __future__ import annotations

import secrets

import pytest

from hermetic import Flask
from hermetic.security._settings_check import settings_problems


def test_good_settings_have_no_problem():
    app = Flask(__name__)
    app.config.update(SESSION_IDLE_TIMEOUT=600, REDIRECT_ALLOWED_HOSTS=["sso.example"])
    assert settings_problems(app) == []


@pytest.mark.parametrize(
    ("key", "value", "feature"),
    [
        ("SESSION_IDLE_TIMEOUT", -1, "sessions"),
        ("SESSION_SERVER_SIDE", "yes", "sessions"),
        ("REDIRECT_ALLOWED_HOSTS", "sso.example", "redirects"),
        ("SECRET_KEY_FILE", 5, "secrets"),
    ],
)
def test_each_bad_value_is_one_problem_naming_feature_and_key(key, value, feature):
    app = Flask(__name__)
    app.config[key] = value
    [problem] = settings_problems(app)
    assert problem.startswith(f"{feature}: {key}")


@pytest.mark.parametrize(
    ("key", "value"),
    [("SESSION_IDLE_TIMEOUT", -1), ("REDIRECT_ALLOWED_HOSTS", "sso.example")],
)
def test_hermetic_refuses_to_start_on_a_bad_setting_no_shield_reads(key, value, monkeypatch):
    from hermetic import Hermetic
    from hermetic.security.errors import ConfigurationError

    monkeypatch.setenv("HERMETIC_SECRET_KEY", secrets.token_urlsafe(48))
    app = Hermetic(__name__)
    app.config[key] = value
    with pytest.raises(ConfigurationError, match=key):
        app.security_check()
