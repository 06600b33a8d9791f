"""The CSRF shield sees a cookie-authenticated request exactly when Werkzeug's parser does.

The attack: a cross-site form POST that carries the session or remember-me
cookie, spelled oddly, must still need the token. The shield looks for
those cookies without parsing the whole header; whatever the spelling, its
answer must be Werkzeug's.
"""

from __future__ import annotations

import pytest
from werkzeug.sansio.http import parse_cookie

import hermetic

SECRET = "csrf-scan-3f9c1a7e5d2b8046c1e9a7f3b5d2c8e0a4f6b1d9"

HEADERS = [
    "session=abc",
    "a=1; session=abc",
    "a=1;session=abc",
    "  session  =  abc  ",
    "a=1;\tsession=abc",
    "session",
    "session=",
    "session=a b",
    "session=a\tb; x=1",
    "session=a b; session=c",
    'session="abc"',
    'a="x;session=1"',
    "other=session=abc",
    "xsession=abc",
    "sessionx=abc",
    "__Host-session=abc",
    "remember_token=abc",
    "a=1; b=2",
    ";;;",
    "=session",
    "Session=abc",
]


@pytest.fixture
def app():
    app = hermetic.Hermetic(__name__)
    app.config.update(SECRET_KEY=SECRET, CSRF_ENFORCE_IN_TESTS=True)

    @app.post("/notes")
    def save():
        return "saved"

    return app


@pytest.mark.parametrize("header", HEADERS)
def test_token_needed_exactly_when_werkzeug_sees_an_auth_cookie(app, header):
    shield = app.shields.get("csrf")
    app.shields.configure()
    names = set(shield._cookie_names)
    assert {"session", "__Host-session", "remember_token"} <= names
    authenticated = not names.isdisjoint(parse_cookie(header).keys())
    client = app.test_client(use_cookies=False)
    response = client.post("/notes", environ_overrides={"HTTP_COOKIE": header})
    assert response.status_code == (403 if authenticated else 200), header
