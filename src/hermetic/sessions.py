"""Session objects and the interfaces that load and store them."""

from __future__ import annotations

import collections.abc as cabc
import hashlib
import typing as t
from datetime import datetime, timezone

from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.datastructures import CallbackDict

from .json.tag import TaggedJSONSerializer

if t.TYPE_CHECKING:  # pragma: no cover
    from .app import Flask
    from .wrappers import Request, Response

__all__ = [
    "NullSession",
    "SecureCookieSession",
    "SecureCookieSessionInterface",
    "session_json_serializer",
    "SessionInterface",
    "SessionMixin",
]


class SessionMixin(cabc.MutableMapping[str, t.Any]):
    """Add the attributes every session object is expected to have."""

    @property
    def permanent(self) -> bool:
        """Whether the cookie outlives the browser session."""
        return bool(self.get("_permanent", False))

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self["_permanent"] = bool(value)

    #: Whether the session was just created. Backends that know set this.
    new = False

    #: Whether the session changed. Assume so unless the backend tracks it.
    modified = True

    #: Whether the session was read or written. Assume so unless tracked;
    #: it decides whether ``Vary: Cookie`` is added to the response.
    accessed = True


class SecureCookieSession(CallbackDict[str, t.Any], SessionMixin):
    """A dict-based session that tracks reads and writes for the cookie backend."""

    #: Set when a write changes the data; nested mutable values are not
    #: tracked, so set it by hand after changing one in place.
    modified = False

    #: Set when the data is read or written.
    accessed = False

    def __init__(
        self,
        initial: cabc.Mapping[str, t.Any] | cabc.Iterable[tuple[str, t.Any]] | None = None,
    ) -> None:
        def on_update(self: SecureCookieSession) -> None:
            self.modified = True
            self.accessed = True

        super().__init__(initial, on_update)

    def __getitem__(self, key: str) -> t.Any:
        self.accessed = True
        return super().__getitem__(key)

    def get(self, key: str, default: t.Any = None) -> t.Any:
        self.accessed = True
        return super().get(key, default)

    def setdefault(self, key: str, default: t.Any = None) -> t.Any:
        self.accessed = True
        return super().setdefault(key, default)

    # Reading only the keys still makes the response depend on the cookie.

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return super().__contains__(key)

    def __len__(self) -> int:
        self.accessed = True
        return super().__len__()

    def __iter__(self) -> t.Iterator[str]:
        self.accessed = True
        return super().__iter__()

    def keys(self) -> t.KeysView[str]:  # type: ignore[override]  # the views Flask documents, narrower than MutableMapping
        self.accessed = True
        return super().keys()

    def values(self) -> t.ValuesView[t.Any]:  # type: ignore[override]  # the views Flask documents, narrower than MutableMapping
        self.accessed = True
        return super().values()

    def items(self) -> t.ItemsView[str, t.Any]:  # type: ignore[override]  # the views Flask documents, narrower than MutableMapping
        self.accessed = True
        return super().items()


