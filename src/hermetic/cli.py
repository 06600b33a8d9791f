"""The ``hermetic`` command line, compatible with Flask 3.1's ``flask`` command.

An application is found from ``--app``, the ``HERMETIC_APP`` or ``FLASK_APP``
environment variable, or a ``wsgi.py`` / ``app.py`` file in the current
directory. Commands come from the built-ins (``run``, ``shell``, ``routes``),
from plugins (entry point groups ``flask.commands`` and ``hermetic.commands``)
and from ``app.cli``.
"""

from __future__ import annotations

import ast
import importlib.metadata
import inspect
import ipaddress
import os
import platform
import re
import sys
import traceback
import typing as t
from functools import update_wrapper
from types import ModuleType, TracebackType

import click
from click.core import ParameterSource
from werkzeug import run_simple
from werkzeug.serving import is_running_from_reloader
from werkzeug.utils import import_string

from .app import Flask
from .globals import current_app
from .helpers import get_debug_flag, get_load_dotenv

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: The Flask release whose API hermetic implements; reported by ``--version``.
FLASK_API_VERSION = "3.1.3"

_NO_APP_MESSAGE = (
    "Could not locate a Flask application. Use the 'hermetic --app' option, the"
    " 'HERMETIC_APP' or 'FLASK_APP' environment variable, or a 'wsgi.py' or"
    " 'app.py' file in the current directory."
)
# ctx.meta key: the --env-file and --app options have been processed.
_ENV_OPTIONS_DONE = "hermetic.cli.env_options_done"


class NoAppException(click.UsageError):
    """Raised if an application cannot be found or loaded."""


# -- finding the application -------------------------------------------------


def find_best_app(module: ModuleType) -> Flask:
    """Return the one app in ``module``, or the app made by its factory.

    Looks, in order, for an ``app`` or ``application`` attribute, a single
    ``Flask`` instance, then a ``create_app`` or ``make_app`` factory that
    takes no arguments.
    """
    for attr in ("app", "application"):
        app = getattr(module, attr, None)
        if isinstance(app, Flask):
            return app

    matches = [v for v in module.__dict__.values() if isinstance(v, Flask)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise NoAppException(
            f"Detected multiple Flask applications in module '{module.__name__}'."
            f" Use '{module.__name__}:name' to specify the correct one."
        )

    for attr in ("create_app", "make_app"):
        factory = getattr(module, attr, None)
        if not inspect.isfunction(factory):
            continue
        try:
            app = factory()
        except TypeError as e:
            if not _called_with_wrong_args(factory, e.__traceback__):
                raise
            raise NoAppException(
                f"Detected factory '{attr}' in module '{module.__name__}', but could"
                " not call it without arguments. Use"
                f" '{module.__name__}:{attr}(args)' to specify arguments."
            ) from e
        if isinstance(app, Flask):
            return app

    raise NoAppException(
        f"Failed to find Flask application or factory in module '{module.__name__}'."
        f" Use '{module.__name__}:name' to specify one."
    )


def _called_with_wrong_args(f: t.Callable[..., t.Any], tb: TracebackType | None = None) -> bool:
    """Tell whether a ``TypeError`` came from the call to ``f`` itself.

    The error is the caller's fault only if ``f``'s own code never started
    running; if a frame of ``f`` is in the traceback, ``f`` raised it.
    """
    if tb is None:
        tb = sys.exc_info()[2]
    code = getattr(f, "__code__", None)
    while tb is not None:
        if tb.tb_frame.f_code is code:
            return False
        tb = tb.tb_next
    return True


def _parse_app_string(app_name: str) -> tuple[str, list[t.Any] | None, dict[str, t.Any]]:
    """Split ``"name"`` or ``"factory(args)"`` into name, args and kwargs."""
    try:
        expr = ast.parse(app_name.strip(), mode="eval").body
    except SyntaxError:
        raise NoAppException(
            f"Failed to parse {app_name!r} as an attribute name or function call."
        ) from None

    if isinstance(expr, ast.Name):
        return expr.id, None, {}
    if not isinstance(expr, ast.Call):
        raise NoAppException(f"Failed to parse {app_name!r} as an attribute name or function call.")
    if not isinstance(expr.func, ast.Name):
        raise NoAppException(f"Function reference must be a simple name: {app_name!r}.")
    # Only literals: an import string must never run arbitrary code.
    try:
        args = [ast.literal_eval(arg) for arg in expr.args]
        kwargs = {}
        for kw in expr.keywords:
            if kw.arg is None:
                raise ValueError("'**' is not a literal")
            kwargs[kw.arg] = ast.literal_eval(kw.value)
    except ValueError:
        raise NoAppException(
            f"Failed to parse arguments as literal values: {app_name!r}."
        ) from None
    return expr.func.id, args, kwargs


def find_app_by_string(module: ModuleType, app_name: str) -> Flask:
    """Return the app named by ``app_name``: an attribute or a factory call."""
    name, args, kwargs = _parse_app_string(app_name)
    try:
        attr = getattr(module, name)
    except AttributeError:
        raise NoAppException(f"Failed to find attribute {name!r} in {module.__name__!r}.") from None

    if inspect.isfunction(attr) or (args is not None and callable(attr)):
        try:
            app = attr(*(args or ()), **kwargs)
        except TypeError as e:
            if not _called_with_wrong_args(attr, e.__traceback__):
                raise
            raise NoAppException(
                f"The factory {app_name!r} in module {module.__name__!r} could not"
                " be called with the specified arguments."
            ) from e
    elif args is not None:
        raise NoAppException(f"{name!r} in {module.__name__!r} is not callable.")
    else:
        app = attr

    if isinstance(app, Flask):
        return app
    raise NoAppException(
        f"A valid Flask application was not obtained from '{module.__name__}:{app_name}'."
    )


def prepare_import(path: str | os.PathLike[str]) -> str:
    """Return the dotted module name for ``path`` and put its root on ``sys.path``.

    Walks up through directories that hold an ``__init__.py`` so that a file
    inside a package is imported as part of that package.
    """
    path = os.path.realpath(path)
    stem, ext = os.path.splitext(path)
    if ext == ".py":
        path = stem
    if os.path.basename(path) == "__init__":
        path = os.path.dirname(path)

    parts: list[str] = []
    while True:
        path, name = os.path.split(path)
        parts.append(name)
        if not os.path.isfile(os.path.join(path, "__init__.py")):
            break

    if sys.path[0] != path:
        sys.path.insert(0, path)
    return ".".join(reversed(parts))


@t.overload
def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: t.Literal[True] = True
) -> Flask: ...


