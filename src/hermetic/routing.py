"""A matcher in front of Werkzeug's: rules without variables in one lookup.

Werkzeug's state machine is general and correct, and it stays the authority:
the table answers only the unambiguous case (one plain rule on the path, the
method allowed, no host or subdomain, no redirect); other paths go to
Werkzeug's matcher directly, without binding a ``MapAdapter`` to the
environ, and anything but a clean match is handed to the bound adapter,
which raises the right error or redirect.
"""

from __future__ import annotations

import typing as t
from collections import Counter

from werkzeug.routing import Map, MapAdapter

from ._segment_router import SegmentTable

if t.TYPE_CHECKING:  # pragma: no cover
    from werkzeug.routing import Rule

    from .app import Flask
    from .wrappers import Request

__all__ = [
    "StaticRouter",
    "VersionedMap",
]


class VersionedMap(Map):
    """A Werkzeug ``Map`` that counts its changes, so caches of it know when to refresh."""

    version = 0

    def add(self, rulefactory: t.Any) -> None:
        """Add a rule (or rule factory) and bump :attr:`version`."""
        super().add(rulefactory)
        self.version += 1


def _map_version(url_map: Map) -> int:
    # Werkzeug's Map has no change counter; its rule list is rebuilt on
    # every read, so plain maps pay for counting their rules.
    version = getattr(url_map, "version", None)
    return version if version is not None else len(url_map._rules)


def _is_plain(rule: Rule, defaults_per_endpoint: Counter[str]) -> bool:
    if rule.arguments or rule.redirect_to is not None or rule.build_only:
        return False
    if rule.host or rule.subdomain or rule.websocket or rule.alias:
        return False
    if "//" in rule.rule or not rule.rule.startswith("/"):
        return False
    # Another rule of the same endpoint with defaults can make Werkzeug answer
    # with a redirect to the canonical URL; leave that to Werkzeug.
    others = defaults_per_endpoint[rule.endpoint] - (1 if rule.defaults else 0)
    return others == 0


class StaticRouter:
    """Match rules without variables by one dict lookup on ``PATH_INFO``."""

    __slots__ = ("_map", "_version", "_table", "_defaults", "_segments")

    def __init__(self) -> None:
        self._map: Map | None = None
        self._version = -1
        self._table: dict[str, tuple[Rule, dict[str, t.Any] | None]] = {}
        self._defaults: Counter[str] = Counter()
        self._segments = SegmentTable(())

    def _rebuild(self, url_map: Map) -> None:
        rules = list(url_map.iter_rules())
        defaults = Counter(r.endpoint for r in rules if r.defaults)
        per_path: dict[str, list[Rule]] = {}
        for rule in rules:
            # WSGI hands PATH_INFO over as latin-1 decoded UTF-8 bytes.
            key = rule.rule.encode("utf-8").decode("latin-1")
            per_path.setdefault(key, []).append(rule)
        table = {}
        for key, candidates in per_path.items():
            if len(candidates) == 1 and _is_plain(candidates[0], defaults):
                rule = candidates[0]
                table[key] = (rule, dict(rule.defaults) if rule.defaults else None)
        self._table = table
        self._defaults = defaults
        self._segments = SegmentTable(rules)
        self._map = url_map
        self._version = _map_version(url_map)

    def match(self, app: Flask, request: Request) -> bool:
        """Set ``url_rule`` and ``view_args`` and return True on an exact hit."""
        url_map = app.url_map
        if url_map.host_matching or app.subdomain_matching or url_map.default_subdomain:
            return False
        if app.config["TRUSTED_HOSTS"] is not None:
            return False
        environ = request.environ
        if "HTTP_UPGRADE" in environ:
            # A websocket upgrade must meet Werkzeug's websocket checks.
            return False
        if url_map is not self._map or self._version != (
            url_map.version if type(url_map) is VersionedMap else _map_version(url_map)
        ):
            self._rebuild(url_map)
        path_info = environ.get("PATH_INFO") or ""
        hit = self._table.get(path_info)
        if hit is not None:
            rule, defaults = hit
            if rule.methods is None or request.method in rule.methods:
                request.url_rule = rule
                request.view_args = dict(defaults) if defaults else {}
                return True
        return self._match_dynamic(url_map, path_info, request)

    def _match_dynamic(self, url_map: Map, path_info: str, request: Request) -> bool:
        # First the segment table (one candidate rule, or nothing said), then
        # Werkzeug's own state machine, without binding an adapter to the
        # environ first. Anything but a clean match (404, 405, a redirect, a
        # converter error) is left to the adapter, which raises it properly.
        if path_info.isascii():
            path = path_info
        else:
            try:
                path = path_info.encode("latin-1").decode("utf-8", "replace")
            except UnicodeError:
                return False
        values: t.MutableMapping[str, t.Any]
        hit = self._segments.match(path, request.method)
        if hit is not None:
            rule, values = hit
        else:
            try:
                url_map.update()
                path_part = f"/{path.lstrip('/')}" if path else ""
                rule, values = url_map._matcher.match("", path_part, request.method, False)
            except Exception:
                return False
        if rule.redirect_to is not None:
            return False
        if self._defaults and self._defaults[rule.endpoint] - (1 if rule.defaults else 0) > 0:
            return False
        request.url_rule = rule
        # Werkzeug's matcher builds a dict; its signature says MutableMapping.
        request.view_args = t.cast("dict[str, t.Any]", values)
        return True


# -- bound URL adapters ---------------------------------------------------

#: How many binds an app keeps. The Host header is chosen by the client, so
#: the cache is emptied when full: a flood of made-up hosts costs a bind per
#: request, as with no cache, and never memory.
_ADAPTER_CACHE_SIZE = 32
#: The longest Host header whose bind is kept (longer ones are bound anew).
_ADAPTER_CACHE_MAX_HOST = 255


