"""``Hermetic``: the Flask-compatible app with every protection on."""

from __future__ import annotations

import os
import types
import typing as t

from werkzeug.datastructures import ImmutableDict
from werkzeug.exceptions import HTTPException

from .._plain_path import serve_plain
from ..app import Flask
from ..settings import Settings, secure_defaults
from ..settings.core import CoreSettings
from ._authz_settings import AuthzSettings
from ._csrf_settings import CSRFSettings
from ._dev_server import watch_cookies
from ._error_pages import render_error
from ._session_settings import SessionSettings
from .audit import ensure_handler
from .audit import logger as audit_logger
from .cors import CORSSettings
from .errors import ConfigurationError, SecurityError
from .input_limits import InputLimitsSettings
from .proxies import ProxySettings
from .ratelimit._settings import RateLimitSettings
from .secrets import (
    MaskedConfig,
    check_secret_keys,
    load_secret_key,
    redact_secrets_in,
    settle_secret_key,
)

__all__ = [
    "Hermetic",
]

#: The settings ``Hermetic`` changes from Flask's defaults for features whose
#: settings are NOT YET DECLARED in :mod:`hermetic.settings` (DESIGN.md,
#: "Security decisions"). The declared ones carry their ``secure_default``
#: (:data:`DECLARED`); each key moves there when its feature is migrated.
SECURE_DEFAULTS: dict[str, t.Any] = {}

#: The settings classes whose ``secure_default`` values ``Hermetic`` starts with:
#: sessions' cookie flags and lifetime, body limits (Flask's keys), trusted
#: proxies (none), CORS (no origin, no credentials).
DECLARED: tuple[type[Settings], ...] = (
    CoreSettings,
    ProxySettings,
    CORSSettings,
    InputLimitsSettings,
    RateLimitSettings,
    SessionSettings,
    AuthzSettings,
    CSRFSettings,
)


#: The schemes ``request.is_secure`` counts as secure.
_SECURE_SCHEMES = ("https", "wss")


def _after_hermetic(cls: type) -> t.Callable[..., t.Iterable[bytes]]:
    """Return the ``wsgi_app`` that ``super()`` in ``Hermetic.wsgi_app`` finds for ``cls``."""
    mro = cls.__mro__
    found = next(
        k.__dict__["wsgi_app"] for k in mro[mro.index(Hermetic) + 1 :] if "wsgi_app" in k.__dict__
    )
    if isinstance(found, types.FunctionType):
        return found
    return lambda app, environ, start_response: super(Hermetic, app).wsgi_app(
        environ, start_response
    )