@t.overload
def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: t.Literal[False] = ...
) -> Flask | None: ...


def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: bool = True
) -> Flask | None:
    """Import ``module_name`` and find the app in it.

    A missing module raises :exc:`NoAppException`, or returns ``None`` when
    ``raise_if_not_found`` is false. An import error raised *inside* the
    module always raises, with its traceback, since hiding it helps nobody.
    """
    try:
        __import__(module_name)
    except ImportError as e:
        missing = isinstance(e, ModuleNotFoundError) and (
            e.name == module_name or module_name.startswith(f"{e.name}.")
        )
        if not missing:
            raise NoAppException(
                f"While importing {module_name!r}, an ImportError was"
                f" raised:\n\n{traceback.format_exc()}"
            ) from None
        if raise_if_not_found:
            raise NoAppException(f"Could not import {module_name!r}.") from None
        return None

    module = sys.modules[module_name]
    if app_name is None:
        return find_best_app(module)
    return find_app_by_string(module, app_name)


# -- version -----------------------------------------------------------------


def _flask_version() -> str:
    """Return the Flask version to report: the alias's when one is installed."""
    alias = sys.modules.get("flask")
    if alias is not None and alias is sys.modules.get("hermetic"):
        try:
            return importlib.metadata.version("flask")
        except importlib.metadata.PackageNotFoundError:
            pass
    return FLASK_API_VERSION


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def get_version(ctx: click.Context, param: click.Parameter | None, value: t.Any) -> None:
    """Print the Python, hermetic, Flask API and Werkzeug versions, then exit."""
    if not value or ctx.resilient_parsing:
        return
    click.echo(
        f"Python {platform.python_version()}\n"
        f"Hermetic {_dist_version('hermetic')}\n"
        f"Flask {_flask_version()}\n"
        f"Werkzeug {_dist_version('werkzeug')}",
        color=ctx.color,
    )
    ctx.exit()


