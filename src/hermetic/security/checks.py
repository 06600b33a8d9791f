"""``hermetic check``: audit a deployment's security settings.

Each :class:`Finding` has a level (``error``, ``warning`` or ``info``), a
stable id, and a message that says what is wrong and how to fix it. The
command exits with status 1 when any finding is an error, 0 otherwise, so
it can gate a deployment pipeline::

    $ hermetic --app myapp check
    $ hermetic --app myapp check --format json

The checks live by family: :mod:`._check_config` (configuration values),
:mod:`._check_protections` (shields, policies, extensions) and
:mod:`._check_templates` (templates, ``--migrate``); the store check, which
needs the worker count, is here with :func:`run_checks` and the command.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import typing as t

import click

from .._output_format import output_format_option
from ..settings import Settings, setting
from ._check_config import MAX_PLAUSIBLE_PROXY_HOPS as MAX_PLAUSIBLE_PROXY_HOPS
from ._check_config import (
    check_cookies,
    check_cors,
    check_debug,
    check_headers,
    check_hosts_and_proxies,
    check_limits,
    check_secrets,
    check_settings,
)
from ._check_findings import ERROR as ERROR
from ._check_findings import INFO as INFO
from ._check_findings import RANK, declared
from ._check_findings import WARNING as WARNING
from ._check_findings import Finding as Finding
from ._check_protections import PROTECTIONS as PROTECTIONS
from ._check_protections import (
    check_companions,
    check_csrf,
    check_jwt,
    check_policies,
    check_profile,
    check_user_source,
)
from ._store_base import StoreSettings

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask


def _shield_classes(app: Flask) -> set[str]:
    shields = getattr(app, "shields", None)
    return {type(s).__name__ for s in shields} if shields is not None else set()


@dataclasses.dataclass(frozen=True)
class CheckSettings(
    Settings, feature="check", title="hermetic check", prefixes=("HERMETIC_WORKERS",)
):
    """What ``hermetic check`` reads besides the features' own settings."""

    workers: int | None = setting(
        "HERMETIC_WORKERS",
        default=None,
        doc="How many worker processes the deployment runs (else `WEB_CONCURRENCY` or"
        " gunicorn's `--workers` in `GUNICORN_CMD_ARGS`): more than one needs"
        " `HERMETIC_REDIS_URL`.",
    )


def configured_workers(app: Flask, environ: t.Mapping[str, str] | None = None) -> int:
    """Return how many worker processes the deployment declares (1 when unknown).

    Read from the config's ``HERMETIC_WORKERS``, then ``WEB_CONCURRENCY`` and
    ``--workers`` / ``-w`` in ``GUNICORN_CMD_ARGS`` in the environment.
    """
    if environ is None:
        environ = os.environ
    settings = declared(CheckSettings, app.config)
    counts = [settings.workers if settings else None, environ.get("WEB_CONCURRENCY")]
    try:
        args = shlex.split(environ.get("GUNICORN_CMD_ARGS", ""))
    except ValueError:
        args = []
    for index, arg in enumerate(args):
        if arg in ("-w", "--workers") and index + 1 < len(args):
            counts.append(args[index + 1])
        elif arg.startswith("--workers="):
            counts.append(arg.partition("=")[2])
        elif re.fullmatch(r"-w\d+", arg):
            counts.append(arg[2:])
    best = 1
    for value in counts:
        try:
            best = max(best, int(value))  # type: ignore[arg-type]  # None or junk from config/env: skipped below
        except (TypeError, ValueError):
            continue
    return best


def _uses_memory_store(app: Flask, environ: t.Mapping[str, str]) -> bool:
    store = app.extensions.get("hermetic.store")
    if store is not None:
        return type(store).__name__ == "MemoryStore"
    # Only HERMETIC_REDIS_URL: REDIS_URL is the app's own Redis, not Hermetic's.
    settings = declared(StoreSettings, app.config, environ)
    if settings is None or settings.redis_url:
        return False
    # Without a Redis URL, the security layer's store is a MemoryStore.
    return getattr(app, "shields", None) is not None


def _template_findings(app: Flask, shields: set[str]) -> list[Finding]:
    from ._check_templates import check_templates

    return list(check_templates(app, shields))


def _check_store(app: Flask, environ: t.Mapping[str, str]) -> t.Iterator[Finding]:
    from .stores import IGNORED_REDIS_URL

    workers = configured_workers(app, environ)
    memory = _uses_memory_store(app, environ)
    if workers > 1 and memory:
        yield Finding(
            ERROR,
            "memory_store",
            f"{workers} workers share no state: sessions revoked, rate limits and replay"
            " caches live in each process's memory. Fix: set HERMETIC_REDIS_URL to a"
            " Redis server.",
        )
    if memory and (app.config.get("REDIS_URL") or environ.get("REDIS_URL")):
        yield Finding(WARNING, "redis_url_ignored", IGNORED_REDIS_URL)


def run_checks(app: Flask, environ: t.Mapping[str, str] | None = None) -> list[Finding]:
    """Return the findings for ``app``, errors first (``environ`` defaults to ``os.environ``)."""
    if environ is None:
        environ = os.environ
    shields = _shield_classes(app)
    findings = [
        *check_secrets(app),
        *check_settings(app),
        *check_debug(app),
        *check_cookies(app),
        *check_headers(app, shields),
        *check_hosts_and_proxies(app),
        *check_cors(app),
        *check_policies(app, shields),
        *check_user_source(app, shields),
        *_check_store(app, environ),
        *check_limits(app),
        *check_csrf(app, shields),
        *check_jwt(app),
        *check_companions(app),
        *_template_findings(app, shields),
        *check_profile(app, shields),
    ]
    findings.sort(key=lambda f: RANK[f.level])
    return findings


def _format_text(findings: list[Finding]) -> str:
    if not findings:
        return "No problems found."
    lines = [f"{f.level.upper()}: [{f.id}] {f.message}" for f in findings]
    counts = {level: sum(f.level == level for f in findings) for level in RANK}
    lines.append(f"{counts[ERROR]} error(s), {counts[WARNING]} warning(s), {counts[INFO]} info.")
    return "\n".join(lines)


@click.command("check", short_help="Audit the app's security settings.")
@output_format_option
@click.option(
    "--migrate",
    is_flag=True,
    help="Also list what changes for a Flask project moving to Hermetic (hermetic migrate).",
)
def check_command(output_format: str, migrate: bool = False) -> None:
    """Report insecure settings; exit with status 1 when any is an error."""
    # Imported here: the CLI module imports this one to register the command.
    from ..cli import ScriptInfo
    from ..globals import _cv_app

    app_ctx = _cv_app.get(None)
    if app_ctx is not None:
        app = app_ctx.app
    else:
        app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    findings = run_checks(app)
    if migrate:
        from ._check_templates import migration_findings

        findings.extend(migration_findings(app))
        findings.sort(key=lambda f: RANK[f.level])
    if output_format == "json":
        click.echo(json.dumps([f.as_dict() for f in findings], indent=2))
    else:
        click.echo(_format_text(findings))
    if any(f.level == ERROR for f in findings):
        raise SystemExit(1)
