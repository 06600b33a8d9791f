"""Identity providers: ways other than the session to know who is calling.

When a request has no logged-in session and no remember-me cookie, the
login manager asks each provider added with
:meth:`~hermetic.security.auth.LoginManager.add_provider`, in order, to
``identify(request)``; the first user returned is the request's
``current_user``. Providers are stateless: they write no session, so they
suit API clients (API keys here; bearer JWTs later through the same
interface).

OAuth2 / OpenID Connect sign-in (Authlib, for example) is not a provider:
the identity provider redirects the browser back to a callback view, which
logs the user in once, like a password form would::

    from authlib.integrations.flask_client import OAuth

    oauth = OAuth(app)
    oauth.register("idp", server_metadata_url=..., client_kwargs={"scope": "openid email"})

    @app.get("/login/idp")
    @public
    def login_idp():
        return oauth.idp.authorize_redirect(url_for("idp_callback", _external=True))

    @app.get("/login/idp/callback")
    @public
    def idp_callback():
        token = oauth.idp.authorize_access_token()  # checks state and nonce
        user = users.find_or_create(token["userinfo"]["sub"])
        if not login_user(user):  # new session id, CSRF rotated, audited
            abort(403)
        return safe_redirect(next_url(), fallback=url_for("index"))

Authlib checks ``state`` and the ID token; ``login_user`` gives the fixation
defence and the audit event.
"""

from __future__ import annotations

import hashlib
import typing as t

from ..audit import audit

if t.TYPE_CHECKING:  # pragma: no cover
    from ...wrappers import Request

__all__ = ["ApiKeyProvider", "IdentityProvider", "SessionUserIdProvider", "hash_api_key"]


@t.runtime_checkable
class IdentityProvider(t.Protocol):
    """Find the user a request authenticates as, from its own credentials."""

    def identify(self, request: Request) -> t.Any | None:
        """Return the user ``request`` proves to be, or ``None``."""
        ...


def hash_api_key(key: str | bytes) -> str:
    """Return the hex SHA-256 of ``key``: what to store and look keys up by."""
    if isinstance(key, str):
        key = key.encode("utf-8", "surrogateescape")
    return hashlib.sha256(key).hexdigest()


class ApiKeyProvider:
    """Identify API clients by a key sent in a header.

    :param lookup: called with the SHA-256 hex digest of the presented key
        (see :func:`hash_api_key`), returns the user or ``None``.
    :param header: the request header holding the key, default
        ``"X-API-Key"``.
    :param hashed: pass ``False`` to give ``lookup`` the raw key instead of
        its digest, default ``True``.
    :param max_length: longer header values are refused without a lookup,
        default ``256``.

    .. warning::
        Store only the hash of each key (``hash_api_key(key)``) and look it
        up by that hash in an indexed column or a dict. Comparing raw keys
        with ``==`` in a loop leaks, through timing, how much of a guess was
        right; a lookup by the hash of a high-entropy key does not, and a
        stolen database then holds no usable keys. Generate keys with
        ``secrets.token_urlsafe(32)``.
    """

    __slots__ = ("environ_key", "hashed", "lookup", "max_length", "name")

    def __init__(
        self,
        lookup: t.Callable[[str], t.Any | None],
        header: str = "X-API-Key",
        *,
        hashed: bool = True,
        max_length: int = 256,
        name: str = "api_key",
    ) -> None:
        self.lookup = lookup
        self.hashed = hashed
        self.max_length = max_length
        self.name = name
        self.environ_key = "HTTP_" + header.upper().replace("-", "_")

    def identify(self, request: Request) -> t.Any | None:
        """Return the user of the request's API key, or ``None``."""
        key = request.environ.get(self.environ_key)
        if not key:
            return None
        user = None
        if len(key) <= self.max_length:
            user = self.lookup(hash_api_key(key) if self.hashed else key)
        if user is None:
            # Never log the key itself.
            audit("failed_login", reason="unknown_api_key", provider=self.name)
        return user


class SessionUserIdProvider:
    """Identify the user from a session key the app's own login code sets.

    For apps moved from Flask that keep ``session["user_id"] = user.id`` in
    their login view (like Flask's tutorial app): ``load`` turns the stored
    id into a user (with ``is_authenticated``, ``is_active``, ``get_id()``),
    or ``None``.

    :param load: called with the stored id; returns the user or ``None``.
    :param key: the session key, default ``"user_id"``.

    .. warning::
        A login that only writes ``session["user_id"]`` keeps the session id
        it had before the login (session fixation) and does not rotate the
        CSRF token. Prefer ``login_user(user)`` in the login view, which does
        both, once the app is moved.
    """

    __slots__ = ("key", "load")

    #: The session existed before this request: the login is not "fresh".
    fresh = False

    def __init__(self, load: t.Callable[[t.Any], t.Any | None], key: str = "user_id") -> None:
        self.load = load
        self.key = key

    def identify(self, request: Request) -> t.Any | None:
        """Return the user whose id the session holds, or ``None``."""
        from ...globals import _cv_request

        ctx = _cv_request.get(None)
        if ctx is None or ctx.request is not request:
            return None
        user_id = ctx.session.get(self.key)
        return None if user_id is None else self.load(user_id)
