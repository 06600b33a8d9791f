"""``Cookie`` added to a response's ``Vary`` header, without building
Werkzeug's header set when it can (re-exported by :mod:`._session_cookie`)."""

from __future__ import annotations

import itertools
import operator
import typing as t

from .._headers import live_items

if t.TYPE_CHECKING:  # pragma: no cover
    from ..wrappers import Response

#: Every spelling of ``Vary`` that ``str.lower`` turns into ``"vary"``: the
#: ASCII case variants, and nothing else (no other character lower-cases to
#: one of these letters, and only U+0130 changes length; pinned by
#: tests/security/test_session_open_fast.py over all of Unicode).
_VARY_SPELLINGS = frozenset(
    "".join(chars) for chars in itertools.product(*((letter, letter.upper()) for letter in "vary"))
)
_first = operator.itemgetter(0)
#: The pair vary_cookie appends to a response without ``Vary``.
VARY_COOKIE = ("Vary", "Cookie")


def holds_no_vary(pairs: t.Sequence[tuple[str, str]]) -> bool:
    """Tell whether ``pairs`` is a non-empty block of ``str`` names none of
    which is a ``Vary`` spelling (so ``Vary: Cookie`` after it is the only Vary)."""
    if not pairs or not all(type(name) is str for name, _ in pairs):
        return False
    return _VARY_SPELLINGS.isdisjoint(map(_first, pairs))


def vary_cookie(response: Response) -> None:
    """Add ``Cookie`` to the response's ``Vary`` header, as ``response.vary.add("Cookie")``."""
    headers = response.headers
    # Werkzeug's item list of a plain Headers: read (and appended to) without
    # Headers' per-item generator and add's checks of a constant pair.
    items = live_items(headers)
    if items is not None:
        try:
            # The usual response has no Vary: told by one C-level set check
            # of the names instead of a Python loop over every header.
            absent = _VARY_SPELLINGS.isdisjoint(map(_first, items))
        except TypeError:  # an unhashable name: the general way below decides
            absent = False
        if absent:
            items.append(VARY_COOKIE)  # what add appends: checked constants
            return
    # The Vary values, as headers.getlist("Vary") without lower-casing every
    # header name: only a 4-character name can lower-case to "vary".
    values = [
        value
        for key, value in (headers if items is None else items)
        if len(key) == 4 and key.lower() == "vary"
    ]
    if not values:
        if items is None:
            headers.add("Vary", "Cookie")
        else:
            items.append(("Vary", "Cookie"))
        return
    if len(values) == 1 and '"' not in values[0]:
        for item in values[0].split(","):
            if item.strip().lower() == "cookie":
                return  # there already
    response.vary.add("Cookie")  # Werkzeug merges the values
