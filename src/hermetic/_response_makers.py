"""Fast makers of the common responses: provably the same as the class's constructor.

Werkzeug's general ``Response`` constructor validates every header and
parses the status; for the most common responses (a view's string, a
``bytes`` JSON body, a redirect) the result always has the same shape, so it
is assembled directly. Each maker is used only for a class that keeps
Werkzeug's constructor, after building a probe both ways and finding the two
identical (``tests/test_wrappers_init.py`` and ``tests/test_redirect_maker.py``
compare many more).
"""

from __future__ import annotations

import typing as t

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Response as _WerkzeugResponse

from ._headers import _BARE_INSTANCE, headers_from_pairs

__all__: list[str] = []


def _state(response: t.Any) -> dict[str, t.Any]:
    """What a response is made of, for comparing a maker's result with the class's own."""
    out = dict(vars(response))
    out["headers"] = response.headers.to_wsgi_list()
    return out


def _make_text_maker(cls: type[_WerkzeugResponse]) -> t.Callable[..., t.Any] | None:
    """Return a fast equivalent of ``cls(text)``, or None when not provably equal.

    Werkzeug's general constructor validates every header and parses the
    status; for the most common response -- a view returning a string --
    the result is always the same shape, so it is assembled directly. The
    shortcut is used only for classes that keep Werkzeug's constructor, and
    only after building one response both ways and finding them identical.
    """
    if (
        cls.__init__ is not _WerkzeugResponse.__init__
        or cls.set_data is not _WerkzeugResponse.set_data
        or cls.status is not _WerkzeugResponse.status
        or not cls.automatically_set_content_length
        or cls.default_status != 200
        or cls.default_mimetype is None
    ):
        return None
    from werkzeug.utils import get_content_type

    default_type = get_content_type(cls.default_mimetype, "utf-8")
    content_types: dict[str, str] = {}
    new = object.__new__
    bare = _BARE_INSTANCE

    def make(text: str, mimetype: str | None = None) -> t.Any:
        if mimetype is None:
            content_type = default_type
        else:
            content_type = content_types.get(mimetype)  # type: ignore[assignment]  # a missing mimetype is handled below
            if content_type is None:
                content_type = content_types[mimetype] = get_content_type(mimetype, "utf-8")
        data = text.encode()
        rv = new(cls)
        pairs = [("Content-Type", content_type), ("Content-Length", str(len(data)))]
        if bare:  # headers_from_pairs(pairs), without its frame
            rv.headers = headers = new(Headers)
            headers._list = pairs
        else:
            rv.headers = headers_from_pairs(pairs)
        rv._status = "200 OK"
        rv._status_code = 200
        rv.direct_passthrough = False
        rv._on_close = []
        rv.response = [data]
        return rv

    probe = "probe \u00e9"
    if _state(make(probe)) != _state(cls(probe)):
        return None
    if _state(make(probe, "application/json")) != _state(cls(probe, mimetype="application/json")):
        return None
    return make


def _make_bytes_maker(cls: type[_WerkzeugResponse]) -> t.Callable[..., t.Any] | None:
    """Return a fast equivalent of ``cls(data, status=code, content_type=type)``.

    For a ``bytes`` body, an ``int`` status Werkzeug knows and a content type
    without control characters (the caller's own constant): ``@validate``'s
    JSON answers. ``None`` when not provably equal, as for
    :func:`_make_text_maker`; another status or content type goes through
    the class itself.
    """
    if _make_text_maker(cls) is None:
        return None
    from werkzeug.http import HTTP_STATUS_CODES

    statuses: dict[int, str] = {}
    new = object.__new__

    def make(data: bytes, status: int, content_type: str) -> t.Any:
        if type(status) is not int or type(data) is not bytes or not content_type.isprintable():
            return cls(data, status=status, content_type=content_type)
        status_line = statuses.get(status)
        if status_line is None:
            if status not in HTTP_STATUS_CODES:
                return cls(data, status=status, content_type=content_type)
            status_line = statuses[status] = cls(b"", status=status).status
        rv = new(cls)
        rv.headers = headers_from_pairs(
            [("Content-Type", content_type), ("Content-Length", str(len(data)))]
        )
        rv._status = status_line
        rv._status_code = status
        rv.direct_passthrough = False
        rv._on_close = []
        rv.response = [data]
        return rv

    for code in (200, 201):
        probe = b'{"probe": "\xc3\xa9"}'
        fast = make(probe, code, "application/json")
        if _state(fast) != _state(cls(probe, status=code, content_type="application/json")):
            return None
    return make


