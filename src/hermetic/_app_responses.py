"""Response making of the application: a view's return value to a response, and
the WSGI fast path for the common buffered response.

Part of :class:`hermetic.app.Flask`, kept apart to keep each module readable
in one sitting.
"""

from __future__ import annotations

import collections.abc as cabc
import sys
import typing as t
from itertools import islice
from operator import itemgetter

from werkzeug.datastructures import Headers
from werkzeug.urls import iri_to_uri
from werkzeug.wrappers import Response as BaseResponse

from ._response_makers import (
    _make_bytes_maker,
    _make_status_maker,
    _make_text_answer,
    _make_text_maker,
)
from .globals import request
from .json.provider import DefaultJSONProvider
from .wrappers import Response

if t.TYPE_CHECKING:  # pragma: no cover
    from .json.provider import JSONProvider

_UNKNOWN = object()
#: Statuses of 200 and above that Werkzeug sends without a body.
_BODILESS = frozenset({204, 304})

# Headers Werkzeug may rewrite when it sends a response (IRI -> URI).
_REWRITTEN_HEADERS = frozenset({"location", "content-location"})
# Header names as usually spelt: 1 Content-Length, 3 Location, 2 another
# rewritten one, 0 neither (any other spelling is lowered first and, when
# rewritten, sent through Werkzeug).
_HEADER_KINDS = {
    "Content-Type": 0,
    "Content-Length": 1,
    "Location": 3,
    "Content-Location": 2,
    # What the security shields and the session add, as they spell it.
    **dict.fromkeys(
        (
            "X-Content-Type-Options",
            "X-Frame-Options",
            "Referrer-Policy",
            "Permissions-Policy",
            "Cross-Origin-Opener-Policy",
            "Cross-Origin-Resource-Policy",
            "Content-Security-Policy",
            "Strict-Transport-Security",
            "Vary",
            "Set-Cookie",
            "Cache-Control",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
            "Retry-After",
            "X-Request-ID",
        ),
        0,
    ),
}
#: The names of kind 0 as spelt: headers after the makers' two that the loop
#: in ``_respond`` passes over.
_UNCHECKED_NAMES = frozenset(name for name, kind in _HEADER_KINDS.items() if kind == 0)
_NAME = itemgetter(0)
#: Per length of a header list: the header lists after ``Content-Type`` and
#: ``Content-Length`` known to need no check (``vet_header_tail``), compared
#: whole (in C) instead of one name at a time.
_VETTED_TAILS: dict[int, list[list[tuple[str, str]]]] = {}


def vet_header_tail(pairs: t.Iterable[tuple[str, str]]) -> bool:
    """Let responses ending in ``pairs`` (after the makers' two headers) skip the header loop.

    For headers a shield appends to most responses (the security headers).
    Only names of kind 0 (as spelt in ``_HEADER_KINDS``) qualify: the loop
    would find nothing to do. Return whether ``pairs`` qualified. Equal
    lists are kept once, so the table stays as small as the distinct
    configurations.
    """
    tail = list(pairs)
    if not tail or any(_HEADER_KINDS.get(name) != 0 for name, _ in tail):
        return False
    known = _VETTED_TAILS.setdefault(len(tail) + 2, [])
    if tail not in known:
        known.append(tail)
    return True


# Per Location value: does Werkzeug send it as it is (``iri_to_uri`` leaves
# it unchanged)? Redirects go to a few URLs again and again. Bounded: at most
# 1,024 values of at most 512 characters (a Location can carry client data).
_URI_AS_IS: dict[str, bool] = {}
_URI_AS_IS_MAX = 1024
_URI_AS_IS_LONGEST = 512


def _is_uri(location: str) -> bool:
    """Tell whether Werkzeug would send ``location`` unchanged (no autocorrect)."""
    known = _URI_AS_IS.get(location)
    if known is None:
        known = iri_to_uri(location) == location
        if len(location) <= _URI_AS_IS_LONGEST:
            if len(_URI_AS_IS) >= _URI_AS_IS_MAX:
                _URI_AS_IS.clear()
            _URI_AS_IS[location] = known
    return known


