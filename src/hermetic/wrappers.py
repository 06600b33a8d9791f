"""Request and Response: Werkzeug's wrappers, aware of the current app."""

from __future__ import annotations

import typing as t

from werkzeug.datastructures import EnvironHeaders, MultiDict
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.sansio.request import Request as _SansIORequest
from werkzeug.utils import cached_property
from werkzeug.wrappers import Request as _WerkzeugRequest
from werkzeug.wrappers import Response as _WerkzeugResponse

from . import _body, json
from ._body import guard_input, read_body_fast
from ._lazy import MadeOnFirstRead
from .globals import _cv_app
from .helpers import _split_blueprint_path

if t.TYPE_CHECKING:  # pragma: no cover
    from werkzeug.routing import Rule

__all__ = [
    "Request",
    "Response",
]


def _app_config(key: str) -> t.Any:
    ctx = _cv_app.get(None)
    return None if ctx is None else ctx.app.config[key]


# Werkzeug's expressions for the attributes its constructor sets. Werkzeug
# decodes a WSGI string with ``s.encode("latin1").decode(errors="replace")``,
# which leaves an ASCII str as it is: that case skips the round trip.


def _server(request: t.Any) -> tuple[str, int | None] | None:
    environ = request.environ
    name = environ.get("SERVER_NAME")
    if name is None:
        return None
    try:
        port: int | None = int(environ.get("SERVER_PORT", None))
    except (TypeError, ValueError):
        port = None
    return name, port


def _decoded(value: t.Any) -> t.Any:
    if type(value) is str and value.isascii():
        return value
    return value.encode("latin1").decode(errors="replace")


def _root_path(request: t.Any) -> t.Any:
    return _decoded(request.environ.get("SCRIPT_NAME") or "").rstrip("/")


def _path(request: t.Any) -> t.Any:
    return "/" + _decoded(request.environ.get("PATH_INFO") or "").lstrip("/")


def _query_string(request: t.Any) -> t.Any:
    return request.environ.get("QUERY_STRING", "").encode("latin1")


def _remote_addr(request: t.Any) -> t.Any:
    return request.environ.get("REMOTE_ADDR")


class _FilesProperty(cached_property):  # type: ignore[type-arg]  # Werkzeug's descriptor, untyped here
    """Werkzeug's ``files``, noting on the request that it was assigned."""

    def __set__(self, obj: t.Any, value: t.Any) -> None:
        obj._files_made = True
        super().__set__(obj, value)


