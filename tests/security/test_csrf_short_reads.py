"""The CSRF check's short reads, each against the general read it stands for.

- the form: ``request._load_form_data()`` and the request's dict, for a
  request class keeping Werkzeug's ``form`` property over hermetic's
  loading (``_input_parsers.FORM_AS_WERKZEUG``), instead of ``request.form``;
- the auth cookies: one set check against the header's scan (the request's,
  or the one ``_session_cookie`` kept for the same header), instead of
  ``cookie_value`` per name;
- the session's secret: ``_csrf_tokens.session_secret`` reads an exact
  ``HermeticSession``'s dict without its ``get``.

The attacks: a request class whose ``form`` hides or adds the token, a
cookie spelled oddly and sent again (its scan kept), a session class whose
``get`` answers differently, odd values under the session's ``_csrf``:
each must be judged as the general read judges it.
"""

from __future__ import annotations

import re
import secrets
import typing as t

import pytest
from markupsafe import Markup
from tests.security.test_csrf_cookie_scan import HEADERS
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.sansio.http import parse_cookie
from werkzeug.utils import cached_property

import hermetic
from hermetic import _body, request, session
from hermetic.security import _csrf_tokens, _input_parsers, _session_cookie, csrf
from hermetic.security._csrf_tokens import encode, session_secret, token_matches, xor
from hermetic.security._hermetic_session import HermeticSession
from hermetic.security.csrf import REASON_BAD_TOKEN, REASON_NO_SESSION_TOKEN, REASON_NO_TOKEN
from hermetic.sessions import SecureCookieSession

KEY = "s" * 4 + "csrf-short-reads-tests-key-0123456789abcdef"
FORM = "application/x-www-form-urlencoded"
SECRET = secrets.token_bytes(32)
OTHER = secrets.token_bytes(32)


def _token(secret: bytes) -> str:
    pad = secrets.token_bytes(32)
    return encode(pad + xor(pad, secret))


def _app(request_class: type[hermetic.Request] | None = None, **config: t.Any) -> t.Any:
    app = hermetic.Hermetic(__name__)
    app.config.update(
        SECRET_KEY=KEY, SESSION_COOKIE_SECURE=False, TESTING=True, CSRF_ENFORCE_IN_TESTS=True
    )
    app.config.update(config)
    if request_class is not None:
        app.request_class = request_class

    @app.get("/token")
    def token() -> str:
        return csrf.csrf_token()

    @app.get("/set/<kind>")
    def set_secret(kind: str) -> str:
        session[csrf.SESSION_KEY] = _ODD_VALUES[kind]
        return "set"

    @app.post("/notes")
    def notes() -> t.Any:
        # In the order sent: sorting would order a random token against the other values.
        return {"form": list(request.form.items(multi=True))}

    return app


def _reason(rv: t.Any, audit_events: t.Any) -> str | None:
    return audit_events("csrf")[-1]["reason"] if rv.status_code == 403 else None


# -- the form ------------------------------------------------------------------


class _OwnForm(hermetic.Request):
    """The form without the token field: the app's own reading of the body."""

    @cached_property
    def form(self) -> t.Any:
        self._load_form_data()
        form = self.__dict__["form"]
        return ImmutableMultiDict([(k, v) for k, v in form.items(multi=True) if k != "csrf_token"])


class _TokenFromQuery(hermetic.Request):
    """The form, plus the query's fields: the token can come from the URL."""

    @property
    def form(self) -> t.Any:  # type: ignore[override]
        self._load_form_data()
        return ImmutableMultiDict(
            list(self.__dict__["form"].items(multi=True)) + list(self.args.items(multi=True))
        )


class _OwnLoading(hermetic.Request):
    def _load_form_data(self) -> None:
        super()._load_form_data()


class _OwnGetattribute(hermetic.Request):
    def __getattribute__(self, name: str) -> t.Any:
        return super().__getattribute__(name)


class _Subclass(hermetic.Request):
    pass


@pytest.mark.parametrize(
    ("cls", "short"),
    [
        (hermetic.Request, True),
        (_Subclass, True),
        (_OwnForm, False),
        (_TokenFromQuery, False),
        (_OwnLoading, False),
        (_OwnGetattribute, False),
    ],
)
def test_only_werkzeugs_form_over_hermetics_loading_takes_the_short_read(cls, short):
    assert _input_parsers.FORM_AS_WERKZEUG[cls] is short


