"""The test client, the CLI test runner, and an app-aware environ builder."""

from __future__ import annotations

import importlib.metadata
import typing as t
from contextlib import ExitStack, contextmanager
from copy import copy
from types import TracebackType
from urllib.parse import urlsplit

import werkzeug.test
from click.testing import CliRunner, Result
from werkzeug.test import Client
from werkzeug.wrappers import Request as BaseRequest

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIEnvironment
    from werkzeug.test import TestResponse

    from .app import Flask

    # Test helpers of the security layer, imported on first use (__getattr__).
    from .security._testing import ManualClock as ManualClock
    from .security._testing import limits_clock as limits_clock
    from .security._testing import self_signed_certificate as self_signed_certificate
    from .sessions import SessionMixin

__all__ = [
    "EnvironBuilder",
    "FlaskClient",
    "FlaskCliRunner",
    "ManualClock",
    "limits_clock",
    "self_signed_certificate",
]

#: Test helpers of the security layer: imported on first use, so a plain
#: Flask app's tests never load the security layer.
_LAZY = {
    "ManualClock": ".security._testing",
    "limits_clock": ".security._testing",
    "self_signed_certificate": ".security._testing",
}


def __getattr__(name: str) -> t.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module, "hermetic"), name)


class EnvironBuilder(werkzeug.test.EnvironBuilder):
    """A :class:`werkzeug.test.EnvironBuilder` whose defaults come from the app:
    the host from ``SERVER_NAME``, the script root from ``APPLICATION_ROOT`` and
    the scheme from ``PREFERRED_URL_SCHEME``; JSON bodies use ``app.json``.

    :param app: The application the environ is for.
    :param path: The path, or a full URL whose scheme and host override the defaults.
    :param base_url: The full base URL; excludes ``subdomain`` and ``url_scheme``.
    :param subdomain: Prefixed to ``SERVER_NAME`` to form the host.
    :param url_scheme: The scheme to use instead of ``PREFERRED_URL_SCHEME``.
    """

    def __init__(
        self,
        app: Flask,
        path: str = "/",
        base_url: str | None = None,
        subdomain: str | None = None,
        url_scheme: str | None = None,
        *args: t.Any,
        **kwargs: t.Any,
    ) -> None:
        # bandit B101: Flask's EnvironBuilder raises AssertionError here; kept for parity.
        assert base_url is None or not (subdomain or url_scheme), (  # nosec B101
            'Cannot pass "subdomain" or "url_scheme" with "base_url".'
        )

        if base_url is None:
            host = app.config.get("SERVER_NAME") or "localhost"
            if subdomain:
                host = f"{subdomain}.{host}"
            if url_scheme is None:
                url_scheme = app.config["PREFERRED_URL_SCHEME"]
            root = app.config["APPLICATION_ROOT"].lstrip("/")

            # A full URL as the path supplies its own scheme and host.
            url = urlsplit(path)
            base_url = f"{url.scheme or url_scheme}://{url.netloc or host}/{root}"
            path = url.path
            if url.query:
                path = f"{path}?{url.query}"

        self.app = app
        super().__init__(path, base_url, *args, **kwargs)

    def json_dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` with the app's JSON provider."""
        return self.app.json.dumps(obj, **kwargs)


#: The environ key by which the test client's requests pass the CSRF token check.
CSRF_BYPASS_KEY = "hermetic.test_client.csrf_bypass"  # = security.csrf.CSRF_BYPASS_KEY


class _TestClientMark:
    """The value under :data:`CSRF_BYPASS_KEY`; only this object counts."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<hermetic test client>"


# SECURITY: the bypass is an object identity, not a string: a WSGI server only
# puts strings in the environ, so no header or environ value sent from the
# outside can equal it. Only FlaskClient (in this process) sets it.
_CSRF_BYPASS = _TestClientMark()


def passes_csrf_token_check(environ: t.Mapping[str, t.Any]) -> bool:
    """Tell whether ``environ`` is a test client's request that skips the token check."""
    return environ.get(CSRF_BYPASS_KEY) is _CSRF_BYPASS


def _csrf_enforced_in_tests(app: Flask) -> bool:
    """Tell whether ``app``'s CSRF shield checks test-client requests (``CSRF_ENFORCE_IN_TESTS``)."""
    shields = getattr(app, "shields", None)
    if shields is None or shields.get("csrf") is None:
        return False  # no CSRF shield: the marker is never read
    from .security._csrf_settings import csrf_settings
    from .settings import SettingsError

    try:
        return csrf_settings(app).enforce_in_tests
    except SettingsError:
        return False  # a bad CSRF setting: the request itself reports it, naming the key


_werkzeug_version = ""


def _get_werkzeug_version() -> str:
    """Return Werkzeug's version, looked up once."""
    global _werkzeug_version

    if not _werkzeug_version:
        _werkzeug_version = importlib.metadata.version("werkzeug")

    return _werkzeug_version


class FlaskClient(Client):
    """A Werkzeug test client bound to the app, made by ``app.test_client()``.

    Inside a ``with client:`` block, the contexts of the last request stay
    pushed until the next request or the end of the block, so ``request``,
    ``session`` and ``g`` can be inspected after the response.

    CSRF: like Django's test client, requests made by this client pass the
    CSRF *token* check (tests need not fetch tokens); the ``Origin`` /
    ``Sec-Fetch-Site`` check still applies. To test CSRF itself, pass
    ``enforce_csrf=True`` (``app.test_client(enforce_csrf=True)``), or set
    ``CSRF_ENFORCE_IN_TESTS = True`` in the config for every client whose
    ``enforce_csrf`` is not given (default ``None``: the config decides, and
    its default is ``False``).
    """

    application: Flask

    def __init__(self, *args: t.Any, enforce_csrf: bool | None = None, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.enforce_csrf = enforce_csrf
        self.preserve_context = False
        # Contexts the app hands over during a request, then the stack that
        # keeps them pushed until the next request or the end of the block.
        self._new_contexts: list[t.ContextManager[t.Any]] = []
        self._context_stack = ExitStack()
        self.environ_base = {
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_USER_AGENT": f"Werkzeug/{_get_werkzeug_version()}",
        }

    @contextmanager
    def session_transaction(self, *args: t.Any, **kwargs: t.Any) -> t.Iterator[SessionMixin]:
        """Open the session the client's cookies point to, let the ``with``
        block read and change it, then store it back into the cookies.

        Arguments are passed to ``app.test_request_context()``.
        """
        if self._cookies is None:
            raise TypeError("Cookies are disabled. Create a client with 'use_cookies=True'.")

        app = self.application
        interface = app.session_interface
        ctx = app.test_request_context(*args, **kwargs)
        self._add_cookies_to_wsgi(ctx.request.environ)

        with ctx:
            sess = interface.open_session(app, ctx.request)

        if sess is None:
            raise RuntimeError("Session backend did not open a session.")

        yield sess

        if interface.is_null_session(sess):
            return

        response = app.response_class()
        with ctx:
            interface.save_session(app, sess, response)

        request = ctx.request
        self._update_cookies_from_response(
            request.host.partition(":")[0],
            request.path,
            response.headers.getlist("Set-Cookie"),
        )

    def _copy_environ(self, other: t.Mapping[str, t.Any]) -> WSGIEnvironment:
        """Return ``other`` over the client's base environ, asking the app to
        hand over its contexts if they are to be preserved.
        """
        out = {**self.environ_base, **other}
        enforce = self.enforce_csrf
        if enforce is None:
            enforce = _csrf_enforced_in_tests(self.application)
        if not enforce:
            out[CSRF_BYPASS_KEY] = _CSRF_BYPASS

        if self.preserve_context:
            out["werkzeug.debug.preserve_context"] = self._new_contexts.append

        return out

    def _request_from_builder_args(
        self, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
    ) -> BaseRequest:
        """Build the request from :class:`EnvironBuilder` arguments."""
        kwargs["environ_base"] = self._copy_environ(kwargs.get("environ_base", {}))
        builder = EnvironBuilder(self.application, *args, **kwargs)

        try:
            return builder.get_request()
        finally:
            builder.close()

    def open(
        self,
        *args: t.Any,
        buffered: bool = False,
        follow_redirects: bool = False,
        **kwargs: t.Any,
    ) -> TestResponse:
        """Make a request to the app and return the response.

        Takes :class:`EnvironBuilder` arguments, or a single builder, environ
        dict or request object.
        """
        if args and isinstance(args[0], (werkzeug.test.EnvironBuilder, dict, BaseRequest)):
            arg = args[0]
            if isinstance(arg, werkzeug.test.EnvironBuilder):
                # Copy so the caller's builder keeps its own environ_base.
                builder = copy(arg)
                builder.environ_base = self._copy_environ(builder.environ_base or {})
                request = builder.get_request()
            elif isinstance(arg, dict):
                request = EnvironBuilder.from_environ(
                    arg, app=self.application, environ_base=self._copy_environ({})
                ).get_request()
            else:
                request = copy(arg)
                request.environ = self._copy_environ(request.environ)
        else:
            request = self._request_from_builder_args(args, kwargs)

        # Release the contexts kept from the previous request in this block,
        # and forget any handed over by a request that raised. A redirect comes
        # back through here, so only the final request's contexts are kept.
        self._context_stack.close()
        self._new_contexts.clear()

        response = super().open(request, buffered=buffered, follow_redirects=follow_redirects)
        response.json_module = self.application.json  # type: ignore[assignment]  # the app's JSON provider, as in Flask
        self._keep_new_contexts()
        return response

    def _keep_new_contexts(self) -> None:
        """Push the contexts the app handed over, app context first, so the
        request context and its own ``g`` are current.
        """
        new = self._new_contexts
        if not new:
            return

        for ctx in new:
            self._context_stack.enter_context(ctx)
        new.clear()

    def __enter__(self) -> FlaskClient:
        if self.preserve_context:
            raise RuntimeError("Cannot nest client invocations")
        self.preserve_context = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.preserve_context = False
        self._new_contexts.clear()
        self._context_stack.close()


class FlaskCliRunner(CliRunner):
    """A :class:`click.testing.CliRunner` that runs the app's CLI commands,
    made by ``app.test_cli_runner()``.
    """

    def __init__(self, app: Flask, **kwargs: t.Any) -> None:
        self.app = app
        super().__init__(**kwargs)

    def invoke(  # type: ignore[override]  # Flask's signature, wider than click's
        self, cli: t.Any = None, args: t.Any = None, **kwargs: t.Any
    ) -> Result:
        """Run a command in an isolated environment and return its result.

        ``cli`` defaults to ``app.cli``; ``obj`` defaults to a ``ScriptInfo``
        that loads this app.
        """
        if cli is None:
            cli = self.app.cli

        if "obj" not in kwargs:
            from .cli import ScriptInfo

            kwargs["obj"] = ScriptInfo(create_app=lambda: self.app)

        return super().invoke(cli, args, **kwargs)
