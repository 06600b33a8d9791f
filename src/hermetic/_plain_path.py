"""One request path for an app that customises nothing on it.

:meth:`hermetic.app.Flask.wsgi_app` handles a request through a dozen
methods (push the contexts, dispatch, make and process the response, pop
the contexts, run teardown), each one a place where a subclass, an
extension or a registered hook may step in. An app where none does pays
for the steps all the same. :func:`serve_plain` takes those steps in one frame,
in the same order, for an app that:

* keeps hermetic's own request-path methods (:data:`PATH_METHODS`), in its
  class and on the instance (no ``app.dispatch_request = ...``);
* has no before/after/teardown hooks and no URL value preprocessors.

Its security shields, when it runs any (``Hermetic``), take their steps
where the general path takes them: ``before`` ahead of the view, ``after``
on the response -- on a text answer without a response object, the steps
fused for the usual response (``security/_quiet_after.py``) extend its two
headers, and where they cannot, the general ``finalize_request`` runs them.

Everything else -- a routing miss or error, ``OPTIONS``, an exception, a
view returning anything but a ``str``, a session that was used or a
cookie to refresh, after-this-request functions, signal receivers, a
context pushed or popped by the view -- is handed to the general methods
at the point where it shows, so the answer is theirs. The conditions are
checked on every request (a hook may be registered, or a method replaced,
after the first); the dearest, looking for a replaced method among the
instance attributes, costs about 3k of the 44k instructions of a hello.
"""

from __future__ import annotations

import sys
import typing as t
from operator import attrgetter, is_

from ._app_errors import _late_refusal
from .ctx import _LAZY_SESSION_CLASSES, AppContext, RequestContext, _sentinel, opens_lazily
from .globals import _cv_app, _cv_request
from .signals import (
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    request_finished,
    request_started,
    request_tearing_down,
)

if t.TYPE_CHECKING:  # pragma: no cover
    from .app import Flask
    from .security._route_steps import RouteSteps
    from .security.shields import ShieldPipeline

__all__: list[str] = []

T = t.TypeVar("T", bound=type)

#: The methods the general request path calls on the app. An app whose class
#: or instance replaces one of them takes the general path, which calls it.
#: (``wsgi_app`` itself is not one: this path runs inside it, so middleware
#: assigned to ``app.wsgi_app`` and a subclass calling ``super().wsgi_app``
#: keep it.)
PATH_METHODS = frozenset(
    {
        "request_context",
        "app_context",
        "full_dispatch_request",
        "preprocess_request",
        "dispatch_request",
        "finalize_request",
        "make_response",
        "process_response",
        "do_teardown_request",
        "do_teardown_appcontext",
        "_respond",
    }
)

_methods_of = attrgetter(*sorted(PATH_METHODS))
# Flask's own PATH_METHODS, in _methods_of's order, as its class body made
# them: an agent that wraps them on the class later (APM tracers do) is
# a replacement like any other.
_ORIGINALS: tuple[t.Any, ...] = ()

# Per app class: does it keep them? Answered on the class's first request.
_PLAIN_CLASSES: dict[type, bool] = {}

_new = object.__new__
#: The schemes ``request.is_secure`` counts as secure: their answers get the
#: shields' HTTPS block.
_SECURE_SCHEMES = ("https", "wss")


def remember_originals(cls: T) -> T:
    """Record ``cls``'s request-path methods as the ones this path stands for
    (Flask's class decorator: taken before anything can wrap them)."""
    global _ORIGINALS
    _ORIGINALS = _methods_of(cls)
    return cls


def is_original(cls: type, name: str) -> bool:
    """Tell whether ``cls``'s method ``name`` (one of PATH_METHODS) is Flask's own."""
    return getattr(cls, name, None) is _ORIGINALS[sorted(PATH_METHODS).index(name)]


