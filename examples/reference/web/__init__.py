"""web: the pages people use; it signs them in through identity and calls api for them.

- Sign-in: ``/auth/login`` sends the browser to identity's ``/oauth/authorize``
  (a ``state`` in the session), ``/auth/callback`` trades the code for a
  grant kept in web's encrypted session; ``/auth/logout`` ends the session
  here (revoked on the server) and the grant at identity.
- Notes: list (paginated), create, view, edit, share, delete (a confirmation
  dialog; without JavaScript, a confirmation page). Each api call carries a
  fresh token naming the user (``sub``) and web (``act.sub``).
- ``/admin``: administrators only (members get 403).

No page has an inline script or handler (one script file, served by the
app); every form has a CSRF token; no page is stored by the browser
(``Cache-Control: no-store``).
"""

from __future__ import annotations

import typing as t

from hermetic import Hermetic, flash, redirect, render_template, url_for
from hermetic.security import logout_user
from hermetic.security.observability import Observability

from ..common.settings import base_config, read_secret, share_store, url_setting
from ..common.ui import (
    add_error_pages,
    add_favicon_route,
    add_health_route,
    keep_pages_private,
    ui,
)
from .client import (
    ApiClient,
    ApiError,
    GrantInvalid,
    HTTPTransport,
    IdentityClient,
    ServiceUnavailable,
)

SERVICE = "web"


def _settings(config: t.Mapping[str, t.Any] | None) -> dict[str, t.Any]:
    c = base_config(SERVICE, config)
    c.setdefault("WEB_URL", url_setting(c, "WEB_URL", "http://127.0.0.1:5000"))
    c.setdefault("IDENTITY_URL", url_setting(c, "IDENTITY_URL", "http://127.0.0.1:5001"))
    c.setdefault("IDENTITY_PUBLIC_URL", url_setting(c, "IDENTITY_PUBLIC_URL", c["IDENTITY_URL"]))
    c.setdefault("API_URL", url_setting(c, "API_URL", "http://127.0.0.1:5002"))
    c.setdefault("WEB_CLIENT_ID", "web")
    c.setdefault("LOGIN_VIEW", "auth.login")
    c.setdefault("AUTHZ_ROLES", {"admin": ["admin:view"], "member": []})
    c.setdefault("SERVICE_TIMEOUT", 5.0)
    return c


def create_app(config: t.Mapping[str, t.Any] | None = None, *, transport: t.Any = None) -> Hermetic:
    """Create the web service; ``transport`` replaces HTTP (tests call the apps in-process)."""
    app = Hermetic(__name__)
    share_store(app, config)
    app.config.update(_settings(config))
    secret = app.config.get("WEB_CLIENT_SECRET") or read_secret("WEB_CLIENT_SECRET")
    if not secret:
        from hermetic.security import ConfigurationError

        raise ConfigurationError(
            "web needs its client secret for identity. Cause: WEB_CLIENT_SECRET is not set."
            " Fix: set WEB_CLIENT_SECRET (or WEB_CLIENT_SECRET_FILE) to the secret identity"
            " knows web by."
        )
    transport = transport or HTTPTransport(float(app.config["SERVICE_TIMEOUT"]))
    identity = IdentityClient(
        app.config["IDENTITY_URL"], app.config["WEB_CLIENT_ID"], secret, transport
    )
    app.extensions["reference.identity"] = identity
    app.extensions["reference.api"] = ApiClient(app.config["API_URL"], identity, transport)
    Observability(app)
    app.jinja_env.globals.update(service_title="Notes", home_endpoint="notes.index")
    app.register_blueprint(ui)

    from . import views

    views.init_app(app)
    app.register_blueprint(views.auth)
    app.register_blueprint(views.notes)

    add_health_route(app)
    add_favicon_route(app)
    keep_pages_private(app)
    add_error_pages(app)

    @app.errorhandler(GrantInvalid)
    def grant_invalid(_e: GrantInvalid) -> t.Any:
        # identity ended the sign-in (sign-out elsewhere, password change): end ours.
        logout_user()
        flash("Your sign-in has ended. Please sign in again.", "warning")
        return redirect(url_for("notes.index"))

    @app.errorhandler(ApiError)
    def api_error(e: ApiError) -> t.Any:
        app.logger.warning("api refused a call: %s", e.status)
        return render_template(
            "error.html",
            title="Something went wrong",
            message="The notes service refused this request.",
        ), 502

    @app.errorhandler(ServiceUnavailable)
    def unavailable(e: ServiceUnavailable) -> t.Any:
        app.logger.warning("dependency unavailable: %s", e)
        return render_template(
            "error.html",
            title="Try again shortly",
            message="A service this page needs is not answering.",
        ), 503

    return app
