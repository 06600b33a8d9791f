"""The built-in ``run``, ``shell`` and ``routes`` commands."""

from __future__ import annotations

import os
import sys
import traceback
import typing as t

import click
from werkzeug import run_simple
from werkzeug.serving import is_running_from_reloader
from werkzeug.utils import import_string

from .._debugger import UnsafeDebuggerError, check_debugger_host
from ..globals import current_app
from ..helpers import get_debug_flag
from ._options import _debug_option
from .script_info import ScriptInfo, pass_script_info, with_appcontext

__all__ = [
    "CertParamType",
    "routes_command",
    "run_command",
    "SeparatedPathType",
    "shell_command",
    "show_server_banner",
]


def show_server_banner(debug: bool | None, app_import_path: str | None) -> None:
    """Print the app being served and the debug mode, once per server start."""
    if is_running_from_reloader():  # the parent process already printed it
        return
    if app_import_path is not None:
        click.echo(f" * Serving Hermetic app '{app_import_path}'")
    if debug is not None:
        click.echo(f" * Debug mode: {'on' if debug else 'off'}")


# -- run ---------------------------------------------------------------------


# click >= 8.5 makes ParamType generic; subscripting it would break older click
# (pyproject allows >= 8.1.3) at import time.
class CertParamType(click.ParamType):  # type: ignore[type-arg]
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

    def convert(  # type: ignore[override]  # click's convert signature, as Flask writes it
        self, value: t.Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> list[t.Any]:
        convert = super().convert  # zero-argument super() fails in a comprehension
        items = self.split_envvar_value(value) if isinstance(value, str) else value
        return [convert(item, param, ctx) for item in items]


def _failing_app(error: Exception) -> t.Callable[..., t.Any]:
    """Return a WSGI app that raises ``error`` on every request."""

    def app(environ: t.Any, start_response: t.Any) -> t.Any:
        raise error from None

    return app


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
    option. The debugger is refused on a host other than a loopback address
    unless '--unsafe-debugger-on-public-host' is given.
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
        debugger = debug
    try:
        check_debugger_host(
            host, debugger=debugger, unsafe=unsafe_debugger_on_public_host, cli=True
        )
    except UnsafeDebuggerError as e:
        raise click.UsageError(str(e)) from None

    # A Hermetic app checks its configuration before serving.
    security_check = getattr(app, "security_check", None)
    if security_check is not None:
        from ..security.errors import ConfigurationError

        try:
            security_check()
        except ConfigurationError as e:
            raise click.ClickException(str(e)) from None
        from ..security._dev_server import insecure_cookie_notice

        notice = insecure_cookie_notice(app, host, ssl=cert is not None)
        if notice and not is_running_from_reloader():
            click.secho(f" * {notice}", fg="yellow", err=True)

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
            # bandit B102: the user's own PYTHONSTARTUP file, run as the interactive interpreter runs it.
            exec(compile(f.read(), startup, "exec"), namespace)  # nosec B102

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
