"""The application, apart from serving requests: configuration, registration,
templates and URL building (what Flask calls the "sans-IO" app)."""

from __future__ import annotations

import os
import sys
import typing as t
import weakref
from datetime import timedelta

# Flask's `flask.sansio.app` carries these two names (imported for its URL
# code, which lives in `_app_urls.py` here); the flask alias reads them from
# this module. They belong in `compat/_names.py`.
from itertools import chain  # noqa: F401

from werkzeug.datastructures import ImmutableDict
from werkzeug.exceptions import (
    Aborter,
    BadRequestKeyError,
)
from werkzeug.exceptions import (
    BadRequest as _BadRequest,
)
from werkzeug.routing import BuildError, Map, Rule  # noqa: F401 (see above)
from werkzeug.utils import cached_property

from ._app_templates import AppTemplateMixin
from ._app_urls import AppURLMixin
from .config import Config, ConfigAttribute
from .ctx import _AppCtxGlobals
from .helpers import get_debug_flag
from .json.provider import DefaultJSONProvider, JSONProvider
from .logging import create_logger
from .routing import StaticRouter, VersionedMap
from .scaffold import (
    Scaffold,
    _endpoint_from_view_func,
    find_package,
    setupmethod,
)
from .templating import Environment

if t.TYPE_CHECKING:  # pragma: no cover
    from .app import Flask

T = t.TypeVar("T", bound=t.Callable[..., t.Any])
_sentinel = object()


def _make_timedelta(value: timedelta | int | None) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    return timedelta(seconds=value)


class App(AppTemplateMixin, AppURLMixin, Scaffold):
    """Configuration, registration, templates and URL building of an application.

    :class:`hermetic.Flask` adds serving requests; use that class. Every
    instance is a ``Flask``, hence ``t.cast("Flask", self)`` for the helpers
    typed with ``Flask``.
    """

    aborter_class = Aborter
    jinja_environment = Environment
    app_ctx_globals_class = _AppCtxGlobals
    config_class = Config
    json_provider_class: type[JSONProvider] = DefaultJSONProvider
    url_rule_class = Rule
    url_map_class: type[Map] = VersionedMap
    jinja_options: dict[str, t.Any] = {}

    testing = ConfigAttribute[bool]("TESTING")
    secret_key = ConfigAttribute["str | bytes | None"]("SECRET_KEY")
    permanent_session_lifetime = ConfigAttribute(
        "PERMANENT_SESSION_LIFETIME", get_converter=_make_timedelta
    )

    default_config = ImmutableDict(
        {
            "DEBUG": None,
            "TESTING": False,
            "PROPAGATE_EXCEPTIONS": None,
            # bandit B105 (the next two): the keys' defaults (no key), not passwords.
            "SECRET_KEY": None,  # nosec B105
            "SECRET_KEY_FALLBACKS": None,  # nosec B105
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
        self.json: JSONProvider = self.json_provider_class(t.cast("Flask", self))
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
        self._text_makers: dict[t.Any, t.Any] = {}
        self._text_answers: dict[type, t.Any] = {}

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
                view_func=lambda **kw: self_ref().send_static_file(**kw),  # type: ignore[union-attr]  # the app outlives its routes
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
    def name(self) -> str:
        """The app's name: the import name, or the script's name for ``__main__``."""
        if self.import_name == "__main__":
            fn: str | None = getattr(sys.modules["__main__"], "__file__", None)
            if fn is None:
                return "__main__"
            return os.path.splitext(os.path.basename(fn))[0]
        return self.import_name

    @cached_property
    def logger(self) -> t.Any:
        """The ``logging.Logger`` named after the app (see :mod:`hermetic.logging`)."""
        return create_logger(t.cast("Flask", self))

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
            return open(path, mode)
        return open(path, mode, encoding=encoding)

    @property
    def debug(self) -> bool:
        """Debug mode (``DEBUG``): reloads templates and shows tracebacks.

        .. warning:: Never enable it on a server reachable by others.
        """
        return self.config["DEBUG"]  # type: ignore[no-any-return]  # config values are Any

    @debug.setter
    def debug(self, value: bool) -> None:
        self.config["DEBUG"] = value
        if self.config["TEMPLATES_AUTO_RELOAD"] is None:
            self.jinja_env.auto_reload = value

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
        rule_obj.provide_automatic_options = provide_automatic_options  # type: ignore[attr-defined]  # Flask's attribute on a Rule
        self.url_map.add(rule_obj)
        if skipped is not None:
            from .security.shields import pipeline_for

            pipeline_for(self).exempt_route(endpoint, skipped)  # type: ignore[arg-type]  # endpoint is set once a view or endpoint is given
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
