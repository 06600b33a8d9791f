"""Hold how the app is loaded, run commands in its context, and load dotenv files."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import sys
import typing as t
from functools import update_wrapper

import click

from ..app import Flask
from ..globals import current_app
from ..helpers import get_debug_flag, get_load_dotenv
from .discovery import NoAppException, locate_app, prepare_import

__all__ = [
    "AppGroup",
    "FLASK_API_VERSION",
    "get_version",
    "load_dotenv",
    "pass_script_info",
    "ScriptInfo",
    "version_option",
    "with_appcontext",
]

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: The Flask release whose API hermetic implements; reported by ``--version``.
FLASK_API_VERSION = "3.1.3"

_NO_APP_MESSAGE = (
    "Could not locate a Flask application. Use the 'hermetic --app' option, the"
    " 'HERMETIC_APP' or 'FLASK_APP' environment variable, or a 'wsgi.py' or"
    " 'app.py' file in the current directory."
)


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

    return update_wrapper(decorator, f)  # type: ignore[return-value]  # update_wrapper keeps the signature, untyped


class AppGroup(click.Group):
    """A click group whose commands run in the app context by default.

    Pass ``with_appcontext=False`` to :meth:`command` to opt out. Subgroups
    are ``AppGroup`` too.
    """

    def command(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Register a command, wrapped in :func:`with_appcontext` by default."""
        if args and callable(args[0]):  # used bare: @cli.command
            return self.command(*args[1:], **kwargs)(args[0])
        wrap = kwargs.pop("with_appcontext", True)

        def decorator(f: t.Callable[..., t.Any]) -> click.Command:
            if wrap:
                f = with_appcontext(f)
            command: click.Command = click.Group.command(self, *args, **kwargs)(f)
            return command

        return decorator

    def group(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Register a subgroup; its class defaults to :class:`AppGroup`."""
        kwargs.setdefault("cls", AppGroup)
        return super().group(*args, **kwargs)


# -- dotenv ------------------------------------------------------------------


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
