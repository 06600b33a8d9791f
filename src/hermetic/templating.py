"""Jinja2 integration: the app's environment, its loader and the render helpers."""

from __future__ import annotations

import typing as t

from jinja2 import BaseLoader, Template, TemplateNotFound
from jinja2 import Environment as BaseEnvironment

from ._template_escape import TemplateCodeGenerator
from ._template_render import render as _render_template
from .globals import _cv_app, _cv_request, current_app, g, request, session
from .helpers import get_flashed_messages, stream_with_context
from .signals import before_render_template, template_rendered

if t.TYPE_CHECKING:  # pragma: no cover
    from .app import Flask
    from .scaffold import Scaffold

__all__ = [
    "create_jinja_environment",
    "DispatchingJinjaLoader",
    "Environment",
    "render_template",
    "render_template_string",
    "stream_template",
    "stream_template_string",
    "update_template_context",
]


def _default_template_ctx_processor() -> dict[str, t.Any]:
    """Inject ``g``, and ``request`` and ``session`` when a request is active.

    A session not opened yet is injected as the ``session`` proxy: it opens
    when the template reads it, so rendering alone never loads (or decrypts,
    or refreshes) the session cookie.
    """
    rv: dict[str, t.Any] = {}
    _add_defaults(rv)
    return rv


def _add_defaults(context: dict[str, t.Any]) -> None:
    """Add what :func:`_default_template_ctx_processor` injects, where ``context`` has no value."""
    app_ctx = _cv_app.get(None)
    if app_ctx is not None:
        value = app_ctx.g
        if "g" not in context:
            context["g"] = value
    req_ctx = _cv_request.get(None)
    if req_ctx is not None:
        if "request" not in context:
            context["request"] = req_ctx.request
        if "session" not in context:
            opened = req_ctx._session_obj
            context["session"] = session if opened is None else opened


#: The classes whose ``update_template_context`` is Flask's own (the fast
#: path below does the same work); an override (in a subclass or set on the
#: app) is called instead.
_OWN_UPDATE: dict[type, bool] = {}


def update_template_context(app: Flask, context: dict[str, t.Any]) -> None:
    """Add the context processors' variables to ``context``; the caller's values win.

    The app's processors run first, then those of the request's blueprints,
    innermost last, as in Flask.
    """
    processors = app.template_context_processors
    names: tuple[str | None, ...] = (None,)
    if len(processors) > 1 or None not in processors:
        req_ctx = _cv_request.get(None)
        if req_ctx is not None:
            names = (None, *reversed(req_ctx.request.blueprints))
    original = context.copy() if context else None
    for name in names:
        funcs = processors.get(name)
        if not funcs:
            continue
        for func in funcs:
            if func is _default_template_ctx_processor:
                context.update(func())
            else:
                context.update(app.ensure_sync(func)())
    if original:
        context.update(original)


#: The processors of an app that added none: the default one alone.
_ONLY_DEFAULT = [_default_template_ctx_processor]


def _update_context(app: Flask, context: dict[str, t.Any]) -> None:
    cls = type(app)
    own = _OWN_UPDATE.get(cls)
    if own is None:
        from .app import Flask

        own = _OWN_UPDATE[cls] = cls.update_template_context is Flask.update_template_context
    if not own or "update_template_context" in app.__dict__:
        app.update_template_context(context)
        return
    processors = app.template_context_processors
    if len(processors) == 1 and processors.get(None) == _ONLY_DEFAULT:
        # No processor but the default one: its values, where the caller
        # gave none (what update_template_context does, without the copies).
        _add_defaults(context)
    else:
        update_template_context(app, context)


class Environment(BaseEnvironment):
    """A Jinja environment bound to an app, loading through the app's blueprints.

    Its templates are compiled by :class:`~hermetic._template_escape.TemplateCodeGenerator`:
    Jinja's code, autoescaping plain strings without markupsafe's Python calls.
    """

    code_generator_class = TemplateCodeGenerator

    def __init__(self, app: Flask, **options: t.Any) -> None:
        if "loader" not in options:
            options["loader"] = app.create_global_jinja_loader()
        super().__init__(**options)
        self.app = app