def _make_status_maker(
    cls: type[_WerkzeugResponse], status: int, content_type: str
) -> t.Callable[[bytes], t.Any] | None:
    """Return ``make(data)``: :func:`_make_bytes_maker`'s ``make(data, status, content_type)``
    for one status and content type, their checks and the status line done once.

    For ``@validate``'s usual answer (its route's status, ``application/json``).
    ``None`` when the bytes maker is not provably equal for ``cls``, or would
    hand this status or type to the class itself; a body that is not
    ``bytes`` goes to the class.
    """
    from werkzeug.http import HTTP_STATUS_CODES

    if (
        _make_bytes_maker(cls) is None
        or type(status) is not int
        or status not in HTTP_STATUS_CODES
        or not content_type.isprintable()
    ):
        return None
    status_line = cls(b"", status=status).status
    new = object.__new__
    bare = _BARE_INSTANCE
    # Header items are tuples, never changed in place: one serves every response.
    type_pair = ("Content-Type", content_type)

    def make(data: bytes) -> t.Any:
        if type(data) is not bytes:
            return cls(data, status=status, content_type=content_type)
        rv = new(cls)
        pairs = [type_pair, ("Content-Length", str(len(data)))]
        if bare:  # headers_from_pairs(pairs), without its frame
            rv.headers = headers = new(Headers)
            headers._list = pairs
        else:
            rv.headers = headers_from_pairs(pairs)
        rv._status = status_line
        rv._status_code = status
        rv.direct_passthrough = False
        rv._on_close = []
        rv.response = [data]
        return rv

    probe = b'{"probe": "\xc3\xa9"}'
    if _state(make(probe)) != _state(cls(probe, status=status, content_type=content_type)):
        return None
    return make


def _make_text_answer(
    cls: type[_WerkzeugResponse],
) -> t.Callable[[str], tuple[str, list[tuple[str, str]], list[bytes]]] | None:
    """Return ``answer(text) -> (status, headers, body)``: what ``cls(text)`` sends.

    For a request other than ``HEAD``, whose response nothing sees between
    the view and the server (no after-request function, no session to save,
    no signal receiver): the status line and headers Werkzeug would hand to
    ``start_response`` and the body it would return, without a response
    object. ``None`` unless :func:`_make_text_maker` proves ``cls``'s
    constructor and one probe sent both ways gives the same call and body
    (the caller also checks that ``cls`` keeps Werkzeug's WSGI methods).
    """
    maker = _make_text_maker(cls)
    if maker is None:
        return None
    content_type = maker("").headers["Content-Type"]

    def answer(text: str) -> tuple[str, list[tuple[str, str]], list[bytes]]:
        data = text.encode()
        headers = [("Content-Type", content_type), ("Content-Length", str(len(data)))]
        return "200 OK", headers, [data]

    from werkzeug.test import create_environ

    probe = "probe \u00e9"
    calls: list[tuple[t.Any, ...]] = []

    def record(*args: t.Any) -> t.Any:
        calls.append(args)

    status, headers, body = answer(probe)
    sent = cls(probe)(create_environ("/"), record)
    try:
        werkzeug_body = list(sent)
    finally:
        getattr(sent, "close", lambda: None)()
    if calls != [(status, headers)] or body != werkzeug_body:
        return None
    return answer


