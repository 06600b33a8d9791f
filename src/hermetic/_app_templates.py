"""Templates of the application: the Jinja environment, autoescaping, filters,
tests and globals.

Part of :class:`hermetic._app_base.App` (Flask's ``flask.sansio.app.App``),
kept apart to keep each module readable in one sitting.
"""

from __future__ import annotations

import typing as t

from . import templating
from .scaffold import registering_decorator, setupmethod
from .templating import Environment

if t.TYPE_CHECKING:  # pragma: no cover
    from .app import Flask

T = t.TypeVar("T", bound=t.Callable[..., t.Any])

_AUTOESCAPED_SUFFIXES = (".html", ".htm", ".xml", ".xhtml", ".svg")


class AppTemplateMixin:
    """Create and extend the Jinja environment; mixed into :class:`~hermetic._app_base.App`.

    Every instance is a :class:`hermetic.Flask` (``App`` is only its base), hence
    the ``t.cast("Flask", self)`` for the helpers typed with ``Flask``.
    """

    if t.TYPE_CHECKING:  # pragma: no cover
        # App.jinja_env (a cached property) and App._check_setup_finished.
        jinja_env: Environment

        def _check_setup_finished(self, f_name: str) -> None: ...

    def create_jinja_environment(self) -> Environment:
        """Create the Jinja environment from :attr:`jinja_options` and the app."""
        return templating.create_jinja_environment(t.cast("Flask", self))

    def create_global_jinja_loader(self) -> templating.DispatchingJinjaLoader:
        """Create the loader that looks in the app's, then each blueprint's, templates."""
        return templating.DispatchingJinjaLoader(t.cast("Flask", self))

    def select_jinja_autoescape(self, filename: str | None) -> bool:
        """Autoescape HTML, XML and SVG templates, and templates from strings."""
        if filename is None:
            return True
        return filename.endswith(_AUTOESCAPED_SUFFIXES)

    def update_template_context(self, context: dict[str, t.Any]) -> None:
        """Add the context processors' variables; the caller's values win."""
        templating.update_template_context(t.cast("Flask", self), context)

    @setupmethod
    def template_filter(self, name: str | None = None) -> t.Callable[[T], T]:
        """Register the decorated function as a Jinja filter."""
        # Typed as in Flask; a bare decorator (no name) also works at run time.
        return t.cast("t.Callable[[T], T]", registering_decorator(self.add_template_filter, name))

    @setupmethod
    def add_template_filter(self, f: t.Callable[..., t.Any], name: str | None = None) -> None:
        """Register a Jinja filter, named after the function by default."""
        self.jinja_env.filters[name or f.__name__] = f

    @setupmethod
    def template_test(self, name: str | None = None) -> t.Callable[[T], T]:
        """Register the decorated function as a Jinja test."""
        # Typed as in Flask; a bare decorator (no name) also works at run time.
        return t.cast("t.Callable[[T], T]", registering_decorator(self.add_template_test, name))

    @setupmethod
    def add_template_test(self, f: t.Callable[..., bool], name: str | None = None) -> None:
        """Register a Jinja test, named after the function by default."""
        self.jinja_env.tests[name or f.__name__] = f

    @setupmethod
    def template_global(self, name: str | None = None) -> t.Callable[[T], T]:
        """Register the decorated function as a Jinja global."""
        # Typed as in Flask; a bare decorator (no name) also works at run time.
        return t.cast("t.Callable[[T], T]", registering_decorator(self.add_template_global, name))

    @setupmethod
    def add_template_global(self, f: t.Callable[..., t.Any], name: str | None = None) -> None:
        """Register a Jinja global, named after the function by default."""
        self.jinja_env.globals[name or f.__name__] = f
