"""Find and load the application named by ``--app`` or found in a module."""

from __future__ import annotations

import ast
import inspect
import os
import sys
import traceback
import typing as t
from types import ModuleType, TracebackType

import click

from ..app import Flask

__all__ = [
    "find_app_by_string",
    "find_best_app",
    "locate_app",
    "NoAppException",
    "prepare_import",
]


class NoAppException(click.UsageError):
    """Raised if an application cannot be found or loaded."""


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


_FLASK_ALIAS_MESSAGE = (
    "While importing {module!r}, 'import flask' failed: the app imports Flask, which is"
    " not installed next to hermetic. Fix: run `hermetic --flask-alias --app {module} ...`"
    " or set HERMETIC_FLASK_ALIAS=1, which installs hermetic as 'flask'"
    " (hermetic.compat.install_as_flask()) before the app loads; or change the app's"
    " imports to `from hermetic import ...`."
)


def _is_flask(name: str | None) -> bool:
    return name == "flask" or (name or "").startswith("flask.")


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
        if not missing and isinstance(e, ModuleNotFoundError) and _is_flask(e.name):
            raise NoAppException(_FLASK_ALIAS_MESSAGE.format(module=module_name)) from None
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