class DispatchingJinjaLoader(BaseLoader):
    """Look a template up in the app's loader, then in each blueprint's."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def _iter_loaders(self) -> t.Iterator[tuple[Scaffold, BaseLoader]]:
        """Yield ``(owner, loader)`` for the app and every blueprint that has one."""
        if self.app.jinja_loader is not None:
            yield self.app, self.app.jinja_loader
        for blueprint in self.app.iter_blueprints():
            if blueprint.jinja_loader is not None:
                yield blueprint, blueprint.jinja_loader

    def get_source(
        self, environment: BaseEnvironment, template: str
    ) -> tuple[str, str | None, t.Callable[[], bool] | None]:
        """Return the source of the first loader that has ``template``."""
        if self.app.config["EXPLAIN_TEMPLATE_LOADING"]:
            return self._get_source_explained(environment, template)
        for _owner, loader in self._iter_loaders():
            try:
                return loader.get_source(environment, template)
            except TemplateNotFound:
                continue
        raise TemplateNotFound(template)

    def _get_source_explained(
        self, environment: BaseEnvironment, template: str
    ) -> tuple[str, str | None, t.Callable[[], bool] | None]:
        """Try every loader, log the attempts, and return the first hit."""
        from .debughelpers import explain_template_loading_attempts

        attempts = []
        found = None
        for owner, loader in self._iter_loaders():
            try:
                rv = loader.get_source(environment, template)
            except TemplateNotFound:
                rv = None
            if found is None:
                found = rv
            attempts.append((loader, owner, rv))
        explain_template_loading_attempts(self.app, template, attempts)
        if found is None:
            raise TemplateNotFound(template)
        return found

    def list_templates(self) -> list[str]:
        """List the templates of the app and all blueprints, without duplicates."""
        names: set[str] = set()
        for _owner, loader in self._iter_loaders():
            names.update(loader.list_templates())
        return list(names)


def create_jinja_environment(app: Flask) -> Environment:
    """Build the app's Jinja environment from its options and config."""
    options = dict(app.jinja_options)
    options.setdefault("autoescape", app.select_jinja_autoescape)
    if "auto_reload" not in options:
        auto_reload = app.config["TEMPLATES_AUTO_RELOAD"]
        options["auto_reload"] = app.debug if auto_reload is None else auto_reload
    rv = app.jinja_environment(app, **options)
    rv.globals.update(
        url_for=app.url_for,
        get_flashed_messages=get_flashed_messages,
        config=app.config,
        # The proxies, not the objects: the environment outlives any request.
        request=request,
        session=session,
        g=g,
    )
    # Jinja's built-in |tojson reads this policy at render time and wraps the
    # result with htmlsafe_json_dumps, so it escapes <, >, & and ' for HTML.
    rv.policies["json.dumps_function"] = app.json.dumps
    return rv


def _render(app: Flask, template: Template, context: dict[str, t.Any]) -> str:
    """Render ``template`` with the app's context, sending the render signals."""
    _update_context(app, context)
    if before_render_template.receivers:
        before_render_template.send(
            app, _async_wrapper=app.ensure_sync, template=template, context=context
        )
    rv = _render_template(template, context)
    if template_rendered.receivers:
        template_rendered.send(
            app, _async_wrapper=app.ensure_sync, template=template, context=context
        )
    return rv


def _app() -> Flask:
    ctx = _cv_app.get(None)
    if ctx is None:
        return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]  # raises
    return ctx.app


def render_template(
    template_name_or_list: str | Template | list[str | Template], **context: t.Any
) -> str:
    """Render the named template (or the first that exists of a list) with ``context``."""
    app = _app()
    # The environment made by the cached property (kept in the app's dict):
    # read there, without the property's Python __get__ on every render.
    env = app.__dict__.get("jinja_env")
    if env is None:
        env = app.jinja_env
    template = env.get_or_select_template(template_name_or_list)
    return _render(app, template, context)


def render_template_string(source: str, **context: t.Any) -> str:
    """Render a template given as source code with ``context``."""
    app = _app()
    template = app.jinja_env.from_string(source)
    return _render(app, template, context)


def _stream(app: Flask, template: Template, context: dict[str, t.Any]) -> t.Iterator[str]:
    """Render ``template`` piece by piece, sending the render signals."""
    _update_context(app, context)
    if before_render_template.receivers:
        before_render_template.send(
            app, _async_wrapper=app.ensure_sync, template=template, context=context
        )

    def generate() -> t.Iterator[str]:
        yield from template.generate(context)
        # Sent only once the whole template has been produced.
        template_rendered.send(
            app, _async_wrapper=app.ensure_sync, template=template, context=context
        )

    rv = generate()
    # Keep the request context alive while the response body is consumed.
    if _cv_request.get(None) is not None:
        rv = stream_with_context(rv)
    return rv


def stream_template(
    template_name_or_list: str | Template | list[str | Template], **context: t.Any
) -> t.Iterator[str]:
    """Render the named template as a stream of strings for a streaming response."""
    app = _app()
    template = app.jinja_env.get_or_select_template(template_name_or_list)
    return _stream(app, template, context)


def stream_template_string(source: str, **context: t.Any) -> t.Iterator[str]:
    """Render template source as a stream of strings for a streaming response."""
    app = _app()
    template = app.jinja_env.from_string(source)
    return _stream(app, template, context)
