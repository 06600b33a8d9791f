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
compares the two. For a text answer not made into a response object,
:func:`fuse_text` describes the same work as a :class:`QuietText`, which
the plain path (``hermetic._plain_path``) applies in its own frame.
"""

from __future__ import annotations

import typing as t

from .._app_responses import vet_header_tail
from .._headers import live_items
from ..wrappers import Request
from ._vary_cookie import VARY_COOKIE, holds_no_vary

if t.TYPE_CHECKING:  # pragma: no cover
    from ..wrappers import Response

__all__ = ["QuietAfter", "QuietText", "fuse", "fuse_text"]

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
    #: Whether the step does the same to what ``redirect`` builds: the two
    #: headers and a ``Location`` third.
    redirects: bool = False


FusedAfter = t.Callable[[Request, "Response"], "Response | None"]


class _Plan(t.NamedTuple):
    marks: dict[str, t.Any]
    blocks: tuple[Pairs, Pairs]
    guards: tuple[str, ...]
    redirects: bool


def _plan(quiet: t.Sequence[QuietAfter]) -> _Plan:
    """Merge ``quiet`` (in the order the steps run) into one set of marks, blocks, guards."""
    marks = dict(mark for one in quiet for mark in one.marks)
    plain: Pairs = tuple(pair for one in quiet for pair in one.blocks[0])
    secure: Pairs = tuple(pair for one in quiet for pair in one.blocks[1])
    guards = tuple(dict.fromkeys(key for one in quiet for key in one.guards))
    # The response sent is then the makers' two headers and a block: let
    # the app send it without looking at each name again.
    vet_header_tail(plain)
    vet_header_tail(secure)
    # A response that read the session gets ``Vary: Cookie`` appended after
    # a block without Vary (vary_cookie): the block with that pair after it
    # needs no look-up per name when sent, after redirect's Location too.
    for block in (plain, secure):
        if holds_no_vary(block):
            vet_header_tail((*block, VARY_COOKIE))
    return _Plan(marks, (plain, secure), guards, all(one.redirects for one in quiet))


#: A key no environ holds (only this module has it): pads the guards to two.
_NO_KEY: t.Any = object()


def _guard_keys(guards: tuple[str, ...]) -> tuple[t.Any, t.Any, tuple[str, ...]]:
    """Split ``guards`` into a first and second key and the rest (usually none).

    The usual route has two guards (a CSP nonce asked for, a remember-me
    cookie to send): two ``in`` tests cost less than a loop. Fewer guards
    are padded with :data:`_NO_KEY`, which no environ holds.
    """
    first, second, *rest = (*guards, _NO_KEY, _NO_KEY)
    return first, second, tuple(key for key in rest if key is not _NO_KEY)


def _any_in(keys: tuple[str, ...], environ: dict[str, t.Any]) -> bool:
    return any(key in environ for key in keys)


def fuse(quiet: t.Sequence[QuietAfter]) -> FusedAfter:
    """Return one step doing what ``quiet`` (in the order the steps run) do.

    The step returns ``None`` where it cannot answer: the steps run then.
    """
    marks, (plain, secure), guards, redirects = _plan(quiet)
    first, second, more = _guard_keys(guards)

    def quiet_after(request: Request, response: Response) -> Response | None:
        environ = request.environ
        # SECURITY: a guard key in the environ (a nonce asked for, a cookie
        # to send) needs the steps themselves.
        if first in environ or second in environ or (more and _any_in(more, environ)):
            return None
        items = live_items(response.headers)
        if items is None:
            return None
        # The usual response: the makers' two headers, or redirect's with a
        # Location third; any other header the steps may have to look at.
        count = len(items)
        if count == 3:
            if not redirects or items[2][0] != "Location":
                return None
        elif count != 2:
            return None
        if items[0][0] != "Content-Type" or items[1][0] != "Content-Length":
            return None
        environ.update(marks)
        items.extend(secure if request.scheme in _SECURE_SCHEMES else plain)
        return response

    return quiet_after


class QuietText:
    """What the after steps do to a text answer's ``Content-Type`` and
    ``Content-Length`` pair when neither guard key is in the environ.

    The plain path (``hermetic._plain_path``) does it in its own frame: a
    call per request is dearer than the few tests.
    """

    __slots__ = ("first", "second", "marks", "plain", "secure")

    def __init__(
        self, first: t.Any, second: t.Any, marks: dict[str, t.Any], plain: Pairs, secure: Pairs
    ) -> None:
        #: The guard keys (padded with a key no environ holds).
        self.first = first
        self.second = second
        #: The environ keys and values the steps set.
        self.marks = marks
        #: The headers appended over plain HTTP and over HTTPS (``request.scheme``).
        self.plain = plain
        self.secure = secure


def fuse_text(quiet: t.Sequence[QuietAfter]) -> QuietText | None:
    """Return what :func:`fuse`'s step does to a text answer, for the plain
    path to do; ``None`` for more than two guard keys (the steps run then)."""
    marks, (plain, secure), guards, _ = _plan(quiet)
    first, second, more = _guard_keys(guards)
    if more:
        return None
    return QuietText(first, second, marks, plain, secure)
