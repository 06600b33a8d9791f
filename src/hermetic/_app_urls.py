"""URL building of the application: binding the URL map, ``url_for`` and its hooks.

Part of :class:`hermetic._app_base.App` (Flask's ``flask.sansio.app.App``),
kept apart to keep each module readable in one sitting.
"""

from __future__ import annotations

import sys
import typing as t
import warnings
from itertools import chain
from urllib.parse import quote as _url_quote

from werkzeug.routing import BuildError, Map, MapAdapter
from werkzeug.utils import redirect as _werkzeug_redirect
from werkzeug.wrappers import Response as BaseResponse

from . import _url_memo
from ._response_makers import _make_redirect_maker
from .globals import _cv_app, _cv_request
from .routing import VersionedMap, _bind_to_config, _bind_to_environ

#: Not yet looked up (a maker may be None).
_UNKNOWN = object()

if t.TYPE_CHECKING:  # pragma: no cover
    from .config import Config
    from .wrappers import Request


class AppURLMixin:
    """Bind the URL map and build URLs; mixed into :class:`~hermetic._app_base.App`."""

    # Set by App.__init__ and Scaffold.__init__ (declared here for type checkers).
    config: Config
    url_map: Map
    subdomain_matching: bool
    url_build_error_handlers: list[t.Callable[[Exception, str, dict[str, t.Any]], str]]
    url_default_functions: dict[str | None, list[t.Callable[..., t.Any]]]
    response_class: type[BaseResponse]
    _text_makers: dict[t.Any, t.Any]

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """Bind the URL map to a request, or to ``SERVER_NAME`` outside one.

        The parts of a bind that depend only on the host, scheme and script
        name are kept per app (see :func:`hermetic.routing._bind_to_environ`),
        so a request pays for its own path, query and method only.
        """
        config = self.config
        url_map = self.url_map
        if request is not None:
            trusted = config["TRUSTED_HOSTS"]
            if trusted is not None:
                request.trusted_hosts = trusted
                # SECURITY: reading the host checks it against the trusted
                # list, on every request, before any cached bind is reused.
                request.host  # noqa: B018
            server_name, subdomain = self._request_bind_args()
            if server_name is None or subdomain is not None:
                return _bind_to_environ(self, url_map, request.environ, server_name, subdomain)
            # Werkzeug warns here when the host does not match SERVER_NAME:
            # not cached, so every such request still warns.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                adapter = url_map.bind_to_environ(
                    request.environ, server_name=server_name, subdomain=subdomain
                )
            for item in caught:
                # Report Werkzeug's warnings from here, as Flask does.
                warnings.warn_explicit(item.message, item.category, __file__, 0, module="flask.app")
            return adapter
        server_name = config["SERVER_NAME"]
        if server_name is not None:
            return _bind_to_config(
                self,
                url_map,
                server_name,
                config["APPLICATION_ROOT"],
                config["PREFERRED_URL_SCHEME"],
            )
        return None

    def _request_bind_args(self) -> tuple[str | None, str | None]:
        """Return the ``server_name`` and ``subdomain`` a request's bind gets from the config."""
        subdomain = None
        server_name = self.config["SERVER_NAME"]
        url_map = self.url_map
        if url_map.host_matching:
            # The request's own host is what host rules match against.
            server_name = None
        elif not self.subdomain_matching:
            # Without subdomain matching, SERVER_NAME does not restrict
            # which hosts are served (it still names external URLs).
            subdomain = url_map.default_subdomain or ""
        return server_name, subdomain

    def url_for(
        self,
        /,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: t.Any,
    ) -> str:
        """Build the URL of ``endpoint``; see :func:`hermetic.url_for`."""
        req_ctx = _cv_request.get(None)
        # A plain link to an endpoint: the URL Werkzeug built for it earlier
        # under this request's bind, if the endpoint's URL is fixed.
        plain = (
            req_ctx is not None
            and not values
            and _anchor is None
            and _method is None
            and _scheme is None
            and _external is None
            and endpoint[:1] != "."
            and _binds_plainly(self)
        )
        if plain:
            kept = _url_memo.remembered(self, req_ctx, endpoint)  # type: ignore[arg-type]  # plain: in a request
            if kept is not None:
                return kept
        if req_ctx is not None:
            url_adapter = req_ctx.url_adapter
            if endpoint[:1] == ".":
                blueprint_name = req_ctx.request.blueprint
                if blueprint_name is not None:
                    endpoint = f"{blueprint_name}{endpoint}"
                else:
                    endpoint = endpoint[1:]
            if _external is None:
                _external = _scheme is not None
        else:
            app_ctx = _cv_app.get(None)
            if app_ctx is not None:
                url_adapter = app_ctx.url_adapter
            else:
                url_adapter = self.create_url_adapter(None)
            if url_adapter is None:
                raise RuntimeError(
                    "Unable to build URLs outside an active request"
                    " without 'SERVER_NAME' configured. Also configure"
                    " 'APPLICATION_ROOT' and 'PREFERRED_URL_SCHEME' as"
                    " needed."
                )
            if _external is None:
                _external = True
        if _scheme is not None and not _external:
            raise ValueError("When specifying '_scheme', '_external' must be True.")
        if self.url_default_functions or type(self).inject_url_defaults is not _INJECT_URL_DEFAULTS:
            self.inject_url_defaults(endpoint, values)
        try:
            rv = url_adapter.build(
                endpoint,
                values,
                method=_method,
                url_scheme=_scheme,
                force_external=_external,
            )
        except BuildError as error:
            values.update(_anchor=_anchor, _method=_method, _scheme=_scheme, _external=_external)
            return self.handle_url_build_error(error, endpoint, values)
        if plain:
            _url_memo.remember(self, req_ctx, url_adapter, endpoint, rv)  # type: ignore[arg-type]  # plain: in a request
        if _anchor is not None:
            _anchor = _url_quote(_anchor, safe="%!#$&'()*+,/:;=?@")
            rv = f"{rv}#{_anchor}"
        return rv  # type: ignore[no-any-return]  # the adapter builds a str

    def inject_url_defaults(self, endpoint: str, values: dict[str, t.Any]) -> None:
        """Let the ``url_defaults`` functions fill in ``values`` for ``endpoint``."""
        names: t.Iterable[str | None] = (None,)
        if "." in endpoint:
            from .helpers import _split_blueprint_path

            names = chain(names, reversed(_split_blueprint_path(endpoint.rpartition(".")[0])))
        for name in names:
            if name in self.url_default_functions:
                for func in self.url_default_functions[name]:
                    func(endpoint, values)

    def handle_url_build_error(
        self, error: BuildError, endpoint: str, values: dict[str, t.Any]
    ) -> str:
        """Give the ``url_build_error_handlers`` a chance, then re-raise."""
        for handler in self.url_build_error_handlers:
            try:
                rv = handler(error, endpoint, values)
            except BuildError as e:
                error = e
            else:
                if rv is not None:
                    return rv
        if error is sys.exc_info()[1]:
            raise
        raise error

    def redirect(self, location: str, code: int = 302) -> BaseResponse:
        """Make a redirect response with :attr:`response_class`.

        What Werkzeug's ``redirect`` makes; for the usual redirects, made
        directly by a maker proved equal for the class
        (``_response_makers._make_redirect_maker``), kept per class.
        """
        cls = self.response_class
        # The key names the function that made the maker, so that swapping
        # that function (the fast paths' differential tests switch it off)
        # finds its own entry rather than one made before.
        key = (cls, _make_redirect_maker)
        make = self._text_makers.get(key, _UNKNOWN)
        if make is _UNKNOWN:
            make = self._text_makers[key] = _make_redirect_maker(cls)
        if make is None:
            return _werkzeug_redirect(location, code=code, Response=cls)
        return make(location, code)  # type: ignore[no-any-return]  # an instance of cls


_INJECT_URL_DEFAULTS = AppURLMixin.inject_url_defaults
_CREATE_URL_ADAPTER = AppURLMixin.create_url_adapter


def _binds_plainly(app: AppURLMixin) -> bool:
    """Tell whether a request's bind is :func:`hermetic.routing._bind_to_environ`'s, as is."""
    cls = type(app)
    return (
        cls.create_url_adapter is _CREATE_URL_ADAPTER
        and cls.inject_url_defaults is _INJECT_URL_DEFAULTS
        and not app.url_default_functions
        and app.config["TRUSTED_HOSTS"] is None
        and type(app.url_map) is VersionedMap
    )
