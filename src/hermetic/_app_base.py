"""The application, apart from serving requests: configuration, registration,
templates and URL building (what Flask calls the "sans-IO" app)."""

from __future__ import annotations

import os
import sys
import typing as t
import warnings
import weakref
from datetime import timedelta
from itertools import chain
from urllib.parse import quote as _url_quote

from werkzeug.datastructures import ImmutableDict
from werkzeug.exceptions import (
    Aborter,
    BadRequestKeyError,
)
from werkzeug.exceptions import (
    BadRequest as _BadRequest,
)
from werkzeug.routing import BuildError, Map, MapAdapter, Rule
from werkzeug.utils import cached_property
from werkzeug.utils import redirect as _werkzeug_redirect
from werkzeug.wrappers import Response as BaseResponse

from . import templating
from .config import Config, ConfigAttribute
from .ctx import _AppCtxGlobals
from .globals import _cv_app, _cv_request
from .helpers import get_debug_flag
from .json.provider import DefaultJSONProvider, JSONProvider
from .logging import create_logger
from .routing import StaticRouter, VersionedMap
from .scaffold import (
    Scaffold,
    _endpoint_from_view_func,
    find_package,
    registering_decorator,
    setupmethod,
)
from .templating import Environment
from .wrappers import Request

T = t.TypeVar("T", bound=t.Callable[..., t.Any])
_sentinel = object()

_AUTOESCAPED_SUFFIXES = (".html", ".htm", ".xml", ".xhtml", ".svg")


def _make_timedelta(value: timedelta | int | None) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    return timedelta(seconds=value)


