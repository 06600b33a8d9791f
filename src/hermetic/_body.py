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

import typing as t
from io import BytesIO
from urllib.parse import parse_qsl

from werkzeug.exceptions import ClientDisconnected
from werkzeug.formparser import FormDataParser
from werkzeug.wsgi import LimitedStream

from ._guarded_input import _NOT_THE_CLIENTS, _GuardedInput
from ._guarded_input import BodyReadError as BodyReadError
from ._guarded_input import guard_input as guard_input
from .globals import _cv_app

#: Streams whose read() gives bytes, always (the others may break PEP 3333).
_BYTES_READERS = frozenset({BytesIO})

_new = object.__new__

#: The request attribute recording a fast read: (guarded input, Content-Length, bytes read).
FAST_READ = "_hermetic_fast_read"

#: Content-Length values taken by the fast read and the input limits shield
#: (1 to 18 ASCII digits), as their ints: bodies come in few sizes. Bounded:
#: a value not kept is parsed.
_LENGTHS: dict[str, int] = {}
_LENGTHS_MAX = 1024


def read_body_fast(request: t.Any) -> bytes | None:
    """Read the whole body for ``get_data``, or return ``None`` to use Werkzeug's path.

    The common first read -- a plain ``Content-Length`` within
    ``max_content_length``, no ``Transfer-Encoding``, a server that does not
    terminate the input itself (else :func:`_read_terminated`), the stream
    not yet made -- fills one buffer
    of that length from the guarded input, as the
    :class:`~werkzeug.wsgi.LimitedStream` of ``request.stream`` would, without
    the general 64 KiB read loop. That stream is made only when asked for
    (:func:`stream_after_fast_read`): most requests never ask, and making and
    freeing an ``io`` object is a good part of a small body's cost.
    tests/test_body_fast_read.py compares the two paths.
    """
    d = request.__dict__
    if "_cached_data" in d or "stream" in d or FAST_READ in d or request.shallow:
        return None
    environ = request.environ
    if "wsgi.input_terminated" in environ:
        return _read_terminated(request, environ)
    length = environ.get("CONTENT_LENGTH")
    n = _LENGTHS.get(length) if type(length) is str else None
    if n is None:
        if (
            type(length) is not str
            or not 0 < len(length) < 19
            or not length.isascii()
            or not length.isdigit()
        ):
            return None
        n = int(length)
        if len(_LENGTHS) < _LENGTHS_MAX:
            _LENGTHS[length] = n
    raw = environ.get("wsgi.input")
    if raw is None or environ.get("HTTP_TRANSFER_ENCODING") is not None:
        return None
    limit = request.max_content_length
    if n == 0 or (limit is not None and n > limit):
        return None
    if type(raw) is _GuardedInput:
        guarded = raw
        raw = guarded._stream
    else:  # guard_input(environ), inline
        guarded = _new(_GuardedInput)
        guarded._stream = raw
        guarded._failed = False
        environ["wsgi.input"] = guarded
    got = 0
    try:
        read_first = type(raw) is BytesIO or not hasattr(raw, "readinto")
        if read_first:
            # read(n) gives what LimitedStream's readinto would put in a
            # buffer of n bytes; usually all of it at once, with no copy.
            try:
                first = raw.read(n)  # the guard's read, inline
            except _NOT_THE_CLIENTS:
                raise
            except Exception as e:
                _disconnected(guarded, e)
            if type(first) is bytes and len(first) == n:
                got = n
                return first
        buffer = bytearray(n)
        with memoryview(buffer) as view:
            if read_first:
                got = _copy_into(view, first)
            while got < n:
                got += _read_into(guarded, view[got:])
    finally:
        # What request.stream needs to be where its own reads would have left it.
        d[FAST_READ] = (guarded, n, got)
    return bytes(buffer)


#: The url-encoded form's media type, as ``request.mimetype`` gives it.
_URLENCODED = "application/x-www-form-urlencoded"


class _ContentTypeAsWerkzeug(dict[type, bool]):
    """Per request class: does ``mimetype`` parse the environ's ``CONTENT_TYPE``
    as hermetic's :class:`~hermetic.wrappers.Request` does (Werkzeug's code)?"""

    def __missing__(self, cls: type) -> bool:
        from .wrappers import Request  # wrappers imports this module

        plain = (
            getattr(cls, "mimetype", None) is Request.mimetype
            and getattr(cls, "_parse_content_type", None) is Request._parse_content_type
            and getattr(cls, "headers", None) is Request.__dict__["headers"]
            and not hasattr(cls, "_parsed_content_type")
            # Werkzeug asks hasattr(request, "_parsed_content_type"): no hook may answer.
            and not hasattr(cls, "__getattr__")
            and getattr(cls, "__getattribute__", None) is object.__getattribute__
        )
        self[cls] = plain
        return plain


