"""``JWTAuth``: wire signing, verification, JWKS and the token endpoint into an app.

Settings (:class:`JWTSettings`, every ``JWT_*`` key; see
``docs/configuration.md``) are read and checked once, by
:meth:`JWTAuth.init_app` (it adds the JWKS and token routes): a wrong value
stops the app there, naming the key. Without ``JWT_AUDIENCE`` (or without a
trusted issuer) the app accepts no bearer token: start-up says so (an error
in debug mode, a warning otherwise), and so does ``hermetic check``;
``JWT_AUDIENCE = False`` says the app only issues tokens, on purpose.

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
import warnings

from ...settings import SettingsError
from ..errors import ConfigurationError
from ..policy import public
from ..stores import store_for
from ._settings import JWTSettings
from .issue import TokenIssuer
from .jwks import JWKS_MEDIA_TYPE, JWKSClient, jwks_document, ssl_context_for
from .keys import SigningKey, VerificationKey, load_key_specs
from .provider import JWTProvider
from .replay import TokenLedger
from .token_endpoint import load_clients, make_token_view
from .verify import KeySet, KeySource, TokenVerifier

if t.TYPE_CHECKING:  # pragma: no cover
    from ...app import Flask

#: Where the app's :class:`JWTAuth` lives.
EXTENSION_KEY = "hermetic.jwt"

__all__ = ["EXTENSION_KEY", "JWTAuth", "JWTSettings"]


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
        #: The checked ``JWT_*`` settings (read by :meth:`init_app`).
        self.settings: JWTSettings | None = None
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
        """Read and check the ``JWT_*`` settings; register the provider, JWKS and token endpoints."""
        try:
            c = JWTSettings.from_config(app.config)
        except SettingsError as e:
            raise ConfigurationError(str(e)) from e
        self.settings = c
        self.keys = load_key_specs(c.signing_keys, allow_hs256=c.allow_hs256)
        issuers: dict[str, KeySource] = {}
        if self.keys:
            self.issuer = TokenIssuer(
                t.cast(SigningKey, self.keys[0]),
                t.cast(str, c.issuer),  # checked by TokenIssuer
                ttl=c.access_token_ttl,
                max_ttl=c.max_ttl,
                now=self.now,
            )
            issuers[self.issuer.issuer] = KeySet(self.keys)
        for name, source in c.trusted_issuers.items():
            issuers[name] = self._key_source(name, source, c)
        self.ledger = TokenLedger(store_for(app), leeway=c.leeway, max_ttl=c.max_ttl)
        if c.audience and issuers:
            self.verifier = TokenVerifier(
                issuers,
                c.audience,
                leeway=c.leeway,
                max_ttl=c.max_ttl,
                ledger=self.ledger,
                replay=c.replay_check,
                now=self.now,
                cache_size=c.verified_cache_size,
            )
        app.extensions[EXTENSION_KEY] = self
        self.problem = _accepts_no_tokens(c.audience, bool(issuers))
        if self.problem is not None:
            if app.debug:
                raise ConfigurationError(self.problem)
            app.logger.warning("%s", self.problem)
        if self.issuer is not None:
            self._add_jwks_route(app)
            clients = load_clients(c.clients, testing=app.testing)
            if clients:
                view = public(make_token_view(app, self.issuer, clients))
                app.add_url_rule(c.token_path, "hermetic_jwt_token", view, methods=["POST"])
        elif c.clients:
            raise ConfigurationError(
                "JWT_CLIENTS is set but this app cannot sign tokens: set JWT_ISSUER"
                " and JWT_SIGNING_KEYS."
            )
        manager = app.extensions.get("hermetic.login")
        if manager is not None and self.verifier is not None:
            if self.provider not in manager.providers:
                manager.add_provider(self.provider)

    def _key_source(self, name: str, source: t.Any, c: JWTSettings) -> KeySource:
        if isinstance(source, str):
            client = JWKSClient(
                source,
                timeout=c.jwks_timeout,
                cache_ttl=c.jwks_cache_ttl,
                min_refresh_interval=c.jwks_min_refresh_interval,
                max_bytes=c.jwks_max_bytes,
                now=self.now,
                ssl_context=ssl_context_for(c.jwks_ca_file),
                http_hosts=c.jwks_http_hosts,
            )
            self.jwks_clients[name] = client
            return client
        if hasattr(source, "get_key"):
            return t.cast(KeySource, source)
        return KeySet(load_key_specs(source, allow_hs256=c.allow_hs256))

    def _add_jwks_route(self, app: Flask) -> None:
        settings = t.cast(JWTSettings, self.settings)
        body = json.dumps(jwks_document(self.keys), separators=(",", ":"))
        max_age = settings.jwks_cache_ttl
        headers = {"Cache-Control": f"public, max-age={max_age}"}
        response_class = app.response_class

        def jwks() -> t.Any:
            return response_class(body, 200, mimetype=JWKS_MEDIA_TYPE, headers=headers)

        app.add_url_rule(settings.jwks_path, "hermetic_jwt_jwks", public(jwks))

    def issue(
        self, sub: str, audience: str | t.Sequence[str], scope: t.Any = None, **kw: t.Any
    ) -> str:
        """Sign a token with the current key (see :meth:`TokenIssuer.issue`)."""
        if self.issuer is None:
            raise ConfigurationError("Set JWT_ISSUER and JWT_SIGNING_KEYS to issue tokens.")
        return self.issuer.issue(sub, audience, scope, **kw)

    def verify(self, token: str, **kw: t.Any) -> dict[str, t.Any]:
        """Verify ``token`` (deprecated: use ``auth.verifier.verify(token)``)."""
        warnings.warn(
            "Cause: JWTAuth.verify is deprecated; hermetic verifies tokens in one place."
            " Fix: call auth.verifier.verify(token) (TokenVerifier.verify).",
            DeprecationWarning,
            stacklevel=2,
        )
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
