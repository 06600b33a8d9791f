"""``hermetic check``: audit a deployment's security settings.

Each :class:`Finding` has a level (``error``, ``warning`` or ``info``), a
stable id, and a message that says what is wrong and how to fix it. The
command exits with status 1 when any finding is an error, 0 otherwise, so
it can gate a deployment pipeline::

    $ hermetic --app myapp check
    $ hermetic --app myapp check --format json
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
from ..settings import Settings, SettingsError, setting
from ._csrf_settings import CSRFSettings
from ._header_settings import HeadersSettings
from ._store_base import StoreSettings, store_settings
from .proxies import HostSettings, ProxySettings
from .secrets import check_secret_keys, settle_secret_key

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask

ERROR = "error"
WARNING = "warning"
INFO = "info"
_RANK = {ERROR: 0, WARNING: 1, INFO: 2}

#: More reverse proxies than this in ``TRUSTED_PROXY_HOPS`` is reported.
MAX_PLAUSIBLE_PROXY_HOPS = 2

#: The shields of :class:`~hermetic.Hermetic`, by class name, and what each protects.
PROTECTIONS = {
    "ProxyShield": "trusted proxies",
    "HostShield": "trusted hosts",
    "InputLimitsShield": "input limits",
    "CSRFShield": "CSRF protection",
    "AuthorizationShield": "authorization policies",
    "HeadersShield": "security headers",
}


class Finding(t.NamedTuple):
    """One result of the self-audit."""

    level: str
    id: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """Return the finding as a JSON-ready dict."""
        return {"level": self.level, "id": self.id, "message": self.message}


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
    declared = _declared(CheckSettings, app.config)
    counts = [declared.workers if declared else None, environ.get("WEB_CONCURRENCY")]
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
    settings = _declared(StoreSettings, app.config, environ)
    if settings is None or settings.redis_url:
        return False
    # Without a Redis URL, the security layer's store is a MemoryStore.
    return getattr(app, "shields", None) is not None


S = t.TypeVar("S", bound=Settings)


def _declared(
    cls: type[S], config: t.Mapping[str, t.Any], environ: t.Mapping[str, str] | None = None
) -> S | None:
    """Return ``cls``'s checked settings, or ``None`` when one is invalid.

    An invalid value is reported once, as ``invalid_setting``; the checks
    below then skip what they cannot read.
    """
    try:
        if cls is StoreSettings:
            return t.cast(S, store_settings(config, environ))
        return cls.from_config(config)
    except SettingsError:
        return None


def _check_secrets(app: Flask) -> t.Iterator[Finding]:
    origins = getattr(app, "secret_origins", None)
    if origins is not None:
        origins = app.secret_origins = settle_secret_key(app.config, origins)  # type: ignore[attr-defined]  # attribute hermetic sets on the app
    for problem in check_secret_keys(app.config, origins):
        yield Finding(ERROR, "secret_key", problem)


def _check_debug(app: Flask) -> t.Iterator[Finding]:
    if app.debug:
        yield Finding(
            ERROR,
            "debug",
            "Debug mode is on: the interactive debugger runs code for whoever can reach it."
            " Fix: unset FLASK_DEBUG / HERMETIC_DEBUG and set DEBUG = False in production.",
        )


def _check_cookies(app: Flask) -> t.Iterator[Finding]:
    if not app.config.get("SESSION_COOKIE_SECURE"):
        yield Finding(
            WARNING,
            "session_cookie_secure",
            "SESSION_COOKIE_SECURE is off: the session cookie is also sent over plain HTTP."
            " Fix: serve the app over HTTPS and set SESSION_COOKIE_SECURE = True.",
        )


def _check_headers(app: Flask, shields: set[str]) -> t.Iterator[Finding]:
    if "HeadersShield" not in shields:
        return
    settings = _declared(HeadersSettings, app.config)
    if settings is None:
        return
    if not settings.hsts:
        yield Finding(
            WARNING,
            "hsts",
            "SECURITY_HSTS is off: browsers may reach the site over plain HTTP."
            " Fix: remove SECURITY_HSTS from the config to use the default"
            " (max-age=63072000; includeSubDomains).",
        )
    if settings.csp is None:
        yield Finding(
            WARNING,
            "csp",
            "SECURITY_CSP is None: no Content-Security-Policy limits injected scripts."
            " Fix: remove SECURITY_CSP to use the default policy, or set one.",
        )


def _check_hosts_and_proxies(app: Flask) -> t.Iterator[Finding]:
    hosts = _declared(HostSettings, app.config)
    if hosts is not None and not hosts.trusted_hosts:
        yield Finding(
            WARNING,
            "trusted_hosts",
            "TRUSTED_HOSTS is not set: any Host header is accepted (password-reset links"
            " and absolute URLs can be poisoned). Fix: TRUSTED_HOSTS = ['example.com'].",
        )
    proxies = _declared(ProxySettings, app.config)
    hops = list(proxies.proxy_hops.values()) if proxies is not None else []
    if hops and max(hops) > MAX_PLAUSIBLE_PROXY_HOPS:
        yield Finding(
            WARNING,
            "proxy_hops",
            f"TRUSTED_PROXY_HOPS trusts {max(hops)} proxies: clients can forge"
            " X-Forwarded-* values when fewer proxies are really in front of the app."
            " Fix: set it to the number of reverse proxies you run (usually 1).",
        )


def _check_cors(app: Flask) -> t.Iterator[Finding]:
    origins = app.config.get("CORS_ORIGINS")
    wildcard = origins == "*" or (
        isinstance(origins, (list, tuple, set, frozenset)) and "*" in origins
    )
    credentials = app.config.get("CORS_ALLOW_CREDENTIALS") or app.config.get(
        "CORS_SUPPORTS_CREDENTIALS"
    )
    if wildcard and credentials:
        yield Finding(
            ERROR,
            "cors_wildcard_credentials",
            "CORS allows any origin with credentials: every site can make logged-in"
            " requests and read the answers. Fix: list the allowed origins in CORS_ORIGINS.",
        )


def _check_policies(app: Flask, shields: set[str]) -> t.Iterator[Finding]:
    if "AuthorizationShield" not in shields:
        return
    try:
        from .policy import routes_without_policy
    except ImportError:  # pragma: no cover - policy is part of the package
        return
    missing = routes_without_policy(app)
    if missing:
        yield Finding(
            WARNING,
            "routes_without_policy",
            "These routes declare no authorization policy: "
            + ", ".join(missing)
            + ". Fix: decorate each view with @public, @login_required or @requires(...),"
            " then set AUTHZ_DEFAULT = 'deny'.",
        )


def _template_findings(app: Flask, shields: set[str]) -> list[Finding]:
    from ._check_templates import check_templates

    return list(check_templates(app, shields))


def _check_user_source(app: Flask, shields: set[str]) -> t.Iterator[Finding]:
    if "AuthorizationShield" not in shields:
        return
    from .auth._startup import user_source_problem

    try:
        problem = user_source_problem(app)
    except ImportError:  # pragma: no cover - policy is part of the package
        return
    if problem:
        yield Finding(ERROR, "no_user_loader", problem)


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


def _check_limits(app: Flask) -> t.Iterator[Finding]:
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        yield Finding(
            WARNING,
            "max_content_length",
            "MAX_CONTENT_LENGTH is None: request bodies of any size are read."
            " Fix: MAX_CONTENT_LENGTH = 1024 * 1024 (or what your largest upload needs).",
        )


def _check_csrf(app: Flask, shields: set[str]) -> t.Iterator[Finding]:
    if "CSRFShield" not in shields:
        return
    settings = _declared(CSRFSettings, app.config)
    if settings is not None and not settings.enabled:
        yield Finding(
            WARNING,
            "csrf",
            "CSRF_ENABLED is False: other sites can submit forms as your logged-in users."
            " Fix: remove CSRF_ENABLED (and exempt only token-authenticated API routes).",
        )
    yield from _check_flask_wtf(app, settings)


def _check_flask_wtf(app: Flask, settings: CSRFSettings | None) -> t.Iterator[Finding]:
    """Name how the CSRF shield and Flask-WTF share the work (one notice)."""
    from ._wtf_bridge import detect

    wtf = detect(app)
    if wtf is None or settings is None or not settings.enabled:
        return
    text = wtf.describe(hermetic_field=settings.field_name, hermetic_header=settings.header_name)
    # A warning, as at start-up, when views exempt from Flask-WTF now need a token.
    yield Finding(WARNING if wtf.wtf_exempt else INFO, "csrf_flask_wtf", text)


def _check_jwt(app: Flask) -> t.Iterator[Finding]:
    auth = app.extensions.get("hermetic.jwt")
    problem = getattr(auth, "problem", None)
    if problem:
        yield Finding(ERROR, "jwt_accepts_no_tokens", problem)


def _check_profile(app: Flask, shields: set[str]) -> t.Iterator[Finding]:
    off = [name for cls, name in PROTECTIONS.items() if cls not in shields]
    if off:
        kind = type(app).__name__
        yield Finding(
            INFO,
            "protections_off",
            f"This {kind} app runs without: {', '.join(off)}."
            " Fix: use hermetic.Hermetic, or add each shield with shield.init_app(app).",
        )


def _check_settings(app: Flask) -> t.Iterator[Finding]:
    """Report invalid settings of the installed shields, and keys nothing reads."""
    from ..settings import unknown_keys

    shields = getattr(app, "shields", None)
    for problem in shields.configure(app) if shields is not None else ():
        yield Finding(ERROR, "invalid_setting", problem)
    from .coexistence import ALL_EXTENSION_KEYS

    for unknown in unknown_keys(app.config):
        if unknown.key in ALL_EXTENSION_KEYS:
            continue  # an extension's documented key (Flask-Login, Flask-JWT-Extended, ...)
        yield Finding(
            WARNING,
            "unknown_setting",
            unknown.message + " Fix: correct or remove the key (docs/configuration.md lists"
            " every setting); ignore this if a Flask extension reads it.",
        )


def _check_companions(app: Flask) -> t.Iterator[Finding]:
    """Name each Flask extension that takes over part of Hermetic, and what changes."""
    from .coexistence import companions

    if not hasattr(app, "security_check"):
        return  # a plain Flask app: Hermetic's guarantees are not on to keep
    for companion in companions(app):
        yield Finding(companion.level, companion.id, companion.message)


def run_checks(app: Flask, environ: t.Mapping[str, str] | None = None) -> list[Finding]:
    """Return the findings for ``app``, errors first (``environ`` defaults to ``os.environ``)."""
    if environ is None:
        environ = os.environ
    shields = _shield_classes(app)
    findings = [
        *_check_secrets(app),
        *_check_settings(app),
        *_check_debug(app),
        *_check_cookies(app),
        *_check_headers(app, shields),
        *_check_hosts_and_proxies(app),
        *_check_cors(app),
        *_check_policies(app, shields),
        *_check_user_source(app, shields),
        *_check_store(app, environ),
        *_check_limits(app),
        *_check_csrf(app, shields),
        *_check_jwt(app),
        *_check_companions(app),
        *_template_findings(app, shields),
        *_check_profile(app, shields),
    ]
    findings.sort(key=lambda f: _RANK[f.level])
    return findings


def _format_text(findings: list[Finding]) -> str:
    if not findings:
        return "No problems found."
    lines = [f"{f.level.upper()}: [{f.id}] {f.message}" for f in findings]
    counts = {level: sum(f.level == level for f in findings) for level in _RANK}
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
        findings.sort(key=lambda f: _RANK[f.level])
    if output_format == "json":
        click.echo(json.dumps([f.as_dict() for f in findings], indent=2))
    else:
        click.echo(_format_text(findings))
    if any(f.level == ERROR for f in findings):
        raise SystemExit(1)