class ResponseMixin:
    """Make responses and send them; mixed into :class:`~hermetic.app.Flask`."""

    if t.TYPE_CHECKING:  # pragma: no cover
        response_class: type[Response]
        json: JSONProvider
        _plain_response_classes: dict[type, bool]
        _text_makers: dict[t.Any, t.Any]
        _text_answers: dict[type, t.Any]

    def make_response(self, rv: t.Any) -> Response:
        """Convert a view's return value into :attr:`response_class`."""
        kind = type(rv)
        if kind is str:
            make_text = self._text_makers.get(self.response_class, _UNKNOWN)
            if make_text is _UNKNOWN:
                make_text = self._text_maker()
            if make_text is not None:
                return make_text(rv)  # type: ignore[no-any-return]  # the maker builds response_class
        elif kind is dict or kind is list:
            # What the general path below does for them, one test sooner.
            provider = self.json
            if type(provider).response is DefaultJSONProvider.response and (
                "response" not in provider.__dict__
            ):
                return provider._response_of(rv)  # type: ignore[attr-defined, no-any-return]  # a DefaultJSONProvider
            return provider.response(rv)  # type: ignore[return-value]  # app.json builds response_class
        elif kind is self.response_class:
            # What the general path below does for it (no status, no headers).
            return rv  # type: ignore[no-any-return]  # rv is a response_class
        status = headers = None
        if isinstance(rv, tuple):
            n = len(rv)
            if n == 3:
                rv, status, headers = rv
            elif n == 2:
                if isinstance(rv[1], (Headers, dict, tuple, list)):
                    rv, headers = rv
                else:
                    rv, status = rv
            else:
                raise TypeError(
                    "The view function did not return a valid response tuple."
                    " The tuple must have the form (body, status, headers),"
                    " (body, status), or (body, headers)."
                )
        if rv is None:
            raise TypeError(
                f"The view function for {request.endpoint!r} did not"
                " return a valid response. The function either returned"
                " None or ended without a return statement."
            )
        if type(rv) is str and status is None and headers is None:
            make_text = self._text_maker()
            if make_text is not None:
                return make_text(rv)
        if not isinstance(rv, self.response_class):
            if isinstance(rv, (str, bytes, bytearray)) or isinstance(rv, cabc.Iterator):
                # Werkzeug types the body without bytearray, which it sends as bytes.
                rv = self.response_class(rv, status=status, headers=headers)  # type: ignore[arg-type]
                status = headers = None
            elif isinstance(rv, (dict, list)):
                rv = self.json.response(rv)
            elif isinstance(rv, BaseResponse) or callable(rv):
                try:
                    rv = self.response_class.force_type(rv, request.environ)
                except TypeError as e:
                    raise TypeError(
                        f"{e}\nThe view function did not return a valid"
                        " response. The return type must be a string,"
                        " dict, list, tuple with headers or status,"
                        " Response instance, or WSGI callable, but it"
                        f" was a {type(rv).__name__}."
                    ).with_traceback(sys.exc_info()[2]) from None
            else:
                raise TypeError(
                    "The view function did not return a valid"
                    " response. The return type must be a string,"
                    " dict, list, tuple with headers or status,"
                    " Response instance, or WSGI callable, but it was a"
                    f" {type(rv).__name__}."
                )
        if status is not None:
            if isinstance(status, (str, bytes, bytearray)):
                rv.status = status
            else:
                rv.status_code = status
        if headers:
            rv.headers.update(headers)
        return rv  # type: ignore[no-any-return]  # rv is the response class built above

    def _text_maker(self) -> t.Callable[..., Response] | None:
        cls = self.response_class
        if cls in self._text_makers:
            maker: t.Callable[..., Response] | None = self._text_makers[cls]
            return maker
        maker = self._text_makers[cls] = _make_text_maker(cls)
        return maker

    def _text_answer(
        self,
    ) -> t.Callable[[str], tuple[str, list[tuple[str, str]], list[bytes]]] | None:
        """``answer(text) -> (status, headers, body)``: what ``_respond`` sends for
        ``make_response(text)`` on a non-HEAD request, or None (see
        ``_make_text_answer``)."""
        cls = self.response_class
        if cls in self._text_answers:
            answer: t.Callable[[str], tuple[str, list[tuple[str, str]], list[bytes]]] | None
            answer = self._text_answers[cls]
            return answer
        answer = self._text_answers[cls] = (
            _make_text_answer(cls) if self._is_plain_response(cls) else None
        )
        return answer

    def _bytes_maker(self) -> t.Callable[..., Response] | None:
        """``maker(data, status, content_type)``, as ``response_class(...)`` builds it."""
        cls = self.response_class
        key = (cls, bytes)
        if key in self._text_makers:
            maker: t.Callable[..., Response] | None = self._text_makers[key]
            return maker
        maker = self._text_makers[key] = _make_bytes_maker(cls)
        return maker

    def _status_maker(self, status: int, content_type: str) -> t.Callable[[bytes], Response] | None:
        """``maker(data)``, as ``response_class(data, status=status,
        content_type=content_type)`` builds it (``_make_status_maker``)."""
        cls = self.response_class
        key = (cls, bytes, status, content_type)
        if key in self._text_makers:
            maker: t.Callable[[bytes], Response] | None = self._text_makers[key]
            return maker
        maker = self._text_makers[key] = _make_status_maker(cls, status, content_type)
        return maker

    def _is_plain_response(self, cls: type) -> bool:
        known = self._plain_response_classes.get(cls)
        if known is None:
            known = all(
                getattr(cls, name) is getattr(BaseResponse, name)
                for name in (
                    "__call__",
                    "get_wsgi_response",
                    "get_wsgi_headers",
                    "get_app_iter",
                    "iter_encoded",
                    "close",
                    "status_code",
                    "status",
                )
            )
            self._plain_response_classes[cls] = known
        return known

    def _respond(
        self, response: t.Any, environ: dict[str, t.Any], start_response: t.Any
    ) -> t.Iterable[bytes]:
        # The common response -- one buffered body, no Location header, no
        # close callbacks -- skips Werkzeug's general header fix-ups, which
        # would leave it unchanged.
        plain = self._plain_response_classes.get(type(response))
        if plain is None:
            plain = isinstance(response, BaseResponse) and self._is_plain_response(type(response))
        if plain:
            body = response.response
            code = response._status_code  # status_code, as the class keeps it (plain)
            if (
                type(body) is list
                and len(body) == 1
                and type(body[0]) is bytes
                and not response.direct_passthrough
                and not response._on_close
                and code >= 200
                and code not in _BODILESS
                and environ.get("REQUEST_METHOD") != "HEAD"
            ):
                headers = response.headers
                if type(headers) is Headers:
                    # Werkzeug's item list (its layout is pinned by
                    # tests/test_headers_helper.py), copied as to_wsgi_list does.
                    header_list = list(headers._list)
                else:
                    header_list = headers.to_wsgi_list()
                if (
                    len(header_list) >= 2
                    and header_list[0][0] == "Content-Type"
                    and header_list[1][0] == "Content-Length"
                ):
                    if len(header_list) == 2 or (
                        # (A Location third is redirect's: the branch below.)
                        header_list[2][0] != "Location"
                        and (
                            header_list[2:] in _VETTED_TAILS.get(len(header_list), ())
                            # Any other names of kind 0 after them, looked up in C.
                            or _UNCHECKED_NAMES.issuperset(map(_NAME, islice(header_list, 2, None)))
                        )
                    ):
                        # What the text, bytes and JSON makers build, maybe with
                        # headers of kind 0 after (the security headers): the loop
                        # below would find nothing to check.
                        start_response(response._status, header_list)
                        return body
                    if (
                        header_list[2][0] == "Location"
                        and (
                            len(header_list) == 3
                            # A vetted tail after the Location (the security
                            # headers, then the session's Vary), compared whole.
                            or header_list[3:] in _VETTED_TAILS.get(len(header_list) - 1, ())
                            or _UNCHECKED_NAMES.issuperset(map(_NAME, islice(header_list, 3, None)))
                        )
                    ):
                        # What redirect builds (its Location third), maybe with
                        # headers of kind 0 after: the loop would find only
                        # that Location to check.
                        if response.autocorrect_location_header or not _is_uri(header_list[2][1]):
                            return response(environ, start_response)  # type: ignore[no-any-return]  # Werkzeug types the WSGI call loosely
                        start_response(response._status, header_list)
                        return body
                has_length = False
                location = None
                for key, value in header_list:
                    kind = _HEADER_KINDS.get(key)
                    if kind is None:
                        lower = key.lower()
                        kind = 2 if lower in _REWRITTEN_HEADERS else lower == "content-length"
                    if kind == 1:
                        has_length = True
                    elif kind == 3 and location is None:
                        location = value  # the first "Location": checked below
                    elif kind:
                        break  # another spelling, a second one, Content-Location
                else:
                    if location is not None and (
                        response.autocorrect_location_header or not _is_uri(location)
                    ):
                        return response(environ, start_response)  # type: ignore[no-any-return]  # Werkzeug types the WSGI call loosely
                    if has_length:
                        start_response(response._status, header_list)
                        return body
        return response(environ, start_response)  # type: ignore[no-any-return]  # Werkzeug types the WSGI call loosely