def test_a_form_that_hides_the_token_is_refused(audit_events):
    # The body holds a good token, but the app's form does not: the check
    # reads what the app's form holds, as request.form gives it.
    client = _app(_OwnForm).test_client()
    token = client.get("/token").get_data(as_text=True)
    rv = client.post("/notes", data={"csrf_token": token, "title": "x"}, content_type=FORM)
    assert rv.status_code == 403 and _reason(rv, audit_events) == REASON_NO_TOKEN


def test_a_token_the_apps_form_adds_is_read():
    client = _app(_TokenFromQuery).test_client()
    token = client.get("/token").get_data(as_text=True)
    rv = client.post(
        "/notes", query_string={"csrf_token": token}, data={"title": "x"}, content_type=FORM
    )
    assert rv.status_code == 200
    assert sorted(rv.get_json()["form"]) == [["csrf_token", token], ["title", "x"]]


@pytest.mark.parametrize("cls", [hermetic.Request, _Subclass, _OwnLoading])
def test_the_form_is_read_once_and_is_the_views(monkeypatch, cls):
    client = _app(cls).test_client()
    token = client.get("/token").get_data(as_text=True)
    reads = []
    real = _body.read_form_fast

    def counted(request: t.Any, parse: t.Any) -> bool:
        reads.append(request)
        return real(request, parse)

    monkeypatch.setattr(_body, "read_form_fast", counted)
    rv = client.post("/notes", data={"csrf_token": token, "title": "x"}, content_type=FORM)
    assert rv.status_code == 200
    assert sorted(rv.get_json()["form"]) == [["csrf_token", token], ["title", "x"]]
    assert len(reads) == 1


def _bodies(token: str) -> list[bytes]:
    return [
        f"csrf_token={token}&title=x".encode(),
        f"title=x&csrf_token={token}&csrf_token=x".encode(),
        b"csrf_token=" + b"A" * 86 + b"&title=x",
        b"csrf_token=&title=x",
        b"title=x",
        b"&".join(b"f%d=v" % i for i in range(30)) + f"&csrf_token={token}".encode(),
        f"big={'x' * 9000}&csrf_token={token}".encode(),
        b"csrf_token=\xff\xfe&title=x",
        b"",
    ]


@pytest.mark.parametrize("index", range(9))
def test_the_short_form_read_answers_as_request_form(monkeypatch, caplog, audit_events, index):
    answers = []
    for short in (True, False):
        client = _app(MAX_FORM_PARTS=20, MAX_FORM_MEMORY_SIZE=8 * 1024).test_client()
        token = client.get("/token").get_data(as_text=True)
        with monkeypatch.context() as m:
            if not short:
                m.setattr(csrf, "_FORM_AS_WERKZEUG", {hermetic.Request: False})
            rv = client.post("/notes", data=_bodies(token)[index], content_type=FORM)
        body = re.sub(r"<code>\w+</code>", "", rv.get_data(as_text=True).replace(token, "<token>"))
        events = [e.get("reason") for e in audit_events("csrf") + audit_events("limit")]
        answers.append((rv.status_code, body, events))
        caplog.clear()
    assert answers[0] == answers[1]


# -- the auth cookies ------------------------------------------------------------


@pytest.mark.parametrize("header", HEADERS)
def test_a_kept_scan_gives_werkzeugs_answer_again(header):
    app = _app()

    @app.post("/open")
    def open_() -> str:
        return "saved"

    names = {"session", "__Host-session", "remember_token"}
    authenticated = not names.isdisjoint(parse_cookie(header).keys())
    client = app.test_client(use_cookies=False)
    for attempt in range(2):
        rv = client.post("/open", environ_overrides={"HTTP_COOKIE": header})
        assert rv.status_code == (403 if authenticated else 200), (header, attempt)
    if '"' not in header:
        # The second request read the kept scan: the short way was taken.
        assert header in _session_cookie._recent_scans


def test_a_cookie_sent_again_from_another_site_still_needs_the_token(audit_events):
    app = _app()
    client = app.test_client(use_cookies=False)
    header = "theme=dark;\tsession=stolen ; x=1"
    for _ in range(3):
        rv = client.post(
            "/notes",
            environ_overrides={"HTTP_COOKIE": header},
            headers={"Origin": "http://localhost"},
            data={"title": "x"},
            content_type=FORM,
        )
        assert rv.status_code == 403 and _reason(rv, audit_events) == REASON_NO_TOKEN
    assert header in _session_cookie._recent_scans


