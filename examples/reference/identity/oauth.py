"""How the web service signs its users in here, and gets api tokens on their behalf.

1. ``GET /oauth/authorize?client_id&redirect_uri&state`` (a logged-in user's
   browser): a one-time code (60 s) bound to the user, the client, the
   redirect URI and this identity session; back to ``redirect_uri``.
2. ``POST /oauth/code`` (the client, with its service token): the code for
   a *grant* -- an opaque handle the client keeps in its own session -- and
   the user's profile.
3. ``POST /oauth/user-token`` (the client, with its service token): the
   grant for a short-lived access token to an audience (``api``): ``sub``
   is the user, ``act.sub`` the client (RFC 8693's actor claim), ``scope``
   what the user's roles allow.
4. ``POST /oauth/revoke``: the grant ends, and the identity session that
   made it (a sign-out at the client signs out here too).

A password change ends every grant of the user (``tokens_valid_after``).

hermetic's client-credentials endpoint (``POST /oauth/token``) gets two rate
limits here, counted on the app's limiter (Redis, shared by every worker,
when ``HERMETIC_REDIS_URL`` is set): per client address
(``OAUTH_TOKEN_LIMIT_PER_IP``, default 20/minute) and per registered client
id (``OAUTH_TOKEN_LIMIT_PER_CLIENT``, default 60/minute), so guessing a
client's secret -- from one address or from many -- ends in a 429 with
``Retry-After``, audited as a ``ratelimit`` event. A client caches its token
(web: until 30 s before it expires), so it asks a few times an hour.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import time
import typing as t
from urllib.parse import unquote_plus, urlencode

from hermetic import Blueprint, abort, current_app, redirect, request, session
from hermetic.security import current_user, login_required, revoke_session
from hermetic.security.audit import audit
from hermetic.security.jwt import current_principal, jwt_required
from hermetic.security.ratelimit import rate_limit
from hermetic.security.stores import store_for

from ..common.db import session as db_session
from .models import User

bp = Blueprint("oauth", __name__, url_prefix="/oauth")

CODE_TTL = 60
_CODE = "oauth:code:"
_CODE_USED = "oauth:code-used:"
_GRANT = "oauth:grant:"
#: hermetic's client-credentials endpoint (``JWTAuth``, ``JWT_TOKEN_PATH``).
TOKEN_ENDPOINT = "hermetic_jwt_token"
TOKEN_LIMIT_PER_IP = "20/minute"
TOKEN_LIMIT_PER_CLIENT = "60/minute"


def _token_client_id(request: t.Any) -> str | None:
    """Return the registered client a token request names (Basic or form), else ``None``.

    ``None`` counts the request by address (hermetic's fallback): made-up
    client ids cannot open counters of their own.
    """
    auth = request.authorization
    if auth is not None and auth.type == "basic" and auth.username is not None:
        client_id: str | None = unquote_plus(auth.username)
    elif request.mimetype == "application/x-www-form-urlencoded":
        client_id = request.form.get("client_id")
    else:
        client_id = None
    return client_id if client_id in (current_app.config.get("JWT_CLIENTS") or {}) else None


@bp.record_once
def _limit_token_endpoint(state: t.Any) -> None:
    # SECURITY: each wrong secret costs an argon2 check and is one guess:
    # count by address and by client id (a guesser with many addresses).
    app = state.app
    view = app.view_functions.get(TOKEN_ENDPOINT)
    if view is None:  # no JWT_CLIENTS: no token endpoint
        return
    config = app.config
    per_client = config.get("OAUTH_TOKEN_LIMIT_PER_CLIENT", TOKEN_LIMIT_PER_CLIENT)
    per_ip = config.get("OAUTH_TOKEN_LIMIT_PER_IP", TOKEN_LIMIT_PER_IP)
    rate_limit(per_client, key=_token_client_id, scope="oauth-token-client")(view)
    rate_limit(per_ip, key="ip", scope="oauth-token-ip")(view)


def _h(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _error(error: str, description: str, status: int = 400) -> t.Any:
    audit("oauth", reason=error)
    body = json.dumps({"error": error, "error_description": description})
    return current_app.response_class(
        body, status, mimetype="application/json", headers={"Cache-Control": "no-store"}
    )


def _json(body: dict[str, t.Any]) -> t.Any:
    return current_app.response_class(
        json.dumps(body), 200, mimetype="application/json", headers={"Cache-Control": "no-store"}
    )


def _client() -> tuple[str, dict[str, t.Any]]:
    principal = current_principal()
    client_id = principal.sub if principal is not None else ""
    spec = current_app.config["OAUTH_CLIENTS"].get(client_id)
    if spec is None:
        abort(403)
    return client_id, spec


# --8<-- [start:authorize]
@bp.get("/authorize")
@login_required
def authorize() -> t.Any:
    client_id = request.args.get("client_id", "")
    redirect_uri = request.args.get("redirect_uri", "")
    state = request.args.get("state", "")
    spec = current_app.config["OAUTH_CLIENTS"].get(client_id)
    # SECURITY: exact match with a registered URI: no open redirect, no code theft.
    if spec is None or redirect_uri not in spec["redirect_uris"]:
        audit("oauth", reason="bad_redirect_uri", client_id=client_id[:64])
        abort(400, "Unknown client or redirect URI.")
    if not 16 <= len(state) <= 128:
        abort(400, "The state parameter is missing or malformed.")
    # --8<-- [end:authorize]
    code = secrets.token_urlsafe(32)
    data = {
        "user_id": current_user.get_id(),
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "sid": getattr(session, "sid", None),
    }
    store_for(current_app).set(_CODE + _h(code), json.dumps(data).encode(), CODE_TTL)
    audit("oauth", result="code_issued", client_id=client_id)
    return redirect(redirect_uri + "?" + urlencode({"code": code, "state": state}))


@bp.post("/code")
@jwt_required(scopes="identity:exchange", replay=False)
def exchange_code() -> t.Any:
    client_id, _spec = _client()
    code = request.form.get("code", "")
    store = store_for(current_app)
    raw = store.get(_CODE + _h(code)) if code else None
    # SECURITY: one use only; a second presentation of a code finds it spent.
    if raw is None or not store.add(_CODE_USED + _h(code), b"1", CODE_TTL):
        return _error("invalid_grant", "The code is unknown, spent or expired.")
    store.delete(_CODE + _h(code))
    data = json.loads(raw)
    if data["client_id"] != client_id or data["redirect_uri"] != request.form.get("redirect_uri"):
        return _error("invalid_grant", "The code was issued to another client or redirect URI.")
    user = db_session().get(User, int(data["user_id"]))
    if user is None or not user.active:
        return _error("invalid_grant", "The account is closed.")
    grant = secrets.token_urlsafe(32)
    record = {
        "user_id": user.get_id(),
        "client_id": client_id,
        "sid": data["sid"],
        "iat": time.time(),
    }
    store.set(_GRANT + _h(grant), json.dumps(record).encode(), current_app.config["GRANT_TTL"])
    audit("oauth", result="grant_issued", client_id=client_id, user=user.get_id())
    return _json({"grant": grant, "user": _profile(user)})


def _profile(user: User) -> dict[str, t.Any]:
    return {"id": user.get_id(), "email": user.email, "name": user.name, "roles": user.role_names}


def _grant_user(client_id: str) -> tuple[User, dict[str, t.Any]] | None:
    grant = request.form.get("grant", "")
    raw = store_for(current_app).get(_GRANT + _h(grant)) if grant else None
    if raw is None:
        return None
    record = json.loads(raw)
    if record["client_id"] != client_id:
        return None
    user = db_session().get(User, int(record["user_id"]))
    # SECURITY: a password change (or a closed account) ends every older grant.
    if user is None or not user.active or record["iat"] < user.tokens_valid_after:
        return None
    return user, record


@bp.post("/user-token")
@jwt_required(scopes="identity:exchange", replay=False)
def user_token() -> t.Any:
    from . import ROLE_SCOPES

    client_id, spec = _client()
    audience = request.form.get("audience", "")
    if audience not in spec["audiences"]:
        return _error("invalid_target", "This client cannot ask for tokens to that audience.")
    found = _grant_user(client_id)
    if found is None:
        return _error("invalid_grant", "The grant is unknown, revoked or expired.")
    user, _record = found
    scopes = sorted({s for r in user.role_names for s in ROLE_SCOPES.get(r, ())})
    ttl = int(current_app.config["USER_TOKEN_TTL"])
    now = time.time()
    # A token's iat has one-second precision; revocations are per second too
    # (refusing iat < ceil(tokens_valid_after)). A token made in the same
    # second as a password change is dated to the next second, not refused.
    issued_at = (
        max(now, math.floor(user.tokens_valid_after) + 1) if user.tokens_valid_after else now
    )
    auth = current_app.extensions["hermetic.jwt"]
    token = auth.issue(
        user.get_id(),
        audience,
        scopes,
        ttl=ttl,
        now=issued_at,
        extra_claims={"act": {"sub": client_id}, "email": user.email, "roles": user.role_names},
    )
    audit("oauth", result="user_token_issued", client_id=client_id, user=user.get_id())
    return _json({"access_token": token, "token_type": "Bearer", "expires_in": ttl})


@bp.post("/revoke")
@jwt_required(scopes="identity:exchange", replay=False)
def revoke() -> t.Any:
    client_id, _spec = _client()
    grant = request.form.get("grant", "")
    store = store_for(current_app)
    raw = store.get(_GRANT + _h(grant)) if grant else None
    if raw is not None:
        record = json.loads(raw)
        if record["client_id"] == client_id:
            store.delete(_GRANT + _h(grant))
            if record.get("sid"):
                revoke_session(current_app._get_current_object(), record["sid"])
            audit("oauth", result="grant_revoked", client_id=client_id, user=record["user_id"])
    # RFC 7009: the answer is the same whether the grant existed or not.
    return _json({})
