"""Flask-Session on a Hermetic app: id renewed at login, logout empties it, a dead store is a 503.

The app (``coexist_app_session.py``) runs once in its own interpreter with the
``flask`` alias; each check it reports is one test.
"""

from __future__ import annotations

import pytest
from extensions._runner import assert_check, missing_distributions

CHECKS = [
    "startup_warning_names_what_is_lost",
    "session_works",
    "new_session_id_at_login",
    "cookie_copied_before_logout_refused_after",
    "csrf_enforced",
    "dead_store_is_503_not_500",
    "dead_store_with_a_cookie_is_503_not_500",
    "dead_store_public_page_works",
]

MISSING = missing_distributions(
    {
        "Flask-Session": "flask_session",
        "Flask-Login": "flask_login",
        "cachelib": "cachelib",
        "msgspec": "msgspec",
    }
)
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


def test_app_reports_every_check(run_coexist_app):
    run = run_coexist_app("session")
    assert list(run.checks) == ["alias", *CHECKS], run.describe()
    assert run.returncode == 0, run.describe()


@pytest.mark.parametrize("name", CHECKS)
def test_check(run_coexist_app, name):
    assert_check(run_coexist_app("session"), name)
