"""The application object: contexts, request dispatch, errors, responses, WSGI."""

from __future__ import annotations

import collections.abc as cabc  # noqa: F401
import os
import sys
import typing as t
from inspect import iscoroutinefunction
from itertools import chain
from types import TracebackType  # noqa: F401

import click
from werkzeug.datastructures import Headers  # noqa: F401
from werkzeug.exceptions import BadRequestKeyError, HTTPException, InternalServerError  # noqa: F401
from werkzeug.routing import (
    RequestRedirect,
    RoutingException,  # noqa: F401
)
from werkzeug.serving import is_running_from_reloader
from werkzeug.wrappers import Response as BaseResponse  # noqa: F401

from ._app_base import App
from ._app_errors import ErrorHandlingMixin, _late_refusal
from ._app_responses import ResponseMixin
from ._debugger import check_debugger_host
from ._plain_path import remember_originals, serve_plain
from .ctx import AppContext, RequestContext
from .globals import (
    _cv_app,
    _cv_request,
    request,  # noqa: F401
    request_ctx,
)
from .helpers import get_debug_flag, get_load_dotenv
from .sessions import SecureCookieSessionInterface, SessionInterface
from .signals import (
    appcontext_tearing_down,
    got_request_exception,  # noqa: F401
    request_finished,
    request_started,
    request_tearing_down,
)
from .wrappers import Request, Response

# The imports marked `noqa: F401` are names Flask's `flask.app` module carries
# (its own imports): the flask alias reads them from this module, though the
# code using them is in `_app_errors.py` and `_app_responses.py`.

if t.TYPE_CHECKING:  # pragma: no cover
    from .security.shields import ShieldPipeline
    from .testing import FlaskClient, FlaskCliRunner

__all__ = [
    "Flask",
]

_sentinel = object()


