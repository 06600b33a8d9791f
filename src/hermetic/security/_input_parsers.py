"""The parsers behind :mod:`hermetic.security.input_limits`: bounded bodies, forms, JSON."""

from __future__ import annotations

import typing as t

from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser, MultiPartParser
from werkzeug.wsgi import LimitedStream

from .._body import urlencoded_exactly, urlencoded_form
from .audit import audit
from .errors import BadInput, PayloadTooLarge, SecurityError

if t.TYPE_CHECKING:  # pragma: no cover
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


def reject(
    error: type[SecurityError], reason: str, limit: str, value: int | None, message: str
) -> t.NoReturn:
    """Audit the refusal once, then raise ``error``."""
    audit("limit", reason=reason, limit=limit, max=value)
    raise error(message, reason=reason, limit=limit)


def too_large(reason: str, limit: str, value: int | None, what: str) -> t.NoReturn:
    reject(PayloadTooLarge, reason, limit, value, f"{what} ({limit} is {value}).")


def body_too_large(max_body: int) -> t.NoReturn:
    """Refuse a body over ``MAX_CONTENT_LENGTH`` (413, audited)."""
    too_large(
        REASON_BODY,
        "MAX_CONTENT_LENGTH",
        max_body,
        "The request body is larger than this endpoint accepts",
    )


# -- bodies ---------------------------------------------------------------


class MaxStream(LimitedStream):
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
            body_too_large(self.limit)

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
            too_large(
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
                    too_large(
                        REASON_FILE_SIZE,
                        "LIMITS_MAX_FILE_SIZE",
                        limit,
                        "An uploaded file is larger than this endpoint accepts",
                    )
                return write(data)

            # The parser looks ``write`` up after this returns; shadowing it on
            # the instance keeps the container (and a custom stream factory's
            # type) what the app expects.
            container.write = limited_write  # type: ignore[method-assign,assignment]
        return container


class LimitedFormDataParser(FormDataParser):
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
            too_large(
                REASON_FIELDS, "MAX_FORM_PARTS", self.max_form_parts, "The form has too many fields"
            )
        too_large(
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
        form = parse_urlencoded(
            stream.read(), self.max_form_parts, self.max_form_memory_size, self.cls
        )
        return stream, form, self.cls()

    @classmethod
    def urlencoded_parser(cls) -> UrlencodedParser | None:
        """The url-encoded form this class's ``parse`` makes, as one function of
        the body and the limits; ``None`` when a subclass parses its own way.

        ``Request._load_form_data`` uses it to parse a body it read itself
        (``hermetic._body.read_form_fast``), without the parser object and
        Werkzeug's bounded stream around the same read.
        """
        if (
            cls.parse is FormDataParser.parse
            and cls.__init__ is FormDataParser.__init__
            and cls._parse_urlencoded is LimitedFormDataParser._parse_urlencoded
        ):
            return parse_urlencoded
        return None


#: ``(body, MAX_FORM_PARTS, MAX_FORM_MEMORY_SIZE, storage class) -> form``.
UrlencodedParser = t.Callable[[bytes, "int | None", "int | None", t.Any], t.Any]


def parse_urlencoded(
    data: bytes, parts: int | None, memory: int | None, cls: t.Any
) -> MultiDict[str, t.Any]:
    """Refuse a url-encoded body over the form limits, else parse it into ``cls``."""
    if parts is not None and data.count(b"&") >= parts:
        if sum(1 for piece in data.split(b"&") if piece) > parts:
            too_large(REASON_FIELDS, "MAX_FORM_PARTS", parts, "The form has too many fields")
    if memory is not None and len(data) > memory:
        if any(len(piece) > memory for piece in data.split(b"&")):
            too_large(
                REASON_FIELD_SIZE,
                "MAX_FORM_MEMORY_SIZE",
                memory,
                "A form field is larger than this endpoint accepts",
            )
    return urlencoded_form(data, parts, memory, cls)  # type: ignore[no-any-return]  # the request's storage class


# -- content types --------------------------------------------------------

#: The media types Werkzeug parses as forms.
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def sends_form(request: Request, environ: dict[str, t.Any]) -> bool:
    """Tell whether ``request.mimetype`` is a form's, as Werkzeug reads it (the CSRF check asks).

    A browser's form (``Content-Type`` exactly the url-encoded type) is told
    from the environ, its answer kept where Werkzeug keeps its own
    (:func:`hermetic._body.urlencoded_exactly`, which the form parsing
    shares); anything else asks ``request.mimetype``.
    tests/security/test_csrf_content_type.py compares the two ways.
    """
    return urlencoded_exactly(request, environ) or request.mimetype in FORM_TYPES


class _FormAsWerkzeug(dict[type, bool]):
    """Per request class: is ``form`` Werkzeug's cached property over hermetic's
    ``_load_form_data``, which always leaves the form in the request's dict?"""

    def __missing__(self, cls: type) -> bool:
        from werkzeug.wrappers import Request as WerkzeugRequest

        from ..wrappers import Request

        plain = (
            getattr(cls, "form", None) is WerkzeugRequest.__dict__["form"]
            and getattr(cls, "_load_form_data", None) is Request._load_form_data
            and getattr(cls, "__getattribute__", None) is object.__getattribute__
        )
        self[cls] = plain
        return plain


#: Read by the CSRF check: ``request._load_form_data()`` then the request's dict
#: give what ``request.form`` gives, without the descriptor's two round trips.
FORM_AS_WERKZEUG = _FormAsWerkzeug()


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


class DepthLimitedJSON:
    """The request's ``json_module``: the app's JSON, refusing deep nesting."""

    __slots__ = ("inner", "max_depth")

    def __init__(self, inner: t.Any, max_depth: int | None) -> None:
        self.inner = inner
        self.max_depth = max_depth

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` with the app's JSON provider."""
        return self.inner.dumps(obj, **kwargs)  # type: ignore[no-any-return]  # the wrapped JSON module is untyped

    def _refuse(self) -> t.NoReturn:
        reject(
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
                opened = s.count("[") + s.count("{")  # type: ignore[arg-type]  # s is str here (bytes counted above)
            # Fewer brackets than the limit cannot nest past it: skip the walk.
            if opened > limit and _too_deep(value, limit):
                self._refuse()
        return value


def json_loading_failed(request: Request, e: ValueError | None) -> t.Any:
    """Re-raise :class:`JSONTooDeep`; hand any other JSON error to the request's class."""
    if isinstance(e, JSONTooDeep):
        raise e
    return type(request).on_json_loading_failed(request, e)
