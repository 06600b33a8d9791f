"""Input limits on every body type: size, form fields, files, JSON depth, URL.

Werkzeug 3.1 enforces ``MAX_CONTENT_LENGTH`` (also while streaming a body
without a ``Content-Length``, when the server marks the input terminated),
and ``MAX_FORM_PARTS`` / ``MAX_FORM_MEMORY_SIZE`` on *multipart* forms. This
shield closes the rest and makes every refusal a clear, audited 4xx:

- ``MAX_CONTENT_LENGTH`` -- the body, in bytes: 413. A ``Content-Length``
  over it is refused before the view runs; a streamed body when the read
  crosses it.
- ``MAX_FORM_PARTS`` -- fields of a form, url-encoded *and* multipart: 413.
- ``MAX_FORM_MEMORY_SIZE`` -- bytes of one non-file field (as sent, for
  url-encoded forms): 413.
- ``LIMITS_MAX_FILES`` -- files in one multipart body, default ``10``: 413.
- ``LIMITS_MAX_FILE_SIZE`` -- bytes of one uploaded file, default ``None``
  (only ``MAX_CONTENT_LENGTH`` bounds it): 413.
- ``LIMITS_JSON_MAX_DEPTH`` -- nesting of a JSON body, default ``32``: 400
  (``get_json(silent=True)`` returns ``None`` instead, like for bad JSON).
- ``LIMITS_MAX_QUERY_PARAMS`` -- query string parameters, default ``200``: 400.
- ``LIMITS_MAX_URL_LENGTH`` -- path plus query string, default ``8192``: 414.

A query string that is not UTF-8 is refused with a 400 (Werkzeug would fail
with a 500 when the view reads ``request.args``).

Forms and JSON are parsed lazily, when the view (or a later shield) first
reads them; the limits are installed on the request here and apply then.
A request without a body pays for two length checks. The ``LIMITS_*`` keys
are read at the first request; set them before it.
"""

from __future__ import annotations

import functools
import typing as t
from urllib.parse import parse_qsl

from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser, MultiPartParser
from werkzeug.wsgi import LimitedStream

from .._body import guard_input
from ..globals import _cv_app
from .audit import audit
from .errors import BadInput, PayloadTooLarge, SecurityError
from .shields import ORDER_BODY_LIMITS, Shield

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ..wrappers import Request

#: Refusal reasons (the ``reason`` of the error and of the audit event).
REASON_BODY = "body_too_large"
REASON_FIELDS = "too_many_fields"
REASON_FIELD_SIZE = "field_too_large"
REASON_FILES = "too_many_files"
REASON_FILE_SIZE = "file_too_large"
REASON_JSON_DEPTH = "json_too_deep"
REASON_QUERY = "too_many_query_params"
REASON_URL = "url_too_long"
REASON_QUERY_ENCODING = "query_not_utf8"

#: The defaults of the ``LIMITS_*`` keys, used when the config has none.
DEFAULTS: dict[str, int | None] = {
    "LIMITS_MAX_FILES": 10,
    "LIMITS_MAX_FILE_SIZE": None,
    "LIMITS_JSON_MAX_DEPTH": 32,
    "LIMITS_MAX_QUERY_PARAMS": 200,
    "LIMITS_MAX_URL_LENGTH": 8192,
}

_EXTENSION_KEY = "hermetic.limits"


class URLTooLong(SecurityError):
    """A URL longer than ``LIMITS_MAX_URL_LENGTH``: 414."""

    code = 414
    kind = "limit"
    reason = REASON_URL
    description = "The URL is longer than this server accepts."


class JSONTooDeep(BadInput, ValueError):
    """A JSON body nested deeper than ``LIMITS_JSON_MAX_DEPTH``: 400.

    Also a :class:`ValueError`, so ``get_json(silent=True)`` returns ``None``.
    """

    reason = REASON_JSON_DEPTH