#: The statuses the redirect maker builds itself: the redirects of RFC 9110
#: that ``redirect`` is called with (any other goes to Werkzeug).
_REDIRECT_CODES = (301, 302, 303, 307, 308)
#: Letters only: escaping leaves it as it is, so it splits Werkzeug's page.
_REDIRECT_MARKER = "HermeticRedirectTarget"
#: Locations the redirect maker is proved on, for every code: quotes, markup
#: characters, non-ASCII, spaces and tabs, a control character, nothing.
_REDIRECT_PROBES = (
    "/",
    "",
    "/a b?c=\"d\"&e='f'",
    "<script>&amp;</script>",
    "/caf\u00e9/\u20ac?x=\U0001f600",
    "https://example.com/x?y=1#z",
    "\t\x00\x7f",
)
#: What a bare instance of the class gets without its constructor: a class
#: changing any of these could tell the two apart where no probe looks.
_REDIRECT_SAME_AS_WERKZEUG = (
    "__new__",
    "__setattr__",
    "__getattribute__",
    "_clean_status",
    "headers",
    "response",
    "direct_passthrough",
    "_on_close",
    "_status",
    "_status_code",
)


def _make_redirect_maker(cls: type[_WerkzeugResponse]) -> t.Callable[[str, int], t.Any] | None:
    """Return ``make(location, code)``: what ``werkzeug.utils.redirect(location,
    code, Response=cls)`` returns, or None when not provably equal.

    Werkzeug's redirect escapes the location into a small HTML page, builds
    the response with the general constructor and sets ``Location`` through
    ``Headers``' checks. The page is Werkzeug's own, split at creation around
    a marker location; a ``str`` location without CR or LF and a code of
    ``_REDIRECT_CODES`` are assembled directly, anything else goes to
    Werkzeug. Only for a class that keeps Werkzeug's constructor (as
    :func:`_make_text_maker` checks) and every attribute a bare instance
    relies on, after every probe location and code built both ways compares
    identical.
    """
    if _make_text_maker(cls) is None or any(
        getattr(cls, name, None) is not getattr(_WerkzeugResponse, name, None)
        for name in _REDIRECT_SAME_AS_WERKZEUG
    ):
        return None
    import markupsafe
    from werkzeug.utils import redirect as werkzeug_redirect

    escape_inner = getattr(markupsafe, "_escape_inner", None)  # C, a plain str (markupsafe >= 3)
    escape_text: t.Callable[[str], str] = escape_inner or (lambda s: str(markupsafe.escape(s)))
    page = werkzeug_redirect(_REDIRECT_MARKER, 302, Response=cls)
    body = page.response
    if type(body) is not list or len(body) != 1 or type(body[0]) is not bytes:
        return None
    parts = body[0].decode().split(_REDIRECT_MARKER)
    if len(parts) != 3:  # the location in the link and as its text
        return None
    head, middle, tail = parts
    type_pair = ("Content-Type", page.headers["Content-Type"])
    status_lines = {code: cls(status=code).status for code in _REDIRECT_CODES}
    new = object.__new__
    bare = _BARE_INSTANCE

    def make(location: str, code: int = 302) -> t.Any:
        status_line = status_lines.get(code) if type(code) is int else None
        if (
            status_line is None
            or type(location) is not str
            # SECURITY: Werkzeug's header check refuses a CR or LF in the
            # Location (header injection): such a location goes to Werkzeug,
            # which raises its ValueError as it always has.
            or "\r" in location
            or "\n" in location
        ):
            return werkzeug_redirect(location, code=code, Response=cls)
        text = escape_text(location)
        try:
            data = f"{head}{text}{middle}{text}{tail}".encode()
        except UnicodeEncodeError:  # a lone surrogate: Werkzeug raises, as it always has
            return werkzeug_redirect(location, code=code, Response=cls)
        rv = new(cls)
        pairs = [type_pair, ("Content-Length", str(len(data))), ("Location", location)]
        if bare:  # headers_from_pairs(pairs), without its frame
            rv.headers = headers = new(Headers)
            headers._list = pairs
        else:
            rv.headers = headers_from_pairs(pairs)
        rv._status = status_line
        rv._status_code = code
        rv.direct_passthrough = False
        rv._on_close = []
        rv.response = [data]
        return rv

    for code in _REDIRECT_CODES:
        for location in _REDIRECT_PROBES:
            expected = werkzeug_redirect(location, code=code, Response=cls)
            if _state(make(location, code)) != _state(expected):
                return None
    return make