_CONTENT_TYPE_AS_WERKZEUG = _ContentTypeAsWerkzeug()


def urlencoded_exactly(request: t.Any, environ: t.Mapping[str, t.Any]) -> bool:
    """Tell whether the request sends a browser's form type, exactly, keeping
    ``request.mimetype``'s answer where Werkzeug keeps it; ``False`` when
    only ``request.mimetype`` can tell.

    A browser's form says exactly ``application/x-www-form-urlencoded``:
    for a request class reading its content type as Werkzeug does, from the
    environ (its headers not yet made, so not replaced), Werkzeug's
    ``parse_options_header`` gives that value and no parameters. That answer
    is kept as Werkzeug's own (``_parsed_content_type``), and ``mimetype``
    reads it from there: no headers object, no parse. The CSRF check
    (``_input_parsers.sends_form``) and :func:`read_form_fast` ask it;
    tests/security/test_csrf_content_type.py compares it with Werkzeug's way.
    """
    attrs = request.__dict__
    if (
        environ.get("CONTENT_TYPE") == _URLENCODED
        and "_parsed_content_type" not in attrs
        and "headers" not in attrs
        and _CONTENT_TYPE_AS_WERKZEUG[type(request)]
    ):
        attrs["_parsed_content_type"] = (_URLENCODED, {})
        return True
    return False


def urlencoded_form(data: bytes, parts: int | None, memory: int | None, cls: t.Any) -> t.Any:
    """Parse a url-encoded body into ``cls`` as Werkzeug's ``FormDataParser`` does.

    Werkzeug applies neither ``MAX_FORM_PARTS`` nor ``MAX_FORM_MEMORY_SIZE``
    to a url-encoded body (the input limits shield's parser does, first).
    A body that is not UTF-8 raises ``UnicodeDecodeError``, as Werkzeug's
    parse does before it is silenced.
    """
    text = data.decode()
    pairs = plain_form_pairs(text)
    if pairs is None:
        pairs = parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")
    return cls(pairs)


def plain_form_pairs(text: str) -> list[tuple[str, str]] | None:
    """``parse_qsl(text, keep_blank_values=True)``'s pairs when ``text`` has
    nothing to unquote, else ``None`` (then ``parse_qsl`` is asked).

    Without a ``%`` or a ``+``, unquoting leaves a name or value as it is,
    and what stays of ``parse_qsl`` is its split: on ``&`` only (not ``;``,
    since Python 3.10), empty pieces skipped, a piece cut at its first
    ``=``, and a piece without one the name of an empty value. Splitting
    here saves a small form's request the calls ``parse_qsl`` makes around
    its split (argument coercion, an unquote per name and value).
    tests/test_form_parse.py compares it with ``parse_qsl``.
    """
    if "%" in text or "+" in text:
        return None
    # partition gives (name, "=", value), or (name, "", "") without "=".
    return [piece.partition("=")[::2] for piece in text.split("&") if piece]


class _FormParsers(dict[type, t.Any]):
    """Per form parser class: its ``urlencoded_parser()`` (hermetic's limited
    parser has one), :func:`urlencoded_form` for Werkzeug's own parser (a plain
    app's), or ``None`` for another parser class: Werkzeug's path."""

    def __missing__(self, cls: type) -> t.Any:
        own = getattr(cls, "urlencoded_parser", None)
        if callable(own):
            parser = own()
        else:
            parser = urlencoded_form if cls is FormDataParser else None
        self[cls] = parser
        return parser


FORM_PARSERS = _FormParsers()


