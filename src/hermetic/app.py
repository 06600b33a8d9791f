"""The application object: configuration, registration and the WSGI entry."""

from __future__ import annotations

import collections.abc as cabc
import os
import sys
import typing as t
import warnings
import weakref
from datetime import timedelta
from inspect import iscoroutinefunction
from itertools import chain
from types import TracebackType
from urllib.parse import quote as _url_quote

import click
from werkzeug.datastructures import Headers, ImmutableDict
from werkzeug.exceptions import (
    Aborter,
    BadRequestKeyError,
    HTTPException,
    InternalServerError,
)
from werkzeug.exceptions import (
    BadRequest as _BadRequest,
)
from werkzeug.routing import BuildError, Map, MapAdapter, RequestRedirect, RoutingException, Rule
from werkzeug.serving import is_running_from_reloader
from werkzeug.utils import cached_property
from werkzeug.utils import redirect as _werkzeug_redirect
from werkzeug.wrappers import Response as BaseResponse

from . import templating
from .config import Config, ConfigAttribute
from .ctx import AppContext, RequestContext, _AppCtxGlobals
from .globals import _cv_app, _cv_request, request, request_ctx
from .helpers import get_debug_flag, get_load_dotenv
from .json.provider import DefaultJSONProvider, JSONProvider
from .logging import create_logger
from .routing import StaticRouter, VersionedMap
from .scaffold import Scaffold, _endpoint_from_view_func, find_package, setupmethod
from .sessions import SecureCookieSessionInterface, SessionInterface
from .signals import (
    appcontext_tearing_down,
    got_request_exception,
    request_finished,
    request_started,
    request_tearing_down,
)
from .templating import Environment
from .wrappers import Request, Response, _make_text_maker

if t.TYPE_CHECKING:  # pragma: no cover
    from .security.shields import ShieldPipeline
    from .testing import FlaskClient, FlaskCliRunner

T = t.TypeVar("T", bound=t.Callable[..., t.Any])
_sentinel = object()

_AUTOESCAPED_SUFFIXES = (".html", ".htm", ".xml", ".xhtml", ".svg")
# Headers Werkzeug may rewrite when it sends a response (IRI -> URI).
_REWRITTEN_HEADERS = frozenset({"location", "content-location"})


_LAZY_SESSION_CLASSES: dict[type, bool] = {}


def _make_timedelta(value: timedelta | int | None) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    return timedelta(seconds=value)


