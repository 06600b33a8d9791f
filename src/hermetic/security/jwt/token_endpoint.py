"""The OAuth 2.0 client-credentials token endpoint (RFC 6749, section 4.4).

``POST JWT_TOKEN_PATH`` (default ``/oauth/token``) with
``grant_type=client_credentials``; the client authenticates with HTTP Basic
or with ``client_id`` / ``client_secret`` form fields (not both). Clients
come from ``JWT_CLIENTS``::

    JWT_CLIENTS = {
        "billing": {
            "secret_hash": "$argon2id$...",   # hash_password(secret)
            "scopes": ["notes:read", "notes:write"],
            "audience": "notes-service",
            "ttl": 300,                       # optional, default JWT_ACCESS_TOKEN_TTL
        },
    }

``"secret"`` (a plain secret) instead of ``"secret_hash"`` is accepted only
when ``TESTING`` is on. Errors are RFC 6749 JSON (``invalid_client`` 401,
``invalid_request`` / ``unsupported_grant_type`` / ``invalid_scope`` 400),
every answer is ``Cache-Control: no-store``, and each outcome is audited.
"""

from __future__ import annotations

import hmac
import json
import re
import typing as t
from urllib.parse import unquote_plus

from werkzeug.wrappers import Response as _BaseResponse

from ...globals import _cv_request
from ..audit import audit
from ..errors import ConfigurationError
from ..shields import exempt
from .errors import JWTError

if t.TYPE_CHECKING:  # pragma: no cover
    from ...app import Flask
    from .issue import TokenIssuer

__all__ = ["GRANT_TYPE", "OAuthError", "load_clients", "make_token_view"]

GRANT_TYPE = "client_credentials"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# RFC 6749, appendix A.4: scope-token = 1*NQCHAR.
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
_SINGLE_PARAMS = ("grant_type", "scope", "client_id", "client_secret")


class OAuthError(JWTError):
    """A token request refused with an RFC 6749 error (JSON, ``no-store``)."""

    kind = "oauth_token"

    def __init__(self, error: str, description: str, *, code: int = 400) -> None:
        headers = dict(_NO_STORE)
        if error == "invalid_client":
            headers["WWW-Authenticate"] = 'Basic realm="token", charset="UTF-8"'
        super().__init__(description, reason=error, headers=headers)
        self.code = code

    def get_response(self, environ: t.Any = None, scope: t.Any = None) -> _BaseResponse:
        """Render ``{"error", "error_description"}`` as JSON."""
        body = json.dumps({"error": self.reason, "error_description": self.description})
        response = _BaseResponse(body, self.code, mimetype="application/json")
        for key, value in self.extra_headers.items():
            response.headers[key] = value
        return response


class _Client(t.NamedTuple):
    secret_hash: str | None
    secret: bytes | None
    scopes: frozenset[str]
    audience: str | list[str]
    ttl: int | None


def load_clients(raw: t.Mapping[str, t.Any], *, testing: bool = False) -> dict[str, _Client]:
    """Check the ``JWT_CLIENTS`` specs ``raw``; plain secrets only when ``testing``."""
    clients: dict[str, _Client] = {}
    for client_id, spec in raw.items():
        where = f"JWT_CLIENTS[{client_id!r}]"
        if not isinstance(spec, t.Mapping):
            raise ConfigurationError(f"{where} must be a dict.")
        secret_hash, secret = spec.get("secret_hash"), spec.get("secret")
        if (secret_hash is None) == (secret is None):
            raise ConfigurationError(f"{where} needs exactly one of 'secret_hash' or 'secret'.")
        if secret is not None and not testing:
            raise ConfigurationError(
                f"{where} has a plain 'secret', allowed only with TESTING on. Store"
                " 'secret_hash': hermetic.security.auth.hash_password(secret) instead."
            )
        scopes = spec.get("scopes", ())
        if isinstance(scopes, str) or not all(
            isinstance(s, str) and _SCOPE_TOKEN.match(s) for s in scopes
        ):
            raise ConfigurationError(f"{where}['scopes'] must be a list of scope names.")
        audience = spec.get("audience")
        if not audience or not isinstance(audience, (str, list)):
            raise ConfigurationError(f"{where} needs an 'audience' (the service it calls).")
        ttl = spec.get("ttl")
        clients[str(client_id)] = _Client(
            secret_hash,
            secret.encode() if isinstance(secret, str) else secret,
            frozenset(scopes),
            audience,
            ttl,
        )
    return clients