@remember_originals
class Flask(ResponseMixin, ErrorHandlingMixin, App):
    """A WSGI application with Flask 3.1's API.

    ``import_name`` locates resources (templates, static files, the instance
    folder). Every protection of the security layer is off on this class;
    :class:`hermetic.Hermetic` turns them on.
    """

    request_class: type[Request] = Request
    response_class: type[Response] = Response
    test_client_class: type[FlaskClient] | None = None
    test_cli_runner_class: type[FlaskCliRunner] | None = None
    session_interface: SessionInterface = SecureCookieSessionInterface()
    #: The security shields (:mod:`hermetic.security.shields`); ``None`` runs none.
    shields: ShieldPipeline | None = None

    # -- contexts -------------------------------------------------------

    def app_context(self) -> AppContext:
        """Create an application context (``with app.app_context(): ...``)."""
        return AppContext(self)

    def request_context(self, environ: dict[str, t.Any]) -> RequestContext:
        """Create a request context for a WSGI environment."""
        return RequestContext(self, environ)

    def test_request_context(self, *args: t.Any, **kwargs: t.Any) -> RequestContext:
        """Create a request context from ``EnvironBuilder`` arguments, for tests."""
        from .testing import EnvironBuilder

        builder = EnvironBuilder(self, *args, **kwargs)
        try:
            return self.request_context(builder.get_environ())
        finally:
            builder.close()

    def test_client(self, use_cookies: bool = True, **kwargs: t.Any) -> FlaskClient:
        """Create a test client (:class:`hermetic.testing.FlaskClient`)."""
        cls = self.test_client_class
        if cls is None:
            from .testing import FlaskClient

            cls = FlaskClient
        return cls(self, self.response_class, use_cookies=use_cookies, **kwargs)

    def test_cli_runner(self, **kwargs: t.Any) -> FlaskCliRunner:
        """Create a runner for the app's CLI commands, for tests."""
        cls = self.test_cli_runner_class
        if cls is None:
            from .testing import FlaskCliRunner

            cls = FlaskCliRunner
        return cls(self, **kwargs)

    def run(
        self,
        host: str | None = None,
        port: int | None = None,
        debug: bool | None = None,
        load_dotenv: bool = True,
        **options: t.Any,
    ) -> None:
        """Run the development server. Not for production: use gunicorn or granian.

        The interactive debugger (on in debug mode unless ``use_debugger=False``)
        is refused with :class:`~hermetic._debugger.UnsafeDebuggerError` on a
        host other than a loopback address, unless
        ``unsafe_debugger_on_public_host=True``.
        """
        from . import cli

        if os.environ.get("FLASK_RUN_FROM_CLI") == "true":
            if not is_running_from_reloader():
                click.secho(
                    " * Ignoring a call to 'app.run()' that would block"
                    " the current 'hermetic' CLI command.\n"
                    "   Only call 'app.run()' in an 'if __name__ =="
                    ' "__main__"\' guard.',
                    fg="red",
                )
            return
        if get_load_dotenv(load_dotenv):
            cli.load_dotenv()
            if "FLASK_DEBUG" in os.environ or "HERMETIC_DEBUG" in os.environ:
                self.debug = get_debug_flag()
        if debug is not None:
            self.debug = bool(debug)
        server_name = self.config.get("SERVER_NAME")
        sn_host = sn_port = None
        if server_name:
            sn_host, _, sn_port = server_name.partition(":")
        if not host:
            host = sn_host or "127.0.0.1"
        if port or port == 0:
            port = int(port)
        elif sn_port:
            port = int(sn_port)
        else:
            port = 5000
        options.setdefault("use_reloader", self.debug)
        options.setdefault("use_debugger", self.debug)
        options.setdefault("threaded", True)
        unsafe = options.pop("unsafe_debugger_on_public_host", False)
        check_debugger_host(host, debugger=bool(options["use_debugger"]), unsafe=bool(unsafe))
        cli.show_server_banner(self.debug, self.name)
        from werkzeug.serving import run_simple

        try:
            run_simple(t.cast(str, host), port, self, **options)
        finally:
            self._got_first_request = False

    # -- request handling -----------------------------------------------

    def ensure_sync(self, func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        """Wrap an ``async def`` function to be called synchronously."""
        if iscoroutinefunction(func):
            return self.async_to_sync(func)
        return func

    def async_to_sync(
        self, func: t.Callable[..., t.Coroutine[t.Any, t.Any, t.Any]]
    ) -> t.Callable[..., t.Any]:
        """Run a coroutine function to completion (needs the ``async`` extra)."""
        try:
            from asgiref.sync import async_to_sync as asgiref_async_to_sync
        except ImportError:
            raise RuntimeError(
                "Install hermetic with the 'async' extra in order to use async views"
                " (pip install 'hermetic[async]')."
            ) from None
        return asgiref_async_to_sync(func)

    def _view_caller(self, func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        # Views are called on every request: remember whether each is async.
        try:
            return self._sync_views[func]
        except (KeyError, TypeError):
            pass
        wrapped = self.ensure_sync(func)
        try:
            self._sync_views[func] = wrapped
        except TypeError:
            pass
        return wrapped

    def _hook_caller(self, func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        # Before/after/teardown hooks run on every request: with the default
        # ensure_sync, its answer per function is remembered. An overridden
        # ensure_sync (Flask documents it as a subclass hook) is still called
        # for every hook on every request, as Flask does.
        if "ensure_sync" in self.__dict__ or type(self).ensure_sync is not Flask.ensure_sync:
            return self.ensure_sync(func)
        return self._view_caller(func)

    def raise_routing_exception(self, request: Request) -> t.NoReturn:  # noqa: F811
        """Raise the routing error; in debug, explain redirects that drop form data."""
        exc = request.routing_exception
        if (
            not self.debug
            or not isinstance(exc, RequestRedirect)
            or exc.code in {307, 308}
            or request.method in {"GET", "HEAD", "OPTIONS"}
        ):
            raise exc  # type: ignore[misc]  # an HTTPException subclass, raised as Flask does
        from .debughelpers import FormDataRoutingRedirect

        raise FormDataRoutingRedirect(request)

    def dispatch_request(self) -> t.Any:
        """Call the view of the matched rule and return its return value."""
        req = _cv_request.get().request
        if req.routing_exception is not None:
            self.raise_routing_exception(req)
        rule = req.url_rule
        if req.method == "OPTIONS" and getattr(rule, "provide_automatic_options", False):
            return self.make_default_options_response()
        view = self.view_functions[rule.endpoint]  # type: ignore[union-attr]  # a matched request has its rule
        try:
            call = self._sync_views[view]
        except (KeyError, TypeError):
            call = self._view_caller(view)
        return call(**req.view_args)  # type: ignore[arg-type]  # a matched request has its view_args

    def full_dispatch_request(self) -> Response:
        """Run the before hooks, the view, and the after hooks; handle errors."""
        self._got_first_request = True
        try:
            if request_started.receivers:
                request_started.send(self, _async_wrapper=self.ensure_sync)
            rv = None
            shields = self.shields
            if shields is not None and shields.active:
                rv = shields.before(_cv_request.get().request)
            if rv is None:
                rv = self.preprocess_request()
            if rv is None:
                rv = self.dispatch_request()
        except Exception as e:
            rv = self.handle_user_exception(e)
        return self.finalize_request(rv)

    def finalize_request(self, rv: t.Any, from_error_handler: bool = False) -> Response:
        """Make the response and run the after-request steps."""
        response = self.make_response(rv)
        try:
            response = self.process_response(response)
            if request_finished.receivers:
                request_finished.send(self, _async_wrapper=self.ensure_sync, response=response)
        except Exception as e:
            refusal = _late_refusal(e)
            if refusal is not None:
                return self._refusal_response(refusal)
            if not from_error_handler:
                raise
            self.logger.exception("Request finalizing failed with an error while handling an error")
        return response

    def make_default_options_response(self) -> Response:
        """Answer ``OPTIONS`` with the methods the URL allows."""
        adapter = request_ctx.url_adapter
        methods = adapter.allowed_methods()
        rv = self.response_class()
        rv.allow.update(methods)
        return rv

    def preprocess_request(self) -> t.Any:
        """Run URL value preprocessors and before-request functions."""
        if not (self.url_value_preprocessors or self.before_request_funcs):
            return None
        req = _cv_request.get().request
        names = (None, *reversed(req.blueprints))
        for name in names:
            if name in self.url_value_preprocessors:
                for url_func in self.url_value_preprocessors[name]:
                    url_func(req.endpoint, req.view_args)
        for name in names:
            if name in self.before_request_funcs:
                for before_func in self.before_request_funcs[name]:
                    rv = self._hook_caller(before_func)()
                    if rv is not None:
                        return rv
        return None

    def process_response(self, response: Response) -> Response:
        """Run after-request functions, then save the session if it was opened."""
        ctx = _cv_request.get()
        for func in ctx._after_request_functions:
            response = self.ensure_sync(func)(response)  # per-request closures: not cached
        if self.after_request_funcs:
            for name in chain(ctx.request.blueprints, (None,)):
                if name in self.after_request_funcs:
                    for func in reversed(self.after_request_funcs[name]):
                        response = self._hook_caller(func)(response)
        shields = self.shields
        if shields is not None and shields.active:
            response = shields.after(ctx.request, response)
        session = ctx._session_obj
        if (
            session is None
            and "HTTP_COOKIE" in ctx.request.environ
            and self.config["SESSION_REFRESH_EACH_REQUEST"]
            and type(self.session_interface).open_session
            is SecureCookieSessionInterface.open_session
        ):
            # A permanent session's cookie is refreshed on every request, even
            # one that did not use the session. Peek without marking it read.
            opened = ctx.session
            if isinstance(opened, dict) and dict.get(opened, "_permanent", False):
                session = opened
        if session is not None and not self.session_interface.is_null_session(session):
            self.session_interface.save_session(self, session, response)
        return response

    def do_teardown_request(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]  # _sentinel: "not given", unlike None
        """Run the teardown-request functions (called when the context pops)."""
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        if self.teardown_request_funcs:
            for name in chain(_cv_request.get().request.blueprints, (None,)):
                if name in self.teardown_request_funcs:
                    for func in reversed(self.teardown_request_funcs[name]):
                        self._hook_caller(func)(exc)
        if request_tearing_down.receivers:
            request_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)

    def do_teardown_appcontext(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]  # _sentinel: "not given", unlike None
        """Run the teardown-appcontext functions (called when the context pops)."""
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        for func in reversed(self.teardown_appcontext_funcs):
            self._hook_caller(func)(exc)
        if appcontext_tearing_down.receivers:
            appcontext_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)

    def wsgi_app(self, environ: dict[str, t.Any], start_response: t.Any) -> t.Iterable[bytes]:
        """Handle one request: the WSGI application, wrapped by middleware."""
        shields = self.shields
        if shields is not None and shields.active:
            for step in shields.prepare_steps:
                step(environ)
        else:
            shields = None
        answer = serve_plain(self, environ, start_response, shields)
        if answer is not None:
            return answer  # type: ignore[no-any-return]  # the plain path's WSGI body
        return self._serve_general(environ, start_response)

    def _serve_general(self, environ: dict[str, t.Any], start_response: t.Any) -> t.Iterable[bytes]:
        """``wsgi_app`` through the overridable methods, where the plain path
        (``_plain_path.py``) does not answer; the shields' ``prepare`` steps have run."""
        ctx = self.request_context(environ)
        error: BaseException | None = None
        try:
            try:
                ctx.push()
                response = self.full_dispatch_request()
            except Exception as e:
                error = e
                response = self.handle_exception(e)
            except:  # noqa: E722
                error = sys.exc_info()[1]
                raise
            return self._respond(response, environ, start_response)
        finally:
            preserve = environ.get("werkzeug.debug.preserve_context")
            if preserve is not None:
                preserve(_cv_app.get())
                preserve(_cv_request.get())
            if error is not None and self.should_ignore_error(error):
                error = None
            ctx.pop(error)

    def __call__(self, environ: dict[str, t.Any], start_response: t.Any) -> t.Iterable[bytes]:
        """Call :meth:`wsgi_app`, so middleware can wrap it."""
        return self.wsgi_app(environ, start_response)
