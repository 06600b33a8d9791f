"""Flask-WTF, Flask-Login, Flask-Session, Flask-Talisman and Flask-Limiter together on Hermetic.

Sign-up, login, a logged-in page, logout: the flow works and each Hermetic
guarantee holds (new session id at login, a cookie copied before logout refused
after it, CSRF enforced on every unsafe request).

The app (``coexist_app_full_stack.py``) runs once in its own interpreter with the
``flask`` alias; each check it reports is one test.
"""

from __future__ import annotations

import pytest
from extensions._runner import assert_check, missing_distributions

CHECKS = [
    "startup_names_each_extension",
    "flow_works",
    "csrf_enforced_on_every_unsafe_request",
    "new_session_id_at_login",
    "cookie_copied_before_logout_refused_after",
    "one_copy_of_each_header",
    "flask_limiters_429_on_login",
]

MISSING = missing_distributions(
    {
        "Flask-WTF": "flask_wtf",
        "Flask-Login": "flask_login",
        "Flask-Session": "flask_session",
        "Flask-Talisman": "flask_talisman",
        "Flask-Limiter": "flask_limiter",
    }
)
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


def test_app_reports_every_check(run_coexist_app):
    run = run_coexist_app("full_stack")
    assert list(run.checks) == ["alias", *CHECKS], run.describe()
    assert run.returncode == 0, run.describe()


@pytest.mark.parametrize("name", CHECKS)
def test_check(run_coexist_app, name):
    assert_check(run_coexist_app("full_stack"), name)
