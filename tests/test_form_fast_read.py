"""Request.form's fast url-encoded read against Werkzeug's general form loading.

With the input limits shield's parser, or Werkzeug's own (a plain app's),
``_load_form_data`` reads the body itself (``hermetic._body.read_form_fast``). For every body shape it must give
the same form and files, the same refusal (class, status, limit), leave the
same bytes unread in ``wsgi.input`` and ``request.stream`` in the same state,
and log the same audit events, as Werkzeug's parser object and bounded stream.
"""

from __future__ import annotations

import io
import typing as t

import pytest
from tests.test_body_fast_read import INPUTS
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.formparser import FormDataParser
from werkzeug.test import create_environ

from hermetic import Flask, _body
from hermetic._body import FORM_PARSERS, urlencoded_form
from hermetic.security._input_parsers import LimitedFormDataParser
from hermetic.wrappers import _PLAIN_FORM, Request

URLENCODED = "application/x-www-form-urlencoded"


class _GeneralRequest(Request):
    """The same request class with the fast form read off (its own parser maker)."""

    def make_form_data_parser(self) -> FormDataParser:
        return Request.make_form_data_parser(self)


class _OwnParser(LimitedFormDataParser):
    """A parser class that parses url-encoded bodies its own way."""

    def _parse_urlencoded(self, *args: t.Any) -> t.Any:
        return super()._parse_urlencoded(*args)


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=200, MAX_FORM_PARTS=4, MAX_FORM_MEMORY_SIZE=20)
    return app


def _environ(
    body: bytes | None, length: str | None, content_type: str | None = URLENCODED, **extra: t.Any
) -> dict[str, t.Any]:
    env = create_environ("/", method="POST")
    env.pop("CONTENT_LENGTH", None)
    env.pop("CONTENT_TYPE", None)
    env["wsgi.input"] = io.BytesIO(body if body is not None else b"")
    if length is not None:
        env["CONTENT_LENGTH"] = length
    if content_type is not None:
        env["CONTENT_TYPE"] = content_type
    env.update(extra)
    return env


def _outcome(
    app: Flask,
    cls: type[Request],
    env: dict[str, t.Any],
    audit_events: t.Callable[..., list[dict[str, t.Any]]],
    first: str = "form",
    own_limits: bool = False,
    parser: type[FormDataParser] = LimitedFormDataParser,
) -> tuple[t.Any, ...]:
    original = env["wsgi.input"]
    seen = len(audit_events())
    with app.app_context():
        req = cls(env)
        req.form_data_parser_class = parser
        if own_limits:
            req.max_form_parts = 1
            req.max_form_memory_size = 100
        try:
            if first == "mimetype":
                assert req.mimetype is not None  # as the CSRF check reads it first
            elif first == "data":
                req.get_data()
            elif first == "stream":
                req.stream.read(3)
            form = req.form
            got: t.Any = (type(form), list(form.items(multi=True)), dict(req.files))
            got += (req.mimetype, req.mimetype_params, req.content_type)
        except Exception as e:
            got = (type(e).__name__, getattr(e, "code", None), getattr(e, "limit", None))
        try:
            stream = req.stream
            state: t.Any = (type(stream), getattr(stream, "limit", None), stream.read())
        except Exception as e:
            state = type(e).__name__
        try:
            again: t.Any = req.get_data()
        except Exception as e:
            again = type(e).__name__
    rest = original.read() if isinstance(original, io.BytesIO) else original.rest()
    events = [(e.get("reason"), e.get("limit")) for e in audit_events()[seen:]]
    return got, state, again, rest, events


BODY = b"title=Groceries&csrf_token=abc"

CASES = [
    pytest.param(BODY, str(len(BODY)), URLENCODED, {}, id="plain"),
    pytest.param(b"a=%C3%A9+b&a=2&&c", "16", URLENCODED, {}, id="escapes-repeats-blank"),
    pytest.param(b"=x&y=&z", "7", URLENCODED, {}, id="empty-names-and-values"),
    pytest.param(b"a=\xff\xfe", "4", URLENCODED, {}, id="not-utf8"),
    pytest.param(b"a=%ff", "5", URLENCODED, {}, id="escape-not-utf8"),
    pytest.param(b"a=1&b=2&c=3&d=4&e=5", "19", URLENCODED, {}, id="too-many-fields"),
    pytest.param(b"a=1&&&&&&b=2", "12", URLENCODED, {}, id="many-empty-pieces"),
    pytest.param(b"a=" + b"1" * 20, "22", URLENCODED, {}, id="field-too-large"),
    pytest.param(BODY + b"&rest=1", str(len(BODY)), URLENCODED, {}, id="longer-than-length"),
    pytest.param(BODY[:5], str(len(BODY)), URLENCODED, {}, id="shorter-than-length"),
    pytest.param(BODY, None, URLENCODED, {}, id="no-length"),
    pytest.param(BODY, "0", URLENCODED, {}, id="zero-length"),
    pytest.param(BODY, "-3", URLENCODED, {}, id="negative-length"),
    pytest.param(BODY, "9" * 30, URLENCODED, {}, id="huge-length"),
    pytest.param(BODY, "\u0663\u0660", URLENCODED, {}, id="non-ascii-length"),
    pytest.param(b"a=" + b"1" * 250, "252", URLENCODED, {}, id="over-max-content-length"),
    pytest.param(BODY, "30", URLENCODED, {"HTTP_TRANSFER_ENCODING": "chunked"}, id="chunked"),
    pytest.param(BODY, "30", URLENCODED, {"wsgi.input_terminated": True}, id="terminated"),
    pytest.param(BODY, "30", URLENCODED + "; charset=utf-8", {}, id="with-charset"),
    pytest.param(BODY, "30", "Application/X-WWW-Form-URLEncoded", {}, id="upper-case"),
    pytest.param(BODY, "30", "application/x-url-encoded", {}, id="other-type"),
    pytest.param(BODY, "30", "text/plain", {}, id="text"),
    pytest.param(BODY, "30", "", {}, id="empty-type"),
    pytest.param(BODY, "30", None, {}, id="no-type"),
    pytest.param(
        b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n',
        "48",
        "multipart/form-data; boundary=x",
        {},
        id="multipart",
    ),
]


