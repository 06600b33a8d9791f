"""The application and request contexts, and the helpers that use them."""

from __future__ import annotations

import contextvars
import sys
import typing as t
from functools import update_wrapper

from werkzeug.exceptions import HTTPException

from ._lazy import MadeOnFirstRead
from .globals import _cv_app, _cv_request
from .signals import (
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    request_tearing_down,
)

if t.TYPE_CHECKING:  # pragma: no cover
    from .app import Flask
    from .sessions import SessionMixin
    from .wrappers import Request

__all__ = [
    "after_this_request",
    "AppContext",
    "copy_current_request_context",
    "has_app_context",
    "has_request_context",
    "RequestContext",
]

_sentinel = object()

# Per session-interface class: opened lazily? (opens_lazily fills it.)
_LAZY_SESSION_CLASSES: dict[type, bool] = {}


def opens_lazily(interface: t.Any) -> bool:
    """Tell whether the session ``interface`` is opened only when the session is used.

    An interface whose ``open_session`` has no side effects says so with
    ``open_lazily`` in the class that defines ``open_session``.
    """
    cls = type(interface)
    lazy = _LAZY_SESSION_CLASSES.get(cls)
    if lazy is None:
        owner = next(c for c in cls.__mro__ if "open_session" in c.__dict__)
        lazy = _LAZY_SESSION_CLASSES[cls] = bool(owner.__dict__.get("open_lazily", False))
    return lazy


# Per app class: (keeps Flask's do_teardown_request, keeps do_teardown_appcontext).
_DEFAULT_TEARDOWN: dict[type, tuple[bool, bool]] = {}


def _default_teardown(cls: type) -> tuple[bool, bool]:
    """Whether ``cls`` keeps hermetic's own teardown methods (cached per class).

    With the default methods, no registered function and no signal receiver,
    a teardown does nothing, and the pop skips the call.
    """
    known = _DEFAULT_TEARDOWN.get(cls)
    if known is None:
        # Against Flask's methods as its class body made them: one wrapped
        # on the class since (by an APM agent, say) is called.
        from ._plain_path import is_original

        known = _DEFAULT_TEARDOWN[cls] = (
            is_original(cls, "do_teardown_request"),
            is_original(cls, "do_teardown_appcontext"),
        )
    return known


class _AppCtxGlobals:
    """The namespace behind ``g``: a plain object with a few dict-like methods."""

    def __getattr__(self, name: str) -> t.Any:
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: t.Any) -> None:
        self.__dict__[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def get(self, name: str, default: t.Any | None = None) -> t.Any:
        """Return an attribute, or ``default`` when it is not set."""
        return self.__dict__.get(name, default)

    def pop(self, name: str, default: t.Any = _sentinel) -> t.Any:
        """Remove and return an attribute; ``KeyError`` without a default."""
        if default is _sentinel:
            return self.__dict__.pop(name)
        return self.__dict__.pop(name, default)

    def setdefault(self, name: str, default: t.Any = None) -> t.Any:
        """Return an attribute, setting it to ``default`` first when missing."""
        return self.__dict__.setdefault(name, default)

    def __contains__(self, item: str) -> bool:
        return item in self.__dict__

    def __iter__(self) -> t.Iterator[str]:
        return iter(self.__dict__)

    def __repr__(self) -> str:
        ctx = _cv_app.get(None)
        if ctx is not None:
            return f"<flask.g of '{ctx.app.name}'>"
        return object.__repr__(self)


def after_this_request(f: t.Callable[[t.Any], t.Any]) -> t.Callable[[t.Any], t.Any]:
    """Run ``f(response)`` after this request only; it may replace the response."""
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'after_this_request' can only be used when a request"
            " context is active, such as in a view function."
        )
    ctx._after_request_functions.append(f)
    return f


F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def copy_current_request_context(f: F) -> F:
    """Decorate ``f`` to run inside a copy of the current request context.

    Use it for work handed to a greenlet or thread that outlives the view.
    """
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'copy_current_request_context' can only be used when a"
            " request context is active, such as in a view function."
        )
    ctx = ctx.copy()

    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        with ctx:
            return ctx.app.ensure_sync(f)(*args, **kwargs)

    return update_wrapper(wrapper, f)  # type: ignore[return-value]  # update_wrapper keeps the signature, untyped


def has_request_context() -> bool:
    """Tell whether a request context is active."""
    return _cv_request.get(None) is not None


def has_app_context() -> bool:
    """Tell whether an application context is active."""
    return _cv_app.get(None) is not None


class AppContext:
    """Make the app ``current_app`` and give it a fresh ``g`` while pushed."""

    if t.TYPE_CHECKING:  # pragma: no cover
        g: _AppCtxGlobals
    else:
        #: The namespace behind ``g``, made on first use.
        g = MadeOnFirstRead(lambda ctx: ctx.app.app_ctx_globals_class())

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._adapter: t.Any = _sentinel
        self._cv_tokens: list[contextvars.Token[AppContext]] = []

    @property
    def url_adapter(self) -> t.Any:
        """The URL map bound to ``SERVER_NAME`` (made on first use: a request
        builds URLs with its own adapter, so most app contexts never need it)."""
        adapter = self._adapter
        if adapter is _sentinel:
            adapter = self._adapter = self.app.create_url_adapter(None)
        return adapter

    @url_adapter.setter
    def url_adapter(self, value: t.Any) -> None:
        self._adapter = value

    def push(self) -> None:
        """Bind this context to the current task or thread."""
        self._cv_tokens.append(_cv_app.set(self))
        if appcontext_pushed.receivers:
            appcontext_pushed.send(self.app, _async_wrapper=self.app.ensure_sync)

    def pop(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]  # _sentinel: "not given", unlike None
        """Unbind this context; the last pop runs the teardown functions."""
        try:
            app = self.app
            if len(self._cv_tokens) == 1 and (
                app.teardown_appcontext_funcs
                or appcontext_tearing_down.receivers
                or "do_teardown_appcontext" in app.__dict__
                or not (_DEFAULT_TEARDOWN.get(type(app)) or _default_teardown(type(app)))[1]
            ):
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                app.do_teardown_appcontext(exc)
        finally:
            ctx = _cv_app.get()
            _cv_app.reset(self._cv_tokens.pop())
        if ctx is not self:
            raise AssertionError(f"Popped wrong app context. ({ctx!r} instead of {self!r})")
        if appcontext_popped.receivers:
            appcontext_popped.send(self.app, _async_wrapper=self.app.ensure_sync)

    def __enter__(self) -> AppContext:
        self.push()
        return self

    def __exit__(self, exc_type: t.Any, exc_value: BaseException | None, tb: t.Any) -> None:
        self.pop(exc_value)


