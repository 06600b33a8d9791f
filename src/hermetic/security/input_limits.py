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
- the ``LIMITS_*`` keys of :class:`InputLimitsSettings` (files, file size,
  JSON depth, query parameters, URL length; see the configuration
  reference).

A query string that is not UTF-8 is refused with a 400 (Werkzeug would fail
with a 500 when the view reads ``request.args``).

Forms and JSON are parsed lazily, when the view (or a later shield) first
reads them; the limits are installed on the request here and apply then.
A request without a body pays for two length checks. The ``LIMITS_*`` keys
are read once, when the pipeline configures the shield (start-up or the
first request); set them before.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import typing as t

from werkzeug.sansio.utils import get_content_length

# One memo of Content-Length values (1 to 18 ASCII digits, as their ints) for
# the body's fast read and this shield: bounded, a value not kept is parsed.
from .._body import _LENGTHS, _LENGTHS_MAX
from ..globals import _cv_app
from ..settings import Settings, SettingsError, setting
from ..wrappers import Request
from ._input_parsers import (
    REASON_QUERY,
    REASON_QUERY_ENCODING,
    REASON_URL,
    DepthLimitedJSON,
    JSONTooDeep,
    LimitedFormDataParser,
    MaxStream,
    URLTooLong,
    body_too_large,
    json_loading_failed,
    reject,
)
from .audit import audit
from .errors import BadInput
from .shields import ORDER_BODY_LIMITS, Shield

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask

__all__ = [
    "InputLimitsSettings",
    "InputLimitsShield",
    "JSONTooDeep",
    "URLTooLong",
    "input_limits_of",
]

#: Where an app keeps its :class:`InputLimitsSettings` when no shield holds them.
_EXTENSION_KEY = "hermetic.input_limits"


def _count(key: str) -> t.Callable[[int | None], int | None]:
    def check(value: int | None) -> int | None:
        if value is not None and value < 0:
            raise SettingsError(
                f"{key} must be a whole number >= 0 or None, got {value!r}."
                f" Fix: set {key} to a limit, or None for no limit.",
                key=key,
            )
        return value

    return check


@dataclasses.dataclass(frozen=True)
class InputLimitsSettings(Settings, feature="limits", title="Input limits", prefixes=("LIMITS_",)):
    """The ``LIMITS_*`` settings (``None`` turns a limit off)."""

    max_files: int | None = setting(
        "LIMITS_MAX_FILES",
        default=10,
        secure_default=10,
        parse=_count("LIMITS_MAX_FILES"),
        doc="Files in one multipart body; more is a 413.",
    )
    max_file_size: int | None = setting(
        "LIMITS_MAX_FILE_SIZE",
        default=None,
        parse=_count("LIMITS_MAX_FILE_SIZE"),
        doc="Bytes of one uploaded file (413); `None`: only `MAX_CONTENT_LENGTH` bounds it.",
    )
    json_max_depth: int | None = setting(
        "LIMITS_JSON_MAX_DEPTH",
        default=32,
        secure_default=32,
        parse=_count("LIMITS_JSON_MAX_DEPTH"),
        doc="Nesting of a JSON body (400; `get_json(silent=True)` gives `None`),"
        " also for `@validate` bodies.",
    )
    max_query_params: int | None = setting(
        "LIMITS_MAX_QUERY_PARAMS",
        default=200,
        parse=_count("LIMITS_MAX_QUERY_PARAMS"),
        doc="Parameters of the query string; more is a 400.",
    )
    max_url_length: int | None = setting(
        "LIMITS_MAX_URL_LENGTH",
        default=8192,
        parse=_count("LIMITS_MAX_URL_LENGTH"),
        doc="Characters of the path plus the query string; more is a 414.",
    )


def input_limits_of(app: Flask) -> InputLimitsSettings:
    """Return ``app``'s input limits: its shield's, or read once from its config."""
    shields = getattr(app, "shields", None)
    if shields is not None:
        shield = shields.get(InputLimitsShield.name)
        if isinstance(shield, InputLimitsShield) and shield.settings is not None:
            return shield.settings
    settings: InputLimitsSettings | None = app.extensions.get(_EXTENSION_KEY)
    if settings is None:
        settings = app.extensions[_EXTENSION_KEY] = InputLimitsSettings.from_config(app.config)
    return settings


