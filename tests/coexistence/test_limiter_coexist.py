"""Flask-Limiter on a Hermetic app: both limiters count, 429 stays 429, a dead storage is a 503.

The app (``coexist_app_limiter.py``) runs once in its own interpreter with the
``flask`` alias; each check it reports is one test.
"""

from __future__ import annotations

import pytest
from extensions._runner import assert_check, missing_distributions

CHECKS = [
    "startup_line_says_which_limits_apply",
    "flask_limiters_429_stays_429",
    "both_limiters_count",
    "dead_storage_is_503_not_500",
    "swallow_errors_lets_requests_through",
    "flask_limiter_keys_are_not_unknown_settings",
]

MISSING = missing_distributions({"Flask-Limiter": "flask_limiter", "ordered-set": "ordered_set"})
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


def test_app_reports_every_check(run_coexist_app):
    run = run_coexist_app("limiter")
    assert list(run.checks) == ["alias", *CHECKS], run.describe()
    assert run.returncode == 0, run.describe()


@pytest.mark.parametrize("name", CHECKS)
def test_check(run_coexist_app, name):
    assert_check(run_coexist_app("limiter"), name)