class RequestContext:
    """Hold everything about one request while it is handled.

    The URL adapter and the session are made on first use: a request that
    never builds a URL or touches the session pays for neither.
    """

    def __init__(
        self,
        app: Flask,
        environ: dict[str, t.Any],
        request: Request | None = None,
        session: SessionMixin | None = None,
    ) -> None:
        self.app = app
        if request is None:
            request = app.request_class(environ)
        request.json_module = app.json
        self.request = request
        self._adapter: t.Any = _sentinel
        self._session_obj = session
        self._after_request_functions: list[t.Callable[[t.Any], t.Any]] = []
        self._cv_tokens: list[tuple[contextvars.Token[RequestContext], AppContext | None]] = []

    #: The flashed messages read by get_flashed_messages (a class default:
    #: rarely read, never on the common path).
    flashes: list[tuple[str, str]] | None = None

    @property
    def url_adapter(self) -> t.Any:
        """The Werkzeug ``MapAdapter`` bound to this request (made on first use)."""
        adapter = self._adapter
        if adapter is _sentinel:
            adapter = None
            try:
                adapter = self.app.create_url_adapter(self.request)
            except HTTPException as e:
                self.request.routing_exception = e
            self._adapter = adapter
        return adapter

    @url_adapter.setter
    def url_adapter(self, value: t.Any) -> None:
        self._adapter = value

    @property
    def session(self) -> SessionMixin:
        """The session, opened by the app's session interface on first use."""
        session = self._session_obj
        if session is None:
            interface = self.app.session_interface
            session = interface.open_session(self.app, self.request)
            if session is None:
                session = interface.make_null_session(self.app)
            self._session_obj = session
        return session

    @session.setter
    def session(self, value: SessionMixin | None) -> None:
        self._session_obj = value

    # Flask's own tests and some extensions read the private name.
    _session = session

    def copy(self) -> RequestContext:
        """Make a context for the same request object and session."""
        return self.__class__(
            self.app,
            environ=self.request.environ,
            request=self.request,
            # Opened now, so writes from the copy reach the original request.
            session=self.session,
        )

    def match_request(self) -> None:
        """Match the request against the URL map; keep any error for dispatch."""
        app = self.app
        request = self.request
        router = app._fast_router
        if router is not None and router.match(app, request):
            return
        self._match_with_adapter()

    def _match_with_adapter(self) -> None:
        # Werkzeug's bound adapter: the authority for what the router leaves.
        adapter = self.url_adapter
        if adapter is None:
            return
        try:
            self.request.url_rule, self.request.view_args = adapter.match(return_rule=True)
        except HTTPException as e:
            self.request.routing_exception = e

    def push(self) -> None:
        """Bind this context (and an app context if needed), then match the URL."""
        app_ctx = _cv_app.get(None)
        if app_ctx is None or app_ctx.app is not self.app:
            app_ctx = self.app.app_context()
            app_ctx.push()
        else:
            app_ctx = None
        self._cv_tokens.append((_cv_request.set(self), app_ctx))
        # A custom session interface keeps Flask's contract: it is opened when
        # the request starts, so its errors and side effects happen there.
        if self._session_obj is None:
            lazy = _LAZY_SESSION_CLASSES.get(type(self.app.session_interface))
            if lazy is None:
                lazy = opens_lazily(self.app.session_interface)
            if not lazy:
                self.session  # noqa: B018
        if self._adapter is not None:
            self.match_request()

    def pop(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]  # _sentinel: "not given", unlike None
        """Unbind this context; the last pop runs teardown and closes the request."""
        clear_request = len(self._cv_tokens) == 1
        try:
            if clear_request:
                app = self.app
                if (
                    app.teardown_request_funcs
                    or request_tearing_down.receivers
                    or "do_teardown_request" in app.__dict__
                    or not (_DEFAULT_TEARDOWN.get(type(app)) or _default_teardown(type(app)))[0]
                ):
                    if exc is _sentinel:
                        exc = sys.exc_info()[1]
                    app.do_teardown_request(exc)
                close = getattr(self.request, "close", None)
                if close is not None:
                    close()
        finally:
            ctx = _cv_request.get()
            token, app_ctx = self._cv_tokens.pop()
            _cv_request.reset(token)
            # Break the environ -> request reference cycle.
            if clear_request:
                ctx.request.environ["werkzeug.request"] = None
            if app_ctx is not None:
                app_ctx.pop(exc)
            if ctx is not self:
                raise AssertionError(f"Popped wrong request context. ({ctx!r} instead of {self!r})")

    def __enter__(self) -> RequestContext:
        self.push()
        return self

    def __exit__(self, exc_type: t.Any, exc_value: BaseException | None, tb: t.Any) -> None:
        self.pop(exc_value)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.request.url!r}"
            f" [{self.request.method}] of {self.app.name}>"
        )
