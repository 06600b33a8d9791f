"""Fast updates of Werkzeug's ``Headers``: the one place that touches its item list.

Shields add a few headers to every response. ``Headers.add`` and
``setdefault`` check each name and value for newlines and walk the list
once per call; for values the shield made itself (digits, fixed names)
that work is wasted. These helpers append to the item list directly when
``headers`` is a plain Werkzeug ``Headers`` holding a ``list`` of
``(name, value)`` pairs (Werkzeug 3.1: ``Headers._list``), and use the
public API otherwise. ``tests/test_headers_helper.py`` pins the upstream
layout: it fails, rather than these helpers misbehaving, if Werkzeug
changes it (``pyproject.toml`` bounds Werkzeug below the next minor).

Only pass values that are already safe: no ``\\r``, ``\\n`` or ``\\0``.
"""

from __future__ import annotations

import typing as t

from werkzeug.datastructures import Headers

__all__ = [
    "add_if_absent",
    "append_headers",
    "headers_from_pairs",
    "live_items",
    "setdefault_headers",
]

Pairs = t.Iterable[tuple[str, str]]


def live_items(headers: Headers) -> list[tuple[str, str]] | None:
    """Return the live item list of a plain ``Headers``, else ``None``.

    Appending a pre-checked pair to it is what ``headers.add`` would do; with
    ``None`` (a subclass, or another layout) the caller uses the public API.
    """
    if type(headers) is not Headers:
        return None  # a subclass may keep its own invariants: use its methods
    # The attribute, not __dict__.get: reading __dict__ makes the instance's
    # dict object (CPython 3.11 keeps attributes inline), on every response;
    # and a plain load (a try costs nothing in 3.11) rather than getattr's
    # call. Headers has no class attribute _list (tests/test_headers_helper.py).
    try:
        items = headers._list
    except AttributeError:
        return None
    return items if type(items) is list else None


def _constructor_sets_only_the_list() -> bool:
    probe = Headers()
    return list(vars(probe)) == ["_list"] and live_items(probe) == []


#: ``Headers()`` only sets an empty ``_list`` (Werkzeug 3.1): a bare instance
#: given its list is the same object, without the constructor's frame.
_BARE_INSTANCE = _constructor_sets_only_the_list()
_new = object.__new__


def headers_from_pairs(pairs: list[tuple[str, str]]) -> Headers:
    """Return ``Headers`` holding ``pairs`` as they are (pre-checked, not copied).

    ``Headers(pairs)`` would check every pair again; a response built on the
    hot path hands over pairs it made itself.
    """
    if _BARE_INSTANCE:
        bare: Headers = _new(Headers)
        bare._list = pairs
        return bare
    headers = Headers()
    if live_items(headers) is None:  # another layout: the public, checking way
        headers.extend(pairs)
        return headers
    headers.__dict__["_list"] = pairs
    return headers


def append_headers(headers: Headers, pairs: Pairs) -> None:
    """Append ``(name, value)`` pairs, as ``headers.add`` would (values pre-checked)."""
    items = live_items(headers)
    if items is None:
        for name, value in pairs:
            headers.add(name, value)
    else:
        items.extend(pairs)


def setdefault_headers(headers: Headers, pairs: Pairs) -> None:
    """Add each pair whose name ``headers`` lacks (any case), as ``setdefault`` would."""
    items = live_items(headers)
    if items is None:
        for name, value in pairs:
            headers.setdefault(name, value)
        return
    # A handful of names: a list and a loop beat building a set.
    present = [name.lower() for name, _ in items]
    for pair in pairs:
        lower = pair[0].lower()
        if lower not in present:
            present.append(lower)
            items.append(pair)


def add_if_absent(headers: Headers, name: str, value: str) -> bool:
    """Add ``name: value`` when ``headers`` has no ``name``; tell whether it was added.

    ``False`` means the header is there (or ``headers`` is not a plain
    ``Headers``): the caller merges with the public API instead.
    """
    items = live_items(headers)
    if items is None:
        return False
    lower = name.lower()
    if any(key.lower() == lower for key, _ in items):
        return False
    items.append((name, value))
    return True
