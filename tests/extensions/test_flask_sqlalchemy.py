"""Flask-SQLAlchemy on hermetic through the ``flask`` alias (app module: ``app_sqlalchemy.py``)."""

from __future__ import annotations

import pytest

from ._runner import assert_app_ran, assert_check, require

require({"Flask-SQLAlchemy": "flask_sqlalchemy", "SQLAlchemy": "sqlalchemy"})

CHECKS = [
    "create_all_in_app_context",
    "no_app_context_is_an_error",
    "insert_then_query_in_views",
    "get_or_404_missing_is_404",
    "paginate_reads_request_args",
    "session_removed_at_teardown",
    "record_queries_on_g",
    "shell_context_has_db_and_models",
    "drop_all",
]


@pytest.fixture(scope="module")
def report(run_extension_app):
    return run_extension_app("sqlalchemy")


def test_runs_on_the_flask_alias(report):
    """The app reported every check, ``flask.Flask is hermetic.Flask`` held, exit 0."""
    assert_check(report, "alias")
    assert_app_ran(report, CHECKS)


@pytest.mark.parametrize("name", CHECKS)
def test_check(report, name):
    assert_check(report, name)