#: Per request class: does it re-raise the shield's errors itself?
_RERAISES: dict[type, bool] = {}


def _reraises_client_errors(cls: type) -> bool:
    """Tell whether ``cls.on_json_loading_failed`` is hermetic's, which re-raises
    an ``HTTPException`` such as :class:`JSONTooDeep` as it is.

    Then the request needs no per-request override: one would make a reference
    cycle (request -> override -> request) on every request with a body.
    """
    found = _RERAISES.get(cls)
    if found is None:
        own = getattr(cls, "on_json_loading_failed", None)
        found = _RERAISES[cls] = own is Request.on_json_loading_failed
    return found


#: Request's own ``max_content_length`` (the app's config unless set on the request).
_MAX_CONTENT_LENGTH = Request.__dict__["max_content_length"]


class _RequestClassesAsOurs(dict[type, bool]):
    """Per request class: does it read ``max_content_length`` from the config as
    hermetic's :class:`~hermetic.wrappers.Request` does, and re-raise
    :class:`JSONTooDeep` itself? Then the usual body needs neither the
    property's call nor a per-request override."""

    def __missing__(self, cls: type) -> bool:
        limit = getattr(cls, "max_content_length", None)
        ours = limit is _MAX_CONTENT_LENGTH and _reraises_client_errors(cls)
        self[cls] = ours
        return ours


_REQUEST_CLASSES_AS_OURS = _RequestClassesAsOurs()


def _max_stream(stream: t.Any, max_body: int) -> MaxStream:
    return MaxStream(stream, max_body, is_max=True)


