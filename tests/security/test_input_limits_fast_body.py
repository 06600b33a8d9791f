"""The input limits shield's short way for the usual body, against its general path.

A request with a ``Content-Length`` of digits seen before, no
``Transfer-Encoding``, a stream the server does not end itself and
hermetic's own request class is checked in ``before`` alone; everything
else goes through ``_check_body``. Both must refuse the same requests with
the same error and audit event, and leave the request set up the same way.
"""

from __future__ import annotations

import itertools
import typing as t

import pytest
from werkzeug.test import EnvironBuilder

from hermetic import Flask
from hermetic.security import input_limits
from hermetic.security.errors import SecurityError
from hermetic.security.input_limits import InputLimitsShield
from hermetic.wrappers import Request

LIMIT = 64


class _OwnLimit(Request):
    @property
    def max_content_length(self) -> int | None:
        return 5

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        raise AssertionError("not set here")


class _OwnJSONErrors(Request):
    def on_json_loading_failed(self, e: ValueError | None) -> t.Any:
        raise ValueError("own handling")


class _Subclass(Request):
    pass


LENGTHS = [None, "", "0", "00", "5", "0005", "64", "65", "99999", "9" * 18, "9" * 19]
LENGTHS += ["-1", " 5", "5 ", "+5", "1e3", "5_0", "\u0665", "\uff15", "0x10"]
ENCODINGS = [None, "chunked", "gzip, chunked", "identity", ""]
CLASSES = [Request, _Subclass, _OwnLimit, _OwnJSONErrors]


def _app() -> tuple[Flask, InputLimitsShield]:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = LIMIT
    shield = InputLimitsShield()
    shield.init_app(app)
    shield.configure(app)
    return app, shield


def _environ(length: str | None, encoding: str | None, terminated: bool) -> dict[str, t.Any]:
    environ = EnvironBuilder(method="POST", path="/notes", data=b"").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    if length is not None:
        environ["CONTENT_LENGTH"] = length
    if encoding is not None:
        environ["HTTP_TRANSFER_ENCODING"] = encoding
    if terminated:
        environ["wsgi.input_terminated"] = True
    return environ


def _outcome(
    app: Flask,
    shield: InputLimitsShield,
    request_class: type[Request],
    environ: dict[str, t.Any],
    own_limit: int | None,
    events: t.Any,
) -> tuple[t.Any, ...]:
    request = request_class(dict(environ))
    if own_limit is not None:
        request.max_content_length = own_limit
    events.clear()
    with app.app_context():
        try:
            shield.before(request)
            error = None
        except SecurityError as e:
            error = (type(e), e.code, e.reason, e.context, e.description)
    attrs = request.__dict__
    return (
        error,
        [(e["reason"], e["limit"], e["max"]) for e in events("limit")],
        attrs.get("form_data_parser_class"),
        attrs.get("json_module"),
        attrs.get("_terminated_stream_factory"),
        "on_json_loading_failed" in attrs,
    )


@pytest.fixture
def limit_events(audit_events: t.Any, caplog: pytest.LogCaptureFixture) -> t.Any:
    """``audit_events`` with a ``clear()``: each case reads only its own events."""

    class Events:
        def __call__(self, kind: str) -> t.Any:
            return audit_events(kind)

        def clear(self) -> None:
            caplog.clear()

    return Events()


class _NoneOurs(dict[type, bool]):
    def __missing__(self, cls: type) -> bool:
        return False


def test_the_short_way_answers_as_the_general_path(
    monkeypatch: pytest.MonkeyPatch, limit_events: t.Any
) -> None:
    app, shield = _app()
    cases = list(itertools.product(CLASSES, LENGTHS, ENCODINGS, (False, True), (None, 3, 100)))
    for request_class, length, encoding, terminated, own_limit in cases:
        if request_class is _OwnLimit and own_limit is not None:
            continue  # its limit cannot be set
        environ = _environ(length, encoding, terminated)
        with monkeypatch.context() as m:
            m.setattr(input_limits, "_REQUEST_CLASSES_AS_OURS", _NoneOurs())
            general = _outcome(app, shield, request_class, environ, own_limit, limit_events)
        # Twice: the length may be new, then seen before.
        for _ in range(2):
            fast = _outcome(app, shield, request_class, environ, own_limit, limit_events)
            assert fast == general, (request_class, length, encoding, terminated, own_limit)


def test_the_usual_body_takes_the_short_way(
    monkeypatch: pytest.MonkeyPatch, limit_events: t.Any
) -> None:
    app, shield = _app()
    fits, too_long = _environ("12", None, False), _environ(str(LIMIT + 1), None, False)
    for environ in (fits, too_long):  # each length seen once
        _outcome(app, shield, Request, environ, None, limit_events)

    def general(*args: t.Any) -> None:
        raise AssertionError("the general path was taken")

    monkeypatch.setattr(InputLimitsShield, "_check_body", general)
    assert _outcome(app, shield, Request, fits, None, limit_events)[:4] == (
        None,
        [],
        shield._parser_class,
        shield._json,
    )
    refused = _outcome(app, shield, Request, too_long, None, limit_events)
    assert refused[0][1:4] == (413, "body_too_large", {"limit": "MAX_CONTENT_LENGTH"})
    assert refused[1] == [("body_too_large", "MAX_CONTENT_LENGTH", LIMIT)]


def test_the_lengths_kept_are_bounded(limit_events: t.Any) -> None:
    app, shield = _app()
    for n in range(input_limits._LENGTHS_MAX + 10):
        _outcome(app, shield, Request, _environ(str(n), None, False), None, limit_events)
    assert len(input_limits._LENGTHS) <= input_limits._LENGTHS_MAX


@pytest.mark.parametrize("request_class", CLASSES)
def test_which_request_classes_are_ours(request_class: type[Request]) -> None:
    expected = request_class in (Request, _Subclass)
    assert input_limits._REQUEST_CLASSES_AS_OURS[request_class] is expected