class Request(_WerkzeugRequest):
    """The request object: Werkzeug's, plus routing results and app limits.

    The body limits (``MAX_CONTENT_LENGTH``, ``MAX_FORM_MEMORY_SIZE``,
    ``MAX_FORM_PARTS``) come from the app's config unless set on this request.
    """

    json_module: t.Any = json

    #: The matched :class:`~werkzeug.routing.Rule`, ``None`` before matching.
    url_rule: Rule | None = None
    #: The arguments the rule matched, ``None`` before matching.
    view_args: dict[str, t.Any] | None = None
    #: The routing error (404, 405, redirect) raised when the view is dispatched.
    routing_exception: Exception | None = None

    #: ``factory(guarded_input, max_content_length)``: the stream for a body
    #: the server ends itself (``wsgi.input_terminated``) in place of
    #: Werkzeug's ``LimitedStream``. The input limits shield sets it on the
    #: request; it is called only if the body is read.
    _terminated_stream_factory: t.Callable[[t.Any, int], t.Any] | None = None

    _max_content_length: int | None = None
    _max_form_memory_size: int | None = None
    _max_form_parts: int | None = None

    def __init__(
        self,
        environ: t.Any,
        populate_request: bool = True,
        shallow: bool = False,
    ) -> None:
        # Werkzeug's constructor computes eight attributes from the environ;
        # most requests read only ``method``. Here the others are computed
        # from the same environ values on first read (``MadeOnFirstRead``),
        # with Werkzeug's expressions (tests/test_wrappers_init.py compares
        # the two). A class whose bases are not Werkzeug's, or a method that
        # is not a str, goes through Werkzeug's own constructor.
        fast = _FAST_INIT.get(type(self))
        if fast is None:
            fast = _FAST_INIT[type(self)] = _keeps_werkzeug_init(type(self))
        if fast:
            method = environ.get("REQUEST_METHOD", "GET")
            if type(method) is str:
                self.method = method.upper()
                # Made here rather than on first read: every response of a
                # security headers shield reads it.
                self.scheme = environ.get("wsgi.url_scheme", "http")
                self.environ = environ
                self.shallow = shallow
                if populate_request and not shallow:
                    environ["werkzeug.request"] = self
                return
        super().__init__(environ, populate_request, shallow)
        # A class of its own: close() looks for uploads as Werkzeug does.
        self._files_made = True

    if not t.TYPE_CHECKING:  # Werkzeug's annotations stay the types mypy sees
        server = MadeOnFirstRead(_server)
        root_path = MadeOnFirstRead(_root_path)
        path = MadeOnFirstRead(_path)
        query_string = MadeOnFirstRead(_query_string)
        headers = MadeOnFirstRead(lambda request: EnvironHeaders(request.environ))
        remote_addr = MadeOnFirstRead(_remote_addr)

    def _limit(self, own: int | None, key: str, default: int | None) -> int | None:
        if own is not None:
            return own
        if _cv_app.get(None) is None:
            return default
        return _app_config(key)  # type: ignore[no-any-return]  # config values are Any

    @property
    def max_content_length(self) -> int | None:
        """The largest body read, in bytes; ``MAX_CONTENT_LENGTH`` by default."""
        # _limit's steps in one frame: every body read asks.
        own = self._max_content_length
        if own is not None:
            return own
        ctx = _cv_app.get(None)
        if ctx is None:
            return super().max_content_length
        return ctx.app.config["MAX_CONTENT_LENGTH"]  # type: ignore[no-any-return]  # config values are Any

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    @property
    def max_form_memory_size(self) -> int | None:
        """The largest non-file form field, in bytes; ``MAX_FORM_MEMORY_SIZE``."""
        return self._limit(
            self._max_form_memory_size, "MAX_FORM_MEMORY_SIZE", super().max_form_memory_size
        )

    @max_form_memory_size.setter
    def max_form_memory_size(self, value: int | None) -> None:
        self._max_form_memory_size = value

    # Werkzeug types its class attribute ``int``, but its form parser takes
    # ``None`` (no limit), as Flask documents for MAX_FORM_PARTS.
    @property  # type: ignore[override]
    def max_form_parts(self) -> int | None:
        """The most multipart fields parsed; ``MAX_FORM_PARTS`` by default."""
        return self._limit(self._max_form_parts, "MAX_FORM_PARTS", super().max_form_parts)

    @max_form_parts.setter
    def max_form_parts(self, value: int | None) -> None:
        self._max_form_parts = value

    #: Whether ``files`` may hold uploads: set by the form parsing, by an
    #: assignment to ``files``, and for a class that parses forms its own
    #: way. Without it, ``close`` has nothing to close and does not read
    #: ``__dict__`` (which makes CPython 3.11 build the instance's dict
    #: object, on every request).
    _files_made = False

    if not t.TYPE_CHECKING:  # Werkzeug's annotation stays the type mypy sees
        files = _FilesProperty(_WerkzeugRequest.files.fget)

    def close(self) -> None:
        """Close the uploaded files of this request (Werkzeug's ``close``, without a
        generator when there are none: the common case, on every request)."""
        if self._files_made and self.__dict__.get("files"):
            super().close()

    @property
    def endpoint(self) -> str | None:
        """The endpoint of the matched rule, ``None`` when nothing matched."""
        if self.url_rule is not None:
            return self.url_rule.endpoint  # type: ignore[no-any-return]  # Rule.endpoint is a str
        return None

    @property
    def blueprint(self) -> str | None:
        """The dotted name of the blueprint owning the endpoint, if any."""
        endpoint = self.endpoint
        if endpoint is not None and "." in endpoint:
            return endpoint.rpartition(".")[0]
        return None

    @property
    def blueprints(self) -> list[str]:
        """The current blueprint and its parents, innermost first."""
        name = self.blueprint
        if name is None:
            return []
        return _split_blueprint_path(name)

    @cached_property
    def stream(self) -> t.IO[bytes]:
        """The body, bounded as Werkzeug bounds it; a failed read is a 400.

        Every body reader goes through here (``form``, ``files``, ``data``,
        ``get_data``, ``get_json``): a server's own exception for a malformed
        or truncated body becomes :class:`~hermetic._body.BodyReadError`.
        """
        if not self.shallow:
            guarded = guard_input(self.environ)
            factory = self._terminated_stream_factory
            if factory is not None and "wsgi.input_terminated" in self.environ:
                limit = self.max_content_length
                if limit is not None:
                    return factory(guarded, limit)  # type: ignore[no-any-return]  # an IO[bytes], as Werkzeug types its streams
        made = _body.stream_after_fast_read(self)
        return made if made is not None else super().stream

    def get_data(  # type: ignore[override]  # Werkzeug's overloads, one implementation
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> bytes | str:
        """The body as bytes (or text), as Werkzeug's ``get_data`` reads it.

        The common first read takes :func:`hermetic._body.read_body_fast`,
        which gives the same result; anything else is Werkzeug's path.
        """
        if not parse_form_data and _FAST_BODY[type(self)]:
            rv = read_body_fast(self)
            if rv is not None:
                if cache:
                    self._cached_data = rv
                return rv.decode(errors="replace") if as_text else rv
        return super().get_data(cache, as_text, parse_form_data)  # type: ignore[call-overload, no-any-return]  # Werkzeug's overloads

    @property
    def input_stream(self) -> t.IO[bytes]:  # type: ignore[override]  # Werkzeug types it as a cached property
        """The WSGI input stream, unbounded; a failed read is a 400."""
        return guard_input(self.environ)  # type: ignore[no-any-return]  # guard_input wraps the WSGI stream

    def _load_form_data(self) -> None:
        self._files_made = True
        parse = _body.FORM_PARSERS[self.form_data_parser_class] if _PLAIN_FORM[type(self)] else None
        if parse is None or not _body.read_form_fast(self, parse):
            super()._load_form_data()
        ctx = _cv_app.get(None)
        # In debug mode, explain why request.files is empty for a form that
        # was not sent as multipart/form-data.
        if (
            ctx is not None
            and ctx.app.debug
            and self.mimetype != "multipart/form-data"
            and not self.files
        ):
            from .debughelpers import attach_enctype_error_multidict

            attach_enctype_error_multidict(self)

    @cached_property
    def args(self) -> MultiDict[str, str]:
        """The parsed query string; a query that is not UTF-8 is a 400."""
        try:
            return super().args
        except UnicodeDecodeError:
            raise BadRequest("The query string is not valid UTF-8.") from None

    def on_json_loading_failed(self, e: ValueError | None) -> t.Any:
        """Raise a 400; the parser's message is shown only in debug mode."""
        if isinstance(e, HTTPException):
            # Already a client error with its own status (a limit, say).
            raise e
        try:
            return super().on_json_loading_failed(e)
        except BadRequest as error:
            ctx = _cv_app.get(None)
            if ctx is not None and ctx.app.debug:
                raise
            raise BadRequest() from error


_FAST_INIT: dict[type, bool] = {}


class _FastBody(dict[type, bool]):
    """Per class: does it read its body as :class:`Request` does (no own ``stream``)?"""

    def __missing__(self, cls: type) -> bool:
        fast = self[cls] = getattr(cls, "stream", None) is Request.__dict__["stream"]
        return fast


_FAST_BODY = _FastBody()


class _PlainGetData(dict[type, bool]):
    """Per class: is its ``get_data`` :class:`Request`'s, reading as Request does?

    For such a class, :func:`hermetic._body.read_body_fast` followed by
    setting ``_cached_data`` is what ``get_data(cache=True)`` does when the
    fast read answers (``@validate``'s JSON body skips the method's frame).
    """

    def __missing__(self, cls: type) -> bool:
        plain = self[cls] = (
            getattr(cls, "get_data", None) is Request.__dict__["get_data"] and _FAST_BODY[cls]
        )
        return plain


PLAIN_GET_DATA = _PlainGetData()

#: What Werkzeug's form loading reads besides the body: the fast form read
#: (:func:`hermetic._body.read_form_fast`) does it in their place.
_FORM_STEPS = (
    "want_form_data_parsed",
    "make_form_data_parser",
    "_get_stream_for_parsing",
    "max_form_memory_size",
    "max_form_parts",
    "mimetype",
    "_parse_content_type",
)


class _PlainForm(dict[type, bool]):
    """Per class: does it load forms as :class:`Request` does (the fast form read)?"""

    def __missing__(self, cls: type) -> bool:
        plain = self[cls] = _FAST_BODY[cls] and all(
            getattr(cls, name, None) is getattr(Request, name) for name in _FORM_STEPS
        )
        return plain


_PLAIN_FORM = _PlainForm()


def _keeps_werkzeug_init(cls: type) -> bool:
    """Tell whether only Werkzeug's own constructors follow ours in ``cls``'s MRO,
    every attribute computed on first read is still ours, and so is the form
    parsing that tells ``close`` there may be uploads."""
    mro = cls.__mro__
    if mro[mro.index(Request) + 1 :] != (_WerkzeugRequest, _SansIORequest, object):
        return False
    if getattr(cls, "_load_form_data", None) is not Request._load_form_data:
        return False
    if getattr(cls, "files", None) is not Request.__dict__["files"]:
        return False
    return all(
        getattr(cls, name, None) is value
        for name, value in vars(Request).items()
        if isinstance(value, MadeOnFirstRead)
    )


class Response(_WerkzeugResponse):
    """The response object: HTML by default, cookie size from the app config."""

    default_mimetype: str | None = "text/html"
    json_module = json
    # Relative Location headers are valid (RFC 9110); don't rewrite them.
    autocorrect_location_header = False

    @property
    def max_cookie_size(self) -> int:  # type: ignore[override]  # a property where Werkzeug has a class attribute
        """The largest cookie before a warning; ``MAX_COOKIE_SIZE`` of the app."""
        ctx = _cv_app.get(None)
        if ctx is not None:
            return ctx.app.config["MAX_COOKIE_SIZE"]  # type: ignore[no-any-return]  # config values are Any
        return super().max_cookie_size