@pytest.mark.parametrize(("body", "length", "content_type", "extra"), CASES)
@pytest.mark.parametrize("first", ["form", "mimetype", "data", "stream"])
@pytest.mark.parametrize("own_limits", [False, True], ids=["app-limits", "own-limits"])
@pytest.mark.parametrize("parser", [LimitedFormDataParser, FormDataParser])
def test_fast_form_matches_general(
    app: Flask,
    audit_events: t.Any,
    body: bytes,
    length: str | None,
    content_type: str | None,
    extra: dict[str, t.Any],
    first: str,
    own_limits: bool,
    parser: type[FormDataParser],
) -> None:
    def run(cls: type[Request]) -> tuple[t.Any, ...]:
        env = _environ(body, length, content_type, **extra)
        return _outcome(app, cls, env, audit_events, first, own_limits, parser)

    assert run(Request) == run(_GeneralRequest)


@pytest.mark.parametrize("name", list(INPUTS))
@pytest.mark.parametrize("length", [str(len(BODY)), str(len(BODY) + 6)], ids=["exact", "short"])
@pytest.mark.parametrize("parser", [LimitedFormDataParser, FormDataParser])
def test_fast_form_matches_general_for_server_streams(
    app: Flask, audit_events: t.Any, name: str, length: str, parser: type[FormDataParser]
) -> None:
    def run(cls: type[Request]) -> tuple[t.Any, ...]:
        env = _environ(BODY, length)
        env["wsgi.input"] = INPUTS[name](BODY)
        return _outcome(app, cls, env, audit_events, parser=parser)

    assert run(Request) == run(_GeneralRequest)


def test_the_fast_read_is_taken_and_the_general_one_is_not(app: Flask) -> None:
    # Otherwise the comparisons above would compare a path with itself.
    assert _PLAIN_FORM[Request] is True
    assert _PLAIN_FORM[_GeneralRequest] is False
    with app.app_context():
        req = Request(_environ(BODY, str(len(BODY))))
        req.form_data_parser_class = LimitedFormDataParser
        assert type(req.form) is ImmutableMultiDict
        # No stream made: only the fast read is recorded.
        assert "stream" not in req.__dict__ and "_hermetic_fast_read" in req.__dict__


def test_only_werkzeugs_parser_and_the_limited_one_are_fast() -> None:
    # Werkzeug's own parser (a plain app) parses as Werkzeug does, the
    # limited one with its limits first; a parser of the app's own keeps
    # Werkzeug's path; a subclass that only sets limits keeps the fast one.
    limits = type("Limits", (LimitedFormDataParser,), {"max_files": 2})
    assert FORM_PARSERS[FormDataParser] is urlencoded_form
    assert FORM_PARSERS[type("Mine", (FormDataParser,), {})] is None
    assert FORM_PARSERS[_OwnParser] is None
    assert FORM_PARSERS[limits] is FORM_PARSERS[LimitedFormDataParser] is not None
    assert FORM_PARSERS[LimitedFormDataParser] is not urlencoded_form


def test_a_plain_apps_form_takes_the_fast_read() -> None:
    app = Flask(__name__)
    with app.test_request_context(
        "/", method="POST", data={"title": "Groceries"}, content_type=URLENCODED
    ) as ctx:
        assert ctx.request.form_data_parser_class is FormDataParser
        assert ctx.request.form["title"] == "Groceries"
        assert "_hermetic_fast_read" in ctx.request.__dict__


class _NoClassIsOurs(dict[type, bool]):
    def __missing__(self, cls: type) -> bool:
        return False


@pytest.mark.parametrize("short", [True, False], ids=["short-way", "switched-off"])
def test_a_browsers_form_type_is_read_from_the_environ(
    short: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plain app (no CSRF check read it before): the exact form type is
    # kept as Werkzeug keeps it, without the headers; switched off, the
    # request's mimetype (Werkzeug's, through the headers) is asked.
    if not short:
        monkeypatch.setattr(_body, "_CONTENT_TYPE_AS_WERKZEUG", _NoClassIsOurs())
    app = Flask(__name__)
    with app.app_context():
        req = Request(_environ(BODY, str(len(BODY))))
        assert req.form["title"] == "Groceries"
        assert "_hermetic_fast_read" in req.__dict__
        assert ("headers" not in req.__dict__) is short
        assert req.__dict__["_parsed_content_type"] == (URLENCODED, {})


def test_no_app_context_takes_werkzeugs_path() -> None:
    req = Request(_environ(BODY, str(len(BODY))))
    req.form_data_parser_class = LimitedFormDataParser
    assert req.form["title"] == "Groceries"
    assert "stream" in req.__dict__
