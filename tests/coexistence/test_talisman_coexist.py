"""Flask-Talisman on a Hermetic app: one copy of each header, Talisman's values, named at start-up.

The app (``coexist_app_talisman.py``) runs once in its own interpreter with the
``flask`` alias; each check it reports is one test.
"""

from __future__ import annotations

import pytest
from extensions._runner import assert_check, missing_distributions

CHECKS = [
    "startup_line_names_talisman",
    "no_duplicate_headers_over_https",
    "no_duplicate_headers_on_errors",
    "talismans_values_win",
    "hermetic_adds_only_what_talisman_does_not_set",
    "force_https_still_redirects",
    "hermetic_check_before_start_up_still_logs_once",
]

MISSING = missing_distributions({"Flask-Talisman": "flask_talisman"})
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


def test_app_reports_every_check(run_coexist_app):
    run = run_coexist_app("talisman")
    assert list(run.checks) == ["alias", *CHECKS], run.describe()
    assert run.returncode == 0, run.describe()


@pytest.mark.parametrize("name", CHECKS)
def test_check(run_coexist_app, name):
    assert_check(run_coexist_app("talisman"), name)
