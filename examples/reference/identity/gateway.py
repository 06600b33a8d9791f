"""The gateway's auth check: ``GET /internal/token-check`` (nginx ``auth_request``).

nginx asks this before it routes an API request: the caller's bearer token
comes in ``X-Gateway-Token`` (not ``Authorization``: identity's own bearer
check is for tokens addressed to identity), and the answer is ``204`` for a
token identity signed, for an audience in ``GATEWAY_AUDIENCES`` (default
``api``), unexpired and not revoked; ``401`` otherwise. A token is not marked
as used here: api's own check (the second line, with the replay check)
still runs on the request nginx forwards.

The gateway refuses ``/internal/`` from outside; only nginx, on the internal
network, calls it.
"""

from __future__ import annotations

import typing as t

from hermetic import Blueprint, current_app, request
from hermetic.security import public
from hermetic.security.jwt import TokenError, TokenVerifier
from hermetic.security.jwt.errors import TokenCheckUnavailable
from hermetic.security.jwt.verify import KeySet

bp = Blueprint("gateway", __name__, url_prefix="/internal")

_KEY = "reference.gateway_verifier"


def _verifier() -> TokenVerifier:
    verifier = current_app.extensions.get(_KEY)
    if verifier is None:
        auth = current_app.extensions["hermetic.jwt"]
        c = auth.settings
        verifier = TokenVerifier(
            {auth.issuer.issuer: KeySet(auth.keys)},
            current_app.config.get("GATEWAY_AUDIENCES", ["api"]),
            leeway=c.leeway,
            max_ttl=c.max_ttl,
            ledger=auth.ledger,
            replay=False,  # api accepts each token once; asking first must not spend it
        )
        current_app.extensions[_KEY] = verifier
    return t.cast(TokenVerifier, verifier)


def _answer(status: int) -> t.Any:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return current_app.response_class(b"", status, headers=headers)


@bp.get("/token-check")
@public  # the caller is nginx; what it checks is the token it forwards
def token_check() -> t.Any:
    scheme, _, token = request.headers.get("X-Gateway-Token", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return _answer(401)
    try:
        _verifier().verify(token.strip())
    except TokenError:
        return _answer(401)  # audited by the verifier
    except TokenCheckUnavailable:
        return _answer(503)  # the revocation lists cannot be read: fail closed
    return _answer(204)