class NullSession(SecureCookieSession):
    """An empty, read-only session used when no secret key is configured."""

    def _fail(self, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        raise RuntimeError(
            "The session is unavailable because no secret "
            "key was set. Set the secret_key on the "
            "application to something unique and secret."
        )

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail


class SessionInterface:
    """The API a session backend implements: open a session for a request and
    save it into a response.

    Subclass it, implement :meth:`open_session` and :meth:`save_session`, and
    assign an instance to ``app.session_interface``. Returning ``None`` from
    :meth:`open_session` makes the app fall back to :meth:`make_null_session`.
    """

    #: The class :meth:`make_null_session` instantiates.
    null_session_class = NullSession

    #: Whether the backend pickles sessions (informational, for extensions).
    pickle_based = False

    #: Whether opening a session has no side effects, so the app may open it
    #: only when the session is used. It applies to the ``open_session`` of
    #: the class that sets it: a subclass overriding ``open_session`` is
    #: opened at the start of every request again, as Flask does.
    open_lazily = False

    def make_null_session(self, app: Flask) -> NullSession:
        """Return the stand-in session used when a real one can't be opened."""
        return self.null_session_class()

    def is_null_session(self, obj: object) -> bool:
        """Tell whether ``obj`` is a null session."""
        return isinstance(obj, self.null_session_class)

    def get_cookie_name(self, app: Flask) -> str:
        """Return the session cookie's name (``SESSION_COOKIE_NAME``)."""
        return app.config["SESSION_COOKIE_NAME"]  # type: ignore[no-any-return]  # config values are Any

    def get_cookie_domain(self, app: Flask) -> str | None:
        """Return the cookie's ``Domain`` (``SESSION_COOKIE_DOMAIN``), or ``None``."""
        return app.config["SESSION_COOKIE_DOMAIN"] or None

    def get_cookie_path(self, app: Flask) -> str:
        """Return the cookie's ``Path``: ``SESSION_COOKIE_PATH`` or ``APPLICATION_ROOT``."""
        return app.config["SESSION_COOKIE_PATH"] or app.config["APPLICATION_ROOT"]  # type: ignore[no-any-return]  # config values are Any

    def get_cookie_httponly(self, app: Flask) -> bool:
        """Return whether the cookie is ``HttpOnly`` (``SESSION_COOKIE_HTTPONLY``)."""
        return app.config["SESSION_COOKIE_HTTPONLY"]  # type: ignore[no-any-return]  # config values are Any

    def get_cookie_secure(self, app: Flask) -> bool:
        """Return whether the cookie is ``Secure`` (``SESSION_COOKIE_SECURE``)."""
        return app.config["SESSION_COOKIE_SECURE"]  # type: ignore[no-any-return]  # config values are Any

    def get_cookie_samesite(self, app: Flask) -> str | None:
        """Return the cookie's ``SameSite`` value (``SESSION_COOKIE_SAMESITE``)."""
        return app.config["SESSION_COOKIE_SAMESITE"]  # type: ignore[no-any-return]  # config values are Any

    def get_cookie_partitioned(self, app: Flask) -> bool:
        """Return whether the cookie is ``Partitioned`` (``SESSION_COOKIE_PARTITIONED``)."""
        return app.config["SESSION_COOKIE_PARTITIONED"]  # type: ignore[no-any-return]  # config values are Any

    def get_expiration_time(self, app: Flask, session: SessionMixin) -> datetime | None:
        """Return when a permanent session's cookie expires; ``None`` for a
        cookie that ends with the browser session.
        """
        lifetime = app.permanent_session_lifetime
        if session.permanent and lifetime is not None:
            return datetime.now(timezone.utc) + lifetime
        return None

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        """Tell whether :meth:`save_session` should (re)send the cookie: when the
        session changed, or when it is permanent and ``SESSION_REFRESH_EACH_REQUEST``
        asks for the expiry to slide forward.
        """
        return session.modified or (
            session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]
        )

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        """Load the session for ``request``; ``None`` means use a null session."""
        raise NotImplementedError()

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Store ``session`` into ``response`` at the end of the request."""
        raise NotImplementedError()


session_json_serializer = TaggedJSONSerializer()


class SecureCookieSessionInterface(SessionInterface):
    """Store the session in a cookie signed with the app's secret key
    (readable by the client, not forgeable).
    """

    #: Mixed into the key derivation so the session signature differs from
    #: other values signed with the same secret key.
    salt = "cookie-session"
    #: The hash used for the HMAC signature.
    digest_method = staticmethod(hashlib.sha1)
    #: How itsdangerous derives the signing key from the secret key.
    key_derivation = "hmac"
    #: Turns the session dict into a string and back.
    serializer = session_json_serializer
    session_class = SecureCookieSession
    open_lazily = True

    # (cache key, serializer) for the last key set seen; one entry because
    # keys rarely change, and stored as one tuple so swaps are atomic.
    _serializer_cache: tuple[tuple[t.Any, ...], URLSafeTimedSerializer] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Return the serializer that signs and verifies the cookie, or ``None``
        if the app has no secret key.

        The secret key signs; it and every ``SECRET_KEY_FALLBACKS`` key verify.
        """
        secret_key = app.secret_key
        if not secret_key:
            return None

        fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or ()
        cache_key = (
            secret_key,
            tuple(fallbacks),
            self.salt,
            self.key_derivation,
            self.digest_method,
            self.serializer,
        )
        cached = self._serializer_cache
        if cached is not None and cached[0] == cache_key:
            return cached[1]

        # itsdangerous signs with the last key in the list and tries them all.
        serializer = URLSafeTimedSerializer(
            [*fallbacks, secret_key],
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
            },
        )
        self._serializer_cache = (cache_key, serializer)
        return serializer

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Load the session from the signed cookie; a missing, tampered or
        expired cookie gives an empty session.
        """
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None

        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()

        lifetime = app.permanent_session_lifetime
        max_age = None if lifetime is None else int(lifetime.total_seconds())
        try:
            data = serializer.loads(value, max_age=max_age)
        except BadSignature:
            return self.session_class()
        return self.session_class(data)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Write the session into a signed cookie, delete the cookie if the
        session was emptied, and add ``Vary: Cookie`` if the session was used.
        """
        # Only the app's reads count as access: undo the ones made here.
        accessed = session.accessed
        try:
            self._save(app, session, response, accessed)
        finally:
            session.accessed = accessed

    def _save(self, app: Flask, session: SessionMixin, response: Response, accessed: bool) -> None:
        # A response built from the session depends on the cookie, so caches
        # must key on it.
        if accessed:
            response.vary.add("Cookie")

        if not session:
            if session.modified:
                response.delete_cookie(
                    self.get_cookie_name(app),
                    domain=self.get_cookie_domain(app),
                    path=self.get_cookie_path(app),
                    secure=self.get_cookie_secure(app),
                    partitioned=self.get_cookie_partitioned(app),
                    samesite=self.get_cookie_samesite(app),
                    httponly=self.get_cookie_httponly(app),
                )
                response.vary.add("Cookie")
            return

        if not self.should_set_cookie(app, session):
            return

        serializer = self.get_signing_serializer(app)
        if serializer is None:
            # Unreachable: open_session gives a null session when there is no key.
            raise RuntimeError("save_session needs SECRET_KEY to sign the session cookie.")
        response.set_cookie(
            self.get_cookie_name(app),
            serializer.dumps(dict(session)),
            expires=self.get_expiration_time(app, session),
            httponly=self.get_cookie_httponly(app),
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app),
            partitioned=self.get_cookie_partitioned(app),
            samesite=self.get_cookie_samesite(app),
        )
        response.vary.add("Cookie")
