"""Request.get_data's fast first read against Werkzeug's general path.

The fast path must give the same bytes, the same error class and status,
leave the same bytes unread in ``wsgi.input`` and leave ``request.stream``
in the same state, for every shape of body the input-limit guard sees.
"""

from __future__ import annotations

import io
import typing as t

import pytest
from werkzeug.test import create_environ
from werkzeug.utils import cached_property

from hermetic import Flask
from hermetic.wrappers import _FAST_BODY, Request


class _GeneralRequest(Request):
    """The same request class with the fast read off (it defines its own stream)."""

    @cached_property
    def stream(self) -> t.IO[bytes]:
        return Request.stream.fget(self)  # type: ignore[attr-defined, no-any-return]


class _FailingInput(io.RawIOBase):
    """A server stream that fails as gunicorn's does on a bad chunk."""

    def readable(self) -> bool:
        return True

    def readinto(self, b: t.Any) -> int:
        raise RuntimeError("InvalidChunkSize")


def _environ(body: bytes | None, length: str | None, **extra: t.Any) -> dict[str, t.Any]:
    env = create_environ("/", method="POST", content_type="application/json")
    env.pop("CONTENT_LENGTH", None)
    env["wsgi.input"] = io.BytesIO(body) if body is not None else _FailingInput()
    if length is not None:
        env["CONTENT_LENGTH"] = length
    env.update(extra)
    return env


def _outcome(
    cls: type[Request], env: dict[str, t.Any], limit: int | None, **kw: t.Any
) -> tuple[t.Any, ...]:
    original = env["wsgi.input"]
    req = cls(env)
    if limit is not None:
        req.max_content_length = limit
    try:
        got: t.Any = req.get_data(**kw)
    except Exception as e:
        got = (type(e).__name__, getattr(e, "code", None))
    try:
        after: t.Any = req.stream.read()
    except Exception as e:
        after = type(e).__name__
    rest = original.read() if isinstance(original, io.BytesIO) else None
    return got, after, rest, req.get_data() if not isinstance(got, tuple) else None


BODY = b'{"name": "widget", "price": 3}'

CASES = [
    pytest.param(BODY, str(len(BODY)), {}, None, id="exact"),
    pytest.param(BODY + b"EXTRA", str(len(BODY)), {}, None, id="longer-than-length"),
    pytest.param(BODY[:5], str(len(BODY)), {}, None, id="shorter-than-length"),
    pytest.param(BODY, None, {}, None, id="no-length"),
    pytest.param(BODY, str(len(BODY)), {"HTTP_TRANSFER_ENCODING": "chunked"}, None, id="chunked"),
    pytest.param(BODY, str(len(BODY)), {}, 10, id="over-max"),
    pytest.param(BODY, str(len(BODY)), {}, len(BODY), id="at-max"),
    pytest.param(BODY, "0", {}, None, id="zero"),
    pytest.param(BODY, "-5", {}, None, id="negative"),
    pytest.param(BODY, " 30", {}, None, id="space"),
    pytest.param(BODY, "+30", {}, None, id="plus"),
    pytest.param(BODY, "3O", {}, None, id="not-a-number"),
    pytest.param(BODY, "\u0663\u0660", {}, None, id="non-ascii-digits"),
    pytest.param(BODY, "9" * 30, {}, 1000, id="huge-length"),
    pytest.param(BODY, str(len(BODY)), {"wsgi.input_terminated": True}, None, id="terminated"),
    pytest.param(BODY, str(len(BODY)), {"wsgi.input_terminated": True}, 10, id="terminated-max"),
    pytest.param(None, "30", {}, None, id="server-error"),
]


@pytest.mark.parametrize(("body", "length", "extra", "limit"), CASES)
@pytest.mark.parametrize(
    "kw", [{}, {"cache": False}, {"as_text": True}, {"parse_form_data": True}], ids=str
)
def test_fast_read_matches_general(
    body: bytes | None, length: str | None, extra: dict[str, t.Any], limit: int | None, kw: t.Any
) -> None:
    fast = _outcome(Request, _environ(body, length, **extra), limit, **kw)
    general = _outcome(_GeneralRequest, _environ(body, length, **extra), limit, **kw)
    assert fast == general


def test_general_class_really_takes_the_general_path() -> None:
    # Otherwise the comparison above would compare the fast path with itself.
    assert _FAST_BODY[Request] is True
    assert _FAST_BODY[_GeneralRequest] is False


def test_short_body_is_a_400_not_a_hang_or_500() -> None:
    app = Flask(__name__)

    @app.post("/")
    def view() -> bytes:
        from hermetic import request

        return request.get_data()

    env = _environ(BODY[:5], str(len(BODY)))
    status: list[str] = []
    app(env, lambda s, h, e=None: status.append(s))
    assert status[0].startswith("400")


def test_app_limit_applies_to_fast_read() -> None:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 8

    @app.post("/")
    def view() -> bytes:
        from hermetic import request

        return request.get_data()

    status: list[str] = []
    app(_environ(BODY, str(len(BODY))), lambda s, h, e=None: status.append(s))
    assert status[0].startswith("413")
    ok: list[str] = []
    body = app(_environ(b"12345678", "8"), lambda s, h, e=None: ok.append(s))
    assert ok[0].startswith("200") and b"".join(body) == b"12345678"
