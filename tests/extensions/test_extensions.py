"""Flask extensions on hermetic through the ``flask`` alias.

Each extension's app module (``app_<name>.py``) runs once in a subprocess that
installs the alias first; every check it reports is one test here.
"""

from __future__ import annotations

import pytest

from ._runner import assert_app_ran, assert_check, missing_distributions

#: app module suffix -> (distributions that must be installed, checks it reports)
EXTENSIONS: dict[str, tuple[dict[str, str], list[str]]] = {
    # Flask-CORS
    "cors": (
        {"Flask-Cors": "flask_cors"},
        [
            "allowed_origin_gets_header",
            "refused_origin_gets_no_header",
            "no_origin_gets_literal_origins",
            "preflight_allowed",
            "preflight_refused",
            "error_responses_get_headers",
            "cross_origin_decorator",
        ],
    ),
    # Flask-Login
    "login": (
        {"Flask-Login": "flask_login"},
        [
            "login_required_redirects_to_login_view",
            "blueprint_login_view",
            "login_user_then_current_user",
            "follow_redirect_after_login",
            "unknown_user_is_refused",
            "remember_cookie_restores_user_without_session",
            "logout_clears_user_and_remember_cookie",
            "login_signals_carry_the_app",
            "login_user_in_test_request_context",
        ],
    ),
    # Flask-SQLAlchemy
    "sqlalchemy": (
        {"Flask-SQLAlchemy": "flask_sqlalchemy", "SQLAlchemy": "sqlalchemy"},
        [
            "create_all_in_app_context",
            "no_app_context_is_an_error",
            "insert_then_query_in_views",
            "get_or_404_missing_is_404",
            "paginate_reads_request_args",
            "session_removed_at_teardown",
            "record_queries_on_g",
            "shell_context_has_db_and_models",
            "drop_all",
        ],
    ),
    # Flask-WTF
    "wtf": (
        {"Flask-WTF": "flask_wtf", "WTForms": "wtforms"},
        [
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
        ],
    ),
}


def _run(run_extension_app, name: str):
    missing = missing_distributions(EXTENSIONS[name][0])
    if missing:
        pytest.skip(missing)
    return run_extension_app(name)


@pytest.mark.parametrize("name", EXTENSIONS)
def test_runs_on_the_flask_alias(run_extension_app, name):
    """The app reported every check, ``flask.Flask is hermetic.Flask`` held, exit 0."""
    report = _run(run_extension_app, name)
    assert_check(report, "alias")
    assert_app_ran(report, EXTENSIONS[name][1])


@pytest.mark.parametrize(
    ("name", "check"),
    [(name, check) for name, (_, checks) in EXTENSIONS.items() for check in checks],
)
def test_check(run_extension_app, name, check):
    assert_check(_run(run_extension_app, name), check)