def read_form_fast(request: t.Any, parse: t.Callable[..., t.Any]) -> bool:
    """Parse a url-encoded form as Werkzeug's ``_load_form_data`` would; ``False``
    (nothing done) to leave it to Werkzeug's path.

    The request's class reads its body and form limits as
    :class:`~hermetic.wrappers.Request` does, and ``parse`` is its parser
    class's ``urlencoded_parser()``, or :func:`urlencoded_form` for
    Werkzeug's own parser (the caller checks both, through
    :data:`FORM_PARSERS`): then the body is read by
    :func:`read_body_fast` -- the read Werkzeug's bounded stream makes -- and
    parsed by that function, without the parser object, the stream and the
    content-type and length calls Werkzeug makes around the read.
    ``request.stream`` is made when asked for, where Werkzeug's would be.
    tests/test_form_fast_read.py compares the two paths.
    """
    d = request.__dict__
    environ = request.environ
    # Werkzeug parses a form only with a Content-Type (want_form_data_parsed).
    # A server-ended stream is read through the input limits shield's
    # MaxStream, which refuses a body over MAX_CONTENT_LENGTH: Werkzeug's path.
    if "form" in d or not environ.get("CONTENT_TYPE") or "wsgi.input_terminated" in environ:
        return False
    ctx = _cv_app.get(None)
    if ctx is None:
        return False
    # request.mimetype, from what it keeps when it was read before (the CSRF
    # check reads it), or from a browser form's exact Content-Type.
    parsed = d.get("_parsed_content_type")
    if parsed is not None:
        if parsed[0].lower() != _URLENCODED:
            return False
    elif not urlencoded_exactly(request, environ) and request.mimetype != _URLENCODED:
        return False
    # The limits make_form_data_parser reads first (Request's properties).
    parts = request._max_form_parts
    if parts is None:
        parts = ctx.app.config["MAX_FORM_PARTS"]
    memory = request._max_form_memory_size
    if memory is None:
        memory = ctx.app.config["MAX_FORM_MEMORY_SIZE"]
    # SECURITY: read_body_fast reads nothing for a Content-Length over
    # max_content_length (or none, or chunked): Werkzeug's path refuses those
    # with its 413, and the form limits are checked by ``parse`` as by the parser.
    data = read_body_fast(request)
    if data is None:
        return False
    cls = request.parameter_storage_class
    try:
        form = parse(data, parts, memory, cls)
    except ValueError:
        # Werkzeug's parser is silent: a body that is not UTF-8 is an empty form.
        form = cls()
    d["form"] = form
    d["files"] = cls()
    return True


def _read_terminated(request: t.Any, environ: t.Any) -> bytes | None:
    """Read a body whose stream the server ends itself (granian, gunicorn), or ``None``.

    Without ``max_content_length``, Werkzeug's ``request.stream`` is then the
    (guarded) input itself, read to its end whatever the headers say; with
    a limit it is a bounded stream (or the input limits shield's): Werkzeug's
    path.
    """
    if environ.get("wsgi.input") is None or request.max_content_length is not None:
        return None
    stream = request.__dict__["stream"] = guard_input(environ)
    if type(stream._stream) not in _BYTES_READERS:
        # A server's own stream could answer None or text: Werkzeug's
        # get_data reads it (once) from the stream set here.
        return None
    return stream.read()  # type: ignore[no-any-return]  # the guarded input returns bytes


def stream_after_fast_read(request: t.Any) -> t.IO[bytes] | None:
    """Return ``request.stream`` as Werkzeug's reads would have left it, after a fast read.

    ``None`` when :func:`read_body_fast` did not read this request's body.
    """
    done = request.__dict__.pop(FAST_READ, None)
    if done is None:
        return None
    guarded, length, position = done
    stream = LimitedStream(guarded, length)
    stream._pos = position
    # Werkzeug's request.stream is typed IO[bytes]; its LimitedStream is a RawIOBase.
    return t.cast(t.IO[bytes], stream)


def _disconnected(guarded: _GuardedInput, error: Exception) -> t.NoReturn:
    """Fail a read as the guard (logged once, :class:`BodyReadError`) seen through
    Werkzeug's ``LimitedStream`` (:class:`ClientDisconnected`, the guard's error as
    its context) would."""
    try:
        guarded._fail(error)
    except BodyReadError:
        raise ClientDisconnected()  # the guard's error stays its context, as in Werkzeug


def _copy_into(view: memoryview, data: t.Any) -> int:
    """Put a first read's ``data`` at the start of ``view`` as Werkzeug's readinto would.

    Werkzeug copies a read into the buffer, so a read longer than asked is a
    ``ValueError`` (a disconnect) and one that is not bytes a ``TypeError``.
    """
    try:
        view[: len(data)] = data
    except (OSError, ValueError):
        raise ClientDisconnected()  # the copy error stays its context, as in Werkzeug
    if not data:
        raise ClientDisconnected()
    return len(data)


def _read_into(guarded: _GuardedInput, view: memoryview) -> int:
    """One read as ``LimitedStream.readinto`` makes it when the buffer fits its limit.

    A read error (the guard's :class:`BodyReadError` included) or a read of
    no bytes is Werkzeug's :class:`~werkzeug.exceptions.ClientDisconnected`,
    raised while the error is handled, as Werkzeug raises it; the calls
    through Werkzeug's Python ``readinto`` are what this saves.
    """
    try:
        size = guarded.readinto(view)
    except (OSError, ValueError):
        raise ClientDisconnected()  # the read error stays its context, as in Werkzeug
    if not size:
        raise ClientDisconnected()
    return size
