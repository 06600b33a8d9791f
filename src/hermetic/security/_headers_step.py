"""The headers shield's ``after`` step, made once per headers plan.

Every response passes through it, so what the plan decides once (the
blocks, the CSP's name and parts, whether a bare response takes a block
whole) is bound in the step rather than read from the plan per request.
``HeadersShield`` keeps the general cases (a response setting one of our
headers, a ``Headers`` subclass); ``tests/security/test_headers_step.py``
compares this step with them.
"""

from __future__ import annotations

import typing as t

from .._headers import live_items
from ..wrappers import Request

if t.TYPE_CHECKING:  # pragma: no cover
    from ..wrappers import Response
    from .headers import HeadersPlan

__all__ = ["headers_step"]

#: The environ key holding the request's CSP nonce once one was asked for
#: (``""``: the CSP was sent without one).
NONCE_KEY = "hermetic.csp_nonce"
_SECURE_SCHEMES = ("https", "wss")

Merge = t.Callable[
    ["HeadersPlan", Request, list[tuple[str, str]], set[str], "Response"], "Response"
]
OneByOne = t.Callable[["HeadersPlan", Request, "Response"], "Response"]


def headers_step(
    plan: HeadersPlan, merge: Merge, one_by_one: OneByOne
) -> t.Callable[[Request, Response], Response]:
    """Return the ``after`` step adding ``plan``'s headers to a response.

    ``merge`` handles a response that sets one of the headers itself,
    ``one_by_one`` a ``Headers`` subclass (the shield's general paths).
    """
    every_name = plan.every_name
    bare_takes_block = plan.bare_takes_block
    redirect_takes_block = plan.redirect_takes_block
    csp_name = plan.csp_name
    csp_parts = plan.csp_parts
    pairs = plan.pairs
    hsts = plan.hsts
    blocks = plan.blocks

    def add_headers(request: Request, response: Response) -> Response:
        items = live_items(response.headers)
        if items is None:
            return one_by_one(plan, request, response)
        # Usually none of the response's headers is ours and a precomputed
        # block is appended whole. Every value was checked when the plan
        # was made (no CR or LF) and a nonce is base64url, so appending
        # skips nothing Werkzeug's ``add`` would check.
        count = len(items)
        if not (
            2 <= count <= 3
            and items[0][0] == "Content-Type"
            and items[1][0] == "Content-Length"
            and (
                bare_takes_block
                if count == 2
                else redirect_takes_block and items[2][0] == "Location"
            )
        ):
            # Not the two headers the makers build (and redirect's Location):
            # one pass over the names.
            present = {name.lower() for name, _ in items}
            if not present.isdisjoint(every_name):
                return merge(plan, request, items, present, response)
        environ = request.environ
        secure = request.scheme in _SECURE_SCHEMES
        if csp_name is not None:
            nonce = environ.get(NONCE_KEY)
            if nonce:
                # A page that asked for a nonce: the CSP allows it.
                items.extend(pairs)
                items.append((csp_name, nonce.join(csp_parts)))
                if secure and hsts is not None:
                    items.append(("Strict-Transport-Security", hsts))
                return response
            # Sent without a nonce: one asked for later is not allowed.
            environ[NONCE_KEY] = ""
        items.extend(blocks[secure])
        return response

    add_headers.plan = plan  # type: ignore[attr-defined]  # the plan it was made for
    return add_headers