def test_a_name_the_scan_cannot_read_is_asked_through_cookie_value(monkeypatch):
    app = _app()

    class SpacedName(type(app.session_interface)):  # type: ignore[misc]
        def get_cookie_name(self, app: t.Any) -> str:
            return "my session"

    app.session_interface = SpacedName()
    asked = []
    real = csrf.cookie_value

    def counted(request: t.Any, name: str) -> t.Any:
        asked.append(name)
        return real(request, name)

    monkeypatch.setattr(csrf, "cookie_value", counted)
    client = app.test_client(use_cookies=False)
    for header in ["my session=1", "a=1; remember_token=1", "a=1", "a=1"]:
        authenticated = "remember_token" in parse_cookie(header)  # Werkzeug reads no "my session"
        rv = client.post("/notes", environ_overrides={"HTTP_COOKIE": header})
        assert rv.status_code == (403 if authenticated else 200), header
    assert app.shields.get("csrf")._names_scannable is False
    assert "my session" in asked


def test_cookies_parsed_before_the_check_are_read_as_parsed(monkeypatch):
    app = _app()
    app.shields.configure()
    shield = app.shields.get("csrf")
    asked = []
    real = csrf.cookie_value
    monkeypatch.setattr(csrf, "cookie_value", lambda r, n: asked.append(n) or real(r, n))
    header = "a=1; session=abc"
    client = app.test_client(use_cookies=False)
    client.post("/notes", environ_overrides={"HTTP_COOKIE": header})  # its scan kept
    with app.test_request_context(
        "/notes", method="POST", headers={"Cookie": header}, data="title=x", content_type=FORM
    ):
        assert request.cookies["session"] == "abc"
        with pytest.raises(hermetic.security.errors.CSRFError) as refused:
            shield.before(request._get_current_object())
    assert refused.value.reason == REASON_NO_TOKEN
    assert asked  # Werkzeug's parse, read through cookie_value


# -- the session's secret --------------------------------------------------------

_ODD_VALUES: dict[str, t.Any] = {
    "good": encode(SECRET),
    "markup": Markup(encode(SECRET)),
    "short": encode(SECRET)[:42],
    "long": encode(SECRET) + "A",
    "non-ascii": encode(SECRET)[:42] + "é",
    "padded": encode(SECRET)[:40] + "===",
    "number": 12345,
    "none": None,
    "list": [encode(SECRET)],
}


def test_hermetic_sessions_get_is_secure_cookie_sessions():
    # session_secret reads an exact HermeticSession's dict as this get does.
    assert HermeticSession.get is SecureCookieSession.get


@pytest.mark.parametrize("kind", sorted(_ODD_VALUES))
def test_odd_session_values_are_judged_as_the_general_reading(audit_events, kind):
    secret = session_secret(HermeticSession({csrf.SESSION_KEY: _ODD_VALUES[kind]}))
    token = _token(SECRET)
    expected = (
        REASON_NO_SESSION_TOKEN
        if secret is None
        else (None if token_matches(token, secret) else REASON_BAD_TOKEN)
    )
    client = _app().test_client()
    assert client.get(f"/set/{kind}").status_code == 200
    rv = client.post("/notes", data={"csrf_token": token, "title": "x"}, content_type=FORM)
    assert _reason(rv, audit_events) == expected, kind
    if expected is None:
        assert rv.status_code == 200
        assert "Cookie" in rv.headers.get("Vary", "")  # the session was read


def test_a_session_class_with_its_own_get_is_asked_through_it(audit_events):
    asked = []

    class Logged(HermeticSession):
        def get(self, key: str, default: t.Any = None) -> t.Any:
            asked.append(key)
            return encode(OTHER) if key == csrf.SESSION_KEY else default

    app = _app()
    app.session_interface.session_class = Logged
    client = app.test_client()
    assert client.get("/set/good").status_code == 200
    rv = client.post("/notes", data={"csrf_token": _token(SECRET)}, content_type=FORM)
    assert rv.status_code == 403 and _reason(rv, audit_events) == REASON_BAD_TOKEN
    rv = client.post("/notes", data={"csrf_token": _token(OTHER)}, content_type=FORM)
    assert rv.status_code == 200
    assert csrf.SESSION_KEY in asked


def test_the_check_compares_the_token_in_constant_time(monkeypatch, audit_events):
    compared = []
    real = _csrf_tokens.compare_digest

    def spied(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(_csrf_tokens, "compare_digest", spied)
    client = _app().test_client()
    assert client.get("/set/good").status_code == 200
    for token, reason in [(_token(OTHER), REASON_BAD_TOKEN), (_token(SECRET), None)]:
        rv = client.post("/notes", data={"csrf_token": token}, content_type=FORM)
        assert _reason(rv, audit_events) == reason
    # SECURITY: every well-formed token is judged by compare_digest, against the secret.
    assert [b for _, b in compared] == [SECRET, SECRET]
