"""``JWTAuth``: wire signing, verification, JWKS and the token endpoint into an app.

Configuration (each read once, in :meth:`JWTAuth.init_app`):

- ``JWT_ISSUER``: our ``iss`` when we issue tokens, default ``None``.
- ``JWT_SIGNING_KEYS``: ``[{"kid", "alg", "pem" or "path"}, ...]``, default
  ``[]``; the first signs, all are published at ``JWT_JWKS_PATH`` (keep an
  old key listed until the last token it signed has expired:
  ``JWT_ACCESS_TOKEN_TTL + JWT_LEEWAY`` after the rotation).
- ``JWT_AUDIENCE``: the name (or names) callers address us by; needed to
  accept tokens, default ``None``. Without it (or without a trusted issuer)
  the app accepts no bearer token: start-up says so (an error in debug mode,
  a warning otherwise), and so does ``hermetic check``. ``False`` says the
  app only issues tokens, on purpose.
- ``JWT_TRUSTED_ISSUERS``: ``{issuer: jwks_url or [key specs]}``, default
  ``{}``; our own issuer (with our own keys) is always trusted.
- ``JWT_LEEWAY``: clock skew in seconds, default ``30`` (at most ``300``).
- ``JWT_MAX_TTL``: the longest token lifetime accepted, default ``3600``.
- ``JWT_ACCESS_TOKEN_TTL``: the lifetime of the tokens we issue, default ``300``.
- ``JWT_REPLAY_CHECK``: each token is accepted once, default ``False``
  (access tokens are reusable until they expire, as OAuth2 clients expect,
  RFC 6750). ``jwt_required(replay=True)`` turns it on for one route (a
  one-time token: a password reset, a payment confirmation), or ``False``
  off when the app's setting is ``True``.
- ``JWT_VERIFIED_CACHE_SIZE``: how many verified tokens are remembered so
  that a token presented again skips its signature check, default ``4096``;
  ``0`` turns it off. Expiry, revocation, replay, the claims and the key
  (still trusted, not rotated away) are checked on every request anyway.
- ``JWT_ALLOW_HS256``: allow shared-secret keys, default ``False``.
- ``JWT_JWKS_PATH``: default ``"/.well-known/jwks.json"``.
- ``JWT_JWKS_CACHE_TTL``: default ``300``; ``JWT_JWKS_MIN_REFRESH_INTERVAL``:
  default ``30``; ``JWT_JWKS_TIMEOUT``: default ``5``;
  ``JWT_JWKS_MAX_BYTES``: default ``65536``.
- ``JWT_TOKEN_PATH``: default ``"/oauth/token"``, served when ``JWT_CLIENTS``
  is set (see :mod:`~hermetic.security.jwt.token_endpoint`).

.. warning::
    A bearer token can be used by whoever holds it until it expires: keep
    ``JWT_ACCESS_TOKEN_TTL`` short and send tokens over TLS only. For tokens
    meant to be used once, turn the replay check on (``JWT_REPLAY_CHECK`` or
    ``jwt_required(replay=True)``); with several workers, point
    ``HERMETIC_REDIS_URL`` at Redis so the replay cache is shared.
"""

from __future__ import annotations

import json
import time
import typing as t

from ..errors import ConfigurationError
from ..policy import public
from ..stores import store_for
from .issue import TokenIssuer
from .jwks import JWKS_MEDIA_TYPE, JWKSClient, jwks_document
from .keys import SigningKey, VerificationKey, load_key_specs
from .provider import JWTProvider
from .replay import TokenLedger
from .token_endpoint import load_clients, make_token_view
from .verify import KeySet, KeySource, TokenVerifier, check_leeway

if t.TYPE_CHECKING:  # pragma: no cover
    from ...app import Flask

#: Where the app's :class:`JWTAuth` lives.
EXTENSION_KEY = "hermetic.jwt"

