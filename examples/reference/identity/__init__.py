"""identity: accounts, roles, login pages, and the tokens the other services trust.

- Pages: ``/signup``, ``/login`` (remember-me), ``/logout``, ``/`` (the
  account), ``/account/password`` (a change ends every session, remember-me
  token, grant and access token of the user).
- OAuth 2: ``/oauth/authorize`` (authorization code, for the web service),
  ``/oauth/token`` (client credentials, hermetic's endpoint),
  ``/oauth/code``, ``/oauth/user-token`` and ``/oauth/revoke`` (for clients
  holding a service token), and the JWKS at ``/.well-known/jwks.json``.
- ``/internal/token-check``: the gateway's auth check before it routes an
  API request (nginx ``auth_request``; closed to the outside by the gateway).
- ``hermetic --app examples.reference.identity rotate-keys``: a new signing
  key; the old one is published until its last token has expired.
"""

from __future__ import annotations

import os
import typing as t
from urllib.parse import urlsplit

import click

from hermetic import Hermetic
from hermetic.security import hash_password
from hermetic.security.headers import DEFAULT_CSP
from hermetic.security.jwt import JWTAuth
from hermetic.security.observability import Observability

from ..common.db import init_service_database
from ..common.settings import base_config, read_secret, share_store, url_setting
from ..common.ui import (
    add_error_pages,
    add_favicon_route,
    add_health_route,
    keep_pages_private,
    ui,
)
from .keys import KeyDirectory
from .models import ADMIN, MEMBER, Base

SERVICE = "identity"
#: The scope a client needs to exchange codes and grants (``/oauth/code`` ...).
EXCHANGE_SCOPE = "identity:exchange"
#: What each role may do in the api service (the scopes of a user's tokens).
ROLE_SCOPES = {
    MEMBER: ("notes:read", "notes:write"),
    ADMIN: ("notes:read", "notes:write", "notes:admin"),
}


def _settings(config: t.Mapping[str, t.Any] | None) -> dict[str, t.Any]:
    c = base_config(SERVICE, config)
    c.setdefault("IDENTITY_URL", url_setting(c, "IDENTITY_URL", "http://127.0.0.1:5001"))
    c.setdefault("WEB_URL", url_setting(c, "WEB_URL", "http://127.0.0.1:5000"))
    c.setdefault("JWT_ISSUER", c["IDENTITY_URL"])
    c.setdefault("JWT_AUDIENCE", SERVICE)
    c.setdefault(
        "IDENTITY_KEYS_DIR",
        os.environ.get("IDENTITY_KEYS_DIR") or os.path.join(c["INSTANCE_PATH"], "identity-keys"),
    )
    c.setdefault("USER_TOKEN_TTL", 120)
    c.setdefault("GRANT_TTL", 12 * 3600)
    c.setdefault("LOGIN_VIEW", "pages.login")
    c.setdefault("AUTHZ_ROLES", {ADMIN: ["users:admin"], MEMBER: []})
    secret = c.get("WEB_CLIENT_SECRET") or read_secret("WEB_CLIENT_SECRET")
    if secret and "JWT_CLIENTS" not in c:
        # A TESTING app keeps the plain secret (hermetic allows it only there).
        cred = {"secret": secret} if c.get("TESTING") else {"secret_hash": hash_password(secret)}
        c["JWT_CLIENTS"] = {
            "web": {**cred, "scopes": [EXCHANGE_SCOPE], "audience": SERVICE, "ttl": 300}
        }
    c.setdefault(
        "OAUTH_CLIENTS",
        {"web": {"redirect_uris": [c["WEB_URL"] + "/auth/callback"], "audiences": ["api"]}},
    )
    if "SECURITY_CSP" not in c:
        # SECURITY: browsers apply form-action to the redirects after a form too:
        # sign-in and sign-up end at a registered client's callback, and only there.
        origins = {
            "{0.scheme}://{0.netloc}".format(urlsplit(uri))
            for spec in c["OAUTH_CLIENTS"].values()
            for uri in spec["redirect_uris"]
        }
        c["SECURITY_CSP"] = {**DEFAULT_CSP, "form-action": ["'self'", *sorted(origins)]}
    return c


def create_app(config: t.Mapping[str, t.Any] | None = None) -> Hermetic:
    """Create the identity service; ``config`` overrides the environment (tests use it)."""
    settings = _settings(config)
    app = Hermetic(__name__)
    share_store(app, config)
    app.config.update(settings)
    keys = KeyDirectory(
        app.config["IDENTITY_KEYS_DIR"],
        keep_for=app.config.get("JWT_MAX_TTL", 3600) + app.config.get("JWT_LEEWAY", 30),
    )
    if "JWT_SIGNING_KEYS" not in settings:
        keys.ensure()
        app.config["JWT_SIGNING_KEYS"] = keys.specs()
    app.extensions["reference.keys"] = keys
    init_service_database(app, Base.metadata, __file__, SERVICE)
    JWTAuth(app)
    Observability(app)
    app.jinja_env.globals.update(service_title="Identity", home_endpoint="pages.account")
    app.register_blueprint(ui)

    from . import gateway, oauth, pages

    pages.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(oauth.bp)
    app.register_blueprint(gateway.bp)

    add_health_route(app)
    add_favicon_route(app)
    keep_pages_private(app)
    add_error_pages(app)

    @app.cli.command("rotate-keys")
    def rotate_keys() -> None:
        """Make a new signing key; restart the service to sign with it."""
        kid = keys.rotate()
        click.echo(f"New signing key {kid}; keys kept: {len(keys.specs())}.")

    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--name", default="")
    @click.option("--admin", is_flag=True, help="Give the admin role.")
    @click.password_option()
    def create_user_command(email: str, name: str, admin: bool, password: str) -> None:
        """Create an account."""
        from .accounts import create_user

        with app.app_context():
            user = create_user(email, name or email, password, admin=admin)
            click.echo(f"Created user {user.id} ({', '.join(user.role_names)}).")

    return app
