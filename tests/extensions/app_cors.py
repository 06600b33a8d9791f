"""Flask-CORS on hermetic: allowed and refused origins, preflight, errors, cross_origin.

Run as ``python app_cors.py TMPDIR``; see ``__init__.py``.
"""

from __future__ import annotations

import logging
import sys

from hermetic.compat import install_as_flask

# First: the extension runs `from flask import ...` at import time.
install_as_flask()

import flask  # noqa: E402
from _harness import check, run  # noqa: E402
from flask_cors import CORS, cross_origin  # noqa: E402

ALLOWED = "https://allowed.example"
TRUSTED = r"https://.*\.trusted\.example"  # a regex origin
REFUSED = "https://evil.example"

app = flask.Flask(__name__, instance_path=sys.argv[1])
# Not TESTING: a view's exception must become a 500 response that CORS decorates.
CORS(app, origins=[ALLOWED, TRUSTED], supports_credentials=True)


@app.route("/api/data", methods=["GET", "POST"])
def data():
    return flask.jsonify(ok=True)


@app.get("/api/boom")
def boom():
    raise ValueError("boom")


# A second app: no app-wide CORS, one decorated view.
open_app = flask.Flask(__name__, instance_path=sys.argv[1])


@open_app.route("/public", methods=["GET", "PUT"])
@cross_origin(origins="*", send_wildcard=True, methods=["GET", "PUT"], max_age=600)
def public():
    return "public"


@open_app.get("/private")
def private():
    return "private"


def get(path: str, origin: str | None = None, target: flask.Flask = app):
    headers = {"Origin": origin} if origin else {}
    return target.test_client().get(path, headers=headers)


@check()
def allowed_origin_gets_header() -> None:
    response = get("/api/data", ALLOWED)
    assert response.status_code == 200 and response.json == {"ok": True}
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    # Vary: the answer depends on Origin (two possible origins, one a regex).
    assert response.headers["Vary"] == "Origin", response.headers
    response = get("/api/data", "https://api.trusted.example")
    assert response.headers["Access-Control-Allow-Origin"] == "https://api.trusted.example"


@check()
def refused_origin_gets_no_header() -> None:
    response = get("/api/data", REFUSED)
    assert response.status_code == 200  # CORS is enforced by the browser, not the server
    assert "Access-Control-Allow-Origin" not in response.headers, response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers


@check()
def no_origin_gets_literal_origins() -> None:
    # Flask-CORS's always_send default: without Origin, the literal origins are sent.
    assert get("/api/data").headers["Access-Control-Allow-Origin"] == ALLOWED


@check()
def preflight_allowed() -> None:
    response = app.test_client().options(
        "/api/data",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type, X-Token",
        },
    )
    assert response.status_code == 200, response.status
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert "POST" in methods, methods
    allow_headers = response.headers["Access-Control-Allow-Headers"].lower()
    assert "content-type" in allow_headers and "x-token" in allow_headers, allow_headers
    # The automatic OPTIONS response still lists the rule's methods.
    allow = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "POST", "OPTIONS"} <= allow, allow


@check()
def preflight_refused() -> None:
    response = app.test_client().options(
        "/api/data", headers={"Origin": REFUSED, "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Methods" not in response.headers


@check()
def error_responses_get_headers() -> None:
    # Flask-CORS wraps app.handle_exception and app.handle_user_exception.
    response = get("/api/missing", ALLOWED)
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    records: list[logging.LogRecord] = []
    capture = logging.Handler()
    capture.emit = records.append  # type: ignore[method-assign]
    saved, app.logger.handlers = app.logger.handlers, [capture]
    try:
        response = get("/api/boom", ALLOWED)
    finally:
        app.logger.handlers = saved
    assert [r.getMessage() for r in records] == ["Exception on /api/boom [GET]"]
    assert response.status_code == 500
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED


@check()
def cross_origin_decorator() -> None:
    response = get("/public", "https://anyone.example", open_app)
    assert response.text == "public"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in get("/private", ALLOWED, open_app).headers
    # cross_origin answers OPTIONS itself (provide_automatic_options = False).
    response = open_app.test_client().options(
        "/public",
        headers={"Origin": "https://anyone.example", "Access-Control-Request-Method": "PUT"},
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert "PUT" in response.headers["Access-Control-Allow-Methods"]
    # ... through app.make_default_options_response(), which lists the rule's methods.
    assert {"GET", "PUT", "OPTIONS"} <= {m.strip() for m in response.headers["Allow"].split(",")}


if __name__ == "__main__":
    run(app)