def _reject(
    error: type[SecurityError], reason: str, limit: str, value: int | None, message: str
) -> t.NoReturn:
    """Audit the refusal once, then raise ``error``."""
    audit("limit", reason=reason, limit=limit, max=value)
    raise error(message, reason=reason, limit=limit)


def _too_large(reason: str, limit: str, value: int | None, what: str) -> t.NoReturn:
    _reject(PayloadTooLarge, reason, limit, value, f"{what} ({limit} is {value}).")


# -- bodies ---------------------------------------------------------------


class _MaxStream(LimitedStream):
    """A streamed body that refuses to be read past ``MAX_CONTENT_LENGTH``.

    Werkzeug's ``LimitedStream`` with ``is_max`` cuts a body read whole
    (``read()``) at the limit without an error, and refuses a later read
    even when the body ended exactly at the limit; this one looks one byte
    further in both cases.
    """

    def _check_more(self) -> None:
        # A failed read is the client's BodyReadError (a 400), not an end:
        # the stream is the guarded ``wsgi.input``.
        extra = self._stream.read(1)
        if extra:
            # SECURITY: fail closed; a truncated body must not be parsed.
            _too_large(
                REASON_BODY,
                "MAX_CONTENT_LENGTH",
                self.limit,
                "The request body is larger than this endpoint accepts",
            )

    def on_exhausted(self) -> None:
        self._check_more()

    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted:
            self._check_more()
        return data


# -- forms ----------------------------------------------------------------


class _MultiPartParser(MultiPartParser):
    """Werkzeug's multipart parser, counting files and their bytes."""

    max_files: int | None = None
    max_file_size: int | None = None

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.containers: list[t.IO[bytes]] = []

    def start_file_streaming(self, event: t.Any, total_content_length: int | None) -> t.IO[bytes]:
        if self.max_files is not None and len(self.containers) >= self.max_files:
            _too_large(
                REASON_FILES, "LIMITS_MAX_FILES", self.max_files, "The form has too many files"
            )
        container = super().start_file_streaming(event, total_content_length)
        self.containers.append(container)
        limit = self.max_file_size
        if limit is not None:
            write = container.write
            written = [0]

            def limited_write(data: bytes) -> int:
                written[0] += len(data)
                if written[0] > limit:
                    _too_large(
                        REASON_FILE_SIZE,
                        "LIMITS_MAX_FILE_SIZE",
                        limit,
                        "An uploaded file is larger than this endpoint accepts",
                    )
                return write(data)

            # The parser looks ``write`` up after this returns; shadowing it on
            # the instance keeps the container (and a custom stream factory's
            # type) what the app expects.
            container.write = limited_write  # type: ignore[method-assign]
        return container