def serve_plain(
    app: Flask,
    environ: dict[str, t.Any],
    start_response: t.Any,
    shields: ShieldPipeline | None = None,
) -> t.Any:
    """Answer the request as ``wsgi_app`` would; ``None`` when the app does not qualify.

    ``shields`` is the app's active pipeline, its ``prepare`` steps already run.
    """
    plain = _PLAIN_CLASSES.get(type(app))
    if plain is None:
        # By identity: a wrapper may compare equal to what it wraps.
        plain = _PLAIN_CLASSES[type(app)] = all(map(is_, _methods_of(type(app)), _ORIGINALS))
    if (
        not plain
        or app.before_request_funcs
        or app.url_value_preprocessors
        or app.after_request_funcs
        or app.teardown_request_funcs
        or app.teardown_appcontext_funcs
        or not app.__dict__.keys().isdisjoint(PATH_METHODS)
    ):
        return None

    # RequestContext.__init__ (app.request_context)
    request = app.request_class(environ)
    request.json_module = app.json
    ctx = _new(RequestContext)
    ctx.app = app
    ctx.request = request
    ctx._adapter = _sentinel
    ctx._session_obj = None
    ctx._after_request_functions = []
    ctx._cv_tokens = []
    error: BaseException | None = None
    answer = None
    steps: RouteSteps | None = None
    try:
        try:
            # RequestContext.push
            app_ctx = _cv_app.get(None)
            if app_ctx is None or app_ctx.app is not app:
                app_ctx = _new(AppContext)
                app_ctx.app = app
                app_ctx._adapter = _sentinel
                app_ctx._cv_tokens = [_cv_app.set(app_ctx)]
                if appcontext_pushed.receivers:
                    appcontext_pushed.send(app, _async_wrapper=app.ensure_sync)
            else:
                app_ctx = None
            ctx._cv_tokens.append((_cv_request.set(ctx), app_ctx))
            lazy = _LAZY_SESSION_CLASSES.get(type(app.session_interface))
            if lazy is None:
                lazy = opens_lazily(app.session_interface)
            if not lazy:
                ctx.session  # noqa: B018  # opened at the start, as RequestContext.push does
            router = app._fast_router
            if router is None or not router.match(app, request):
                ctx._match_with_adapter()

            # full_dispatch_request
            if not app._got_first_request:
                app._got_first_request = True
            try:
                if request_started.receivers:
                    request_started.send(app, _async_wrapper=app.ensure_sync)
                rv = None
                if shields is not None:
                    # shields.before, with the route's steps kept for after.
                    # shields.request_steps, in this frame.
                    rule = request.url_rule
                    endpoint = rule.endpoint if rule is not None else None
                    steps = shields._routes.get(endpoint)
                    if steps is None or steps.view is not shields._app_views.get(endpoint):  # type: ignore[arg-type]  # None (no rule) is a valid key
                        steps = shields._steps(endpoint)
                    method = request.method
                    longest = steps.quiet_get if method == "GET" else steps.quiet_before.get(method)
                    if (
                        longest is None
                        or environ.get("QUERY_STRING")
                        or environ.get("CONTENT_LENGTH")
                        or "wsgi.input_terminated" in environ
                        or len(environ.get("PATH_INFO", "")) > longest
                    ):
                        # (Otherwise steps that would do nothing: Shield.quiet_before.)
                        for step in steps.before_by_method.get(request.method, steps.before):
                            rv = step(request)
                            if rv is not None:
                                break
                if rv is None and (app.url_value_preprocessors or app.before_request_funcs):
                    rv = app.preprocess_request()
                if rv is None:
                    if request.routing_exception is not None or request.method == "OPTIONS":
                        rv = app.dispatch_request()
                    else:
                        view = app.view_functions[request.url_rule.endpoint]  # type: ignore[union-attr]  # matched
                        try:
                            call = app._sync_views[view]
                        except (KeyError, TypeError):
                            call = app._view_caller(view)
                        rv = call(**request.view_args)  # type: ignore[arg-type]  # matched
            except Exception as e:
                rv = app.handle_user_exception(e)

            if (
                ctx._session_obj is None
                and not ctx._after_request_functions
                and "HTTP_COOKIE" not in environ
                and not request_finished.receivers
                and not app.after_request_funcs
            ):
                # finalize_request, where process_response and the signal
                # would do nothing but the shields' after steps; a str that
                # nothing else after the view sees is answered without a
                # response object.
                if type(rv) is str and environ.get("REQUEST_METHOD") != "HEAD":
                    answer_text = app._text_answers.get(app.response_class, _sentinel)
                    if answer_text is _sentinel:
                        answer_text = app._text_answer()
                    if answer_text is not None:
                        answer = answer_text(rv)
                        if shields is not None:
                            # The after steps of the route whose view ran, fused.
                            if steps is None:
                                steps = shields.request_steps(request)
                            text = steps.quiet_text
                            if (
                                text is None
                                # SECURITY: a guard key (a CSP nonce asked for, a
                                # remember-me cookie to send) needs the steps.
                                or text.first in environ
                                or text.second in environ
                            ):
                                answer = None
                            else:
                                environ.update(text.marks)
                                answer[1].extend(
                                    text.secure if request.scheme in _SECURE_SCHEMES else text.plain
                                )
                if answer is None:
                    if shields is None:
                        response = app.make_response(rv)
                    else:
                        response = app.finalize_request(rv)
            elif (
                shields is not None
                and ctx._session_obj is not None
                and not ctx._after_request_functions
                and not request_finished.receivers
                and not app.after_request_funcs
            ):
                # A session was opened (the CSRF check reads it): finalize_request.
                response = _finalize_shielded(app, request, ctx._session_obj, shields, steps, rv)
            else:
                response = app.finalize_request(rv)
        except Exception as e:
            error = e
            answer = None
            response = app.handle_exception(e)
        except:  # noqa: E722
            error = sys.exc_info()[1]
            raise
        # Sent outside the handling, as wsgi_app sends: a server's error
        # from start_response is not the app's to handle.
        if answer is not None:
            status, headers, body = answer
            start_response(status, headers)
            return body
        return app._respond(response, environ, start_response)
    finally:
        preserve = environ.get("werkzeug.debug.preserve_context")
        if preserve is not None:
            preserve(_cv_app.get())
            preserve(_cv_request.get())
        if error is not None and app.should_ignore_error(error):
            error = None
        _pop(app, ctx, error)