class Flask(Scaffold):
    """A WSGI application with Flask 3.1's API.

    ``import_name`` locates resources (templates, static files, the instance
    folder). Every protection of the security layer is off on this class;
    :class:`hermetic.Hermetic` turns them on.
    """

    request_class: type[Request] = Request
    response_class: type[Response] = Response
    aborter_class = Aborter
    jinja_environment = Environment
    app_ctx_globals_class = _AppCtxGlobals
    config_class = Config
    json_provider_class: type[JSONProvider] = DefaultJSONProvider
    url_rule_class = Rule
    url_map_class: type[Map] = VersionedMap
    test_client_class: type[FlaskClient] | None = None
    test_cli_runner_class: type[FlaskCliRunner] | None = None
    session_interface: SessionInterface = SecureCookieSessionInterface()
    #: The security shields (:mod:`hermetic.security.shields`); ``None`` runs none.
    shields: ShieldPipeline | None = None
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

    @property
    def _lazy_session(self) -> bool:
        # An interface whose open_session has no side effects (it says so with
        # ``open_lazily`` in the class that defines open_session) is opened
        # only when the session is used.
        cls = type(self.session_interface)
        lazy = _LAZY_SESSION_CLASSES.get(cls)
        if lazy is None:
            owner = next(c for c in cls.__mro__ if "open_session" in c.__dict__)
            lazy = _LAZY_SESSION_CLASSES[cls] = bool(owner.__dict__.get("open_lazily", False))
        return lazy

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
        if callable(name):
            self.add_template_filter(name)
            return name  # type: ignore[return-value]

        def decorator(f: T) -> T:
            self.add_template_filter(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_filter(self, f: t.Callable[..., t.Any], name: str | None = None) -> None:
        """Register a Jinja filter, named after the function by default."""
        self.jinja_env.filters[name or f.__name__] = f

    @setupmethod
    def template_test(self, name: str | None = None) -> t.Callable[[T], T]:
        """Register the decorated function as a Jinja test."""
        if callable(name):
            self.add_template_test(name)
            return name  # type: ignore[return-value]

        def decorator(f: T) -> T:
            self.add_template_test(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_test(self, f: t.Callable[..., bool], name: str | None = None) -> None:
        """Register a Jinja test, named after the function by default."""
        self.jinja_env.tests[name or f.__name__] = f

    @setupmethod
    def template_global(self, name: str | None = None) -> t.Callable[[T], T]:
        """Register the decorated function as a Jinja global."""
        if callable(name):
            self.add_template_global(name)
            return name  # type: ignore[return-value]

        def decorator(f: T) -> T:
            self.add_template_global(f, name=name)
            return f

        return decorator

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
        """Connect a URL rule to an endpoint, and the endpoint to ``view_func``."""
        if endpoint is None:
            endpoint = _endpoint_from_view_func(view_func)
        options["endpoint"] = endpoint
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

    # -- contexts -------------------------------------------------------

    def app_context(self) -> AppContext:
        """Create an application context (``with app.app_context(): ...``)."""
        return AppContext(self)

    def request_context(self, environ: dict[str, t.Any]) -> RequestContext:
        """Create a request context for a WSGI environment."""
        return RequestContext(self, environ)

    def test_request_context(self, *args: t.Any, **kwargs: t.Any) -> RequestContext:
        """Create a request context from ``EnvironBuilder`` arguments, for tests."""
        from .testing import EnvironBuilder

        builder = EnvironBuilder(self, *args, **kwargs)
        try:
            return self.request_context(builder.get_environ())
        finally:
            builder.close()

    def test_client(self, use_cookies: bool = True, **kwargs: t.Any) -> FlaskClient:
        """Create a test client (:class:`hermetic.testing.FlaskClient`)."""
        cls = self.test_client_class
        if cls is None:
            from .testing import FlaskClient as cls
        return cls(self, self.response_class, use_cookies=use_cookies, **kwargs)

    def test_cli_runner(self, **kwargs: t.Any) -> FlaskCliRunner:
        """Create a runner for the app's CLI commands, for tests."""
        cls = self.test_cli_runner_class
        if cls is None:
            from .testing import FlaskCliRunner as cls
        return cls(self, **kwargs)

    def run(
        self,
        host: str | None = None,
        port: int | None = None,
        debug: bool | None = None,
        load_dotenv: bool = True,
        **options: t.Any,
    ) -> None:
        """Run the development server. Not for production: use gunicorn or granian."""
        from . import cli

        if os.environ.get("FLASK_RUN_FROM_CLI") == "true":
            if not is_running_from_reloader():
                click.secho(
                    " * Ignoring a call to 'app.run()' that would block"
                    " the current 'hermetic' CLI command.\n"
                    "   Only call 'app.run()' in an 'if __name__ =="
                    ' "__main__"\' guard.',
                    fg="red",
                )
            return
        if get_load_dotenv(load_dotenv):
            cli.load_dotenv()
            if "FLASK_DEBUG" in os.environ or "HERMETIC_DEBUG" in os.environ:
                self.debug = get_debug_flag()
        if debug is not None:
            self.debug = bool(debug)
        server_name = self.config.get("SERVER_NAME")
        sn_host = sn_port = None
        if server_name:
            sn_host, _, sn_port = server_name.partition(":")
        if not host:
            host = sn_host or "127.0.0.1"
        if port or port == 0:
            port = int(port)
        elif sn_port:
            port = int(sn_port)
        else:
            port = 5000
        options.setdefault("use_reloader", self.debug)
        options.setdefault("use_debugger", self.debug)
        options.setdefault("threaded", True)
        unsafe = options.pop("unsafe_debugger_on_public_host", False)
        # SECURITY: the Werkzeug debugger is a remote shell; keep it on loopback.
        if options["use_debugger"] and not unsafe and not cli._is_loopback_host(host):
            if not is_running_from_reloader():
                click.secho(
                    f" * Not running the interactive debugger on host {host!r}: it"
                    " lets anyone who can reach the server run code on this machine."
                    " Bind to 127.0.0.1, or pass unsafe_debugger_on_public_host=True"
                    " on a trusted network. The debugger is off.",
                    fg="yellow",
                    err=True,
                )
            options["use_debugger"] = False
        cli.show_server_banner(self.debug, self.name)
        from werkzeug.serving import run_simple

        try:
            run_simple(t.cast(str, host), port, self, **options)
        finally:
            self._got_first_request = False

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

    # -- request handling -----------------------------------------------

    def ensure_sync(self, func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        """Wrap an ``async def`` function to be called synchronously."""
        if iscoroutinefunction(func):
            return self.async_to_sync(func)
        return func

    def async_to_sync(
        self, func: t.Callable[..., t.Coroutine[t.Any, t.Any, t.Any]]
    ) -> t.Callable[..., t.Any]:
        """Run a coroutine function to completion (needs the ``async`` extra)."""
        try:
            from asgiref.sync import async_to_sync as asgiref_async_to_sync
        except ImportError:
            raise RuntimeError(
                "Install hermetic with the 'async' extra in order to use async views"
                " (pip install 'hermetic[async]')."
            ) from None
        return asgiref_async_to_sync(func)

    def _view_caller(self, func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        # Views are called on every request: remember whether each is async.
        try:
            return self._sync_views[func]
        except (KeyError, TypeError):
            pass
        wrapped = self.ensure_sync(func)
        try:
            self._sync_views[func] = wrapped
        except TypeError:
            pass
        return wrapped

    def raise_routing_exception(self, request: Request) -> t.NoReturn:
        """Raise the routing error; in debug, explain redirects that drop form data."""
        exc = request.routing_exception
        if (
            not self.debug
            or not isinstance(exc, RequestRedirect)
            or exc.code in {307, 308}
            or request.method in {"GET", "HEAD", "OPTIONS"}
        ):
            raise exc  # type: ignore[misc]
        from .debughelpers import FormDataRoutingRedirect

        raise FormDataRoutingRedirect(request)

    def dispatch_request(self) -> t.Any:
        """Call the view of the matched rule and return its return value."""
        req = _cv_request.get().request
        if req.routing_exception is not None:
            self.raise_routing_exception(req)
        rule = req.url_rule
        if getattr(rule, "provide_automatic_options", False) and req.method == "OPTIONS":
            return self.make_default_options_response()
        view = self.view_functions[rule.endpoint]  # type: ignore[union-attr]
        return self._view_caller(view)(**req.view_args)  # type: ignore[arg-type]

    def full_dispatch_request(self) -> Response:
        """Run the before hooks, the view, and the after hooks; handle errors."""
        self._got_first_request = True
        try:
            if request_started.receivers:
                request_started.send(self, _async_wrapper=self.ensure_sync)
            rv = None
            if self.shields is not None:
                rv = self.shields.before(_cv_request.get().request)
            if rv is None:
                rv = self.preprocess_request()
            if rv is None:
                rv = self.dispatch_request()
        except Exception as e:
            rv = self.handle_user_exception(e)
        return self.finalize_request(rv)

    def finalize_request(self, rv: t.Any, from_error_handler: bool = False) -> Response:
        """Make the response and run the after-request steps."""
        response = self.make_response(rv)
        try:
            response = self.process_response(response)
            if request_finished.receivers:
                request_finished.send(self, _async_wrapper=self.ensure_sync, response=response)
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception("Request finalizing failed with an error while handling an error")
        return response

    def make_default_options_response(self) -> Response:
        """Answer ``OPTIONS`` with the methods the URL allows."""
        adapter = request_ctx.url_adapter
        methods = adapter.allowed_methods()
        rv = self.response_class()
        rv.allow.update(methods)
        return rv

    def preprocess_request(self) -> t.Any:
        """Run URL value preprocessors and before-request functions."""
        if not (self.url_value_preprocessors or self.before_request_funcs):
            return None
        req = _cv_request.get().request
        names = (None, *reversed(req.blueprints))
        for name in names:
            if name in self.url_value_preprocessors:
                for url_func in self.url_value_preprocessors[name]:
                    url_func(req.endpoint, req.view_args)
        for name in names:
            if name in self.before_request_funcs:
                for before_func in self.before_request_funcs[name]:
                    rv = self.ensure_sync(before_func)()
                    if rv is not None:
                        return rv
        return None

    def process_response(self, response: Response) -> Response:
        """Run after-request functions, then save the session if it was opened."""
        ctx = _cv_request.get()
        for func in ctx._after_request_functions:
            response = self.ensure_sync(func)(response)
        if self.after_request_funcs:
            for name in chain(ctx.request.blueprints, (None,)):
                if name in self.after_request_funcs:
                    for func in reversed(self.after_request_funcs[name]):
                        response = self.ensure_sync(func)(response)
        if self.shields is not None:
            response = self.shields.after(ctx.request, response)
        session = ctx._session_obj
        if (
            session is None
            and "HTTP_COOKIE" in ctx.request.environ
            and self.config["SESSION_REFRESH_EACH_REQUEST"]
            and type(self.session_interface).open_session
            is SecureCookieSessionInterface.open_session
        ):
            # A permanent session's cookie is refreshed on every request, even
            # one that did not use the session. Peek without marking it read.
            opened = ctx.session
            if isinstance(opened, dict) and dict.get(opened, "_permanent", False):
                session = opened
        if session is not None and not self.session_interface.is_null_session(session):
            self.session_interface.save_session(self, session, response)
        return response

    def do_teardown_request(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]
        """Run the teardown-request functions (called when the context pops)."""
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        if self.teardown_request_funcs:
            for name in chain(_cv_request.get().request.blueprints, (None,)):
                if name in self.teardown_request_funcs:
                    for func in reversed(self.teardown_request_funcs[name]):
                        self.ensure_sync(func)(exc)
        if request_tearing_down.receivers:
            request_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)

    def do_teardown_appcontext(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]
        """Run the teardown-appcontext functions (called when the context pops)."""
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        for func in reversed(self.teardown_appcontext_funcs):
            self.ensure_sync(func)(exc)
        if appcontext_tearing_down.receivers:
            appcontext_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)

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

    def handle_http_exception(self, e: HTTPException) -> t.Any:
        """Hand an HTTP error to its registered handler, or return it as the response."""
        if e.code is None:
            return e
        if isinstance(e, RoutingException):
            return e
        handler = self._find_error_handler(e, request.blueprints)
        if handler is None:
            return e
        return self.ensure_sync(handler)(e)

    def handle_user_exception(self, e: Exception) -> t.Any:
        """Handle an error raised by a hook or view, or re-raise it."""
        if isinstance(e, BadRequestKeyError) and (
            self.debug or self.config["TRAP_BAD_REQUEST_ERRORS"]
        ):
            e.show_exception = True
        if isinstance(e, HTTPException) and not self.trap_http_exception(e):
            return self.handle_http_exception(e)
        handler = self._find_error_handler(e, request.blueprints)
        if handler is None:
            raise
        return self.ensure_sync(handler)(e)

    def handle_exception(self, e: Exception) -> Response:
        """Turn an unhandled error into a 500 (or propagate it when testing)."""
        exc_info = sys.exc_info()
        if got_request_exception.receivers:
            got_request_exception.send(self, _async_wrapper=self.ensure_sync, exception=e)
        propagate = self.config["PROPAGATE_EXCEPTIONS"]
        if propagate is None:
            propagate = self.testing or self.debug
        if propagate:
            if exc_info[1] is e:
                raise
            raise e
        self.log_exception(exc_info)
        server_error: t.Any = InternalServerError(original_exception=e)
        handler = self._find_error_handler(server_error, request.blueprints)
        if handler is not None:
            server_error = self.ensure_sync(handler)(server_error)
        return self.finalize_request(server_error, from_error_handler=True)

    def log_exception(
        self,
        exc_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None],
    ) -> None:
        """Log an unhandled error with its traceback (to the server log, not the client)."""
        self.logger.error(f"Exception on {request.path} [{request.method}]", exc_info=exc_info)

    # -- responses ------------------------------------------------------

    def make_response(self, rv: t.Any) -> Response:
        """Convert a view's return value into :attr:`response_class`."""
        status = headers = None
        if isinstance(rv, tuple):
            n = len(rv)
            if n == 3:
                rv, status, headers = rv
            elif n == 2:
                if isinstance(rv[1], (Headers, dict, tuple, list)):
                    rv, headers = rv
                else:
                    rv, status = rv
            else:
                raise TypeError(
                    "The view function did not return a valid response tuple."
                    " The tuple must have the form (body, status, headers),"
                    " (body, status), or (body, headers)."
                )
        if rv is None:
            raise TypeError(
                f"The view function for {request.endpoint!r} did not"
                " return a valid response. The function either returned"
                " None or ended without a return statement."
            )
        if type(rv) is str and status is None and headers is None:
            make_text = self._text_maker()
            if make_text is not None:
                return make_text(rv)  # type: ignore[no-any-return]
        if not isinstance(rv, self.response_class):
            if isinstance(rv, (str, bytes, bytearray)) or isinstance(rv, cabc.Iterator):
                rv = self.response_class(rv, status=status, headers=headers)
                status = headers = None
            elif isinstance(rv, (dict, list)):
                rv = self.json.response(rv)
            elif isinstance(rv, BaseResponse) or callable(rv):
                try:
                    rv = self.response_class.force_type(rv, request.environ)
                except TypeError as e:
                    raise TypeError(
                        f"{e}\nThe view function did not return a valid"
                        " response. The return type must be a string,"
                        " dict, list, tuple with headers or status,"
                        " Response instance, or WSGI callable, but it"
                        f" was a {type(rv).__name__}."
                    ).with_traceback(sys.exc_info()[2]) from None
            else:
                raise TypeError(
                    "The view function did not return a valid"
                    " response. The return type must be a string,"
                    " dict, list, tuple with headers or status,"
                    " Response instance, or WSGI callable, but it was a"
                    f" {type(rv).__name__}."
                )
        if status is not None:
            if isinstance(status, (str, bytes, bytearray)):
                rv.status = status
            else:
                rv.status_code = status
        if headers:
            rv.headers.update(headers)
        return rv  # type: ignore[no-any-return]

    def _text_maker(self) -> t.Callable[..., Response] | None:
        cls = self.response_class
        cached = self._text_makers.get(cls, _sentinel)
        if cached is _sentinel:
            cached = self._text_makers[cls] = _make_text_maker(cls)
        return cached  # type: ignore[return-value]

    def _is_plain_response(self, cls: type) -> bool:
        known = self._plain_response_classes.get(cls)
        if known is None:
            known = all(
                getattr(cls, name) is getattr(BaseResponse, name)
                for name in (
                    "__call__",
                    "get_wsgi_response",
                    "get_wsgi_headers",
                    "get_app_iter",
                    "iter_encoded",
                    "close",
                )
            )
            self._plain_response_classes[cls] = known
        return known

    def _respond(
        self, response: t.Any, environ: dict[str, t.Any], start_response: t.Any
    ) -> t.Iterable[bytes]:
        # The common response -- one buffered body, no Location header, no
        # close callbacks -- skips Werkzeug's general header fix-ups, which
        # would leave it unchanged.
        body = response.response if isinstance(response, BaseResponse) else None
        if (
            type(body) is list
            and len(body) == 1
            and type(body[0]) is bytes
            and not response.direct_passthrough
            and not response._on_close
            and self._is_plain_response(type(response))
        ):
            code = response.status_code
            if (
                code >= 200
                and code != 204
                and code != 304
                and environ.get("REQUEST_METHOD") != "HEAD"
            ):
                header_list = response.headers.to_wsgi_list()
                names = {key.lower() for key, _ in header_list}
                if "content-length" in names and names.isdisjoint(_REWRITTEN_HEADERS):
                    start_response(response.status, header_list)
                    return body  # type: ignore[no-any-return]
        return response(environ, start_response)  # type: ignore[no-any-return]

    def wsgi_app(self, environ: dict[str, t.Any], start_response: t.Any) -> t.Iterable[bytes]:
        """Handle one request: the WSGI application, wrapped by middleware."""
        if self.shields is not None:
            self.shields.prepare(environ)
        ctx = self.request_context(environ)
        error: BaseException | None = None
        try:
            try:
                ctx.push()
                response = self.full_dispatch_request()
            except Exception as e:
                error = e
                response = self.handle_exception(e)
            except:  # noqa: E722
                error = sys.exc_info()[1]
                raise
            return self._respond(response, environ, start_response)
        finally:
            preserve = environ.get("werkzeug.debug.preserve_context")
            if preserve is not None:
                preserve(_cv_app.get())
                preserve(_cv_request.get())
            if error is not None and self.should_ignore_error(error):
                error = None
            ctx.pop(error)

    def __call__(self, environ: dict[str, t.Any], start_response: t.Any) -> t.Iterable[bytes]:
        """Call :meth:`wsgi_app`, so middleware can wrap it."""
        return self.wsgi_app(environ, start_response)


# -- bound URL adapters ---------------------------------------------------

_INJECT_URL_DEFAULTS = Flask.inject_url_defaults

#: How many binds an app keeps. The Host header is chosen by the client, so
#: the cache is emptied when full: a flood of made-up hosts costs a bind per
#: request, as with no cache, and never memory.
_ADAPTER_CACHE_SIZE = 32
#: The longest Host header whose bind is kept (longer ones are bound anew).
_ADAPTER_CACHE_MAX_HOST = 255


def _adapter_cache(app: Flask) -> dict[t.Any, tuple[t.Any, ...]]:
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
    app: Flask,
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
    app: Flask, url_map: Map, server_name: str, script_name: str | None, url_scheme: str
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
