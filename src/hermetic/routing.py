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

from werkzeug.routing import Map

if t.TYPE_CHECKING:  # pragma: no cover
    from werkzeug.routing import Rule

    from .app import Flask
    from .wrappers import Request


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

    __slots__ = ("_key", "_table", "_defaults")

    def __init__(self) -> None:
        self._key: tuple[int, int] = (0, -1)
        self._table: dict[str, tuple[Rule, dict[str, t.Any] | None]] = {}
        self._defaults: Counter[str] = Counter()

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
        self._key = (id(url_map), _map_version(url_map))

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
        if self._key != (id(url_map), _map_version(url_map)):
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
        # Werkzeug's own state machine, without binding an adapter to the
        # environ first. Anything but a clean match (404, 405, a redirect, a
        # converter error) is left to the adapter, which raises it properly.
        try:
            url_map.update()
            path = path_info.encode("latin-1").decode("utf-8", "replace")
            path_part = f"/{path.lstrip('/')}" if path else ""
            rule, values = url_map._matcher.match("", path_part, request.method, False)
        except Exception:
            return False
        if rule.redirect_to is not None:
            return False
        if self._defaults[rule.endpoint] - (1 if rule.defaults else 0) > 0:
            return False
        request.url_rule = rule
        request.view_args = values
        return True
