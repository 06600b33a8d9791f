"""The shields pipeline: ordered security steps around every request.

A shield is a small object with any of three optional steps:

- ``prepare(environ)`` -- on the raw WSGI environ, before the request
  object exists (the proxy shield rewrites the client address here);
- ``before(request)`` -- after routing, before the app's ``before_request``
  hooks; raise a :class:`~hermetic.security.errors.SecurityError` to refuse
  the request, or return a response to answer it;
- ``after(request, response)`` -- after the app's ``after_request`` hooks,
  before the session is saved; returns the response.

The app holds one :class:`ShieldPipeline` (``app.shields``), ordered by each
shield's ``order`` (DESIGN.md: proxy -> host -> body limits -> rate limit ->
CSRF -> identity -> authorization -> validation; headers after). A route
skips a shield with ``@exempt("csrf")`` on its view or ``exempt=["csrf"]`` in
its route options.

The steps of each endpoint are computed once (again when the pipeline, the
shields' settings or the endpoint's view change; ``_route_steps.py``): a
shield that does not apply to a route, or has no step for it, is not called.

One lifecycle for every shield, on ``Flask`` and ``Hermetic`` alike: the
pipeline configures each shield once per app -- at the first request, or
earlier when :meth:`ShieldPipeline.configure` is called (``Hermetic``'s
``security_check`` does) -- so settings made after ``init_app`` count. A
shield with a :attr:`Shield.settings_class` gets its settings read and
checked by that class (:mod:`hermetic.settings`) into
:attr:`Shield.settings`, then its :meth:`Shield.setup` hook runs; a wrong
setting stops the app with the key named.
"""

from __future__ import annotations

import threading
import typing as t

from ..settings import Settings, SettingsError
from ._exemptions import EXEMPT_ATTR, exempt, warn_about_exemptions
from ._quiet_after import QuietAfter
from ._route_steps import RouteSteps, route_steps
from .errors import ConfigurationError

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ..wrappers import Request, Response

__all__ = [
    "exempt",
    "ORDER_AUTHORIZATION",
    "ORDER_BODY_LIMITS",
    "ORDER_CORS",
    "ORDER_CSRF",
    "ORDER_HEADERS",
    "ORDER_HOST",
    "ORDER_IDENTITY",
    "ORDER_PROXY",
    "ORDER_RATE_LIMIT",
    "ORDER_VALIDATION",
    "pipeline_for",
    "Shield",
    "ShieldPipeline",
]

#: Pipeline positions, in the order of DESIGN.md's request path.
ORDER_PROXY = 10
ORDER_HOST = 20
ORDER_CORS = 25
ORDER_BODY_LIMITS = 30
ORDER_RATE_LIMIT = 40
ORDER_CSRF = 50
ORDER_IDENTITY = 60
ORDER_AUTHORIZATION = 70
ORDER_VALIDATION = 80
ORDER_HEADERS = 90