version_option = click.Option(
    ["--version"],
    help="Show the Hermetic, Flask API and Werkzeug versions.",
    expose_value=False,
    callback=get_version,
    is_flag=True,
    is_eager=True,
)


# -- script info and app context ---------------------------------------------


def _split_import_path(value: str) -> tuple[str, str | None]:
    """Split ``"path:name"`` at the first colon that is not a Windows drive's."""
    match = re.search(r":(?![\\/])", value)
    if match is None:
        return value, None
    return value[: match.start()], value[match.end() :]


class ScriptInfo:
    """Hold what the CLI needs to load the application.

    Usually made by :class:`FlaskGroup`; pass your own as ``obj`` to a click
    command to control how the app is found.
    """

    def __init__(
        self,
        app_import_path: str | None = None,
        create_app: t.Callable[..., Flask] | None = None,
        set_debug_flag: bool = True,
        load_dotenv_defaults: bool = True,
    ) -> None:
        #: ``module:name`` or a file path, as given to ``--app``.
        self.app_import_path = app_import_path
        #: A function that returns the app, used instead of the import path.
        self.create_app = create_app
        #: Free-form data for commands to share.
        self.data: dict[t.Any, t.Any] = {}
        self.set_debug_flag = set_debug_flag
        #: Whether ``.env`` and ``.flaskenv`` are loaded (``FLASK_SKIP_DOTENV``).
        self.load_dotenv_defaults = get_load_dotenv(load_dotenv_defaults)
        self._loaded_app: Flask | None = None

    def load_app(self) -> Flask:
        """Load the app once and return it; later calls return the same app."""
        if self._loaded_app is not None:
            return self._loaded_app

        app: Flask | None = None
        if self.create_app is not None:
            app = self.create_app()
        elif self.app_import_path:
            # Split "path:name" but not a Windows drive such as "C:\".
            path, name = _split_import_path(self.app_import_path)
            app = locate_app(prepare_import(path), name)
        else:
            for candidate in ("wsgi.py", "app.py"):
                app = locate_app(prepare_import(candidate), None, raise_if_not_found=False)
                if app is not None:
                    break

        if app is None:
            raise NoAppException(_NO_APP_MESSAGE)
        if self.set_debug_flag:
            # Honour FLASK_DEBUG (set by --debug) even if the app set app.debug.
            app.debug = get_debug_flag()
        self._loaded_app = app
        return app


pass_script_info = click.make_pass_decorator(ScriptInfo, ensure=True)


def with_appcontext(f: F) -> F:
    """Run the command callback inside the app's context.

    The app is loaded from the :class:`ScriptInfo` if no context is active.
    Commands registered with ``app.cli`` or a :class:`FlaskGroup` get this
    automatically.
    """

    @click.pass_context
    def decorator(ctx: click.Context, /, *args: t.Any, **kwargs: t.Any) -> t.Any:
        if not current_app:
            app = ctx.ensure_object(ScriptInfo).load_app()
            ctx.with_resource(app.app_context())
        return ctx.invoke(f, *args, **kwargs)

    return update_wrapper(decorator, f)  # type: ignore[return-value]


class AppGroup(click.Group):
    """A click group whose commands run in the app context by default.

    Pass ``with_appcontext=False`` to :meth:`command` to opt out. Subgroups
    are ``AppGroup`` too.
    """

    def command(self, *args: t.Any, **kwargs: t.Any) -> t.Any:  # type: ignore[override]
        """Register a command, wrapped in :func:`with_appcontext` by default."""
        if args and callable(args[0]):  # used bare: @cli.command
            return self.command(*args[1:], **kwargs)(args[0])
        wrap = kwargs.pop("with_appcontext", True)

        def decorator(f: t.Callable[..., t.Any]) -> click.Command:
            if wrap:
                f = with_appcontext(f)
            return click.Group.command(self, *args, **kwargs)(f)

        return decorator

    def group(self, *args: t.Any, **kwargs: t.Any) -> t.Any:  # type: ignore[override]
        """Register a subgroup; its class defaults to :class:`AppGroup`."""
        kwargs.setdefault("cls", AppGroup)
        return super().group(*args, **kwargs)


