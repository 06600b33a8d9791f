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
from werkzeug.wsgi import LimitedStream

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


class _ReadOnlyInput:
    """A server stream with ``read`` only (as gunicorn's and granian's), read in ``chunk``s.

    ``answer`` replaces what the first read returns (``None``, text, a
    bytearray); ``error`` is raised by the second read.
    """

    def __init__(
        self,
        data: bytes,
        chunk: int | None = None,
        answer: t.Any = ...,
        error: Exception | None = None,
    ) -> None:
        self._data = data
        self._chunk = chunk
        self._answer = answer
        self._error = error
        self._reads = 0

    def read(self, size: int = -1) -> t.Any:
        self._reads += 1
        if self._error is not None and self._reads > 1:
            raise self._error
        if self._answer is not ... and self._reads == 1:
            return self._answer
        if size < 0:
            size = len(self._data)
        if self._chunk is not None:
            size = min(size, self._chunk)
        out, self._data = self._data[:size], self._data[size:]
        return out

    def rest(self) -> bytes:
        return self._data


class _TrickleInput(io.RawIOBase):
    """A stream with ``readinto`` that fills at most ``chunk`` bytes per call."""

    def __init__(self, data: bytes, chunk: int) -> None:
        self._data = data
        self._chunk = chunk

    def readable(self) -> bool:
        return True

    def readinto(self, b: t.Any) -> int:
        size = min(len(b), self._chunk, len(self._data))
        b[:size] = self._data[:size]
        self._data = self._data[size:]
        return size

    def rest(self) -> bytes:
        return self._data


class _OwnBytesIO(io.BytesIO):
    """A BytesIO subclass: not trusted to read as BytesIO does (the buffer path)."""


#: Inputs by name, each a function of the body (so each request gets a fresh one).
INPUTS: dict[str, t.Callable[[bytes], t.Any]] = {
    "read-only": lambda b: _ReadOnlyInput(b),
    "read-only-3-bytes": lambda b: _ReadOnlyInput(b, chunk=3),
    "read-only-none": lambda b: _ReadOnlyInput(b, answer=None),
    "read-only-text": lambda b: _ReadOnlyInput(b, answer=b.decode()),
    "read-only-bytearray": lambda b: _ReadOnlyInput(b, answer=bytearray(b)),
    "read-only-empty": lambda b: _ReadOnlyInput(b, answer=b""),
    "read-only-oserror": lambda b: _ReadOnlyInput(b, chunk=4, error=OSError("reset")),
    "read-only-valueerror": lambda b: _ReadOnlyInput(b, chunk=4, error=ValueError("closed")),
    "read-only-server-error": lambda b: _ReadOnlyInput(b, chunk=4, error=RuntimeError("chunk")),
    "read-only-typeerror": lambda b: _ReadOnlyInput(b, chunk=4, error=TypeError("app bug")),
    "readinto-2-bytes": lambda b: _TrickleInput(b, 2),
    "bytesio-subclass": lambda b: _OwnBytesIO(b),
}


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
        got = (type(e).__name__, getattr(e, "code", None), repr(e.__context__))
    try:
        stream = req.stream
        state: t.Any = (type(stream), getattr(stream, "limit", None), getattr(stream, "_pos", None))
        after: t.Any = stream.read()
    except Exception as e:
        state = after = type(e).__name__
    if isinstance(original, io.BytesIO):
        rest: bytes | None = original.read()
    else:
        rest = original.rest() if hasattr(original, "rest") else None
    try:
        again: t.Any = req.get_data() if not isinstance(got, tuple) else None
    except Exception as e:
        again = type(e).__name__
    return got, state, after, rest, again


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
    pytest.param(BODY, None, {"wsgi.input_terminated": True}, None, id="terminated-no-length"),
    pytest.param(BODY, "5", {"wsgi.input_terminated": True}, None, id="terminated-length-short"),
    pytest.param(
        BODY,
        None,
        {"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"},
        None,
        id="terminated-chunked",
    ),
    pytest.param(None, "30", {"wsgi.input_terminated": True}, None, id="terminated-server-error"),
    pytest.param(
        BODY, str(len(BODY)), {"wsgi.input_terminated": True}, 1000, id="terminated-under-max"
    ),
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


@pytest.mark.parametrize("name", list(INPUTS))
@pytest.mark.parametrize("length", [str(len(BODY)), str(len(BODY) + 6)], ids=["exact", "short"])
@pytest.mark.parametrize("kw", [{}, {"cache": False}], ids=str)
@pytest.mark.parametrize("terminated", [False, True], ids=["", "terminated"])
def test_fast_read_matches_general_for_server_streams(
    name: str, length: str, kw: dict[str, t.Any], terminated: bool
) -> None:
    # Streams with read only take read(n) (no buffer) on the fast path;
    # streams with readinto other than BytesIO keep the buffer; a stream the
    # server ends is read to its end.
    def environ() -> dict[str, t.Any]:
        env = _environ(BODY, length)
        env["wsgi.input"] = INPUTS[name](BODY)
        if terminated:
            env["wsgi.input_terminated"] = True
        return env

    fast = _outcome(Request, environ(), None, **kw)
    general = _outcome(_GeneralRequest, environ(), None, **kw)
    assert fast == general


def test_stream_made_after_a_fast_read_is_werkzeugs() -> None:
    # The stream is made when first asked for; until then only the read is recorded.
    env = _environ(BODY, str(len(BODY)))
    req = Request(env)
    assert req.get_data() == BODY
    assert "stream" not in req.__dict__
    stream = req.stream
    assert type(stream) is LimitedStream
    assert stream.is_exhausted and stream.read() == b""
    assert req.stream is stream


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


def test_lengths_kept_stay_bounded_and_read_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    # Content-Length values are remembered as ints up to a bound; past it,
    # and for a value remembered, the read is the same as the general one.
    from hermetic import _body

    monkeypatch.setattr(_body, "_LENGTHS", {})
    monkeypatch.setattr(_body, "_LENGTHS_MAX", 4)
    for size in range(1, 9):
        data = b"x" * size
        for _ in range(2):
            fast = _outcome(Request, _environ(data, str(size)), None)
            general = _outcome(_GeneralRequest, _environ(data, str(size)), None)
            assert fast == general and fast[0] == data
    assert _body._LENGTHS == {"1": 1, "2": 2, "3": 3, "4": 4}


def test_a_length_that_is_a_str_subclass_takes_the_general_path() -> None:
    class Text(str):
        pass

    length = Text(str(len(BODY)))
    fast = _outcome(Request, _environ(BODY, length), None)
    general = _outcome(_GeneralRequest, _environ(BODY, length), None)
    assert fast == general
    req = Request(_environ(BODY, length))
    assert req.get_data() == BODY and "_hermetic_fast_read" not in req.__dict__
