"""Store failures of the extensions' own stores (Flask-Session, Flask-Limiter): a 503, not a 500.

Used by :mod:`hermetic.security.coexistence` when it adapts the extensions.
"""

from __future__ import annotations

import functools
import sys
import typing as t

from .audit import audit

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ..sessions import SessionInterface


#: Exceptions of store clients that mean "the store cannot be reached"
#: (module and class name; subclasses count).
STORE_FAILURES = frozenset(
    {
        "redis.exceptions.ConnectionError",
        "redis.exceptions.TimeoutError",
        "limits.errors.StorageError",
        "pymongo.errors.ConnectionFailure",
        "sqlalchemy.exc.OperationalError",
        "pymemcache.exceptions.MemcacheError",
        "builtins.OSError",
    }
)


def is_store_failure(error: BaseException) -> bool:
    """Return whether ``error`` says a store (Redis, a database...) cannot be reached."""
    return any(
        f"{cls.__module__}.{cls.__qualname__}" in STORE_FAILURES for cls in type(error).__mro__
    )


class StoreErrorsAre503:
    """Wrap an extension's session interface: its store failures are a 503, not a 500.

    Opened lazily (when the session is first used), so the failure happens
    inside the app's error handling.
    """

    open_lazily = True

    def __init__(self, wrapped: SessionInterface) -> None:
        self.wrapped = wrapped

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self.wrapped, name)

    def _call(self, method: str, *args: t.Any) -> t.Any:
        try:
            return getattr(self.wrapped, method)(*args)
        except Exception as e:
            if not is_store_failure(e):
                raise
            from ._session_revoke import REASON_STORE, SessionStoreUnavailable

            # SECURITY: fail closed, with the configured 503; the error is
            # named in the log (never the session's content).
            audit("session", reason=REASON_STORE, error=type(e).__name__)
            raise SessionStoreUnavailable() from None

    def open_session(self, app: Flask, request: t.Any) -> t.Any:
        return self._call("open_session", app, request)

    def save_session(self, app: Flask, session: t.Any, response: t.Any) -> None:
        self._call("save_session", app, session, response)

    def regenerate(self, session: t.Any) -> None:
        self._call("regenerate", session)


def limiter_storage_errors_are_503(app: Flask, limiter: t.Any) -> int:
    # Wrap Flask-Limiter's request hooks: a failure of its storage is the
    # rate limiter's 503, not a 500 (RATELIMIT_SWALLOW_ERRORS: it fails open).
    wrapped = 0
    for funcs in (app.before_request_funcs, app.after_request_funcs):
        for hooks in funcs.values():
            for index, func in enumerate(hooks):
                if getattr(func, "__self__", None) is limiter:
                    hooks[index] = _storage_guard(func)
                    wrapped += 1
    return wrapped


def _storage_guard(func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    @functools.wraps(func)
    def guard(*args: t.Any, **kwargs: t.Any) -> t.Any:
        try:
            return func(*args, **kwargs)
        except Exception as e:
            if not is_store_failure(e):
                raise
            from .ratelimit._limiter import REASON_STORAGE_UNAVAILABLE, RateLimitUnavailable

            audit("ratelimit", reason=REASON_STORAGE_UNAVAILABLE, error=type(e).__name__)
            raise RateLimitUnavailable() from None

    guard.__self__ = getattr(func, "__self__", None)  # type: ignore[attr-defined]  # detection reads the owner
    return guard


#: The store clients' errors that a view may let through (Flask-Limiter checks
#: a decorated route's limits inside the view): answered with the 503.
VIEW_STORE_FAILURES = (
    ("redis.exceptions", "ConnectionError"),
    ("redis.exceptions", "TimeoutError"),
    ("limits.errors", "StorageError"),
)


def _store_failure_is_503(error: Exception) -> t.Any:
    from ..globals import current_app
    from .errors import StoreUnavailableError

    # SECURITY: fail closed, fast, with the configured 503 (no traceback to the client).
    audit("store", reason="store_unavailable", error=type(error).__name__)
    # Rendered as any 503: the app's handler for 503, else Hermetic's page.
    return current_app.handle_http_exception(StoreUnavailableError())


def view_store_failures_are_503(app: Flask) -> None:
    # An app's own handler for one of these classes is kept.
    own = app.error_handler_spec.get(None, {}).get(None, {})
    for module, name in VIEW_STORE_FAILURES:
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and issubclass(cls, Exception) and cls not in own:
            app.register_error_handler(cls, _store_failure_is_503)