# -- the group's own options -------------------------------------------------


def _set_app(ctx: click.Context, param: click.Option, value: str | None) -> str | None:
    ctx.meta[_ENV_OPTIONS_DONE] = True
    if value is None:
        return None
    ctx.ensure_object(ScriptInfo).app_import_path = value
    return value


def _set_debug(ctx: click.Context, param: click.Option, value: bool) -> bool | None:
    # Left unset, debug mode comes from the environment and the app.
    source = ctx.get_parameter_source(param.name)  # type: ignore[arg-type]
    if source in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP):
        return None
    # The app reads the flag later, when it is loaded and when it runs.
    flag = "1" if value else "0"
    os.environ["FLASK_DEBUG"] = flag
    if "HERMETIC_DEBUG" in os.environ:
        os.environ["HERMETIC_DEBUG"] = flag
    return value


def _env_file_callback(ctx: click.Context, param: click.Option, value: str | None) -> str | None:
    ctx.meta[_ENV_OPTIONS_DONE] = True
    try:
        import dotenv  # noqa: F401
    except ImportError:
        if value is not None:
            raise click.BadParameter(
                "python-dotenv must be installed to load an env file.",
                ctx=ctx,
                param=param,
            ) from None
    # FLASK_SKIP_DOTENV only turns off .env and .flaskenv; an explicit file loads.
    info = ctx.ensure_object(ScriptInfo)
    if value is not None or info.load_dotenv_defaults:
        load_dotenv(value, load_defaults=info.load_dotenv_defaults)
    return value


# Eager, and declared before --app, so an env file can set HERMETIC_APP / FLASK_APP.
_env_file_option = click.Option(
    ["-e", "--env-file"],
    type=click.Path(exists=True, dir_okay=False),
    envvar=["HERMETIC_ENV_FILE", "FLASK_ENV_FILE"],
    help="Load environment variables from this file, taking precedence over"
    " those set by .env and .flaskenv. Variables set directly in the environment"
    " take highest precedence. python-dotenv must be installed.",
    is_eager=True,
    expose_value=False,
    callback=_env_file_callback,
)

_app_option = click.Option(
    ["-A", "--app"],
    metavar="IMPORT",
    envvar=["HERMETIC_APP", "FLASK_APP"],
    help="The Flask application or factory function to load, in the form"
    " 'module:name'. Module can be a dotted import or file path. Name is not"
    " required if it is 'app', 'application', 'create_app', or 'make_app', and"
    " can be 'name(args)' to pass arguments.",
    is_eager=True,
    expose_value=False,
    callback=_set_app,
)

_debug_option = click.Option(
    ["--debug/--no-debug"],
    envvar=["HERMETIC_DEBUG", "FLASK_DEBUG"],
    help="Set debug mode.",
    expose_value=False,
    callback=_set_debug,
)


def _process_env_options(ctx: click.Context) -> None:
    """Apply --env-file and --app from the environment if click has not yet.

    ``--help`` and a bare invocation print help before other options are
    processed, but listing ``app.cli`` commands needs the app.
    """
    if ctx.meta.get(_ENV_OPTIONS_DONE):
        return
    _env_file_option.handle_parse_result(ctx, {}, [])
    _app_option.handle_parse_result(ctx, {}, [])


def _echo_error(message: str) -> None:
    click.secho(message, err=True, fg="red")


