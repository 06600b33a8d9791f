"""A body the server cannot read is the client's error: a 400, one log line.

The input streams here raise what a WSGI server raises for a malformed or
truncated body (gunicorn's ``InvalidChunkSize`` is neither an ``OSError``
nor a ``ValueError``), through every way a view reads the body, on a plain
``Flask`` app, one with the input-limits shield, and ``Hermetic``.
"""

from __future__ import annotations

import io
import logging

import pytest
from werkzeug.exceptions import BadRequest, ClientDisconnected
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from hermetic import Flask, Hermetic, request
from hermetic._body import BodyReadError
from hermetic.security.input_limits import InputLimitsShield

STRONG_KEY = "b0dy-k3y-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG"
SECRET_BYTES = b"client-secret-bytes"


class InvalidChunkSize(Exception):
    """A server's own exception class, like gunicorn's: not OSError, not ValueError."""


class BrokenInput:
    """A server's input stream: ``good`` bytes, then ``error`` on the next read."""

    def __init__(self, good: bytes = b"", error: type[BaseException] = InvalidChunkSize):
        self._good = io.BytesIO(good)
        self._error = error
        self.reads = 0

    def _fail(self) -> None:
        raise self._error("invalid chunk size: " + SECRET_BYTES.decode())

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        if size is None or size < 0:
            self._fail()  # the rest of the body includes the bad chunk
        data = self._good.read(size)
        if not data:
            self._fail()
        return data

    def readline(self, size: int | None = -1) -> bytes:
        self.reads += 1
        data = self._good.readline(size)
        if not data.endswith(b"\n") and (size is None or size < 0 or len(data) < size):
            self._fail()  # the line runs into the bad chunk
        return data

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines = []
        while line := self.readline():
            lines.append(line)
        return lines


class BrokenBufferedInput(BrokenInput):
    """The same, with ``readinto`` (as file-like servers provide)."""

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


READERS = {
    "form": lambda: len(request.form),
    "files": lambda: len(request.files),
    "get_json": lambda: request.get_json(),
    "get_json_silent": lambda: request.get_json(silent=True),
    "get_json_force": lambda: request.get_json(force=True),
    "get_data": lambda: len(request.get_data()),
    "data": lambda: len(request.data),
    "values": lambda: len(request.values),
    "stream": lambda: len(request.stream.read()),
    "stream_lines": lambda: sum(1 for _ in request.stream),
    "input_stream": lambda: len(request.input_stream.read()),
    "input_stream_readline": lambda: len(request.input_stream.readline()),
    "input_stream_readlines": lambda: len(request.input_stream.readlines()),
    "input_stream_lines": lambda: sum(1 for _ in request.input_stream),
    "input_stream_readinto": lambda: read_into_until_the_end(request.input_stream),
}


def read_into_until_the_end(stream) -> int:
    total, buffer = 0, bytearray(16)
    while n := stream.readinto(buffer):
        total += n
    return total


CONTENT_TYPES = {
    "form": "application/x-www-form-urlencoded",
    "files": "multipart/form-data; boundary=b",
    "values": "application/x-www-form-urlencoded",
}


def make_app(kind: str, **config) -> Flask:
    app = Hermetic(__name__) if kind == "Hermetic" else Flask(__name__)
    app.config.update(SECRET_KEY=STRONG_KEY, PROPAGATE_EXCEPTIONS=False, **config)
    if kind == "Flask+limits":
        InputLimitsShield().init_app(app)
    for name, reader in READERS.items():
        app.add_url_rule(
            f"/{name}",
            name,
            lambda reader=reader: {"value": reader()},
            methods=["POST"],
        )
    return app


def environ_for(path: str, stream, *, framing: str, content_type: str | None = None):
    """A raw POST environ for ``path`` whose ``wsgi.input`` is ``stream``."""
    environ = EnvironBuilder(
        method="POST", path=path, content_type=content_type or "application/json"
    ).get_environ()
    environ["wsgi.input"] = stream
    environ.pop("CONTENT_LENGTH", None)
    if framing == "chunked":
        # The server ends the stream itself, as gunicorn and granian do.
        environ["wsgi.input_terminated"] = True
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    else:
        environ["CONTENT_LENGTH"] = "64"
    return environ


def body_log(caplog):
    return [r for r in caplog.records if "request body" in r.getMessage()]


