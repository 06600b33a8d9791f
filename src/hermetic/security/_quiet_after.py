"""The after steps of a route fused into one, for the usual response.

Most responses are what the text, bytes and JSON makers build -- only
``Content-Type`` and ``Content-Length`` -- to a request that left nothing
for the after steps to act on. For those, the security headers shield only
appends a precomputed block and the login shield only marks the environ.
A shield describes that work as a :class:`QuietAfter`; when every after
step of a route has one, the pipeline fuses them (:func:`fuse`) and runs
the fused step first: it answers the usual response in one call and hands
any other (a header of its own, a guard key in the environ, a ``Headers``
subclass) to the steps themselves. ``tests/security/test_quiet_after.py``
compares the two.
"""

from __future__ import annotations

import typing as t

from .._app_responses import vet_header_tail
from .._headers import live_items
from ..wrappers import Request
from ._headers_step import request_scheme

if t.TYPE_CHECKING:  # pragma: no cover
    from ..wrappers import Response

__all__ = ["QuietAfter", "fuse"]

Pairs = tuple[tuple[str, str], ...]
_SECURE_SCHEMES = ("https", "wss")


class QuietAfter(t.NamedTuple):
    """What an after step does to a bare response when no guard key is in the environ."""

    #: Environ keys and the values the step sets, in order.
    marks: tuple[tuple[str, t.Any], ...] = ()
    #: The headers the step appends: over plain HTTP, over HTTPS (``request.scheme``).
    blocks: tuple[Pairs, Pairs] = ((), ())
    #: Environ keys whose presence needs the step itself (a nonce asked
    #: for, a cookie to send).
    guards: tuple[str, ...] = ()


FusedAfter = t.Callable[[Request, "Response"], "Response | None"]


def fuse(quiet: t.Sequence[QuietAfter]) -> FusedAfter:
    """Return one step doing what ``quiet`` (in the order the steps run) do.

    The step returns ``None`` where it cannot answer: the steps run then.
    """
    marks = dict(mark for one in quiet for mark in one.marks)
    plain: Pairs = tuple(pair for one in quiet for pair in one.blocks[0])
    secure: Pairs = tuple(pair for one in quiet for pair in one.blocks[1])
    blocks = (plain, secure)
    guards = tuple(dict.fromkeys(key for one in quiet for key in one.guards))
    same_blocks = plain == secure
    # The response sent is then the makers' two headers and a block: let
    # the app send it without looking at each name again.
    vet_header_tail(plain)
    vet_header_tail(secure)

    def quiet_after(request: Request, response: Response) -> Response | None:
        environ = request.environ
        for key in guards:
            if key in environ:
                return None
        items = live_items(response.headers)
        if not (
            items is not None
            and len(items) == 2
            and items[0][0] == "Content-Type"
            and items[1][0] == "Content-Length"
        ):
            return None  # a header the steps may have to look at
        environ.update(marks)
        if same_blocks:
            items.extend(plain)
            return response
        scheme = request.__dict__.get("scheme")
        if scheme is None:
            # request_scheme, inlined for hermetic's request.
            if type(request) is Request:
                scheme = environ.get("wsgi.url_scheme", "http")
            else:
                scheme = request_scheme(request)
        items.extend(blocks[scheme in _SECURE_SCHEMES])
        return response

    return quiet_after