class App(Scaffold):
    """Configuration, registration, templates and URL building of an application.

    :class:`hermetic.Flask` adds serving requests; use that class.
    """

    aborter_class = Aborter
    jinja_environment = Environment
    app_ctx_globals_class = _AppCtxGlobals
    config_class = Config
    json_provider_class: type[JSONProvider] = DefaultJSONProvider
    url_rule_class = Rule
    url_map_class: type[Map] = VersionedMap
    jinja_options: dict[str, t.Any] = {}

    testing = ConfigAttribute("TESTING")
    secret_key = ConfigAttribute("SECRET_KEY")
    permanent_session_lifetime = ConfigAttribute(
        "PERMANENT_SESSION_LIFETIME", get_converter=_make_timedelta
    )

    default_config = ImmutableDict(
        {
            "DEBUG": None,
            "TESTING": False,
            "PROPAGATE_EXCEPTIONS": None,
            "SECRET_KEY": None,
            "SECRET_KEY_FALLBACKS": None,
            "PERMANENT_SESSION_LIFETIME": timedelta(days=31),
            "USE_X_SENDFILE": False,
            "TRUSTED_HOSTS": None,
            "SERVER_NAME": None,
            "APPLICATION_ROOT": "/",
            "SESSION_COOKIE_NAME": "session",
            "SESSION_COOKIE_DOMAIN": None,
            "SESSION_COOKIE_PATH": None,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SECURE": False,
            "SESSION_COOKIE_PARTITIONED": False,
            "SESSION_COOKIE_SAMESITE": None,
            "SESSION_REFRESH_EACH_REQUEST": True,
            "MAX_CONTENT_LENGTH": None,
            "MAX_FORM_MEMORY_SIZE": 500_000,
            "MAX_FORM_PARTS": 1_000,
            "SEND_FILE_MAX_AGE_DEFAULT": None,
            "TRAP_BAD_REQUEST_ERRORS": None,
            "TRAP_HTTP_EXCEPTIONS": False,
            "EXPLAIN_TEMPLATE_LOADING": False,
            "PREFERRED_URL_SCHEME": "http",
            "TEMPLATES_AUTO_RELOAD": None,
            "MAX_COOKIE_SIZE": 4093,
            "PROVIDE_AUTOMATIC_OPTIONS": True,
        }
    )

    def __init__(
        self,
        import_name: str,
        static_url_path: str | None = None,
        static_folder: str | os.PathLike[str] | None = "static",
        static_host: str | None = None,
        host_matching: bool = False,
        subdomain_matching: bool = False,
        template_folder: str | os.PathLike[str] | None = "templates",
        instance_path: str | None = None,
        instance_relative_config: bool = False,
        root_path: str | None = None,
    ) -> None:
        super().__init__(
            import_name=import_name,
            static_folder=static_folder,
            static_url_path=static_url_path,
            template_folder=template_folder,
            root_path=root_path,
        )
        if instance_path is None:
            instance_path = self.auto_find_instance_path()
        elif not os.path.isabs(instance_path):
            raise ValueError(
                "If an instance path is provided it must be absolute."
                " A relative path was given instead."
            )
        self.instance_path = instance_path
        self.config = self.make_config(instance_relative_config)
        self.aborter = self.make_aborter()
        self.json: JSONProvider = self.json_provider_class(self)
        self.url_build_error_handlers: list[
            t.Callable[[Exception, str, dict[str, t.Any]], str]
        ] = []
        self.teardown_appcontext_funcs: list[t.Callable[..., t.Any]] = []
        self.shell_context_processors: list[t.Callable[[], dict[str, t.Any]]] = []
        self.blueprints: dict[str, t.Any] = {}
        self.extensions: dict[str, t.Any] = {}
        self.url_map = self.url_map_class(host_matching=host_matching)
        self.subdomain_matching = subdomain_matching
        self._got_first_request = False
        self._fast_router: StaticRouter | None = StaticRouter()
        self._sync_views: dict[t.Callable[..., t.Any], t.Callable[..., t.Any]] = {}
        self._plain_response_classes: dict[type, bool] = {}
        self._text_makers: dict[type, t.Any] = {}

        from .cli import AppGroup

        self.cli = AppGroup()
        self.cli.name = self.name

        if self.has_static_folder:
            if bool(static_host) != host_matching:
                raise AssertionError(
                    "Invalid static_host/host_matching combination: pass"
                    " static_host exactly when host_matching=True."
                )
            self_ref = weakref.ref(self)
            self.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                endpoint="static",
                host=static_host,
                view_func=lambda **kw: self_ref().send_static_file(**kw),  # type: ignore[union-attr]
            )

    # -- identity and configuration -------------------------------------

    def _check_setup_finished(self, f_name: str) -> None:
        if self._got_first_request:
            raise AssertionError(
                f"The setup method '{f_name}' can no longer be called"
                " on the application. It has already handled its first"
                " request, any changes will not be applied"
                " consistently.\n"
                "Make sure all imports, decorators, functions, etc."
                " needed to set up the application are done before"
                " running it."
            )

    @cached_property
    def name(self) -> str:  # type: ignore[override]
        """The app's name: the import name, or the script's name for ``__main__``."""
        if self.import_name == "__main__":
            fn = getattr(sys.modules["__main__"], "__file__", None)
            if fn is None:
                return "__main__"
            return os.path.splitext(os.path.basename(fn))[0]
        return self.import_name

    @cached_property
    def logger(self) -> t.Any:
        """The ``logging.Logger`` named after the app (see :mod:`hermetic.logging`)."""
        return create_logger(self)

    @cached_property
    def jinja_env(self) -> Environment:
        """The Jinja environment, made on first use."""
        return self.create_jinja_environment()

    def make_config(self, instance_relative: bool = False) -> Config:
        """Create the config, relative to the instance folder if asked."""
        root_path = self.instance_path if instance_relative else self.root_path
        defaults = dict(self.default_config)
        defaults["DEBUG"] = get_debug_flag()
        return self.config_class(root_path, defaults)

    def make_aborter(self) -> Aborter:
        """Create the object behind :func:`abort`."""
        return self.aborter_class()

    def auto_find_instance_path(self) -> str:
        """Find the instance folder: ``instance`` next to the package, or under the prefix."""
        prefix, package_path = find_package(self.import_name)
        if prefix is None:
            return os.path.join(package_path, "instance")
        return os.path.join(prefix, "var", f"{self.name}-instance")

    def open_instance_resource(
        self, resource: str, mode: str = "rb", encoding: str | None = "utf-8"
    ) -> t.IO[t.AnyStr]:
        """Open a file relative to the instance folder (writing allowed)."""
        path = os.path.join(self.instance_path, resource)
        if "b" in mode:
            return open(path, mode)  # type: ignore[return-value]
        return open(path, mode, encoding=encoding)  # type: ignore[return-value]

    @property
    def debug(self) -> bool:
        """Debug mode (``DEBUG``): reloads templates and shows tracebacks.

        .. warning:: Never enable it on a server reachable by others.
        """
        return self.config["DEBUG"]  # type: ignore[no-any-return]

    @debug.setter
    def debug(self, value: bool) -> None:
        self.config["DEBUG"] = value
        if self.config["TEMPLATES_AUTO_RELOAD"] is None:
            self.jinja_env.auto_reload = value

    # -- templates ------------------------------------------------------

    def create_jinja_environment(self) -> Environment:
        """Create the Jinja environment from :attr:`jinja_options` and the app."""
        return templating.create_jinja_environment(self)

    def create_global_jinja_loader(self) -> templating.DispatchingJinjaLoader:
        """Create the loader that looks in the app's, then each blueprint's, templates."""
        return templating.DispatchingJinjaLoader(self)

    def select_jinja_autoescape(self, filename: str | None) -> bool:
        """Autoescape HTML, XML and SVG templates, and templates from strings."""
        if filename is None:
            return True
        return filename.endswith(_AUTOESCAPED_SUFFIXES)

    def update_template_context(self, context: dict[str, t.Any]) -> None:
        """Add the context processors' variables; the caller's values win."""
        templating.update_template_context(self, context)

    @setupmethod
    def template_filter(self, name: str | None = None) -> t.Callable[[T], T]:
        """Register the decorated function as a Jinja filter."""
        return registering_decorator(self.add_template_filter, name)

    @setupmethod
    def add_template_filter(self, f: t.Callable[..., t.Any], name: str | None = None) -> None:
        """Register a Jinja filter, named after the function by default."""
        self.jinja_env.filters[name or f.__name__] = f

    @setupmethod
    def template_test(self, name: str | None = None) -> t.Callable[[T], T]:
        """Register the decorated function as a Jinja test."""
        return registering_decorator(self.add_template_test, name)

    @setupmethod
    def add_template_test(self, f: t.Callable[..., bool], name: str | None = None) -> None:
        """Register a Jinja test, named after the function by default."""
        self.jinja_env.tests[name or f.__name__] = f

    @setupmethod
    def template_global(self, name: str | None = None) -> t.Callable[[T], T]:
        """Register the decorated function as a Jinja global."""
        return registering_decorator(self.add_template_global, name)

    @setupmethod
    def add_template_global(self, f: t.Callable[..., t.Any], name: str | None = None) -> None:
        """Register a Jinja global, named after the function by default."""
        self.jinja_env.globals[name or f.__name__] = f

    # -- registration ---------------------------------------------------

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: t.Callable[..., t.Any] | None = None,
        provide_automatic_options: bool | None = None,
        **options: t.Any,
    ) -> None:
        """Connect a URL rule to an endpoint, and the endpoint to ``view_func``.

        ``exempt=["csrf", ...]`` skips the named shields on this route.
        """
        if endpoint is None:
            endpoint = _endpoint_from_view_func(view_func)
        options["endpoint"] = endpoint
        skipped = options.pop("exempt", None)
        methods = options.pop("methods", None)
        if methods is None:
            methods = getattr(view_func, "methods", None) or ("GET",)
        if isinstance(methods, str):
            raise TypeError(
                "Allowed methods must be a list of strings, for"
                ' example: @app.route(..., methods=["POST"])'
            )
        methods = {item.upper() for item in methods}
        required = set(getattr(view_func, "required_methods", ()))
        if provide_automatic_options is None:
            provide_automatic_options = getattr(view_func, "provide_automatic_options", None)
        if provide_automatic_options is None:
            if "OPTIONS" not in methods and self.config["PROVIDE_AUTOMATIC_OPTIONS"]:
                provide_automatic_options = True
                required.add("OPTIONS")
            else:
                provide_automatic_options = False
        methods |= required
        rule_obj = self.url_rule_class(rule, methods=methods, **options)
        rule_obj.provide_automatic_options = provide_automatic_options  # type: ignore[attr-defined]
        self.url_map.add(rule_obj)
        if skipped is not None:
            from .security.shields import pipeline_for

            pipeline_for(self).exempt_route(endpoint, skipped)  # type: ignore[arg-type]
        if view_func is not None:
            old = self.view_functions.get(endpoint)
            if old is not None and old != view_func:
                raise AssertionError(
                    "View function mapping is overwriting an existing"
                    f" endpoint function: {endpoint}"
                )
            self.view_functions[endpoint] = view_func

    @setupmethod
    def register_blueprint(self, blueprint: t.Any, **options: t.Any) -> None:
        """Register a blueprint: its routes, hooks, templates and commands."""
        blueprint.register(self, options)

    def iter_blueprints(self) -> t.ValuesView[t.Any]:
        """Iterate over the registered blueprints, in registration order."""
        return self.blueprints.values()

    @setupmethod
    def teardown_appcontext(self, f: T) -> T:
        """Run ``f(error)`` when the application context is popped."""
        self.teardown_appcontext_funcs.append(f)
        return f

    @setupmethod
    def shell_context_processor(self, f: T) -> T:
        """Register ``f()`` to add names to the ``hermetic shell`` namespace."""
        self.shell_context_processors.append(f)
        return f

    def make_shell_context(self) -> dict[str, t.Any]:
        """Return the names the interactive shell starts with."""
        from .globals import g

        namespace = {"app": self, "g": g}
        for processor in self.shell_context_processors:
            namespace.update(processor())
        return namespace

    # -- URLs -----------------------------------------------------------

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """Bind the URL map to a request, or to ``SERVER_NAME`` outside one.

        The parts of a bind that depend only on the host, scheme and script
        name are kept per app (see :func:`_bind_to_environ`), so a request
        pays for its own path, query and method only.
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
            subdomain = None
            server_name = config["SERVER_NAME"]
            if url_map.host_matching:
                # The request's own host is what host rules match against.
                server_name = None
            elif not self.subdomain_matching:
                # Without subdomain matching, SERVER_NAME does not restrict
                # which hosts are served (it still names external URLs).
                subdomain = url_map.default_subdomain or ""
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
        if _anchor is not None:
            _anchor = _url_quote(_anchor, safe="%!#$&'()*+,/:;=?@")
            rv = f"{rv}#{_anchor}"
        return rv  # type: ignore[no-any-return]

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
        """Make a redirect response with :attr:`response_class`."""
        return _werkzeug_redirect(location, code=code, Response=self.response_class)

    # -- errors ---------------------------------------------------------

    def _find_error_handler(
        self, e: Exception, blueprints: list[str]
    ) -> t.Callable[..., t.Any] | None:
        exc_class, code = self._get_exc_class_and_code(type(e))
        names = (*blueprints, None)
        for c in (code, None) if code is not None else (None,):
            for name in names:
                handler_map = self.error_handler_spec.get(name, {}).get(c)
                if not handler_map:
                    continue
                for cls in exc_class.__mro__:
                    handler = handler_map.get(cls)
                    if handler is not None:
                        return handler
        return None

    def trap_http_exception(self, e: Exception) -> bool:
        """Tell whether an HTTP error should propagate instead of becoming a response."""
        if self.config["TRAP_HTTP_EXCEPTIONS"]:
            return True
        trap_bad_request = self.config["TRAP_BAD_REQUEST_ERRORS"]
        if trap_bad_request is None and self.debug and isinstance(e, BadRequestKeyError):
            return True
        if trap_bad_request:
            return isinstance(e, _BadRequest)
        return False

    def should_ignore_error(self, error: BaseException | None) -> bool:
        """Tell teardown functions to ignore ``error`` (never, by default)."""
        return False


# -- bound URL adapters ---------------------------------------------------

_INJECT_URL_DEFAULTS = App.inject_url_defaults

#: How many binds an app keeps. The Host header is chosen by the client, so
#: the cache is emptied when full: a flood of made-up hosts costs a bind per
#: request, as with no cache, and never memory.
_ADAPTER_CACHE_SIZE = 32
#: The longest Host header whose bind is kept (longer ones are bound anew).
_ADAPTER_CACHE_MAX_HOST = 255


def _adapter_cache(app: App) -> dict[t.Any, tuple[t.Any, ...]]:
    cache = app.__dict__.get("_url_adapters")
    if cache is None:
        cache = app.__dict__["_url_adapters"] = {}
    return cache  # type: ignore[no-any-return]


def _wsgi_str(value: str | None) -> str | None:
    # Werkzeug's decoding of a WSGI string (latin-1 bytes read as UTF-8).
    if value is None or value.isascii():
        return value
    return value.encode("latin1").decode(errors="replace")


def _bind_to_environ(
    app: App,
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
    host = environ.get("HTTP_HOST")
    if (
        "HTTP_UPGRADE" in environ  # a WebSocket bind changes the scheme: not kept
        or type(url_map).bind_to_environ is not Map.bind_to_environ
        or (host is not None and len(host) > _ADAPTER_CACHE_MAX_HOST)
    ):
        return url_map.bind_to_environ(environ, server_name=server_name, subdomain=subdomain)
    key = (
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
        )
        return adapter
    _, cls, bound_server, script_name, bound_subdomain, scheme = entry
    path_info = _wsgi_str(environ.get("PATH_INFO"))
    return cls(  # type: ignore[no-any-return]
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
    app: App, url_map: Map, server_name: str, script_name: str | None, url_scheme: str
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
    return cls(url_map, bound_server, bound_script, subdomain, url_scheme, "/", "GET", None)  # type: ignore[no-any-return]
