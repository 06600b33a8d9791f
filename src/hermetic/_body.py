"""The request body as the app reads it: a server's read failure is a 400.

A WSGI server raises its own exceptions when a body cannot be read:
gunicorn's ``InvalidChunkSize`` and ``ChunkMissingTerminator`` (neither an
``OSError`` nor a ``ValueError``), ``NoMoreData`` for a truncated body,
Werkzeug's dev server an ``OSError`` for a bad chunk header. Werkzeug turns
only ``OSError``/``ValueError`` into a 400, and only when it wraps the stream
itself (a ``Content-Length`` or a ``MAX_CONTENT_LENGTH``); everything else
reached the app's error handling as a 500 with a traceback in the log.

:func:`guard_input` wraps ``environ["wsgi.input"]`` once, the first time the
request reads its body (``request.stream``, ``request.input_stream``, and
through them ``form``, ``files``, ``data``, ``get_data`` and ``get_json``),
so every read failure becomes :class:`BodyReadError`: a 400 answered
through the app's error handlers, and one line on the app's logger.
"""

from __future__ import annotations

import logging
import typing as t

from werkzeug.exceptions import ClientDisconnected, HTTPException
from werkzeug.wsgi import LimitedStream

from .globals import _cv_app

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIEnvironment

# Errors of the app's own code (a wrong argument to ``read``, say) or of the
# process, never of the client's bytes: they keep their class and traceback.
_NOT_THE_CLIENTS = (HTTPException, TypeError, AttributeError, MemoryError, RecursionError)


class BodyReadError(ClientDisconnected, OSError):
    """The request body could not be read (malformed, truncated): 400.

    Also an :class:`OSError`, the error Werkzeug documents for a failed read
    of the input stream, so code that handles a client disconnect (``except
    OSError``) handles this too. The server's exception is the ``__cause__``.
    """

    description = "The request body could not be read: it is malformed or incomplete."


class _GuardedInput:
    """A WSGI input stream whose read failures raise :class:`BodyReadError`."""

    __slots__ = ("_failed", "_stream")

    def __init__(self, stream: t.Any) -> None:
        self._stream = stream
        self._failed = False

    def _fail(self, error: Exception) -> t.NoReturn:
        if not self._failed:
            self._failed = True
            _log(error)
        raise BodyReadError() from error

    def read(self, *args: t.Any) -> bytes:
        try:
            return self._stream.read(*args)  # type: ignore[no-any-return]  # the wrapped stream is untyped
        except _NOT_THE_CLIENTS:
            raise
        except Exception as e:
            self._fail(e)

    def readline(self, *args: t.Any) -> bytes:
        try:
            return self._stream.readline(*args)  # type: ignore[no-any-return]  # the wrapped stream is untyped
        except _NOT_THE_CLIENTS:
            raise
        except Exception as e:
            self._fail(e)

    def readlines(self, *args: t.Any) -> list[bytes]:
        try:
            return self._stream.readlines(*args)  # type: ignore[no-any-return]  # the wrapped stream is untyped
        except _NOT_THE_CLIENTS:
            raise
        except Exception as e:
            self._fail(e)

    def readinto(self, buffer: t.Any) -> int | None:
        stream = self._stream
        try:
            if hasattr(stream, "readinto"):
                return stream.readinto(buffer)  # type: ignore[no-any-return]  # the wrapped stream is untyped
            data = stream.read(len(buffer))
        except _NOT_THE_CLIENTS:
            raise
        except Exception as e:
            self._fail(e)
        buffer[: len(data)] = data
        return len(data)

    def __iter__(self) -> t.Iterator[bytes]:
        while True:
            line = self.readline()
            if not line:
                return
            yield line

    def __getattr__(self, name: str) -> t.Any:
        # close(), fileno(), a server's own extras: the stream's, unguarded.
        return getattr(self._stream, name)


def _log(error: Exception) -> None:
    """Log one line (no traceback, nothing the client sent) for a failed body read."""
    ctx = _cv_app.get(None)
    logger = ctx.app.logger if ctx is not None else logging.getLogger("hermetic")
    kind = type(error)
    logger.warning(
        "The request body could not be read (%s.%s); answered 400 Bad Request.",
        kind.__module__,
        kind.__qualname__,
    )


def guard_input(environ: WSGIEnvironment) -> t.Any:
    """Wrap ``environ["wsgi.input"]`` (once) so read failures are a 400; return it."""
    stream = environ.get("wsgi.input")
    if stream is None or type(stream) is _GuardedInput:
        return stream
    guarded = environ["wsgi.input"] = _GuardedInput(stream)
    return guarded


def read_body_fast(request: t.Any) -> bytes | None:
    """Read the whole body for ``get_data``, or return ``None`` to use Werkzeug's path.

    The common first read -- a plain ``Content-Length`` within
    ``max_content_length``, no ``Transfer-Encoding``, a server that does not
    terminate the input itself, the stream not yet made -- builds the same
    :class:`~werkzeug.wsgi.LimitedStream` that ``request.stream`` would (over
    the guarded input, so the input-limit guard and read errors are
    Werkzeug's) and fills one buffer of that length through it, without the
    general 64 KiB read loop. tests/test_body_fast_read.py compares the two.
    """
    d = request.__dict__
    if "_cached_data" in d or "stream" in d or request.shallow:
        return None
    environ = request.environ
    length = environ.get("CONTENT_LENGTH")
    if (
        type(length) is not str
        or not 0 < len(length) < 19
        or not length.isascii()
        or not length.isdigit()
        or environ.get("HTTP_TRANSFER_ENCODING") is not None
        or "wsgi.input_terminated" in environ
        or environ.get("wsgi.input") is None
    ):
        return None
    n = int(length)
    limit = request.max_content_length
    if n == 0 or (limit is not None and n > limit):
        return None
    stream = d["stream"] = LimitedStream(guard_input(environ), n)
    buffer = bytearray(n)
    with memoryview(buffer) as view:
        got = 0
        while got < n:
            # A zero-byte or failed read raises ClientDisconnected, as in readall().
            got += stream.readinto(view[got:]) or 0  # type: ignore[arg-type]  # Werkzeug types the buffer as bytearray
    return bytes(buffer)