def _finalize_shielded(
    app: Flask,
    request: t.Any,
    session: t.Any,
    shields: ShieldPipeline,
    steps: RouteSteps | None,
    rv: t.Any,
) -> t.Any:
    """``app.finalize_request(rv)`` in one frame, for an app with shields, an
    opened session and nothing else after the view (no after-request
    function, no ``request_finished`` receiver): make the response, run the
    route's after steps as ``ShieldPipeline.after`` does, save the session."""
    response = app.make_response(rv)
    try:
        if steps is None:
            steps = shields.request_steps(request)
        quiet = steps.quiet_after  # the usual response: the steps fused
        if quiet is None or quiet(request, response) is None:
            for step in steps.after:
                response = step(request, response)
        interface = app.session_interface
        if not interface.is_null_session(session):
            interface.save_session(app, session, response)
    except Exception as e:
        refusal = _late_refusal(e)
        if refusal is None:
            raise
        return app._refusal_response(refusal)
    return response


def _pop(app: Flask, ctx: RequestContext, error: BaseException | None) -> None:
    """``ctx.pop(error)``, in one frame when it only unbinds the contexts."""
    tokens = ctx._cv_tokens
    if (
        len(tokens) != 1
        or app.teardown_request_funcs
        or request_tearing_down.receivers
        or _cv_request.get(None) is not ctx
    ):
        ctx.pop(error)
        return
    request = ctx.request
    try:
        request.close()
    finally:
        token, app_ctx = tokens.pop()
        _cv_request.reset(token)
        request.environ["werkzeug.request"] = None
        if app_ctx is not None:
            app_tokens = app_ctx._cv_tokens
            if (
                len(app_tokens) != 1
                or app.teardown_appcontext_funcs
                or appcontext_tearing_down.receivers
                or appcontext_popped.receivers
                or _cv_app.get(None) is not app_ctx
            ):
                app_ctx.pop(error)
            else:
                _cv_app.reset(app_tokens.pop())
