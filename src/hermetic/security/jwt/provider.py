"""Bearer-token identity: the principal, the provider, and ``jwt_required``.

:class:`JWTProvider` is an :class:`~hermetic.security.auth.IdentityProvider`
for ``Authorization: Bearer <jwt>``: the login manager asks it who a
request is, and ``@requires("notes:read")`` then checks the principal's
``scopes``. Without a login manager, :func:`jwt_required` does both jobs.

A request without a bearer token is anonymous; a request with a bad one is
refused with 401 -- never treated as anonymous.
"""

from __future__ import annotations

import functools
import inspect
import typing as t

from ...globals import _cv_request
from ..audit import audit
from ..policy import POLICY_ATTR, Policy
from .errors import BearerTokenRequired, InsufficientScope, TokenError

if t.TYPE_CHECKING:  # pragma: no cover
    from ...wrappers import Request
    from .verify import TokenVerifier

__all__ = [
    "BearerPolicy",
    "JWTProvider",
    "ServicePrincipal",
    "current_principal",
    "jwt_required",
    "scopes_of",
]

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: The environ key caching the request's principal (or the refusal).
PRINCIPAL_KEY = "hermetic.jwt.principal"
#: The view attribute overriding ``JWT_REPLAY_CHECK`` for a route.
REPLAY_ATTR = "_hermetic_jwt_replay"
_MISSING = object()


class ServicePrincipal:
    """The caller a verified token names: ``sub``, ``scopes`` and all ``claims``."""

    __slots__ = ("claims", "id", "issuer", "scopes", "sub")

    is_authenticated = True
    is_active = True
    is_anonymous = False
    roles: t.ClassVar[tuple[str, ...]] = ()

    def __init__(self, claims: t.Mapping[str, t.Any]) -> None:
        self.claims = dict(claims)
        self.sub: str = claims["sub"]
        self.id = self.sub
        self.issuer: str = claims["iss"]
        self.scopes = scopes_of(claims)

    @property
    def permissions(self) -> frozenset[str]:
        """Return the scopes (what :func:`~hermetic.security.policy.permissions_of` reads)."""
        return self.scopes

    def get_id(self) -> str:
        """Return ``sub``."""
        return self.sub

    def __repr__(self) -> str:
        return f"<ServicePrincipal sub={self.sub!r} iss={self.issuer!r}>"


def scopes_of(claims: t.Mapping[str, t.Any]) -> frozenset[str]:
    """Return the scopes of ``claims``: ``scope`` (space-separated) or ``scp`` (a list)."""
    scope = claims.get("scope")
    if isinstance(scope, str):
        return frozenset(scope.split())
    scp = claims.get("scp")
    if isinstance(scp, list):
        return frozenset(s for s in scp if isinstance(s, str))
    if isinstance(scp, str):
        return frozenset(scp.split())
    return frozenset()


class JWTProvider:
    """Identify callers by the bearer JWT in their ``Authorization`` header.

    :param verifier: The :class:`~hermetic.security.jwt.TokenVerifier`, or a
        callable returning it (so the provider can be made before the app
        is configured).
    :param name: Shown in audit events, default ``"jwt"``.
    """

    __slots__ = ("_verifier", "name")

    #: The ``WWW-Authenticate`` challenge of a 401 when no identity was given.
    challenge = "Bearer"

    def __init__(
        self,
        verifier: TokenVerifier | t.Callable[[], TokenVerifier],
        name: str = "jwt",
    ) -> None:
        self._verifier = verifier
        self.name = name

    @property
    def verifier(self) -> TokenVerifier:
        """Return the verifier."""
        v = self._verifier
        return t.cast("TokenVerifier", v if hasattr(v, "verify") else v())

    def identify(self, request: Request) -> ServicePrincipal | None:
        """Return the principal of the request's bearer token, ``None`` without one.

        A token that fails any check raises a :class:`TokenError` (401).
        """
        environ = request.environ
        cached = environ.get(PRINCIPAL_KEY, _MISSING)
        if cached is not _MISSING:
            if isinstance(cached, TokenError):
                raise cached
            return t.cast("ServicePrincipal | None", cached)
        header = environ.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None  # another scheme: another provider's business
        try:
            claims, fresh = self.verifier._authenticate(
                token.strip(), replay=_route_replay(request)
            )
        except TokenError as e:
            # Cached so a second identify() in this request neither re-audits
            # nor (with replay on) mistakes the same token for a replay.
            environ[PRINCIPAL_KEY] = e
            raise
        principal = ServicePrincipal(claims)
        environ[PRINCIPAL_KEY] = principal
        environ.setdefault("hermetic.user_id", principal.id)
        if fresh:
            # A token is audited as accepted when it is verified in full: on
            # first use (and again if it left the verified-token cache).
            # Refusals are audited every time, by the verifier.
            audit(
                "jwt",
                result="accepted",
                sub=principal.sub,
                iss=principal.issuer,
                provider=self.name,
            )
        return principal