class FlaskGroup(AppGroup):
    """The group behind the ``hermetic`` command: finds the app and its commands.

    :param add_default_commands: add ``run``, ``shell`` and ``routes``;
        default ``True``.
    :param create_app: a function returning the app, instead of ``--app``.
    :param add_version_option: add ``--version``; default ``True``.
    :param load_dotenv: load ``.env`` and ``.flaskenv``; default ``True``.
    :param set_debug_flag: set ``app.debug`` from ``FLASK_DEBUG`` when the
        app is loaded; default ``True``.
    """

    def __init__(
        self,
        add_default_commands: bool = True,
        create_app: t.Callable[..., Flask] | None = None,
        add_version_option: bool = True,
        load_dotenv: bool = True,
        set_debug_flag: bool = True,
        **extra: t.Any,
    ) -> None:
        params = list(extra.pop("params", None) or ())
        params.extend((_env_file_option, _app_option, _debug_option))
        if add_version_option:
            params.append(version_option)
        # FLASK_RUN_PORT etc. keep working, as they do with the flask command.
        extra["context_settings"] = dict(extra.get("context_settings") or {})
        extra["context_settings"].setdefault("auto_envvar_prefix", "FLASK")
        super().__init__(params=params, **extra)

        self.create_app = create_app
        self.load_dotenv = load_dotenv
        self.set_debug_flag = set_debug_flag
        if add_default_commands:
            self.add_command(run_command)
            self.add_command(shell_command)
            self.add_command(routes_command)
        # hermetic's own commands give way to an app command of the same name,
        # so an app that defines `check` or `openapi` keeps its own.
        self._fallback_commands: dict[str, click.Command] = {}
        if add_default_commands:
            # Imported here: these modules import this one when they run.
            from .openapi import openapi_command
            from .security.checks import check_command

            for command in (check_command, openapi_command):
                self._fallback_commands[t.cast(str, command.name)] = command
        self._loaded_plugin_commands = False

    def _load_plugin_commands(self) -> None:
        if self._loaded_plugin_commands:
            return
        # hermetic's own group comes last so it wins a name clash.
        for group in ("flask.commands", "hermetic.commands"):
            for ep in importlib.metadata.entry_points(group=group):
                self.add_command(ep.load(), ep.name)
        self._loaded_plugin_commands = True

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        """Return a built-in or plugin command, else one from ``app.cli``."""
        self._load_plugin_commands()
        rv = super().get_command(ctx, name)
        if rv is not None:
            return rv

        fallback = self._fallback_commands.get(name)
        try:
            app = ctx.ensure_object(ScriptInfo).load_app()
        except Exception as e:
            if fallback is not None:
                return fallback  # it reports the loading error when it runs
            if not isinstance(e, NoAppException):
                raise
            _echo_error(f"Error: {e.format_message()}\n")
            return None
        # Push the app context now so parameter callbacks can use current_app.
        if not current_app or current_app._get_current_object() is not app:  # type: ignore[attr-defined]
            ctx.with_resource(app.app_context())
        rv = app.cli.get_command(ctx, name)
        return rv if rv is not None else fallback

    def list_commands(self, ctx: click.Context) -> list[str]:
        """List built-in, plugin and ``app.cli`` commands."""
        self._load_plugin_commands()
        rv = set(super().list_commands(ctx)) | set(self._fallback_commands)
        _process_env_options(ctx)
        try:
            rv.update(ctx.ensure_object(ScriptInfo).load_app().cli.list_commands(ctx))
        except NoAppException as e:
            # Help still lists the built-in commands; say why others are missing.
            _echo_error(f"Error: {e.format_message()}\n")
        except Exception:
            _echo_error(f"{traceback.format_exc()}\n")
        return sorted(rv)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: t.Any,
    ) -> click.Context:
        """Create the context with a :class:`ScriptInfo` as its ``obj``."""
        # Tells app.run() that the CLI runs the server, so it must not start one.
        os.environ["FLASK_RUN_FROM_CLI"] = "true"
        if "obj" not in extra and "obj" not in self.context_settings:
            extra["obj"] = ScriptInfo(
                create_app=self.create_app,
                set_debug_flag=self.set_debug_flag,
                load_dotenv_defaults=self.load_dotenv,
            )
        return super().make_context(info_name, args, parent=parent, **extra)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Load env files and ``--app`` first when no arguments show the help."""
        if not args and self.no_args_is_help:
            _process_env_options(ctx)
        return super().parse_args(ctx, args)


def _path_is_ancestor(path: str, other: str) -> bool:
    """Tell whether ``path`` is ``other`` or one of its parent directories."""
    path, other = os.path.abspath(path), os.path.abspath(other)
    try:
        return os.path.commonpath([path, other]) == path
    except ValueError:  # different drives
        return False


def load_dotenv(path: str | os.PathLike[str] | None = None, load_defaults: bool = True) -> bool:
    """Load variables from dotenv files into ``os.environ``.

    ``path`` takes precedence over ``.env``, which takes precedence over
    ``.flaskenv``; the defaults are searched from the current directory up.
    A variable already in the environment is never overwritten, and the
    current directory is not changed.

    :param path: an extra file to load; ignored if it does not exist.
    :param load_defaults: also load ``.env`` and ``.flaskenv``; default ``True``.
    :return: whether any variable was read from a file.
    """
    try:
        import dotenv
    except ImportError:
        if path or os.path.isfile(".env") or os.path.isfile(".flaskenv"):
            click.secho(
                " * Tip: There are .env files present. Install python-dotenv to use them.",
                fg="yellow",
                err=True,
            )
        return False

    data: dict[str, str | None] = {}
    files: list[str | os.PathLike[str]] = []
    if load_defaults:
        files.extend(dotenv.find_dotenv(n, usecwd=True) for n in (".flaskenv", ".env"))
    if path is not None:
        files.append(path)
    for file in files:  # later files win
        if file and os.path.isfile(file):
            data.update(dotenv.dotenv_values(file, encoding="utf-8"))

    for key, value in data.items():
        if value is not None:
            os.environ.setdefault(key, value)
    return bool(data)


def show_server_banner(debug: bool | None, app_import_path: str | None) -> None:
    """Print the app being served and the debug mode, once per server start."""
    if is_running_from_reloader():  # the parent process already printed it
        return
    if app_import_path is not None:
        click.echo(f" * Serving Hermetic app '{app_import_path}'")
    if debug is not None:
        click.echo(f" * Debug mode: {'on' if debug else 'off'}")


# -- run ---------------------------------------------------------------------


class CertParamType(click.ParamType):
    """A certificate file, ``adhoc``, or an import string naming an ``SSLContext``."""

    name = "path"

    def __init__(self) -> None:
        self.path_type = click.Path(exists=True, dir_okay=False, resolve_path=True)

    def convert(
        self, value: t.Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> t.Any:
        try:
            import ssl
        except ImportError:
            raise click.BadParameter(
                'Using "--cert" requires Python to be compiled with SSL support.', ctx, param
            ) from None

        try:
            return self.path_type(value, param, ctx)
        except click.BadParameter:
            pass

        value = click.STRING(value, param, ctx)
        if value.lower() == "adhoc":
            try:
                import cryptography  # noqa: F401
            except ImportError:
                raise click.BadParameter(
                    "Using ad-hoc certificates requires the cryptography library.",
                    ctx,
                    param,
                ) from None
            return "adhoc"

        obj = import_string(value, silent=True)
        if isinstance(obj, ssl.SSLContext):
            return obj
        raise click.BadParameter(
            f"{value!r} is not an existing file, 'adhoc', or the import name of an"
            " ssl.SSLContext object.",
            ctx,
            param,
        )


def _validate_key(ctx: click.Context, param: click.Parameter, value: t.Any) -> t.Any:
    """Check ``--key`` against ``--cert`` and merge both into ``cert``."""
    cert = ctx.params.get("cert")
    is_adhoc = cert == "adhoc"
    try:
        import ssl
    except ImportError:
        is_context = False
    else:
        is_context = isinstance(cert, ssl.SSLContext)

    if value is not None:
        if is_adhoc:
            raise click.BadParameter('When "--cert" is "adhoc", "--key" is not used.', ctx, param)
        if is_context:
            raise click.BadParameter(
                'When "--cert" is an SSLContext object, "--key" is not used.', ctx, param
            )
        if not cert:
            raise click.BadParameter('"--cert" must also be specified.', ctx, param)
        ctx.params["cert"] = cert, value
    elif cert and not (is_adhoc or is_context):
        raise click.BadParameter('Required when using "--cert".', ctx, param)
    return value


class SeparatedPathType(click.Path):
    """A list of paths separated like ``PATH`` (``:``, or ``;`` on Windows)."""

    def convert(  # type: ignore[override]
        self, value: t.Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> list[t.Any]:
        convert = super().convert  # zero-argument super() fails in a comprehension
        items = self.split_envvar_value(value) if isinstance(value, str) else value
        return [convert(item, param, ctx) for item in items]


def _is_loopback_host(host: str) -> bool:
    """Tell whether ``host`` only accepts connections from this machine."""
    if host.startswith("unix://"):  # a socket file, guarded by file permissions
        return True
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _failing_app(error: Exception) -> t.Callable[..., t.Any]:
    """Return a WSGI app that raises ``error`` on every request."""

    def app(environ: t.Any, start_response: t.Any) -> t.Any:
        raise error from None

    return app


_PUBLIC_DEBUGGER_MESSAGE = (
    "Refusing to run the interactive debugger on host {host!r}: it lets anyone"
    " who can reach the server run arbitrary code on this machine. Bind to"
    " 127.0.0.1 (the default), pass --no-debugger, or, if the network is"
    " trusted, pass --unsafe-debugger-on-public-host."
)


@click.command("run", short_help="Run a development server.")
@click.option("--host", "-h", default="127.0.0.1", help="The interface to bind to.")
@click.option("--port", "-p", default=5000, help="The port to bind to.")
@click.option(
    "--cert",
    type=CertParamType(),
    is_eager=True,
    help="Specify a certificate file to use HTTPS.",
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, resolve_path=True),
    callback=_validate_key,
    expose_value=False,
    help="The key file to use when specifying a certificate.",
)
@click.option(
    "--reload/--no-reload",
    default=None,
    help="Enable or disable the reloader. By default the reloader is active if debug is enabled.",
)
@click.option(
    "--debugger/--no-debugger",
    default=None,
    help="Enable or disable the debugger. By default the debugger is active if"
    " debug is enabled and the host is a loopback address.",
)
@click.option(
    "--unsafe-debugger-on-public-host",
    is_flag=True,
    # SECURITY: only an explicit command-line flag may expose the debugger.
    allow_from_autoenv=False,
    help="Allow the debugger on a non-loopback host. WARNING: anyone who can"
    " reach the server can then run code on this machine.",
)
@click.option(
    "--with-threads/--without-threads",
    default=True,
    help="Enable or disable multithreading.",
)
@click.option(
    "--extra-files",
    default=None,
    type=SeparatedPathType(),
    help="Extra files that trigger a reload on change. Multiple paths are"
    f" separated by {os.path.pathsep!r}.",
)
@click.option(
    "--exclude-patterns",
    default=None,
    type=SeparatedPathType(),
    help="Files matching these fnmatch patterns will not trigger a reload on"
    f" change. Multiple patterns are separated by {os.path.pathsep!r}.",
)
@pass_script_info
def run_command(
    info: ScriptInfo,
    host: str,
    port: int,
    reload: bool | None,
    debugger: bool | None,
    unsafe_debugger_on_public_host: bool,
    with_threads: bool,
    cert: t.Any,
    extra_files: list[str] | None,
    exclude_patterns: list[str] | None,
) -> None:
    """Run a local development server.

    This server is for development purposes only. It does not provide the
    stability, security, or performance of production WSGI servers.

    The reloader and debugger are enabled by default with the '--debug'
    option; the debugger only on a loopback host.
    """
    try:
        app: t.Any = info.load_app()
    except Exception as e:
        if not is_running_from_reloader():
            raise e from None
        # In the reloader child, keep serving so a fixed file reloads; show
        # the error on every request meanwhile.
        traceback.print_exc()
        app = _failing_app(e)

    debug = get_debug_flag()
    if reload is None:
        reload = debug
    if debugger is None:
        explicit, debugger = False, debug
    else:
        explicit = True

    # A Hermetic app checks its configuration before serving, and refuses
    # debug mode off loopback outright.
    security_check = getattr(app, "security_check", None)
    if security_check is not None:
        if debug and not _is_loopback_host(host):
            raise click.UsageError(
                f"Refusing debug mode on host {host!r}: the debugger and reloader"
                " are for a developer's own machine. Bind to 127.0.0.1 or drop --debug."
            )
        from .security.errors import ConfigurationError

        try:
            security_check()
        except ConfigurationError as e:
            raise click.ClickException(str(e)) from None

    # SECURITY: the Werkzeug debugger is a remote shell; keep it on loopback.
    if debugger and not unsafe_debugger_on_public_host and not _is_loopback_host(host):
        message = _PUBLIC_DEBUGGER_MESSAGE.format(host=host)
        if explicit:
            raise click.UsageError(message)
        if not is_running_from_reloader():
            click.secho(f" * {message} The debugger is off.", fg="yellow", err=True)
        debugger = False

    show_server_banner(debug, info.app_import_path)
    run_simple(
        host,
        port,
        app,
        use_reloader=reload,
        use_debugger=debugger,
        threaded=with_threads,
        ssl_context=cert,
        extra_files=extra_files,
        exclude_patterns=exclude_patterns,
    )


run_command.params.insert(0, _debug_option)


# -- shell and routes --------------------------------------------------------


@click.command("shell", short_help="Run a shell in the app context.")
@with_appcontext
def shell_command() -> None:
    """Run an interactive Python shell in the app context.

    The namespace holds the app's shell context (``app.make_shell_context()``)
    and whatever the ``PYTHONSTARTUP`` file defines.
    """
    import code

    banner = (
        f"Python {sys.version} on {sys.platform}\n"
        f"App: {current_app.import_name}\n"
        f"Instance: {current_app.instance_path}"
    )
    namespace: dict[str, t.Any] = {}

    # Like the plain interpreter, run PYTHONSTARTUP; code.interact does not.
    startup = os.environ.get("PYTHONSTARTUP")
    if startup and os.path.isfile(startup):
        with open(startup, encoding="utf-8") as f:
            exec(compile(f.read(), startup, "exec"), namespace)

    namespace.update(current_app.make_shell_context())

    # Site's hook sets up readline history; completion must see our names.
    hook = getattr(sys, "__interactivehook__", None)
    if hook is not None:
        try:
            import readline
            from rlcompleter import Completer
        except ImportError:
            pass
        else:
            readline.set_completer(Completer(namespace).complete)
        hook()

    code.interact(banner=banner, local=namespace)


@click.command("routes", short_help="Show the routes for the app.")
@click.option(
    "--sort",
    "-s",
    type=click.Choice(("endpoint", "methods", "domain", "rule", "match")),
    default="endpoint",
    help="Method to sort routes by. 'match' is the order that Flask will match"
    " routes when dispatching a request.",
)
@click.option("--all-methods", is_flag=True, help="Show HEAD and OPTIONS methods.")
@with_appcontext
def routes_command(sort: str, all_methods: bool) -> None:
    """Show all registered routes with endpoints and methods."""
    rules = list(current_app.url_map.iter_rules())
    if not rules:
        click.echo("No routes were registered.")
        return

    hidden = set() if all_methods else {"HEAD", "OPTIONS"}
    host_matching = current_app.url_map.host_matching
    columns = ["endpoint", "methods"]
    headers = ["Endpoint", "Methods"]
    if any(rule.host if host_matching else rule.subdomain for rule in rules):
        columns.append("domain")
        headers.append("Host" if host_matching else "Subdomain")
    columns.append("rule")
    headers.append("Rule")
    shields = getattr(current_app, "shields", None)
    if shields is not None:
        columns.append("shields")
        headers.append("Shields")

    rows = []
    for rule in rules:
        cells = {
            "endpoint": rule.endpoint,
            "methods": ", ".join(sorted((rule.methods or set()) - hidden)),
            "domain": (rule.host if host_matching else rule.subdomain) or "",
            "rule": rule.rule,
            "shields": shields.describe(rule.endpoint) if shields is not None else "",
        }
        rows.append([cells[c] for c in columns])

    # "match" (or "domain" with no domains) keeps the URL map's order.
    if sort in columns:
        index = columns.index(sort)
        rows.sort(key=lambda row: (row[index], row[0]))

    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    template = "  ".join(f"{{{i}:<{w}}}" for i, w in enumerate(widths))
    click.echo(template.format(*headers).rstrip())
    click.echo(template.format(*("-" * w for w in widths)))
    for row in rows:
        click.echo(template.format(*row).rstrip())


cli = FlaskGroup(
    name="hermetic",
    help="""\
A general utility script for Hermetic (and Flask) applications.

An application to load must be given with the '--app' option, the
'HERMETIC_APP' or 'FLASK_APP' environment variable, or with a 'wsgi.py'
or 'app.py' file in the current directory.
""",
)


def main() -> None:
    """Run the ``hermetic`` command."""
    cli.main()


if __name__ == "__main__":
    main()