class Hermetic(Flask):
    """A :class:`~hermetic.Flask` app with the security layer switched on.

    Encrypted sessions with timeouts and revocation, CSRF, security headers,
    input limits, trusted hosts and proxies, login and authorization, audit
    events. A missing or weak ``SECRET_KEY`` (from the config, the
    environment, a ``*_FILE`` path or a secrets folder) stops the app at
    start-up -- before it serves its first request -- with the fix.
    """

    config_class = MaskedConfig
    default_config = ImmutableDict(
        {**Flask.default_config, **secure_defaults(*DECLARED), **SECURE_DEFAULTS}
    )

    def __init__(self, import_name: str, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(import_name, *args, **kwargs)
        #: Where the loaded secrets came from (start-up messages name it).
        self.secret_origins = load_secret_key(self.config)
        self._security_checked = False
        # Until a Secure cookie on plain HTTP has been logged (_dev_server.py).
        self._watch_insecure_cookies = True
        # What super() in wsgi_app finds, found once rather than per request.
        self._next_wsgi_app = _after_hermetic(type(self))
        self._next_is_flask = self._next_wsgi_app is Flask.wsgi_app
        # Checked and followed by Flask.wsgi_app: the one test wsgi_app makes
        # before the request path (security_check sets it).
        self._checked_before_flask = False
        self._install_security()

    def _install_security(self) -> None:
        from .auth import LoginManager
        from .cors import CORSShield
        from .csrf import CSRFShield
        from .headers import HeadersShield
        from .input_limits import InputLimitsShield
        from .policy import AuthorizationShield
        from .proxies import HostShield, ProxyShield
        from .ratelimit import RateLimitShield
        from .sessions import EncryptedSessionInterface

        self.session_interface = EncryptedSessionInterface()
        for shield in (
            ProxyShield(),
            HostShield(),
            CORSShield(),
            InputLimitsShield(),
            RateLimitShield(),
            CSRFShield(),
            AuthorizationShield(),
            HeadersShield(),
        ):
            shield.init_app(self)
        self.login_manager = LoginManager(self)
        ensure_handler()
        redact_secrets_in(self.logger, self.config)
        redact_secrets_in(audit_logger, self.config)

    def handle_http_exception(self, e: HTTPException) -> t.Any:
        """Hand an HTTP error to the app's handler; without one, render Hermetic's page.

        Browsers get a small HTML page, API clients (``Accept`` JSON, a JSON
        body, a bearer token) ``application/problem+json``. Security
        refusals render themselves the same way.
        """
        rv = super().handle_http_exception(e)
        if rv is not e or isinstance(e, SecurityError) or e.response is not None:
            return rv
        if e.code is None or e.code < 400:
            return rv
        from ..globals import request

        response = render_error(e.code, e.name, e.description, request.environ)
        for key, value in e.get_headers(request.environ):
            if key.lower() != "content-type":
                response.headers.add(key, value)
        return response

    def security_problems(self) -> list[str]:
        """Return what stops this app from starting safely (empty when all is well)."""
        self.secret_origins = settle_secret_key(self.config, self.secret_origins)
        problems = check_secret_keys(self.config, self.secret_origins)
        if self.shields is not None:
            problems.extend(self.shields.configure(self))
        from ._settings_check import settings_problems
        from .auth._startup import user_source_problem

        # Settings that no shield reads (sessions, redirects, secret files).
        problems.extend(settings_problems(self))
        from .policy import routes_without_policy

        no_users = user_source_problem(self)
        if no_users:
            problems.append(no_users)

        if self.config["AUTHZ_DEFAULT"] == "deny":
            missing = routes_without_policy(self)
            if missing:
                problems.append(
                    "AUTHZ_DEFAULT is 'deny' and these routes declare no policy: "
                    + ", ".join(missing)
                    + ". Decorate each view with @public, @login_required or"
                    " @requires(...), or set AUTHZ_DEFAULT = 'allow'."
                )
        return problems

    def security_check(self) -> None:
        """Raise :class:`ConfigurationError` listing every start-up problem."""
        problems = self.security_problems()
        if problems:
            raise ConfigurationError(
                "hermetic refuses to start:\n" + "\n".join(f"- {p}" for p in problems)
            )
        from .coexistence import settle
        from .stores import warn_ignored_redis_url

        warn_ignored_redis_url(self)
        # Flask-Login, Flask-Session, Flask-Talisman, Flask-Limiter: adapted, named.
        settle(self)
        self._security_checked = True
        self._checked_before_flask = self._next_is_flask

    def wsgi_app(self, environ: dict[str, t.Any], start_response: t.Any) -> t.Iterable[bytes]:
        """Check the configuration once, then handle the request.

        A request received over plain HTTP has its ``Set-Cookie`` headers
        looked at once the response starts: a ``Secure`` cookie there is
        logged once (``_dev_server.py``), since the browser drops it.
        """
        if not self._checked_before_flask:
            # The first requests (until the check passes), or a class whose
            # super() is not Flask's wsgi_app.
            if not self._security_checked:
                self.security_check()
            if not self._next_is_flask:
                if (
                    self._watch_insecure_cookies
                    and environ.get("wsgi.url_scheme") not in _SECURE_SCHEMES
                ):
                    start_response = watch_cookies(self, environ, start_response)
                # What super() finds, without a proxy object made per request.
                return self._next_wsgi_app(self, environ, start_response)
        # The scheme first: over HTTPS the flag need not be read.
        if environ.get("wsgi.url_scheme") not in _SECURE_SCHEMES and self._watch_insecure_cookies:
            # Until a Secure cookie on plain HTTP has been logged: the cookies
            # of a plain-HTTP request are looked at as the response starts.
            start_response = watch_cookies(self, environ, start_response)
        # Flask.wsgi_app, in this frame.
        shields = self.shields
        if shields is not None and shields.active_unprepared:
            answer = serve_plain(self, environ, start_response, shields)
        elif shields is not None and shields.active:
            for step in shields.prepare_steps:
                step(environ)
            answer = serve_plain(self, environ, start_response, shields)
        else:
            answer = serve_plain(self, environ, start_response)
        if answer is not None:
            return answer  # type: ignore[no-any-return]  # the plain path's WSGI body
        return self._serve_general(environ, start_response)

    def run(
        self,
        host: str | None = None,
        port: int | None = None,
        debug: bool | None = None,
        load_dotenv: bool = True,
        **options: t.Any,
    ) -> None:
        """Check the configuration, then run the development server.

        The interactive debugger is refused on a host other than a loopback
        address, as by :meth:`Flask.run` (the one rule of
        :func:`hermetic._debugger.check_debugger_host`).
        """
        if os.environ.get("FLASK_RUN_FROM_CLI") != "true":
            self.security_check()
            server_name = self.config.get("SERVER_NAME") or ""
            bind = host or server_name.partition(":")[0] or "127.0.0.1"
            from ._dev_server import insecure_cookie_notice

            notice = insecure_cookie_notice(self, bind, ssl=bool(options.get("ssl_context")))
            if notice:
                self.logger.warning(notice)
        super().run(host, port, debug, load_dotenv, **options)
