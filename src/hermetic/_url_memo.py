"""``url_for(endpoint)`` in a request: the URL remembered per bind, when Werkzeug's is fixed.

A page links to the same few endpoints on every request (``{{
url_for('save') }}``). Werkzeug builds each one by binding a ``MapAdapter``
to the request and walking the endpoint's rules: about 31k instructions for
a URL that, for a rule without variables, is the same on every request
made under the same bind. So the first build's answer is kept in the app's
cached bind (:func:`hermetic.routing.cached_bind`: one per host, scheme,
script name and ``SERVER_NAME`` setting), under the request method (the
adapter's default method chooses among an endpoint's rules) and the
endpoint, with the URL map's version, and later calls under that bind get
it without an adapter.

Only a call with no values and no ``_anchor``, ``_method``, ``_scheme`` or
``_external``, in a request whose adapter is not made yet or is the bind's
own, on an app whose ``create_url_adapter``, URL defaults and
``TRUSTED_HOSTS`` leave the bind to
:func:`hermetic.routing._bind_to_environ`, of an endpoint whose every rule
has no variable (Werkzeug's ``Rule`` and ``MapAdapter``, hermetic's
``VersionedMap``), is answered here. Everything else is built by Werkzeug,
which stays the authority (and gives every remembered answer first).
"""

from __future__ import annotations

import typing as t

from werkzeug.routing import MapAdapter, Rule

from .ctx import _sentinel
from .routing import cached_bind

if t.TYPE_CHECKING:  # pragma: no cover
    from ._app_urls import AppURLMixin
    from .ctx import RequestContext

__all__ = ["remember", "remembered"]

#: URLs kept per bind at most (the request method comes from the client).
MAX_URLS_PER_BIND = 256
#: Where ``RequestContext`` keeps its adapter (``_sentinel`` until made).
_ADAPTER = "_adapter"


def _bound_alike(adapter: t.Any, entry: tuple[t.Any, ...], method: t.Any) -> bool:
    """Tell whether ``adapter`` builds as the adapter of ``entry`` for ``method`` would.

    Werkzeug's ``MapAdapter.build`` reads only these fields; a request whose
    adapter holds other values (set by code, or changed) is built by it.
    """
    return (
        type(adapter) is MapAdapter
        and adapter.map is entry[0]
        and adapter.server_name == entry[2]
        and adapter.script_name == entry[3]
        and adapter.subdomain == entry[4]
        and adapter.url_scheme == entry[5]
        and adapter.default_method == method
    )


def _bind_entry(app: AppURLMixin, req_ctx: RequestContext) -> tuple[t.Any, ...] | None:
    """Return the app's cached bind for this request (the caller checked the app binds plainly)."""
    server_name, subdomain = app._request_bind_args()
    if server_name is not None and subdomain is None:
        return None  # bound by Werkzeug with its host warning, never cached
    return cached_bind(app, app.url_map, req_ctx.request.environ, server_name, subdomain)


def remembered(app: AppURLMixin, req_ctx: RequestContext, endpoint: str) -> str | None:
    """Return the URL Werkzeug built for ``endpoint`` under this request's bind, or ``None``.

    The caller checked that the call and the app qualify (see the module's doc).
    """
    # _bind_entry's steps, in this frame (the call is on every plain url_for).
    server_name, subdomain = app._request_bind_args()
    if server_name is not None and subdomain is None:
        return None
    environ = req_ctx.request.environ
    entry = cached_bind(app, app.url_map, environ, server_name, subdomain)
    if entry is None:
        return None
    method = environ.get("REQUEST_METHOD")
    adapter = getattr(req_ctx, _ADAPTER, None)
    if adapter is not _sentinel and not _bound_alike(adapter, entry, method):
        return None
    kept = entry[6].get((method, endpoint))
    if kept is None or kept[0] != app.url_map.version:  # type: ignore[attr-defined]  # a VersionedMap
        return None
    return kept[1]  # type: ignore[no-any-return]  # a URL stored by remember()


def _fixed(rules: t.Iterable[Rule]) -> bool:
    """Tell whether Werkzeug builds these rules without variables into one answer."""
    found = False
    for rule in rules:
        found = True
        if (
            rule.arguments
            or type(rule).build is not Rule.build
            or type(rule).suitable_for is not Rule.suitable_for
        ):
            return False
    return found


def remember(
    app: AppURLMixin, req_ctx: RequestContext, adapter: t.Any, endpoint: str, url: str
) -> None:
    """Keep ``url``, just built by Werkzeug with ``adapter``, for this request's bind."""
    entry = _bind_entry(app, req_ctx)
    if entry is None or entry[1] is not MapAdapter:
        return
    method = req_ctx.request.environ.get("REQUEST_METHOD")
    url_map = app.url_map
    built: dict[tuple[t.Any, str], tuple[int, str]] = entry[6]
    if (
        len(built) >= MAX_URLS_PER_BIND
        or not _bound_alike(adapter, entry, method)
        or not _fixed(url_map._rules_by_endpoint.get(endpoint, ()))
    ):
        return
    version: int = url_map.version  # type: ignore[attr-defined]  # a VersionedMap
    built[(method, endpoint)] = (version, url)