class InputLimitsShield(Shield):
    """Limit bodies, forms, files, JSON depth, query strings and URL length.

    Limits come from :class:`InputLimitsSettings` and Werkzeug's keys (see
    the module documentation).
    """

    name = "limits"
    order = ORDER_BODY_LIMITS
    settings_class = InputLimitsSettings
    settings: InputLimitsSettings

    def __init__(self) -> None:
        self._parser_class: type[LimitedFormDataParser] = LimitedFormDataParser
        self._json: DepthLimitedJSON | None = None
        # The settings every request reads, kept at hand by setup().
        self._max_url_length: int | None = None
        self._max_query_params: int | None = None

    def setup(self, app: Flask, settings: InputLimitsSettings) -> None:
        """Build the form parser class and the JSON module the limits need."""
        self._max_url_length = settings.max_url_length
        self._max_query_params = settings.max_query_params
        from .. import json as app_json

        self._parser_class = type(
            "LimitedFormDataParser",
            (LimitedFormDataParser,),
            {"max_files": settings.max_files, "max_file_size": settings.max_file_size},
        )
        self._json = DepthLimitedJSON(app_json, settings.json_max_depth)

    def quiet_before(self, endpoint: str | None, view: t.Callable[..., t.Any] | None) -> int | None:
        """With no query string and no body, :meth:`before` checks the path's length only."""
        if type(self).before is not InputLimitsShield.before:
            return None
        return sys.maxsize if self._max_url_length is None else self._max_url_length

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
                reject(
                    BadInput,
                    REASON_QUERY,
                    "LIMITS_MAX_QUERY_PARAMS",
                    max_params,
                    f"The query string has too many parameters"
                    f" (LIMITS_MAX_QUERY_PARAMS is {max_params}).",
                )

    def before(self, request: Request) -> None:
        """Refuse an oversized URL or body; install the parsing limits."""
        environ = request.environ
        query = environ.get("QUERY_STRING", "")
        max_url = self._max_url_length
        if max_url is not None and len(environ.get("PATH_INFO", "")) + len(query) > max_url:
            reject(
                URLTooLong,
                REASON_URL,
                "LIMITS_MAX_URL_LENGTH",
                max_url,
                f"The URL is too long (LIMITS_MAX_URL_LENGTH is {max_url}).",
            )
        if query:
            self._check_query(query, self._max_query_params)
        raw_length = environ.get("CONTENT_LENGTH")
        if "wsgi.input_terminated" in environ:
            self._check_body(request, environ, raw_length, True)
            return None
        if not raw_length:
            # No Content-Length (or an empty one) and no server-ended stream:
            # Werkzeug reads no body at all. The usual GET stops here.
            return None
        # The usual body: a Content-Length of digits seen before, no
        # Transfer-Encoding, hermetic's own request class (its limit read from
        # the config, JSONTooDeep re-raised), an app context.
        content_length = _LENGTHS.get(raw_length) if type(raw_length) is str else None
        ctx = _cv_app.get(None)
        if (
            content_length is None
            or ctx is None
            or "HTTP_TRANSFER_ENCODING" in environ
            or request._max_content_length is not None
            or not _REQUEST_CLASSES_AS_OURS[type(request)]
        ):
            self._check_body(request, environ, raw_length, False)
            return None
        if not content_length:
            return None  # Content-Length: 0, no body to read.
        max_body = ctx.app.config["MAX_CONTENT_LENGTH"]
        if max_body is not None and content_length > max_body:
            body_too_large(max_body)
        request.form_data_parser_class = self._parser_class
        request.json_module = self._json
        return None

    def _check_body(
        self, request: Request, environ: dict[str, t.Any], raw_length: t.Any, terminated: bool
    ) -> None:
        """Check a body's length and install the parsing limits (the general path)."""
        if not raw_length and (
            "HTTP_TRANSFER_ENCODING" not in environ
            and environ.get("SERVER_PROTOCOL", "").startswith("HTTP/1.")
        ):
            # A server-ended stream, but an HTTP/1.x request without
            # Content-Length or Transfer-Encoding has no body (RFC 9112, 6.3),
            # though servers such as granian and gunicorn mark every stream
            # terminated.
            return
        # What request.content_length answers, read from the environ: through
        # request.headers, a missing header costs a KeyError, and servers that
        # end every stream themselves (granian, gunicorn) send each GET here.
        encoding = environ.get("HTTP_TRANSFER_ENCODING")
        if (
            encoding is None
            and type(raw_length) is str
            and len(raw_length) < 19
            and raw_length.isdigit()
            and raw_length.isascii()
        ):
            # Up to 18 ASCII digits alone: what Werkzeug's parse gives, without
            # its two calls. (A longer string is Werkzeug's to read: int() refuses
            # more than 4,300 digits, where Werkzeug answers 0.)
            parsed = int(raw_length)
            if len(_LENGTHS) < _LENGTHS_MAX:
                _LENGTHS[raw_length] = parsed
            content_length: int | None = parsed
        else:
            content_length = get_content_length(raw_length, encoding)
        if not content_length and not terminated:
            return  # No body to read: nothing more to check.
        if content_length is not None:
            ctx = _cv_app.get(None)
            if (
                ctx is not None
                and request._max_content_length is None
                and type(request).max_content_length is _MAX_CONTENT_LENGTH
            ):
                # What Request.max_content_length answers, without its call.
                max_body = ctx.app.config["MAX_CONTENT_LENGTH"]
            else:
                max_body = request.max_content_length
            if max_body is not None and content_length > max_body:
                body_too_large(max_body)
        if terminated:
            # The server ends the stream itself (chunked bodies, HTTP/2, or
            # every body, as granian and gunicorn do): when the body is read,
            # count it against MAX_CONTENT_LENGTH, as Werkzeug does, but
            # refuse (and audit) a body over it rather than cut it short.
            request._terminated_stream_factory = _max_stream
        request.form_data_parser_class = self._parser_class
        request.json_module = self._json
        reraises = _RERAISES.get(type(request))
        if reraises is None:
            reraises = _reraises_client_errors(type(request))
        if not reraises:
            # A request class of the app's own: JSONTooDeep must still be
            # the 400 it is. (The partial refers to the request, so the
            # request is freed by the garbage collector, not at once.)
            request.on_json_loading_failed = functools.partial(json_loading_failed, request)  # type: ignore[method-assign]  # per-request override, as Flask allows
