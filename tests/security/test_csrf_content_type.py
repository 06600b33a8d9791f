"""How the CSRF check tells a form body: sends_form against Werkzeug's ``mimetype``.

For a browser's form (``Content-Type`` exactly
``application/x-www-form-urlencoded``) the check keeps the parsed content
type where Werkzeug keeps it, without making the headers object or parsing:
what it keeps must be what Werkzeug's ``_parse_content_type`` would have
kept, and every other value, request class or already-read request must go
through Werkzeug's own ``mimetype``.
"""

from __future__ import annotations

import typing as t

import pytest
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder

import hermetic
from hermetic import _body
from hermetic.security._input_parsers import sends_form
from hermetic.security.csrf import REASON_BAD_TOKEN, REASON_NO_TOKEN, csrf_token

KEY = "c" * 4 + "csrf-content-type-tests-key-0123456789abcdef"
URLENCODED = "application/x-www-form-urlencoded"
CONTENT_TYPES = [
    URLENCODED,
    "Application/X-WWW-Form-Urlencoded",
    " application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded ",
    "application/x-www-form-urlencoded;",
    "application/x-www-form-urlencoded; charset=UTF-8",
    "multipart/form-data; boundary=xyz",
    "multipart/form-data",
    "application/json",
    "text/plain",
    "",
    None,
]


def _environ(content_type: str | None) -> dict[str, t.Any]:
    environ = EnvironBuilder(method="POST", data=b"a=1").get_environ()
    environ.pop("CONTENT_TYPE", None)
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    return environ


def _werkzeugs(
    request_class: type[hermetic.Request], content_type: str | None
) -> tuple[t.Any, ...]:
    request = request_class(_environ(content_type))
    return request.mimetype, request.mimetype_params, request.content_type


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_the_answer_and_what_is_kept_are_werkzeugs(content_type: str | None) -> None:
    environ = _environ(content_type)
    request = hermetic.Request(environ)
    answer = sends_form(request, environ)
    assert answer is (
        _werkzeugs(hermetic.Request, content_type)[0]
        in ("application/x-www-form-urlencoded", "multipart/form-data")
    )
    assert (request.mimetype, request.mimetype_params, request.content_type) == _werkzeugs(
        hermetic.Request, content_type
    )


def test_a_browsers_form_takes_the_short_way() -> None:
    environ = _environ(URLENCODED)
    request = hermetic.Request(environ)
    assert sends_form(request, environ) is True
    # Werkzeug's attribute is set, and the headers were not made for it.
    assert request.__dict__["_parsed_content_type"] == (URLENCODED, {})
    assert "headers" not in request.__dict__
    # Each request gets its own parameters dict.
    other = hermetic.Request(_environ(URLENCODED))
    sends_form(other, other.environ)
    assert other.mimetype_params is not request.mimetype_params


def test_replaced_headers_are_what_werkzeug_reads() -> None:
    environ = _environ(URLENCODED)
    request = hermetic.Request(environ)
    request.headers = Headers({"Content-Type": "application/json"})  # type: ignore[misc]
    assert sends_form(request, environ) is False
    assert request.mimetype == "application/json"


def test_a_content_type_read_before_is_kept() -> None:
    environ = _environ("application/json")
    request = hermetic.Request(environ)
    assert request.mimetype == "application/json"
    environ["CONTENT_TYPE"] = URLENCODED  # changed after Werkzeug parsed it
    assert sends_form(request, environ) is False
    assert request.mimetype == "application/json"


class _OwnMimetype(hermetic.Request):
    @property
    def mimetype(self) -> str:
        return "application/json"


class _OwnHeaders(hermetic.Request):
    """Headers of its own making (Werkzeug's constructor's are dropped)."""

    @property
    def headers(self) -> Headers:  # type: ignore[override]
        return Headers({"Content-Type": "text/plain"})

    @headers.setter
    def headers(self, value: t.Any) -> None:
        pass


class _Lookup(hermetic.Request):
    def __getattr__(self, name: str) -> t.Any:
        if name == "_parsed_content_type":
            return ("text/plain", {})
        raise AttributeError(name)


@pytest.mark.parametrize("request_class", [_OwnMimetype, _OwnHeaders, _Lookup])
def test_request_classes_of_the_apps_own_are_asked(request_class: type[hermetic.Request]) -> None:
    assert _body._CONTENT_TYPE_AS_WERKZEUG[request_class] is False
    environ = _environ(URLENCODED)
    request = request_class(environ)
    assert sends_form(request, environ) is False
    assert request.mimetype == _werkzeugs(request_class, URLENCODED)[0] != URLENCODED


def test_hermetics_request_class_and_a_plain_subclass_take_the_short_way() -> None:
    class Plain(hermetic.Request):
        pass

    assert _body._CONTENT_TYPE_AS_WERKZEUG[hermetic.Request] is True
    assert _body._CONTENT_TYPE_AS_WERKZEUG[Plain] is True


# -- through the shield: the same verdicts whichever way the content type is read --


class _Slow(dict[type, bool]):
    """Every request class sent to Werkzeug's ``mimetype``."""

    def __missing__(self, cls: type) -> bool:
        return False


def _app(request_class: type[hermetic.Request] | None = None) -> t.Any:
    app = hermetic.Hermetic(__name__)
    app.config.update(
        SECRET_KEY=KEY, SESSION_COOKIE_SECURE=False, TESTING=True, CSRF_ENFORCE_IN_TESTS=True
    )
    if request_class is not None:
        app.request_class = request_class

    @app.get("/form")
    def form() -> str:
        return csrf_token()

    @app.post("/notes")
    def notes() -> t.Any:
        return {
            # (The token differs between runs: not shown.)
            "form": sorted(hermetic.request.form.items(multi=True))[-1:],
            "mimetype": hermetic.request.mimetype,
            "params": hermetic.request.mimetype_params,
        }

    return app


def _answers(monkeypatch: pytest.MonkeyPatch, audit_events: t.Any, slow: bool) -> list[t.Any]:
    with monkeypatch.context() as m:
        if slow:
            m.setattr(_body, "_CONTENT_TYPE_AS_WERKZEUG", _Slow())
        client = _app().test_client()
        good = client.get("/form").text
        answers = []
        for content_type in CONTENT_TYPES:
            for sent, token in (("good", good), ("bad", "A" * 86), ("none", None)):
                body = "title=x" + (f"&csrf_token={token}" if token is not None else "")
                headers = {} if content_type is None else {"Content-Type": content_type}
                rv = client.post("/notes", data=body, headers=headers)
                reason = audit_events("csrf")[-1]["reason"] if rv.status_code == 403 else None
                answers.append((content_type, sent, rv.status_code, reason, rv.json))
        return answers


def test_the_shield_judges_as_with_werkzeugs_mimetype(
    monkeypatch: pytest.MonkeyPatch, audit_events: t.Any
) -> None:
    fast = _answers(monkeypatch, audit_events, slow=False)
    general = _answers(monkeypatch, audit_events, slow=True)
    assert fast == general
    verdicts = {(ct, sent): (status, reason) for ct, sent, status, reason, _ in fast}
    assert verdicts[(URLENCODED, "good")] == (200, None)
    assert verdicts[(URLENCODED, "bad")] == (403, REASON_BAD_TOKEN)
    assert verdicts[(URLENCODED, "none")] == (403, REASON_NO_TOKEN)
    assert verdicts[("application/json", "good")] == (403, REASON_NO_TOKEN)
