"""``RateLimitShield``: the route's limits before the view, headers after."""

from __future__ import annotations

import math
import typing as t

from limits import RateLimitItem
from limits.strategies import RateLimiter

from ..audit import audit
from ..shields import ORDER_RATE_LIMIT, Shield
from ._declare import KEY_IP, LIMITS_ATTR, RateLimitSpec, key_func, make_spec
from ._limiter import REASON_EXCEEDED, Limiter, RateLimitExceeded, check_config, limiter_for

if t.TYPE_CHECKING:  # pragma: no cover
    from ...app import Flask
    from ...wrappers import Request, Response

#: The environ key carrying ``(limit, remaining, reset)`` to the after step.
STATE_KEY = "hermetic.ratelimit"
#: Endpoints the default limit leaves alone.
_DEFAULT_SKIPS = frozenset({"static"})


class _Bound(t.NamedTuple):
    """One limit of one route, ready to count."""

    item: RateLimitItem
    key: t.Callable[[Request], str]
    scope: str
    per_method: bool
    strategy: RateLimiter


class RateLimitShield(Shield):
    """Count requests per route and client; refuse the excess with 429.

    Routes declare limits with :func:`rate_limit`; others get
    ``RATELIMIT_DEFAULT``. Configuration, read on the first request (or
    :meth:`configure`):

    - ``RATELIMIT_ENABLED`` -- default ``True``.
    - ``RATELIMIT_DEFAULT`` -- default ``None`` (no limit); for example
      ``"100/minute"``, counted per route and client IP.
    - ``RATELIMIT_STRATEGY`` -- default ``"fixed-window"``; or
      ``"moving-window"``, ``"sliding-window-counter"``.
    - ``RATELIMIT_STORAGE_URI`` -- default ``None``: ``HERMETIC_REDIS_URL``
      or ``REDIS_URL`` when set, else ``"memory://"`` (one process).
    - ``RATELIMIT_STORAGE_OPTIONS`` -- default ``{}``; passed to the storage
      (``key_prefix``, default ``"hermetic-ratelimit"`` for Redis; timeouts,
      default 1 second).
    - ``RATELIMIT_ON_STORAGE_ERROR`` -- default ``"closed"``: 503 while the
      storage is down; ``"open"`` allows requests (audited once per outage).
    - ``RATELIMIT_HEADERS`` -- default ``True``: ``RateLimit-Limit``,
      ``RateLimit-Remaining``, ``RateLimit-Reset`` (seconds) on limited routes.

    :param clock: epoch seconds, default :func:`time.time` (tests pass a
        :class:`ManualClock`).
    """

    name = "ratelimit"
    order = ORDER_RATE_LIMIT

    def __init__(self, *, clock: t.Callable[[], float] | None = None) -> None:
        self._app: Flask | None = None
        self._clock = clock
        self._configured = False
        self._enabled = True
        self._headers = True
        self._default: RateLimitSpec | None = None
        self._limiter: Limiter | None = None
        self._routes: dict[str, tuple[_Bound, ...]] = {}

    def init_app(self, app: Flask) -> None:
        """Check the ``RATELIMIT_*`` settings and join ``app``'s pipeline."""
        if self._app is not None and self._app is not app:
            raise RuntimeError("This RateLimitShield already serves another app; make one per app.")
        self._app = app
        check_config(app.config)
        self._configured = False
        super().init_app(app)

    def configure(self, app: Flask | None = None) -> None:
        """Read the configuration now (otherwise done on the first request)."""
        app = app or t.cast("Flask", self._app)
        config = app.config
        self._limiter = limiter_for(app, clock=self._clock)
        self._enabled = bool(config.get("RATELIMIT_ENABLED", True))
        self._headers = bool(config.get("RATELIMIT_HEADERS", True))
        default = config.get("RATELIMIT_DEFAULT")
        self._default = None if default is None else make_spec(default, KEY_IP)
        self._routes.clear()
        self._configured = True

    @property
    def limiter(self) -> Limiter:
        """The app's :class:`Limiter` (storage and strategies)."""
        if not self._configured:
            self.configure()
        return t.cast(Limiter, self._limiter)

    def _specs(self, endpoint: str | None, view: t.Any) -> tuple[RateLimitSpec, ...]:
        if endpoint is None or view is None or not self._enabled:
            return ()
        specs: tuple[RateLimitSpec, ...] = getattr(view, LIMITS_ATTR, ())
        if specs:
            return specs
        if self._default is not None and endpoint not in _DEFAULT_SKIPS:
            return (self._default,)
        return ()

    def applies_to(self, endpoint: str | None, view: t.Callable[..., t.Any] | None) -> bool:
        """Run only on routes with a limit (their own, or the default)."""
        limiter = self.limiter
        specs = self._specs(endpoint, view)
        if not specs:
            return False
        self._routes[t.cast(str, endpoint)] = tuple(
            _Bound(
                item,
                key_func(spec.key),
                spec.scope or t.cast(str, endpoint),
                spec.per_method,
                limiter.strategy(spec.strategy),
            )
            for spec in specs
            for item in spec.items
        )
        return True

    def describe(self, endpoint: str | None, view: t.Callable[..., t.Any] | None) -> str:
        """Return ``ratelimit(10/minute by ip)`` for ``hermetic routes``."""
        if not self._configured:
            self.configure()
        specs = self._specs(endpoint, view)
        return f"{self.name}({'; '.join(s.label() for s in specs)})" if specs else self.name

    def before(self, request: Request) -> Response | None:  # type: ignore[override]
        """Count the request against each of the route's limits; refuse the excess."""
        rule = request.url_rule
        bounds = self._routes.get(rule.endpoint) if rule is not None else None
        if not bounds:
            return None
        limiter = t.cast(Limiter, self._limiter)
        headers = self._headers
        method = request.method
        tightest: tuple[int, float, int] | None = None  # remaining, reset time, limit
        refused: tuple[RateLimitItem, str, float] | None = None
        for bound in bounds:
            # Keys are computed outside the storage's try: an error in a key
            # function is a bug to see, not a storage outage.
            value = bound.key(request)
            ids = (bound.scope, method if bound.per_method else "*", value)
            item = bound.item
            try:
                allowed = bound.strategy.hit(item, *ids)
                stats = (
                    bound.strategy.get_window_stats(item, *ids) if headers or not allowed else None
                )
            except limiter.storage_errors as exc:
                # Open: allow (no headers: nothing was counted); closed: 503.
                limiter.storage_failed(exc)
                return None
            if not allowed:
                refused = (item, value, t.cast(t.Any, stats).reset_time)
                break
            if stats is not None and (tightest is None or stats.remaining < tightest[0]):
                tightest = (stats.remaining, stats.reset_time, item.amount)
        limiter.storage_ok()
        if refused is not None:
            item, value, reset_time = refused
            retry = limiter.retry_after(reset_time)
            request.environ[STATE_KEY] = (item.amount, 0, retry)
            audit("ratelimit", reason=REASON_EXCEEDED, limit=str(item), key=value)
            raise RateLimitExceeded(headers={"Retry-After": str(retry)}, limit=str(item), key=value)
        if tightest is not None:
            remaining, reset_time, amount = tightest
            reset = max(0, math.ceil(reset_time - limiter.clock()))
            request.environ[STATE_KEY] = (amount, remaining, reset)
        return None

    def after(self, request: Request, response: Response) -> Response:  # type: ignore[override]
        """Add the ``RateLimit-*`` headers of the tightest limit."""
        state = request.environ.get(STATE_KEY)
        if state is not None and self._headers:
            amount, remaining, reset = state
            headers = response.headers
            headers.setdefault("RateLimit-Limit", str(amount))
            headers.setdefault("RateLimit-Remaining", str(remaining))
            headers.setdefault("RateLimit-Reset", str(reset))
        return response
