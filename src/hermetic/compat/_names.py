"""Flask's incidental names: what Flask's modules hold beyond hermetic's.

Flask's modules carry, besides their own API, the names they import: extensions
rely on some of them (``from flask.cli import click``, ``from flask.app import
Rule``). hermetic's modules import only what they use, so the alias serves the
rest from this table, per Flask module: name -> where the object lives, either
``"package.module:attribute"`` or a module name (``"click"``). ``flask.*``
module names resolve to the alias's own modules, as in Flask (``flask.app.cli``
is ``flask.cli``).

The list is Flask 3.1.3's (``FLASK_VERSION``), checked against real Flask by
tests/compat/test_flask_names.py; a name hermetic's module already has is not
repeated here.
"""

from __future__ import annotations

_TV = "hermetic.compat._typevars:"

FLASK_NAMES: dict[str, dict[str, str]] = {
    "flask": {
        "t": "typing",
    },
    "flask.app": {
        "BuildError": "werkzeug.routing:BuildError",
        "Environment": "hermetic.templating:Environment",
        "ImmutableDict": "werkzeug.datastructures:ImmutableDict",
        "MapAdapter": "werkzeug.routing:MapAdapter",
        "Rule": "werkzeug.routing:Rule",
        "T_shell_context_processor": _TV + "T_shell_context_processor",
        "T_teardown": _TV + "T_teardown",
        "T_template_filter": _TV + "T_template_filter",
        "T_template_global": _TV + "T_template_global",
        "T_template_test": _TV + "T_template_test",
        "cli": "flask.cli",
        "current_app": "hermetic.globals:current_app",
        "ft": "flask.typing",
        "g": "hermetic.globals:g",
        "get_flashed_messages": "hermetic.helpers:get_flashed_messages",
        "get_host": "werkzeug.wsgi:get_host",
        "send_from_directory": "hermetic.helpers:send_from_directory",
        "session": "hermetic.globals:session",
        "timedelta": "datetime:timedelta",
        "weakref": "weakref",
    },
    "flask.blueprints": {
        "AppGroup": "hermetic.cli:AppGroup",
        "SansioBlueprint": "hermetic.blueprints:Blueprint",
        "current_app": "hermetic.globals:current_app",
        "send_from_directory": "hermetic.helpers:send_from_directory",
        "timedelta": "datetime:timedelta",
    },
    "flask.cli": {
        "F": "hermetic.cli.script_info:F",
        "ModuleType": "types:ModuleType",
        "ParameterSource": "click.core:ParameterSource",
        "ast": "ast",
        "cabc": "collections.abc",
        "click": "click",
        "current_app": "hermetic.globals:current_app",
        "get_debug_flag": "hermetic.helpers:get_debug_flag",
        "get_load_dotenv": "hermetic.helpers:get_load_dotenv",
        "import_string": "werkzeug.utils:import_string",
        "importlib": "importlib",
        "inspect": "inspect",
        "is_running_from_reloader": "werkzeug.serving:is_running_from_reloader",
        "itemgetter": "operator:itemgetter",
        "os": "os",
        "platform": "platform",
        "re": "re",
        "run_simple": "werkzeug.serving:run_simple",
        "sys": "sys",
        "t": "typing",
        "traceback": "traceback",
        "update_wrapper": "functools:update_wrapper",
    },
    "flask.ctx": {
        "TracebackType": "types:TracebackType",
        "ft": "flask.typing",
    },
    "flask.debughelpers": {
        "App": "hermetic._app_base:App",
        "Blueprint": "hermetic.blueprints:Blueprint",
        "request_ctx": "hermetic.globals:request_ctx",
    },
    "flask.helpers": {
        "BaseResponse": "werkzeug.wrappers:Response",
        "cache": "functools:cache",
        "datetime": "datetime:datetime",
    },
    "flask.logging": {
        "request": "hermetic.globals:request",
    },
    "flask.sansio.app": {
        "BadRequest": "werkzeug.exceptions:BadRequest",
        "DispatchingJinjaLoader": "hermetic.templating:DispatchingJinjaLoader",
        "Response": "werkzeug.sansio.response:Response",
        "T_shell_context_processor": _TV + "T_shell_context_processor",
        "T_teardown": _TV + "T_teardown",
        "T_template_filter": _TV + "T_template_filter",
        "T_template_global": _TV + "T_template_global",
        "T_template_test": _TV + "T_template_test",
        "ft": "flask.typing",
        "logging": "logging",
    },
    "flask.sansio.blueprints": {
        "T_after_request": _TV + "T_after_request",
        "T_before_request": _TV + "T_before_request",
        "T_error_handler": _TV + "T_error_handler",
        "T_teardown": _TV + "T_teardown",
        "T_template_context_processor": _TV + "T_template_context_processor",
        "T_template_filter": _TV + "T_template_filter",
        "T_template_global": _TV + "T_template_global",
        "T_template_test": _TV + "T_template_test",
        "T_url_defaults": _TV + "T_url_defaults",
        "T_url_value_preprocessor": _TV + "T_url_value_preprocessor",
        "ft": "flask.typing",
    },
    "flask.sansio.scaffold": {
        "T_after_request": _TV + "T_after_request",
        "T_before_request": _TV + "T_before_request",
        "T_error_handler": _TV + "T_error_handler",
        "T_route": _TV + "T_route",
        "T_teardown": _TV + "T_teardown",
        "T_template_context_processor": _TV + "T_template_context_processor",
        "T_url_defaults": _TV + "T_url_defaults",
        "T_url_value_preprocessor": _TV + "T_url_value_preprocessor",
        "ft": "flask.typing",
    },
    "flask.sessions": {
        "MutableMapping": "collections.abc:MutableMapping",
        "c": "collections.abc",
    },
    "flask.testing": {
        "ScriptInfo": "hermetic.cli:ScriptInfo",
        "SessionMixin": "hermetic.sessions:SessionMixin",
    },
    "flask.views": {
        "F": "hermetic.scaffold:F",
        "ft": "flask.typing",
    },
    "flask.wrappers": {
        "RequestBase": "werkzeug.wrappers:Request",
        "ResponseBase": "werkzeug.wrappers:Response",
        "current_app": "hermetic.globals:current_app",
    },
}
