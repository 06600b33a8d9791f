"""The ``hermetic`` command line, compatible with Flask 3.1's ``flask`` command.

An application is found from ``--app``, the ``HERMETIC_APP`` or ``FLASK_APP``
environment variable, or a ``wsgi.py`` / ``app.py`` file in the current
directory. Commands come from the built-ins (``run``, ``shell``, ``routes``),
from plugins (entry point groups ``flask.commands`` and ``hermetic.commands``)
and from ``app.cli``.

Modules: ``discovery`` finds and loads the app, ``script_info`` holds how it
is loaded (plus dotenv and ``--version``), ``commands`` has the built-in
commands, and ``group`` the ``hermetic`` group itself.
"""

from __future__ import annotations

from .commands import CertParamType as CertParamType
from .commands import SeparatedPathType as SeparatedPathType
from .commands import routes_command as routes_command
from .commands import run_command as run_command
from .commands import shell_command as shell_command
from .commands import show_server_banner as show_server_banner
from .discovery import NoAppException as NoAppException
from .discovery import find_app_by_string as find_app_by_string
from .discovery import find_best_app as find_best_app
from .discovery import locate_app as locate_app
from .discovery import prepare_import as prepare_import
from .group import FlaskGroup as FlaskGroup
from .group import cli as cli
from .group import main as main
from .script_info import FLASK_API_VERSION as FLASK_API_VERSION
from .script_info import AppGroup as AppGroup
from .script_info import ScriptInfo as ScriptInfo
from .script_info import get_version as get_version
from .script_info import load_dotenv as load_dotenv
from .script_info import pass_script_info as pass_script_info
from .script_info import version_option as version_option
from .script_info import with_appcontext as with_appcontext

__all__ = [
    "FLASK_API_VERSION",
    "AppGroup",
    "CertParamType",
    "FlaskGroup",
    "NoAppException",
    "ScriptInfo",
    "SeparatedPathType",
    "cli",
    "find_app_by_string",
    "find_best_app",
    "get_version",
    "load_dotenv",
    "locate_app",
    "main",
    "pass_script_info",
    "prepare_import",
    "routes_command",
    "run_command",
    "shell_command",
    "show_server_banner",
    "version_option",
    "with_appcontext",
]
