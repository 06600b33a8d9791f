"""Flask-WTF on hermetic through the ``flask`` alias (app module: ``app_wtf.py``)."""

from __future__ import annotations

import pytest

from ._runner import assert_app_ran, assert_check, require

require({"Flask-WTF": "flask_wtf", "WTForms": "wtforms"})

CHECKS = [
    "post_without_token_is_400",
    "default_400_page_without_custom_handler",
    "rendered_form_token_is_accepted",
    "form_validation_errors",
    "form_without_token_is_400",
    "wrong_token_is_400",
    "token_from_another_session_is_400",
    "header_token_and_json_form",
    "file_upload_form",
    "exempt_view_skips_csrf",
    "generate_csrf_in_request_context",
]


@pytest.fixture(scope="module")
def report(run_extension_app):
    return run_extension_app("wtf")


def test_runs_on_the_flask_alias(report):
    """The app reported every check, ``flask.Flask is hermetic.Flask`` held, exit 0."""
    assert_check(report, "alias")
    assert_app_ran(report, CHECKS)


@pytest.mark.parametrize("name", CHECKS)
def test_check(report, name):
    assert_check(report, name)