def _route_replay(request: Request) -> bool | None:
    ctx = _cv_request.get(None)
    if ctx is None or request.url_rule is None:
        return None
    view = ctx.app.view_functions.get(request.url_rule.endpoint)
    return getattr(view, REPLAY_ATTR, None)


def current_principal() -> ServicePrincipal | None:
    """Return the current request's bearer-token principal, or ``None`` without a token."""
    ctx = _cv_request.get(None)
    if ctx is None:
        return None
    auth = ctx.app.extensions.get("hermetic.jwt")
    if auth is None:
        return None
    return t.cast("ServicePrincipal | None", auth.provider.identify(ctx.request))


class BearerPolicy(Policy):
    """The policy label of a ``@jwt_required`` route (enforced by the decorator)."""

    __slots__ = ("scopes",)

    def __init__(self, scopes: frozenset[str]) -> None:
        # "public" to the authorization shield: the decorator enforces it.
        super().__init__(public=True)
        self.scopes = scopes

    def describe(self) -> str:
        """Return ``bearer token`` and the scopes needed."""
        if self.scopes:
            return "bearer token, scopes " + ", ".join(sorted(self.scopes))
        return "bearer token"


def _enforce(needed: frozenset[str]) -> ServicePrincipal:
    ctx = _cv_request.get()
    auth = ctx.app.extensions.get("hermetic.jwt")
    if auth is None:
        raise RuntimeError("@jwt_required needs JWTAuth on the app. Call JWTAuth(app) first.")
    principal = auth.provider.identify(ctx.request)
    if principal is None:
        audit("jwt", reason="missing_token")
        raise BearerTokenRequired()
    if not needed <= principal.scopes:
        audit("jwt", reason="insufficient_scope", sub=principal.sub, needed=sorted(needed))
        raise InsufficientScope(needed)
    return t.cast(ServicePrincipal, principal)


def jwt_required(
    view: F | None = None, *, scopes: t.Iterable[str] | str = (), replay: bool | None = None
) -> t.Any:
    """Let only callers with a valid bearer token (holding ``scopes``) call the view.

    :param scopes: Every scope needed (a list, or a space-separated string),
        default none. A token without them gets 403 ``insufficient_scope``.
    :param replay: Refuse a token id seen before on this route (tokens
        meant to be used once: ``replay=True``); default ``JWT_REPLAY_CHECK``
        (``False``).

    Works with or without a login manager. Put it right under ``@app.route``.
    """
    needed = frozenset(scopes.split() if isinstance(scopes, str) else scopes)

    def decorator(fn: F) -> F:
        if inspect.iscoroutinefunction(fn):

            async def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
                _enforce(needed)
                return await fn(*args, **kwargs)

        else:

            def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:  # type: ignore[misc]  # decorated with functools.wraps, untyped
                _enforce(needed)
                return fn(*args, **kwargs)

        functools.update_wrapper(wrapper, fn)
        setattr(wrapper, POLICY_ATTR, BearerPolicy(needed))
        if replay is not None:
            setattr(wrapper, REPLAY_ATTR, replay)
        return t.cast(F, wrapper)

    if view is not None:
        return decorator(view)
    return decorator
