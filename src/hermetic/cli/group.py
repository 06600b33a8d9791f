"""The ``hermetic`` command group: finds the app, its commands and plugins."""

from __future__ import annotations

import importlib.metadata
import os
import traceback
import typing as t

import click

from ..app import Flask
from ..globals import current_app
from ._options import (
    _app_option,
    _debug_option,
    _env_file_option,
    _flask_alias_option,
    _process_env_options,
)
from .commands import routes_command, run_command, shell_command
from .discovery import NoAppException
from .migrate import migrate_command
from .script_info import AppGroup, ScriptInfo, version_option

__all__ = [
    "cli",
    "FlaskGroup",
    "main",
]


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
        params.extend((_env_file_option, _flask_alias_option, _app_option, _debug_option))
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
            self.add_command(migrate_command)
        # hermetic's own commands give way to an app command of the same name,
        # so an app that defines `check` or `openapi` keeps its own.
        # Imported when a command is looked up, not when the group is made:
        # every app makes one (``app.cli``), and these commands load the
        # security layer (and its dependencies) that a plain app never uses.
        self._fallbacks_wanted = add_default_commands
        self._fallbacks: dict[str, click.Command] | None = None
        self._loaded_plugin_commands = False

    @property
    def _fallback_commands(self) -> dict[str, click.Command]:
        if self._fallbacks is None:
            self._fallbacks = {}
            if self._fallbacks_wanted:
                from ..openapi import openapi_command
                from ..security.checks import check_command

                for command in (check_command, openapi_command):
                    self._fallbacks[t.cast(str, command.name)] = command
        return self._fallbacks

    def _load_plugin_commands(self) -> None:
        if self._loaded_plugin_commands:
            return
        # hermetic's own group comes last so it wins a name clash.
        for group in ("flask.commands", "hermetic.commands"):
            for ep in importlib.metadata.entry_points(group=group):
                try:
                    command = ep.load()
                except ModuleNotFoundError as e:
                    # An extension's command (Flask-Limiter's `limiter`) imports
                    # `flask`: it exists only with the alias (--flask-alias).
                    if group != "flask.commands" or (e.name or "").partition(".")[0] != "flask":
                        raise
                    continue
                self.add_command(command, ep.name)
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
