"""Cookie values read from the ``Cookie`` header without Werkzeug's full parser.

:func:`cookie_value` answers ``request.cookies.get(name)`` by scanning the
header once per request (the CSRF shield and the session both ask), with
exactly Werkzeug's result; the scans of recent headers are kept, since a
visitor sends the same header again. Re-exported by :mod:`._session_cookie`.
"""

from __future__ import annotations

import functools
import threading
import types
import typing as t

if t.TYPE_CHECKING:  # pragma: no cover
    from ..wrappers import Request

# Characters Werkzeug's cookie parser never puts in a cookie name.
_NAME_STOP = frozenset(' \t=";')


@functools.lru_cache(maxsize=64)
def scannable(name: str) -> bool:
    """Tell whether the scan answers for the cookie ``name`` (else Werkzeug's parser does)."""
    # Names come from the config, not from clients: the cache stays tiny.
    return bool(name) and _NAME_STOP.isdisjoint(name)


def _scan(header: str) -> dict[str, str]:
    # SECURITY: exactly Werkzeug's answer for every name scannable lets
    # through, so that no header (two cookies of one name, odd spacing)
    # reads one way here and another in the app. Werkzeug's parser
    # (werkzeug.sansio.http.parse_cookie), for a header without '"': each
    # ";"-separated part is `key`, or `key=value`, spaces and tabs allowed
    # around both; a part with a space or tab inside the value is skipped;
    # the first part with the name wins. Only keys scannable lets through
    # are kept (a key here never holds "=", ";" or '"'; an empty one, or one
    # with a space or tab inside, is dropped): cookie_value answers a name
    # found here without asking scannable, and asks Werkzeug for the others.
    found: dict[str, str] = {}
    for part in header.split(";"):
        key, _, value = part.partition("=")
        key = key.strip(" \t")
        if key in found or not key or " " in key or "\t" in key:
            continue
        value = value.strip(" \t")  # "" when there is no "="
        if " " in value or "\t" in value:
            continue
        found[key] = value
    return found


#: Where cookie_value keeps a request's scanned cookies (in ``request.__dict__``).
SCANNED_KEY = "_hermetic_scanned_cookies"
#: How many recently scanned ``Cookie`` headers are kept, and the longest kept.
RECENT_SCANS_SIZE = 256
RECENT_SCAN_MAX_LENGTH = 4096
# A visitor sends the same Cookie header with every request until a cookie
# changes: its scan is kept (header -> read-only mapping), oldest dropped
# first. SECURITY: a scan is a pure function of the header, and what is kept
# cannot be changed by a request that reads it (a mappingproxy); the size
# and length bounds cap the memory any stream of headers can take.
_recent_scans: dict[str, t.Mapping[str, str]] = {}
_recent_scans_lock = threading.Lock()


def _scan_and_keep(header: str) -> t.Mapping[str, str]:
    scanned = types.MappingProxyType(_scan(header))
    if len(header) <= RECENT_SCAN_MAX_LENGTH:
        with _recent_scans_lock:
            while len(_recent_scans) >= RECENT_SCANS_SIZE:
                del _recent_scans[next(iter(_recent_scans))]
            _recent_scans[header] = scanned
    return scanned


def cookie_value(request: Request, name: str) -> str | None:
    """Return the value of the cookie ``name`` of ``request``, as ``request.cookies.get``.

    The header is scanned once per request (the CSRF shield and the session
    both ask), or its scan is reused when the same header came recently, and
    Werkzeug parses it instead when it quotes a value.
    """
    attrs = request.__dict__
    cookies = attrs.get("cookies")
    if cookies is not None:
        return t.cast("str | None", cookies.get(name))  # parsed already
    scanned = attrs.get(SCANNED_KEY)
    if scanned is None:
        header = request.environ.get("HTTP_COOKIE")
        if not header:
            return None
        scanned = _recent_scans.get(header)
        if scanned is None:
            if '"' in header:
                # Quoted values have escapes: let Werkzeug parse them (once, cached).
                return request.cookies.get(name)
            scanned = _scan_and_keep(header)
        attrs[SCANNED_KEY] = scanned
    value = scanned.get(name)
    # A name found is one scannable lets through (_scan keeps no other):
    # the usual answer, without asking. Werkzeug answers for the others.
    if value is None and not scannable(name):
        return request.cookies.get(name)
    return value


def known_scan(request: Request) -> t.Mapping[str, str] | None:
    """Return the scan :func:`cookie_value` would read for ``request`` without scanning.

    This request's scan, or the one kept for the same header (then stored as
    this request's); ``None`` when there is neither, or when Werkzeug has
    parsed the cookies already. For a name :func:`scannable` accepts,
    ``cookie_value`` answers exactly what the scan holds.
    """
    attrs = request.__dict__
    if "cookies" in attrs:
        return None
    scanned: t.Mapping[str, str] | None = attrs.get(SCANNED_KEY)
    if scanned is None:
        header = request.environ.get("HTTP_COOKIE")
        if type(header) is not str:
            return None
        scanned = _recent_scans.get(header)
        if scanned is not None:
            attrs[SCANNED_KEY] = scanned
    return scanned
