"""Flask-CORS on hermetic through the ``flask`` alias (app module: ``app_cors.py``)."""

from __future__ import annotations

import pytest

from ._runner import assert_app_ran, assert_check, require

require({"Flask-Cors": "flask_cors"})

CHECKS = [
    "allowed_origin_gets_header",
    "refused_origin_gets_no_header",
    "no_origin_gets_literal_origins",
    "preflight_allowed",
    "preflight_refused",
    "error_responses_get_headers",
    "cross_origin_decorator",
]


@pytest.fixture(scope="module")
def report(run_extension_app):
    return run_extension_app("cors")


def test_runs_on_the_flask_alias(report):
    """The app reported every check, ``flask.Flask is hermetic.Flask`` held, exit 0."""
    assert_check(report, "alias")
    assert_app_ran(report, CHECKS)


@pytest.mark.parametrize("name", CHECKS)
def test_check(report, name):
    assert_check(report, name)