class _FormDataParser(FormDataParser):
    """Werkzeug's form parser with limits on url-encoded forms and files."""

    max_files: int | None = None
    max_file_size: int | None = None

    def _parse_multipart(
        self,
        stream: t.IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str],
    ) -> tuple[t.IO[bytes], MultiDict[str, t.Any], MultiDict[str, FileStorage]]:
        memory = self.max_form_memory_size
        parser = _MultiPartParser(
            stream_factory=self.stream_factory,
            max_form_memory_size=memory,
            max_form_parts=self.max_form_parts,
            cls=self.cls,
            # Werkzeug checks one read chunk plus its carry-over against the
            # field limit; keep chunks well below it so files are not refused.
            buffer_size=min(64 * 1024, max(64, memory // 2)) if memory else 64 * 1024,
        )
        parser.max_files = self.max_files
        parser.max_file_size = self.max_file_size
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        try:
            form, files = parser.parse(stream, boundary, content_length)
        except BaseException as e:
            for container in parser.containers:
                container.close()
            if isinstance(e, RequestEntityTooLarge):
                self._explain(e)
            raise
        return stream, form, files

    def _explain(self, error: RequestEntityTooLarge) -> t.NoReturn:
        """Name the multipart limit Werkzeug's plain 413 came from."""
        tb = error.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        # Werkzeug counts parts in MultipartDecoder.next_event; every other
        # 413 of the parser is a field over MAX_FORM_MEMORY_SIZE.
        if tb is not None and tb.tb_frame.f_code.co_name == "next_event":
            _too_large(
                REASON_FIELDS, "MAX_FORM_PARTS", self.max_form_parts, "The form has too many fields"
            )
        _too_large(
            REASON_FIELD_SIZE,
            "MAX_FORM_MEMORY_SIZE",
            self.max_form_memory_size,
            "A form field is larger than this endpoint accepts",
        )

    def _parse_urlencoded(
        self,
        stream: t.IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str],
    ) -> tuple[t.IO[bytes], MultiDict[str, t.Any], MultiDict[str, FileStorage]]:
        # The stream is already bounded by MAX_CONTENT_LENGTH.
        data = stream.read()
        parts = self.max_form_parts
        if parts is not None and data.count(b"&") >= parts:
            if sum(1 for piece in data.split(b"&") if piece) > parts:
                _too_large(REASON_FIELDS, "MAX_FORM_PARTS", parts, "The form has too many fields")
        memory = self.max_form_memory_size
        if memory is not None and len(data) > memory:
            if any(len(piece) > memory for piece in data.split(b"&")):
                _too_large(
                    REASON_FIELD_SIZE,
                    "MAX_FORM_MEMORY_SIZE",
                    memory,
                    "A form field is larger than this endpoint accepts",
                )
        items = parse_qsl(data.decode(), keep_blank_values=True, errors="werkzeug.url_quote")
        return stream, self.cls(items), self.cls()


# -- JSON -----------------------------------------------------------------


def _too_deep(value: t.Any, limit: int) -> bool:
    """Tell whether ``value`` nests lists and dicts deeper than ``limit`` (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, (dict, list)):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


class _DepthLimitedJSON:
    """The request's ``json_module``: the app's JSON, refusing deep nesting."""

    __slots__ = ("inner", "max_depth")

    def __init__(self, inner: t.Any, max_depth: int | None) -> None:
        self.inner = inner
        self.max_depth = max_depth

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` with the app's JSON provider."""
        return self.inner.dumps(obj, **kwargs)  # type: ignore[no-any-return]

    def _refuse(self) -> t.NoReturn:
        _reject(
            JSONTooDeep,
            REASON_JSON_DEPTH,
            "LIMITS_JSON_MAX_DEPTH",
            self.max_depth,
            f"The JSON body is nested too deeply (LIMITS_JSON_MAX_DEPTH is {self.max_depth}).",
        )

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        """Parse ``s``; raise :class:`JSONTooDeep` when it nests too deeply."""
        try:
            value = self.inner.loads(s, **kwargs)
        except RecursionError:
            # SECURITY: the parser gave up on the nesting; never a 500.
            self._refuse()
        limit = self.max_depth
        if limit is not None and isinstance(value, (dict, list)):
            opened = s.count(b"[") + s.count(b"{") if isinstance(s, bytes) else None
            if opened is None:
                opened = s.count("[") + s.count("{")  # type: ignore[arg-type]
            # Fewer brackets than the limit cannot nest past it: skip the walk.
            if opened > limit and _too_deep(value, limit):
                self._refuse()
        return value


def _json_loading_failed(request: Request, e: ValueError | None) -> t.Any:
    if isinstance(e, JSONTooDeep):
        raise e
    return type(request).on_json_loading_failed(request, e)


# -- the shield -----------------------------------------------------------


class _Settings(t.NamedTuple):
    parser_class: type[FormDataParser]
    json: _DepthLimitedJSON
    max_query_params: int | None
    max_url_length: int | None


class InputLimitsShield(Shield):
    """Limit bodies, forms, files, JSON depth, query strings and URL length.

    Limits come from the app's config (see the module documentation for
    the keys and their defaults).
    """

    name = "limits"
    order = ORDER_BODY_LIMITS

    def _settings(self, app: Flask) -> _Settings:
        settings = app.extensions.get(_EXTENSION_KEY)
        if settings is None:
            config = app.config

            def get(key: str) -> int | None:
                value = config.get(key, DEFAULTS[key])
                if value is not None and (not isinstance(value, int) or value < 0):
                    from .errors import ConfigurationError

                    raise ConfigurationError(
                        f"{key} must be a non-negative int or None, not {value!r}."
                    )
                return value

            from .. import json as app_json

            parser_class = type(
                "LimitedFormDataParser",
                (_FormDataParser,),
                {
                    "max_files": get("LIMITS_MAX_FILES"),
                    "max_file_size": get("LIMITS_MAX_FILE_SIZE"),
                },
            )
            settings = _Settings(
                parser_class=parser_class,
                json=_DepthLimitedJSON(app_json, get("LIMITS_JSON_MAX_DEPTH")),
                max_query_params=get("LIMITS_MAX_QUERY_PARAMS"),
                max_url_length=get("LIMITS_MAX_URL_LENGTH"),
            )
            app.extensions[_EXTENSION_KEY] = settings
        return settings

    @staticmethod
    def _check_query(query: str, max_params: int | None) -> None:
        """Refuse a query string that is not UTF-8 or has too many parameters."""
        if not query.isascii():
            try:
                query.encode("latin-1").decode("utf-8")
            except UnicodeError:
                # Werkzeug decodes the raw query string as strict UTF-8 when
                # request.args is read: refuse here rather than fail there.
                audit("limit", reason=REASON_QUERY_ENCODING, limit="utf-8")
                raise BadInput(
                    "The query string is not valid UTF-8; percent-encode it.",
                    reason=REASON_QUERY_ENCODING,
                ) from None
        if max_params is not None and query.count("&") >= max_params:
            if sum(1 for piece in query.split("&") if piece) > max_params:
                _reject(
                    BadInput,
                    REASON_QUERY,
                    "LIMITS_MAX_QUERY_PARAMS",
                    max_params,
                    f"The query string has too many parameters"
                    f" (LIMITS_MAX_QUERY_PARAMS is {max_params}).",
                )

    def before(self, request: Request) -> None:  # type: ignore[override]
        """Refuse an oversized URL or body; install the parsing limits."""
        app = _cv_app.get().app
        settings = app.extensions.get(_EXTENSION_KEY) or self._settings(app)
        environ = request.environ
        query = environ.get("QUERY_STRING", "")
        max_url = settings.max_url_length
        if max_url is not None and len(environ.get("PATH_INFO", "")) + len(query) > max_url:
            _reject(
                URLTooLong,
                REASON_URL,
                "LIMITS_MAX_URL_LENGTH",
                max_url,
                f"The URL is too long (LIMITS_MAX_URL_LENGTH is {max_url}).",
            )
        if query:
            self._check_query(query, settings.max_query_params)
        if "wsgi.input_terminated" not in environ and not environ.get("CONTENT_LENGTH"):
            # No Content-Length (or an empty one) and no server-ended stream:
            # Werkzeug reads no body at all. The usual GET stops here.
            return None
        content_length = request.content_length
        terminated = "wsgi.input_terminated" in environ
        if not content_length and not terminated:
            return None  # No body to read: nothing more to check.
        max_body = request.max_content_length
        if max_body is not None:
            if content_length is not None and content_length > max_body:
                _too_large(
                    REASON_BODY,
                    "MAX_CONTENT_LENGTH",
                    max_body,
                    "The request body is larger than this endpoint accepts",
                )
            if terminated and "stream" not in request.__dict__:
                # The server ends the stream itself (chunked bodies): count
                # what is read, as Werkzeug does, but audit the refusal.
                stream = guard_input(environ)
                request.stream = _MaxStream(stream, max_body, is_max=True)  # type: ignore[assignment]
        request.form_data_parser_class = settings.parser_class
        request.json_module = settings.json
        request.on_json_loading_failed = functools.partial(_json_loading_failed, request)  # type: ignore[method-assign]
        return None
