"""Flask-Login on hermetic through the ``flask`` alias (app module: ``app_login.py``)."""

from __future__ import annotations

import pytest

from ._runner import assert_app_ran, assert_check, require

require({"Flask-Login": "flask_login"})

CHECKS = [
    "login_required_redirects_to_login_view",
    "blueprint_login_view",
    "login_user_then_current_user",
    "follow_redirect_after_login",
    "unknown_user_is_refused",
    "remember_cookie_restores_user_without_session",
    "logout_clears_user_and_remember_cookie",
    "login_signals_carry_the_app",
    "login_user_in_test_request_context",
]


@pytest.fixture(scope="module")
def report(run_extension_app):
    return run_extension_app("login")


def test_runs_on_the_flask_alias(report):
    """The app reported every check, ``flask.Flask is hermetic.Flask`` held, exit 0."""
    assert_check(report, "alias")
    assert_app_ran(report, CHECKS)


@pytest.mark.parametrize("name", CHECKS)
def test_check(report, name):
    assert_check(report, name)