@pytest.mark.parametrize("kind", ["Flask", "Flask+limits", "Hermetic"])
@pytest.mark.parametrize("framing", ["chunked", "content-length"])
@pytest.mark.parametrize("max_length", [None, 10_000])
@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("stream_class", [BrokenInput, BrokenBufferedInput])
def test_server_exception_while_reading_is_a_400(
    kind, framing, max_length, reader, stream_class, caplog
):
    """The attack: a body the server fails to parse. The defence: 400, one line."""
    app = make_app(kind, MAX_CONTENT_LENGTH=max_length)
    good = b"--b\r\nContent-Disposition: form-data" if reader == "files" else b"x=1&"
    stream = stream_class(good)
    environ = environ_for(
        f"/{reader}", stream, framing=framing, content_type=CONTENT_TYPES.get(reader)
    )
    response = Response.from_app(app, environ, buffered=True)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert stream.reads > 0  # the body was really read
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and SECRET_BYTES.decode() not in text
    lines = body_log(caplog)
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    (line,) = lines
    assert line.levelno == logging.WARNING
    assert line.exc_info is None
    assert "InvalidChunkSize" in line.getMessage()
    assert SECRET_BYTES.decode() not in line.getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("error", [OSError, ValueError, EOFError, RuntimeError, KeyError])
def test_any_read_failure_of_the_server_is_a_400(error, caplog):
    app = make_app("Flask")
    environ = environ_for("/get_data", BrokenInput(b"", error), framing="chunked")
    assert Response.from_app(app, environ, buffered=True).status_code == 400
    assert len(body_log(caplog)) == 1


def test_a_truncated_body_that_is_never_read_is_not_an_error(caplog):
    app = Flask(__name__)
    app.post("/")(lambda: "not reading")
    environ = environ_for("/", BrokenInput(), framing="chunked")
    response = Response.from_app(app, environ, buffered=True)
    assert response.status_code == 200
    assert body_log(caplog) == []


def test_the_error_is_a_client_disconnect_and_an_oserror_with_the_cause():
    app = make_app("Flask")
    seen = []

    @app.post("/catch")
    def catch():
        try:
            request.get_data()
        except OSError as e:
            seen.append(e)
            raise
        return "unreachable"

    Response.from_app(app, environ_for("/catch", BrokenInput(), framing="chunked"))
    (error,) = seen
    assert isinstance(error, BodyReadError)
    assert isinstance(error, ClientDisconnected) and isinstance(error, BadRequest)
    assert isinstance(error.__cause__, InvalidChunkSize)


def test_the_apps_400_handler_answers_it():
    app = make_app("Flask")

    @app.errorhandler(400)
    def bad_request(e):
        return f"handled {type(e).__name__}", 400

    response = Response.from_app(
        app,
        environ_for(
            "/form", BrokenInput(b"a=1"), framing="chunked", content_type=CONTENT_TYPES["form"]
        ),
        buffered=True,
    )
    assert response.status_code == 400
    assert response.get_data(as_text=True) == "handled BodyReadError"


def test_a_later_read_fails_again_without_a_second_log_line(caplog):
    app = Flask(__name__)
    outcomes = []

    @app.post("/twice")
    def twice():
        for _ in range(2):
            try:
                request.input_stream.read()
            except BodyReadError:
                outcomes.append("400")
        return "done"

    Response.from_app(app, environ_for("/twice", BrokenInput(), framing="chunked"))
    assert outcomes == ["400", "400"]
    assert len(body_log(caplog)) == 1


@pytest.mark.parametrize("error", [TypeError, AttributeError, MemoryError])
def test_errors_that_are_not_the_clients_keep_their_class(error, caplog):
    """A bug in the app or the process is not turned into a client error."""
    app = make_app("Flask")
    environ = environ_for("/get_data", BrokenInput(b"", error), framing="chunked")
    assert Response.from_app(app, environ, buffered=True).status_code == 500
    assert body_log(caplog) == []
    assert [r.exc_info[0] for r in caplog.records if r.exc_info] == [error]


def test_an_error_of_the_view_after_reading_is_still_a_500(caplog):
    app = Flask(__name__)

    @app.post("/broken")
    def broken():
        request.get_data()
        raise LookupError("a bug in the view")

    environ = environ_for("/broken", io.BytesIO(b"fine"), framing="chunked")
    assert Response.from_app(app, environ, buffered=True).status_code == 500
    # Only the view's bug is logged (with its traceback), not a body line.
    assert body_log(caplog) == []
    assert [r.exc_info[0] for r in caplog.records if r.exc_info] == [LookupError]


def test_a_good_body_reads_as_before():
    app = make_app("Hermetic")
    for framing in ("chunked", "content-length"):
        stream = io.BytesIO(b'{"a": [1, 2]}' + b" " * 51)
        environ = environ_for("/get_json", stream, framing=framing)
        response = Response.from_app(app, environ, buffered=True)
        assert response.status_code == 200
        assert response.json == {"value": {"a": [1, 2]}}


def test_the_stream_is_wrapped_once_and_only_when_read():
    app = Flask(__name__)
    seen = []

    @app.post("/")
    def view():
        seen.append(type(request.environ["wsgi.input"]).__name__)
        first = request.input_stream
        seen.append(request.get_data() == b"x" * 64)
        seen.append(request.environ["wsgi.input"] is first)
        seen.append(first.readable())  # other attributes pass through
        return ""

    environ = environ_for("/", io.BytesIO(b"x" * 64), framing="content-length")
    Response.from_app(app, environ, buffered=True)
    assert seen == ["BytesIO", True, True, True]