class Shield:
    """One step of the pipeline; subclasses define the steps they need."""

    #: The name used by ``exempt`` and shown by ``hermetic routes``.
    name: t.ClassVar[str] = ""
    #: The position in the pipeline (see the ``ORDER_*`` constants).
    order: t.ClassVar[int] = 50
    #: Whether routes may skip this shield with ``exempt``.
    exemptable: t.ClassVar[bool] = True
    #: Whether ``hermetic routes`` names it (``False``: a step that refuses nothing).
    listed: t.ClassVar[bool] = True
    #: Methods its ``before`` step never acts on (CSRF: the safe ones): not called for them.
    before_skips_methods: t.ClassVar[frozenset[str]] = frozenset()
    #: The declaration of the shield's settings; ``None`` for a shield that
    #: reads its config itself in :meth:`configure`.
    settings_class: t.ClassVar[type[Settings] | None] = None
    #: The settings read for the shield's app (set by :meth:`configure`).
    settings: Settings | None = None
    #: The app this shield serves (a shield with settings serves one app).
    _app: Flask | None = None

    def init_app(self, app: Flask) -> None:
        """Add this shield to ``app``'s pipeline (making the pipeline if needed).

        The pipeline configures it before the first request. A shield with
        a :attr:`settings_class` serves one app: its settings are that
        app's, so ``init_app`` with a second app raises ``RuntimeError``.
        """
        if self.settings_class is not None:
            if self._app is not None and self._app is not app:
                kind = type(self).__name__
                raise RuntimeError(
                    f"This {kind} already serves another app; make one {kind}() per app."
                )
            self._app = app
        pipeline_for(app).add(self)

    def configure(self, app: Flask | None = None) -> None:
        """Read and check the shield's settings from the app config, then :meth:`setup`.

        Called by the pipeline once per app (again only when
        :meth:`ShieldPipeline.configure` is called). Raise
        :class:`~hermetic.security.errors.ConfigurationError` for a bad value.
        A shield without :attr:`settings_class` overrides this method.
        """
        cls = self.settings_class
        if cls is None:
            return
        app = app if app is not None else self._app
        if app is None:
            raise RuntimeError(f"Call {type(self).__name__}().init_app(app) first.")
        try:
            settings = cls.from_config(app.config)
            self.setup(app, settings)
        except SettingsError as e:
            raise ConfigurationError(str(e)) from e
        self.settings = settings

    def setup(self, app: Flask, settings: t.Any) -> None:
        """Prepare what the steps need from the checked ``settings`` (once per app).

        Raise :class:`~hermetic.settings.SettingsError` (naming the key) for
        a value the declaration could not check on its own.
        """

    def applies_to(self, endpoint: str | None, view: t.Callable[..., t.Any] | None) -> bool:
        """Tell whether the shield runs for ``endpoint`` (beyond ``exempt``)."""
        return True

    def steps_for(
        self, endpoint: str | None, view: t.Callable[..., t.Any] | None
    ) -> tuple[
        t.Callable[[Request], Response | None] | None,
        t.Callable[[Request, Response], Response] | None,
    ]:
        """Return the ``(before, after)`` steps to run for a route it applies to.

        Called once per endpoint (``None``: requests no route matched), after
        :meth:`configure`. The default is the shield's own steps; return a
        step specialised for the route (bound to its settings) or ``None``
        where the route needs no work, so its requests skip the call.
        """
        return self.before, self.after

    def quiet_after(
        self, endpoint: str | None, view: t.Callable[..., t.Any] | None
    ) -> QuietAfter | None:
        """Describe what the ``after`` step does on the usual response (``_quiet_after.py``).

        ``None`` (the default): the step must run. When every after step of
        a route has a description, one fused step answers such responses.
        """
        return None

    def quiet_before(self, endpoint: str | None, view: t.Callable[..., t.Any] | None) -> int | None:
        """Describe when ``before`` does nothing (``_plain_path.py``); ``None``: it must run.

        An ``int``: to a request with no query string, no body (no
        ``CONTENT_LENGTH`` or ``wsgi.input_terminated``) and a ``PATH_INFO``
        no longer than that. Such a request skips every step so described.
        """
        return None

    def prepare_step(self) -> t.Callable[[dict[str, t.Any]], None] | None:
        """Return the ``prepare`` step (after :meth:`configure`); ``None``: nothing to do."""
        return self.prepare

    def describe(self, endpoint: str | None, view: t.Callable[..., t.Any] | None) -> str:
        """Return the short label ``hermetic routes`` shows for this route."""
        return self.name

    # Optional steps: defined by subclasses that need them.
    prepare: t.Callable[[dict[str, t.Any]], None] | None = None
    before: t.Callable[[Request], Response | None] | None = None
    after: t.Callable[[Request, Response], Response] | None = None


def _stepless(shield: Shield) -> bool:
    """Tell whether ``shield`` never has a step, on any route."""
    return (
        shield.prepare is None
        and shield.before is None
        and shield.after is None
        and type(shield).steps_for is Shield.steps_for
        and type(shield).prepare_step is Shield.prepare_step
    )