def _single(form: t.Any, name: str) -> str | None:
    values = form.getlist(name)
    if len(values) > 1:
        raise OAuthError("invalid_request", f"The '{name}' parameter is repeated.")
    return values[0] if values else None


def _credentials(request: t.Any, form: t.Any) -> tuple[str, str]:
    header = request.headers.get("Authorization")
    form_id, form_secret = _single(form, "client_id"), _single(form, "client_secret")
    if header:
        auth = request.authorization
        if auth is None or auth.type != "basic" or auth.username is None:
            raise OAuthError("invalid_client", "Client authentication failed.", code=401)
        if form_secret is not None:
            raise OAuthError("invalid_request", "Use one client authentication method.")
        # RFC 6749, section 2.3.1: both parts are form-urlencoded before base64.
        client_id, secret = unquote_plus(auth.username), unquote_plus(auth.password or "")
        if form_id is not None and form_id != client_id:
            raise OAuthError("invalid_request", "The client_id does not match.")
        return client_id, secret
    if form_id is None or form_secret is None:
        raise OAuthError("invalid_client", "Client authentication failed.", code=401)
    return form_id, form_secret


def _secret_ok(client: _Client | None, secret: str, config: t.Mapping[str, t.Any]) -> bool:
    from ..auth.passwords import check_password

    if client is not None and client.secret is not None:
        # SECURITY: constant-time compare (test-only plain secrets).
        return hmac.compare_digest(client.secret, secret.encode("utf-8", "surrogateescape"))
    # argon2 verification; an unknown client checks a dummy hash (same timing).
    return check_password(client.secret_hash if client else None, secret, config=config).ok


def _requested_scopes(form: t.Any, client: _Client) -> frozenset[str]:
    scope = _single(form, "scope")
    if not scope:
        return client.scopes
    requested = scope.split(" ")
    if not all(_SCOPE_TOKEN.match(s) for s in requested):
        raise OAuthError("invalid_scope", "The scope is malformed.")
    wanted = frozenset(requested)
    if not wanted <= client.scopes:
        raise OAuthError("invalid_scope", "The requested scope exceeds what the client may have.")
    return wanted


def make_token_view(
    app: Flask, issuer: TokenIssuer, clients: dict[str, _Client]
) -> t.Callable[[], t.Any]:
    """Return the token endpoint's view for ``clients``, signing with ``issuer``."""
    config = app.config

    @exempt("csrf")  # not cookie-authenticated: nothing for CSRF to protect
    def token() -> t.Any:
        request = _cv_request.get().request
        client_id: str | None = None
        try:
            if request.mimetype != "application/x-www-form-urlencoded":
                raise OAuthError("invalid_request", "Send the parameters form-urlencoded.")
            form = request.form
            grant_type = _single(form, "grant_type")
            if not grant_type:
                raise OAuthError("invalid_request", "The grant_type parameter is missing.")
            if grant_type != GRANT_TYPE:
                raise OAuthError("unsupported_grant_type", "Only client_credentials is supported.")
            client_id, secret = _credentials(request, form)
            client = clients.get(client_id)
            if not _secret_ok(client, secret, config) or client is None:
                raise OAuthError("invalid_client", "Client authentication failed.", code=401)
            scopes = _requested_scopes(form, client)
            ttl = client.ttl or issuer.ttl
            scope = " ".join(sorted(scopes))
            access_token = issuer.issue(client_id, client.audience, scope, ttl=ttl)
        except OAuthError as e:
            audit("oauth_token", reason=e.reason, client_id=client_id)
            raise
        audit("oauth_token", result="issued", client_id=client_id, scope=scope)
        body = {
            "access_token": access_token,
            # bandit B105: the OAuth2 token type name, not a password.
            "token_type": "Bearer",  # nosec B105
            "expires_in": ttl,
            "scope": scope,
        }
        return app.response_class(
            json.dumps(body), 200, mimetype="application/json", headers=_NO_STORE
        )

    return token
