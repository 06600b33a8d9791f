"""api: notes with sharing, a JSON API for users calling through a trusted client.

Bearer JWTs only, verified locally with identity's keys (fetched from its
JWKS, cached, refreshed on an unknown key id). Scopes gate each route
(``notes:read``, ``notes:write``, ``notes:admin``); object policies decide
per note (owner, shared with, admin); each token subject has its own rate
limits; pages are at most 100 items. OpenAPI at ``/openapi.json``, docs at
``/docs``.
"""

from __future__ import annotations

import json
import os
import typing as t

from werkzeug.exceptions import HTTPException

from hermetic import Hermetic, current_app
from hermetic.openapi import OpenAPI
from hermetic.security.jwt import JWTAuth
from hermetic.security.observability import Observability
from hermetic.security.policy import policy

from ..common.db import init_service_database
from ..common.settings import base_config, share_store, url_setting
from ..common.ui import add_favicon_route, add_health_route
from .models import Base, Note

SERVICE = "api"


def _settings(config: t.Mapping[str, t.Any] | None) -> dict[str, t.Any]:
    c = base_config(SERVICE, config)
    identity = url_setting(c, "IDENTITY_URL", "http://127.0.0.1:5001")
    issuer = c.get("IDENTITY_ISSUER") or os.environ.get("IDENTITY_ISSUER") or identity
    # --8<-- [start:jwt-trust]
    c.setdefault("JWT_AUDIENCE", SERVICE)
    # web mints a short-lived token for each call it makes on a user's behalf:
    # each is accepted once (replay protection is opt-in in hermetic).
    # A load run (REFERENCE_LOAD_RUN) replays one token: the check is off then.
    c.setdefault("JWT_REPLAY_CHECK", not c.get("REFERENCE_LOAD_RUN"))
    # Where api fetches identity's keys: identity itself, or (deploy/) the gateway
    # over TLS, since plain HTTP is refused for a JWKS except on loopback.
    jwks = c.get("IDENTITY_JWKS_URL") or os.environ.get("IDENTITY_JWKS_URL")
    c.setdefault("JWT_TRUSTED_ISSUERS", {issuer: jwks or identity + "/.well-known/jwks.json"})
    # The gateway's certificate (self-signed, or from an internal CA) for that TLS fetch.
    ca_file = os.environ.get("JWT_JWKS_CA_FILE")
    if ca_file:
        c.setdefault("JWT_JWKS_CA_FILE", ca_file)
    c.setdefault("API_TRUSTED_ACTORS", ["web"])
    # --8<-- [end:jwt-trust]
    c.setdefault("OPENAPI_TITLE", "Notes API")
    c.setdefault("OPENAPI_VERSION", "1.0.0")
    # SECURITY: api is reached only through web (and the gateway), never by
    # browsers: it takes their request id (pattern-checked) to tie the logs together.
    c.setdefault("REQUEST_ID_TRUSTED", True)
    return c


def _problem(e: HTTPException) -> t.Any:
    """Answer ``abort()`` with a problem document: api speaks JSON only."""
    body = {"type": "about:blank", "title": e.name, "status": e.code, "detail": e.description}
    return current_app.response_class(json.dumps(body), e.code, mimetype="application/problem+json")


def _subject(user: t.Any) -> str | None:
    return getattr(user, "sub", None)


def _register_policies(app: Hermetic) -> None:
    def admin(user: t.Any) -> bool:
        return "notes:admin" in getattr(user, "scopes", ())

    # --8<-- [start:policies]
    @policy("note:read", app=app)
    def may_read(user: t.Any, note: Note) -> bool:
        sub = _subject(user)
        return note.owner_sub == sub or any(m.sub == sub for m in note.shared_with) or admin(user)

    @policy("note:write", app=app)
    def may_write(user: t.Any, note: Note) -> bool:
        return note.owner_sub == _subject(user) or admin(user)

    # --8<-- [end:policies]

    @policy("note:share", app=app)
    def may_share(user: t.Any, note: Note) -> bool:
        return note.owner_sub == _subject(user)

    @policy("note:delete", app=app)
    def may_delete(user: t.Any, note: Note) -> bool:
        return note.owner_sub == _subject(user) or admin(user)


def create_app(config: t.Mapping[str, t.Any] | None = None) -> Hermetic:
    """Create the api service; ``config`` overrides the environment (tests use it)."""
    app = Hermetic(__name__)
    share_store(app, config)
    app.config.update(_settings(config))
    init_service_database(app, Base.metadata, __file__, SERVICE)
    JWTAuth(app)
    Observability(app)
    _register_policies(app)

    from .views import bp

    app.register_blueprint(bp)

    add_health_route(app)
    add_favicon_route(app)  # the /docs page names no icon

    for code in (400, 404, 405, 422):
        app.register_error_handler(code, _problem)
    OpenAPI(app)
    return app