def _adapter_cache(app: t.Any) -> dict[t.Any, tuple[t.Any, ...]]:
    cache = app.__dict__.get("_url_adapters")
    if cache is None:
        cache = app.__dict__["_url_adapters"] = {}
    return cache  # type: ignore[no-any-return]  # the cache is a dict stored on the app


def _wsgi_str(value: str | None) -> str | None:
    # Werkzeug's decoding of a WSGI string (latin-1 bytes read as UTF-8).
    if value is None or value.isascii():
        return value
    return value.encode("latin1").decode(errors="replace")


def _bind_key(
    url_map: Map, environ: dict[str, t.Any], server_name: str | None, subdomain: str | None
) -> tuple[t.Any, ...] | None:
    """Return the key of this bind in the app's cache, or ``None`` when it is not kept."""
    host = environ.get("HTTP_HOST")
    if (
        "HTTP_UPGRADE" in environ  # a WebSocket bind changes the scheme: not kept
        or type(url_map).bind_to_environ is not Map.bind_to_environ
        or (host is not None and len(host) > _ADAPTER_CACHE_MAX_HOST)
    ):
        return None
    return (
        server_name,
        subdomain,
        url_map.host_matching,
        url_map.default_subdomain,
        environ.get("wsgi.url_scheme"),
        host,
        environ.get("SERVER_NAME"),
        environ.get("SERVER_PORT"),
        environ.get("SCRIPT_NAME"),
    )


def cached_bind(
    app: t.Any,
    url_map: Map,
    environ: dict[str, t.Any],
    server_name: str | None,
    subdomain: str | None,
) -> tuple[t.Any, ...] | None:
    """Return the app's cached bind for this environ, without making an adapter, or ``None``.

    The entry is ``(url_map, adapter class, server_name, script_name,
    subdomain, url_scheme, built)``, where ``built`` is the dict
    :mod:`hermetic._url_memo` keeps the URLs built under this bind in.
    """
    key = _bind_key(url_map, environ, server_name, subdomain)
    cache: dict[t.Any, tuple[t.Any, ...]] | None = app.__dict__.get("_url_adapters")
    # No cache yet: nothing bound yet.
    if key is None or cache is None:
        return None
    try:
        entry = cache.get(key)
    except TypeError:  # an environ value that cannot be hashed
        return None
    if entry is None or entry[0] is not url_map:
        return None
    return entry


def _bind_to_environ(
    app: t.Any,
    url_map: Map,
    environ: dict[str, t.Any],
    server_name: str | None,
    subdomain: str | None,
) -> MapAdapter:
    """Return ``url_map.bind_to_environ(environ, ...)``, reusing earlier binds.

    What a bind computes from the host, scheme and script name (IDNA
    encoding, port stripping, subdomain) is kept per app, keyed by every
    environ value and setting it reads; each request gets its own adapter
    holding its own path, query string and method, so no per-request state
    is shared between threads.
    """
    key = _bind_key(url_map, environ, server_name, subdomain)
    if key is None:
        return url_map.bind_to_environ(environ, server_name=server_name, subdomain=subdomain)
    cache = _adapter_cache(app)
    try:
        entry = cache.get(key)
    except TypeError:  # an environ value that cannot be hashed: bind as usual
        return url_map.bind_to_environ(environ, server_name=server_name, subdomain=subdomain)
    if entry is None or entry[0] is not url_map:
        adapter = url_map.bind_to_environ(environ, server_name=server_name, subdomain=subdomain)
        if len(cache) >= _ADAPTER_CACHE_SIZE:
            cache.clear()
        cache[key] = (
            url_map,
            type(adapter),
            adapter.server_name,
            adapter.script_name,
            adapter.subdomain,
            adapter.url_scheme,
            {},  # URLs built under this bind (hermetic._url_memo)
        )
        return adapter
    _, cls, bound_server, script_name, bound_subdomain, scheme, _built = entry
    path_info = _wsgi_str(environ.get("PATH_INFO"))
    return cls(  # type: ignore[no-any-return]  # cls is a MapAdapter class from the cache
        url_map,
        bound_server,
        script_name,
        bound_subdomain,
        scheme,
        "/" if path_info is None else path_info,
        environ["REQUEST_METHOD"],
        _wsgi_str(environ.get("QUERY_STRING")),
    )


def _bind_to_config(
    app: t.Any, url_map: Map, server_name: str, script_name: str | None, url_scheme: str
) -> MapAdapter:
    """Return ``url_map.bind(SERVER_NAME, ...)`` for an app context, reusing earlier binds."""
    if type(url_map).bind is not Map.bind:
        return url_map.bind(server_name, script_name=script_name, url_scheme=url_scheme)
    key = (
        "",
        server_name,
        script_name,
        url_scheme,
        url_map.host_matching,
        url_map.default_subdomain,
    )
    cache = _adapter_cache(app)
    try:
        entry = cache.get(key)
    except TypeError:
        return url_map.bind(server_name, script_name=script_name, url_scheme=url_scheme)
    if entry is None or entry[0] is not url_map:
        adapter = url_map.bind(server_name, script_name=script_name, url_scheme=url_scheme)
        if len(cache) >= _ADAPTER_CACHE_SIZE:
            cache.clear()
        cache[key] = (
            url_map,
            type(adapter),
            adapter.server_name,
            adapter.script_name,
            adapter.subdomain,
        )
        return adapter
    _, cls, bound_server, bound_script, subdomain = entry
    return cls(url_map, bound_server, bound_script, subdomain, url_scheme, "/", "GET", None)  # type: ignore[no-any-return]  # cls is a MapAdapter class
