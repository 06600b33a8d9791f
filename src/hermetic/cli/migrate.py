"""``hermetic migrate``: what changes when a Flask project moves to ``Hermetic``.

Run in (or on) a Flask project::

    $ hermetic migrate path/to/project
    $ hermetic --flask-alias --app flaskr migrate --default-deny

It lists, by file and line with the fix, what ``Hermetic`` changes for the
project: forms without a CSRF token, inline handlers and scripts the CSP
blocks, literal or weak secret keys, session-based logins without a user
loader, routes without a policy (``--default-deny``), a ``Secure`` session
cookie on a plain-HTTP server reached from the network. It reads the code
(:mod:`hermetic.security.migrate_scan`); when ``--app`` names an app that
imports, the app's own template folders are scanned too. Exit status 1 when
something would break.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import typing as t

import click

from .._output_format import output_format_option

if t.TYPE_CHECKING:  # pragma: no cover
    from ..security.migrate_scan import MigrationItem


def _app_root(import_path: str) -> str | None:
    """Find the folder of ``--app``'s module without importing it."""
    module = import_path.split(":", 1)[0].split("(", 1)[0].strip()
    if module.endswith(".py") or os.path.isdir(module):
        return os.path.dirname(os.path.abspath(module)) or os.getcwd()
    sys.path.insert(0, os.getcwd())
    try:
        spec = importlib.util.find_spec(module.split(".")[0])
    except (ImportError, ValueError):
        spec = None
    finally:
        sys.path.remove(os.getcwd())
    if spec is None or spec.origin is None:
        return None
    folder = os.path.dirname(spec.origin)
    # A package: the project is the folder holding it.
    return os.path.dirname(folder) if spec.submodule_search_locations else folder


def _app_template_folders(info: t.Any) -> tuple[list[str], str | None]:
    """Load the app when possible; return its template folders and the loading error."""
    from ..security.template_scan import app_template_folders

    try:
        app = info.load_app()
    except Exception as e:  # any import error: the scan stays static
        return [], f"{type(e).__name__}: {e}"
    return app_template_folders(app), None


def format_items(items: list[MigrationItem], root: str) -> str:
    """Return the text report (one line per item, then the counts)."""
    if not items:
        return "Nothing to change: the project runs on Hermetic as it is."
    lines = [item.format(root) for item in items]
    breaks = sum(item.breaks for item in items)
    lines.append(f"{breaks} item(s) break under Hermetic, {len(items) - breaks} note(s).")
    return "\n".join(lines)


@click.command("migrate", short_help="List what changes when the project moves to Hermetic.")
@click.argument(
    "path", required=False, type=click.Path(exists=True, file_okay=False, dir_okay=True)
)
@click.option(
    "--default-deny",
    is_flag=True,
    help="Plan for AUTHZ_DEFAULT = 'deny': list the routes without a policy.",
)
@output_format_option
def migrate_command(path: str | None, default_deny: bool, output_format: str) -> None:
    """List what changes under Hermetic, by file and line; exit 1 when something breaks.

    PATH is the project folder; default: the folder of --app's module, else
    the current folder. The code is read, not run.
    """
    # Imported here: the core CLI never imports the security layer on its own.
    from ..security.migrate_scan import scan_project
    from .script_info import ScriptInfo

    info = click.get_current_context().ensure_object(ScriptInfo)
    folders: list[str] = []
    note = None
    if info.app_import_path or info.create_app:
        if path is None and info.app_import_path:
            path = _app_root(info.app_import_path)
        folders, error = _app_template_folders(info)
        if error:
            note = f"(The app could not be imported, so only its files were read: {error})"
    root = os.path.abspath(path or os.getcwd())
    items = scan_project(root, default_deny=default_deny, template_folders=folders)
    if output_format == "json":
        click.echo(json.dumps([item.as_dict(root) for item in items], indent=2))
    else:
        if note:
            click.echo(note, err=True)
        click.echo(format_items(items, root))
    if any(item.breaks for item in items):
        raise SystemExit(1)
