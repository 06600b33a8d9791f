"""Flask-Login on a Hermetic app: new session id at login, logout revoked on the server.

The app (``coexist_app_login.py``) runs once in its own interpreter with the
``flask`` alias; each check it reports is one test.
"""

from __future__ import annotations

import pytest
from extensions._runner import assert_check, missing_distributions

CHECKS = [
    "startup_line_names_flask_login",
    "new_session_id_at_login",
    "csrf_token_rotated_at_login",
    "cookie_copied_before_logout_refused_after",
    "cookie_copied_before_logout_refused_after_server_side",
    "logout_still_deletes_the_remember_cookie",
    "remember_cookie_stays_flask_logins",
    "hermetic_current_user_is_flask_logins_user",
    "csrf_enforced_on_login_and_logout",
]

pytestmark = pytest.mark.skipif(
    bool(missing_distributions({"Flask-Login": "flask_login"})),
    reason=missing_distributions({"Flask-Login": "flask_login"}) or "",
)


def test_app_reports_every_check(run_coexist_app):
    run = run_coexist_app("login")
    assert list(run.checks) == ["alias", *CHECKS], run.describe()
    assert run.returncode == 0, run.describe()


@pytest.mark.parametrize("name", CHECKS)
def test_check(run_coexist_app, name):
    assert_check(run_coexist_app("login"), name)