class ShieldPipeline:
    """The ordered shields of one app, with the steps of each route cached."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._app_views = app.view_functions
        self._route_exempt: dict[str, frozenset[str]] = {}
        self._shields: list[Shield] = []
        #: The shields not configured yet (configured at the first request).
        self._pending: list[Shield] = []
        # Concurrent first requests configure the shields once.
        self._configuring = threading.Lock()
        #: The ``prepare`` steps, run on the raw environ of every request.
        self.prepare_steps: tuple[t.Callable[[dict[str, t.Any]], None], ...] = ()
        self._routes: dict[str | None, RouteSteps] = {}
        #: ``False`` once every shield is configured and none has a step:
        #: the app skips the pipeline.
        self.active = False
        #: ``active`` with no ``prepare`` step (configured, no proxy to trust):
        #: ``Hermetic.wsgi_app`` goes to the request path after one test.
        self.active_unprepared = False

    def __iter__(self) -> t.Iterator[Shield]:
        return iter(self._shields)

    def __len__(self) -> int:
        return len(self._shields)

    def get(self, name: str) -> Shield | None:
        """Return the shield called ``name``, or ``None``."""
        return next((shield for shield in self._shields if shield.name == name), None)

    def add(self, shield: Shield) -> None:
        """Add a shield, replacing one of the same name."""
        if not shield.name:
            raise ValueError(f"{type(shield).__name__} needs a 'name' to join the pipeline.")
        self._shields = [s for s in self._shields if s.name != shield.name]
        self._shields.append(shield)
        self._shields.sort(key=lambda s: s.order)
        self._pending = [s for s in self._pending if s.name != shield.name]
        self._pending.append(shield)
        self._changed()

    def remove(self, name: str) -> None:
        """Take the shield called ``name`` out of the pipeline."""
        self._shields = [s for s in self._shields if s.name != name]
        self._pending = [s for s in self._pending if s.name != name]
        self._changed()

    def _changed(self) -> None:
        """Recompute the ``prepare`` steps and forget the routes' steps."""
        if self._pending:
            # Until every shield is configured, the one prepare step
            # configures them first: afterwards a request pays nothing for it.
            self.prepare_steps = (self._configure_then_prepare,)
        else:
            steps = (s.prepare_step() for s in self._shields)
            self.prepare_steps = tuple(step for step in steps if step is not None)
        self._routes.clear()
        self.active = bool(self._pending) or not all(map(_stepless, self._shields))
        self.active_unprepared = self.active and not self.prepare_steps

    def configure(self, app: Flask | None = None) -> list[str]:
        """Configure every shield now (again); return the configuration problems.

        ``Hermetic.security_check`` calls it before the first request; a
        plain ``Flask`` app's pipeline configures its shields at the first
        request (:meth:`configure_pending`).
        """
        with self._configuring:
            return self._configure(list(self._shields), app if app is not None else self._app)

    def configure_pending(self) -> None:
        """Configure the shields not configured yet; raise ``ConfigurationError`` on problems."""
        if not self._pending:
            return
        with self._configuring:
            if not self._pending:
                return  # another thread did it meanwhile
            problems = self._configure(list(self._pending), self._app)
        if problems:
            raise ConfigurationError(
                "hermetic refuses to start:\n" + "\n".join(f"- {p}" for p in problems)
            )

    def _configure(self, shields: list[Shield], app: Flask) -> list[str]:
        problems = []
        failed = []
        for shield in shields:
            try:
                shield.configure(app)
            except (ConfigurationError, SettingsError) as e:
                problems.append(f"{shield.name}: {e}")
                failed.append(shield)
        self._pending = failed
        self._changed()
        warn_about_exemptions(self, Shield)
        return problems

    def _configure_then_prepare(self, environ: dict[str, t.Any]) -> None:
        self.configure_pending()
        for step in self.prepare_steps:
            step(environ)

    def exempt_route(self, endpoint: str, names: str | t.Iterable[str]) -> None:
        """Skip the named shields for ``endpoint`` (the ``exempt=`` route option)."""
        if isinstance(names, str):
            names = [names]
        names = frozenset(names)
        if not all(isinstance(name, str) and name for name in names):
            raise TypeError(
                f"exempt= names shields to skip, for example exempt=['csrf'], got {sorted(map(repr, names))}."
            )
        self._route_exempt[endpoint] = self._route_exempt.get(endpoint, frozenset()) | names
        self._routes.pop(endpoint, None)

    def exempted(self, endpoint: str | None) -> frozenset[str]:
        """Return the names of the shields ``endpoint`` skips."""
        if endpoint is None:
            return frozenset()
        view = self._app_views.get(endpoint)
        names = frozenset(getattr(view, EXEMPT_ATTR, ()))
        return names | self._route_exempt.get(endpoint, frozenset())

    def shields_for(self, endpoint: str | None) -> list[Shield]:
        """Return the shields that run for ``endpoint``, in order."""
        if self._pending:
            self.configure_pending()
        view = self._app_views.get(endpoint) if endpoint is not None else None
        skipped = self.exempted(endpoint)
        return [
            s
            for s in self._shields
            if not (s.exemptable and s.name in skipped) and s.applies_to(endpoint, view)
        ]

    def _steps(self, endpoint: str | None) -> RouteSteps:
        """Return the steps of ``endpoint``, computing them on first use."""
        view = self._app_views.get(endpoint) if endpoint is not None else None
        steps = self._routes.get(endpoint)
        if steps is not None and steps.view is view:
            return steps
        steps = self._routes[endpoint] = route_steps(self.shields_for(endpoint), endpoint, view)
        return steps

    def describe(self, endpoint: str | None) -> str:
        """Return the comma-separated labels of the shields of ``endpoint``."""
        view = self._app_views.get(endpoint) if endpoint is not None else None
        shields = [s for s in self.shields_for(endpoint) if s.listed]
        return ", ".join(s.describe(endpoint, view) for s in shields)

    # -- the request path (called by the app) ----------------------------

    def request_steps(self, request: Request) -> RouteSteps:
        """Return the steps of the route ``request`` matched (``None``'s when none)."""
        rule = request.url_rule
        endpoint = rule.endpoint if rule is not None else None
        steps = self._routes.get(endpoint)
        if steps is None or steps.view is not self._app_views.get(endpoint):  # type: ignore[arg-type]  # None (no rule) is a valid key
            steps = self._steps(endpoint)
        return steps

    def before(self, request: Request) -> Response | None:
        """Run the ``before`` steps of the matched route; a response ends the request."""
        steps = self.request_steps(request)
        for step in steps.before_by_method.get(request.method, steps.before):
            rv = step(request)
            if rv is not None:
                return rv
        return None

    def after(self, request: Request, response: Response) -> Response:
        """Run the ``after`` steps of the matched route, innermost first."""
        steps = self.request_steps(request)
        quiet = steps.quiet_after  # the usual response: the steps fused
        if quiet is not None and (done := quiet(request, response)) is not None:
            return done
        for step in steps.after:
            response = step(request, response)
        return response


def pipeline_for(app: Flask) -> ShieldPipeline:
    """Return ``app``'s pipeline, making an empty one on first use."""
    if app.shields is None:
        app.shields = ShieldPipeline(app)
    return app.shields
