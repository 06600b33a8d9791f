"""The WSGI input stream, guarded: a failed read of the client's body is a 400.

Every read of a request body goes through :class:`_GuardedInput`
(:func:`guard_input` installs it in the environ once): the server's error
becomes :class:`BodyReadError`, logged once without what the client sent,
and a stream's ``readinto`` is held to the buffer it was given.
"""

from __future__ import annotations

import logging
import typing as t
from io import RawIOBase

from werkzeug.exceptions import ClientDisconnected, HTTPException

from .globals import _cv_app

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["BodyReadError", "guard_input"]

_new = object.__new__
#: io.RawIOBase's read, which trusts its readinto's count (see _GuardedInput.read).
_RAW_READ = RawIOBase.read
#: The size of each read of a body read whole through readinto.
_CHUNK = 64 * 1024

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
        stream = self._stream
        if type(stream).read is _RAW_READ:
            return self._read_through(*args)  # type: ignore[no-any-return]  # bytes, or None as RawIOBase answers
        try:
            return stream.read(*args)  # type: ignore[no-any-return]  # the wrapped stream is untyped
        except _NOT_THE_CLIENTS:
            raise
        except Exception as e:
            self._fail(e)

    def readall(self) -> bytes:
        return self.read()

    def _read_through(self, size: int | None = -1) -> t.Any:
        # SECURITY: io.RawIOBase's own read (Werkzeug's DechunkedInput, the
        # development server's chunked input, inherits it) trusts the count its
        # readinto returns and, on Python 3.11, copies that many bytes from its
        # buffer even past its end (python/cpython#140607); DechunkedInput can
        # shrink the buffer on a short read and still count the bytes it asked
        # for. Read through the guarded readinto instead, which checks.
        if size is None or size < 0:
            out = bytearray()
            while chunk := self._read_through(_CHUNK):
                out += chunk
            return bytes(out)
        buffer = bytearray(size)
        got = self.readinto(buffer)
        if got is None:
            return None  # a non-blocking stream with nothing yet, as RawIOBase answers
        del buffer[got:]
        return bytes(buffer)

    def readline(self, *args: t.Any) -> bytes:
        stream = self._stream
        if type(stream).read is _RAW_READ:
            # (IOBase's readline reads through the stream's unchecked read.)
            limit = args[0] if args and args[0] is not None and args[0] >= 0 else -1
            line = bytearray()
            while limit < 0 or len(line) < limit:
                byte = self._read_through(1)
                if not byte:
                    break
                line += byte
                if byte == b"\n":
                    break
            return bytes(line)
        try:
            return stream.readline(*args)  # type: ignore[no-any-return]  # the wrapped stream is untyped
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
                # SECURITY: a view, which the stream's readinto cannot resize,
                # and a count within it: callers (io.RawIOBase.read, Werkzeug's
                # LimitedStream) copy as many bytes as this returns.
                view = memoryview(buffer)
                got = stream.readinto(view)
                if got is not None and not 0 <= got <= view.nbytes:
                    raise ValueError(f"readinto gave {got!r} for {view.nbytes} bytes")
                return got  # type: ignore[no-any-return]  # the wrapped stream is untyped
            data = stream.read(len(buffer))
            if len(data) > len(buffer):
                raise ValueError(f"read({len(buffer)}) gave {len(data)} bytes")
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
    # _GuardedInput(stream), without its __init__ frame (every body read comes here).
    guarded = _new(_GuardedInput)
    guarded._stream = stream
    guarded._failed = False
    environ["wsgi.input"] = guarded
    return guarded
