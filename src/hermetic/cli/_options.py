"""The ``--env-file``, ``--flask-alias``, ``--app`` and ``--debug`` options of ``hermetic``."""

from __future__ import annotations

import os

import click
from click.core import ParameterSource

from .script_info import ScriptInfo, load_dotenv

# ctx.meta key: the --env-file and --app options have been processed.
_ENV_OPTIONS_DONE = "hermetic.cli.env_options_done"


def _set_app(ctx: click.Context, param: click.Option, value: str | None) -> str | None:
    ctx.meta[_ENV_OPTIONS_DONE] = True
    if value is None:
        return None
    ctx.ensure_object(ScriptInfo).app_import_path = value
    return value


def _set_debug(ctx: click.Context, param: click.Option, value: bool) -> bool | None:
    # Left unset, debug mode comes from the environment and the app.
    source = ctx.get_parameter_source(param.name)
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


def _set_flask_alias(ctx: click.Context, param: click.Option, value: bool) -> bool:
    if value:
        from ..compat import install_as_flask

        install_as_flask()
    return value


# Eager, so `import flask` in the app works whenever the app is loaded.
_flask_alias_option = click.Option(
    ["--flask-alias/--no-flask-alias"],
    envvar="HERMETIC_FLASK_ALIAS",
    default=False,
    help="Install hermetic as 'flask' (hermetic.compat.install_as_flask()) before"
    " loading the app, so an unchanged Flask project and its extensions work."
    " Also set by HERMETIC_FLASK_ALIAS=1.",
    is_eager=True,
    expose_value=False,
    callback=_set_flask_alias,
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
    _flask_alias_option.handle_parse_result(ctx, {}, [])
    _app_option.handle_parse_result(ctx, {}, [])