DEFAULTS: dict[str, t.Any] = {
    "JWT_ISSUER": None,
    "JWT_SIGNING_KEYS": (),
    "JWT_AUDIENCE": None,
    "JWT_TRUSTED_ISSUERS": {},
    "JWT_LEEWAY": 30,
    "JWT_MAX_TTL": 3600,
    "JWT_ACCESS_TOKEN_TTL": 300,
    "JWT_REPLAY_CHECK": False,
    "JWT_VERIFIED_CACHE_SIZE": 4096,
    "JWT_ALLOW_HS256": False,
    "JWT_JWKS_PATH": "/.well-known/jwks.json",
    "JWT_JWKS_CACHE_TTL": 300,
    "JWT_JWKS_MIN_REFRESH_INTERVAL": 30,
    "JWT_JWKS_TIMEOUT": 5,
    "JWT_JWKS_MAX_BYTES": 65536,
    "JWT_TOKEN_PATH": "/oauth/token",
    "JWT_CLIENTS": {},
}


class JWTAuth:
    """Service-to-service JWT authentication for one app.

    :param app: The app to install on now (or call :meth:`init_app`).
    :param now: The clock for issuing, verifying and JWKS caching, default
        :func:`time.time`.
    """

    def __init__(self, app: Flask | None = None, *, now: t.Callable[[], float] = time.time) -> None:
        self.now = now
        self.keys: list[SigningKey | VerificationKey] = []
        self.issuer: TokenIssuer | None = None
        self.verifier: TokenVerifier | None = None
        self.jwks_clients: dict[str, JWKSClient] = {}
        self.ledger: TokenLedger | None = None
        #: Why this app accepts no bearer token (a misconfiguration), or ``None``.
        self.problem: str | None = None
        self.provider = JWTProvider(self._get_verifier)
        if app is not None:
            self.init_app(app)

    def _get_verifier(self) -> TokenVerifier:
        if self.verifier is None:
            raise ConfigurationError(
                "This app cannot accept bearer tokens: set JWT_AUDIENCE and"
                " JWT_TRUSTED_ISSUERS (or JWT_ISSUER with JWT_SIGNING_KEYS)."
            )
        return self.verifier

    def init_app(self, app: Flask) -> None:
        """Read the ``JWT_*`` config; register the provider, JWKS and token endpoints."""
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        c = app.config
        leeway = check_leeway(c["JWT_LEEWAY"])
        max_ttl = int(c["JWT_MAX_TTL"])
        allow_hs256 = bool(c["JWT_ALLOW_HS256"])
        self.keys = load_key_specs(c["JWT_SIGNING_KEYS"] or (), allow_hs256=allow_hs256)
        issuers: dict[str, KeySource] = {}
        if self.keys:
            self.issuer = TokenIssuer(
                t.cast(SigningKey, self.keys[0]),
                c["JWT_ISSUER"],
                ttl=int(c["JWT_ACCESS_TOKEN_TTL"]),
                max_ttl=max_ttl,
                now=self.now,
            )
            issuers[self.issuer.issuer] = KeySet(self.keys)
        for name, source in (c["JWT_TRUSTED_ISSUERS"] or {}).items():
            issuers[name] = self._key_source(name, source, c, allow_hs256)
        self.ledger = TokenLedger(store_for(app), leeway=leeway, max_ttl=max_ttl)
        if c["JWT_AUDIENCE"] and issuers:
            self.verifier = TokenVerifier(
                issuers,
                c["JWT_AUDIENCE"],
                leeway=leeway,
                max_ttl=max_ttl,
                ledger=self.ledger,
                replay=bool(c["JWT_REPLAY_CHECK"]),
                now=self.now,
                cache_size=c["JWT_VERIFIED_CACHE_SIZE"],
            )
        app.extensions[EXTENSION_KEY] = self
        self.problem = _accepts_no_tokens(c["JWT_AUDIENCE"], bool(issuers))
        if self.problem is not None:
            if app.debug:
                raise ConfigurationError(self.problem)
            app.logger.warning("%s", self.problem)
        if self.issuer is not None:
            self._add_jwks_route(app)
            clients = load_clients(c)
            if clients:
                view = public(make_token_view(app, self.issuer, clients))
                app.add_url_rule(c["JWT_TOKEN_PATH"], "hermetic_jwt_token", view, methods=["POST"])
        elif c["JWT_CLIENTS"]:
            raise ConfigurationError(
                "JWT_CLIENTS is set but this app cannot sign tokens: set JWT_ISSUER"
                " and JWT_SIGNING_KEYS."
            )
        manager = app.extensions.get("hermetic.login")
        if manager is not None and self.verifier is not None:
            if self.provider not in manager.providers:
                manager.add_provider(self.provider)

    def _key_source(
        self, name: str, source: t.Any, c: t.Mapping[str, t.Any], allow_hs256: bool
    ) -> KeySource:
        if isinstance(source, str):
            client = JWKSClient(
                source,
                timeout=float(c["JWT_JWKS_TIMEOUT"]),
                cache_ttl=float(c["JWT_JWKS_CACHE_TTL"]),
                min_refresh_interval=float(c["JWT_JWKS_MIN_REFRESH_INTERVAL"]),
                max_bytes=int(c["JWT_JWKS_MAX_BYTES"]),
                now=self.now,
            )
            self.jwks_clients[name] = client
            return client
        if hasattr(source, "get_key"):
            return t.cast(KeySource, source)
        if isinstance(source, (list, tuple)):
            return KeySet(load_key_specs(source, allow_hs256=allow_hs256))
        raise ConfigurationError(
            f"JWT_TRUSTED_ISSUERS[{name!r}] must be a JWKS URL or a list of key specs."
        )

    def _add_jwks_route(self, app: Flask) -> None:
        body = json.dumps(jwks_document(self.keys), separators=(",", ":"))
        max_age = int(app.config["JWT_JWKS_CACHE_TTL"])
        headers = {"Cache-Control": f"public, max-age={max_age}"}
        response_class = app.response_class

        def jwks() -> t.Any:
            return response_class(body, 200, mimetype=JWKS_MEDIA_TYPE, headers=headers)

        app.add_url_rule(app.config["JWT_JWKS_PATH"], "hermetic_jwt_jwks", public(jwks))

    def issue(
        self, sub: str, audience: str | t.Sequence[str], scope: t.Any = None, **kw: t.Any
    ) -> str:
        """Sign a token with the current key (see :meth:`TokenIssuer.issue`)."""
        if self.issuer is None:
            raise ConfigurationError("Set JWT_ISSUER and JWT_SIGNING_KEYS to issue tokens.")
        return self.issuer.issue(sub, audience, scope, **kw)

    def verify(self, token: str, **kw: t.Any) -> dict[str, t.Any]:
        """Verify ``token`` (see :meth:`TokenVerifier.verify`)."""
        return self._get_verifier().verify(token, **kw)


def _accepts_no_tokens(audience: t.Any, has_issuers: bool) -> str | None:
    """Say why a :class:`JWTAuth` with these settings accepts no token; ``None`` if it does."""
    if audience is False:
        return None  # An issuer only, on purpose.
    if not audience:
        return (
            "Cause: JWT_AUDIENCE is not set, so JWTAuth accepts no bearer token at all."
            " Fix: set JWT_AUDIENCE to the name callers address this service by (the"
            ' "aud" of their tokens), or to False if this app only issues tokens.'
        )
    if not has_issuers:
        return (
            "Cause: JWT_AUDIENCE is set but no issuer is trusted, so JWTAuth accepts"
            " no bearer token at all. Fix: set JWT_TRUSTED_ISSUERS ({issuer: JWKS URL"
            " or key specs}), or JWT_ISSUER and JWT_SIGNING_KEYS to accept this app's"
            " own tokens."
        )
    return None
