"""``RateLimitShield``: the route's limits before the view, headers after."""

from __future__ import annotations

import functools
import math
import typing as t
from operator import itemgetter

from limits import RateLimitItem
from limits.strategies import FixedWindowRateLimiter, RateLimiter

from ..._headers import live_items, setdefault_headers
from ..audit import audit
from ..shields import ORDER_RATE_LIMIT, Shield
from ._declare import KEY_IP, LIMITS_ATTR, RateLimitSpec, key_func, make_spec
from ._limiter import (
    REASON_EXCEEDED,
    Counter,
    Limiter,
    RateLimitExceeded,
    _deprecated_clock,
    check_config,
    limiter_for,
)
from ._settings import RateLimitSettings

if t.TYPE_CHECKING:  # pragma: no cover
    from ...app import Flask
    from ...wrappers import Request, Response

#: The environ key carrying the ``RateLimit-*`` headers to the after step.
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
    #: ``str(item.amount)``, for the ``RateLimit-Limit`` header.
    limit: str
    #: The one-call counter (fixed window), else ``None``: the library's calls.
    counter: Counter | None
    #: The library's storage key around the method and the key value.
    prefix: str
    suffix: str
    #: ``item.amount``, the hits a window allows.
    amount: int
    #: The ``RateLimit-Limit`` header, made once.
    limit_header: tuple[str, str]
    #: The storage key up to the key value when every method shares the
    #: counter (``prefix + "*/"``), else ``None``: the method goes in it.
    head: str | None


#: The ``RateLimit-*`` header names.
_LIMIT, _REMAINING, _RESET = "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"
_LOWER_NAMES = frozenset(name.lower() for name in (_LIMIT, _REMAINING, _RESET))
#: Header names, as spelt, known to be none of the three in any case. Every
#: response of a limited route is checked for a view's own ``RateLimit-*``
#: header; lower-casing each name costs far more than finding the usual
#: spellings here. Bounded: names are the app's, but a name made per request
#: must not grow it.
_OTHER_NAMES: set[str] = set()
_OTHER_NAMES_MAX = 256
_name_of = itemgetter(0)


def _none_of_ours(items: list[tuple[str, str]]) -> bool:
    """Tell whether no name in ``items`` is a ``RateLimit-*`` name of ours, in any case."""
    if _OTHER_NAMES.issuperset(map(_name_of, items)):
        return True
    found = False
    for name, _ in items:
        if name.lower() in _LOWER_NAMES:
            found = True
        elif type(name) is str and len(_OTHER_NAMES) < _OTHER_NAMES_MAX:
            _OTHER_NAMES.add(name)
    return not found


def _bind(limiter: Limiter, spec: RateLimitSpec, item: RateLimitItem, endpoint: str) -> _Bound:
    """Prepare one limit of a route: its key, strategy and (when possible) one-call counter."""
    scope = spec.scope or endpoint
    strategy = limiter.strategy(spec.strategy)
    prefix = f"{item.namespace}/{scope}/"
    suffix = f"/{item.amount}/{item.multiples}/{item.GRANULARITY.name}"
    count = None
    # The storage key is built here as ``limits`` builds it (so counts,
    # ``reset`` and the library's own calls all meet on one key); the
    # shortcut is used only when both give the same key.
    if (
        type(strategy) is FixedWindowRateLimiter
        and item.key_for(scope, "GET", "ip:probe") == f"{prefix}GET/ip:probe{suffix}"
    ):
        count = limiter.fixed_window_counter(item.get_expiry())
    return _Bound(
        item,
        key_func(spec.key),
        scope,
        spec.per_method,
        strategy,
        str(item.amount),
        count,
        prefix,
        suffix,
        item.amount,
        (_LIMIT, str(item.amount)),
        None if spec.per_method else f"{prefix}*/",
    )


class RateLimitShield(Shield):
    """Count requests per route and client; refuse the excess with 429.

    Routes declare limits with :func:`rate_limit`; others get
    ``RATELIMIT_DEFAULT``. Settings: :class:`RateLimitSettings` (the
    ``RATELIMIT_*`` keys, read once per app by the pipeline), and the
    storage's timeout and circuit breaker from ``HERMETIC_STORE_TIMEOUT`` and
    ``HERMETIC_STORE_COOLDOWN`` (shared with the app's store when both use
    one Redis). ``RATELIMIT_STORAGE_URI`` defaults to ``HERMETIC_REDIS_URL``
    when set, else ``"memory://"`` (one process); ``REDIS_URL`` is never read.

    :param now: the clock, epoch seconds, default :func:`time.time` (tests
        pass a :class:`~hermetic.testing.ManualClock`); ``clock=`` is its
        deprecated name.
    """

    name = "ratelimit"
    order = ORDER_RATE_LIMIT
    settings_class = RateLimitSettings
    settings: RateLimitSettings

    def __init__(
        self,
        *,
        now: t.Callable[[], float] | None = None,
        clock: t.Callable[[], float] | None = None,
    ) -> None:
        if clock is not None:
            now = _deprecated_clock(clock, "RateLimitShield")
        self._now = now
        self._default: RateLimitSpec | None = None
        self._limiter: Limiter | None = None
        self._routes: dict[str, tuple[_Bound, ...]] = {}

    def init_app(self, app: Flask) -> None:
        """Check the ``RATELIMIT_*`` settings and join ``app``'s pipeline."""
        check_config(app.config)
        super().init_app(app)

    def setup(self, app: Flask, settings: RateLimitSettings) -> None:
        """Build (or find) the app's limiter and the default limit."""
        self._limiter = limiter_for(app, now=self._now)
        default = settings.default
        self._default = None if default is None else make_spec(default, KEY_IP)
        self._routes.clear()

    @property
    def limiter(self) -> Limiter:
        """The app's :class:`Limiter` (storage and strategies)."""
        if self._limiter is None:
            self.configure()
        return t.cast(Limiter, self._limiter)

    def _specs(self, endpoint: str | None, view: t.Any) -> tuple[RateLimitSpec, ...]:
        if endpoint is None or view is None or not self.settings.enabled:
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
            _bind(limiter, spec, item, t.cast(str, endpoint))
            for spec in specs
            for item in spec.items
        )
        return True

    def describe(self, endpoint: str | None, view: t.Callable[..., t.Any] | None) -> str:
        """Return ``ratelimit(10/minute by ip)`` for ``hermetic routes``."""
        if self._limiter is None:
            self.configure()
        specs = self._specs(endpoint, view)
        return f"{self.name}({'; '.join(s.label() for s in specs)})" if specs else self.name

    def steps_for(
        self, endpoint: str | None, view: t.Callable[..., t.Any] | None
    ) -> tuple[
        t.Callable[[Request], Response | None] | None,
        t.Callable[[Request, Response], Response] | None,
    ]:
        """Return a ``before`` bound to the route's limits, and ``after`` when headers are on."""
        bounds = self._routes.get(endpoint) if endpoint is not None else None
        if not bounds:
            return None, None
        return functools.partial(self._count, bounds), self.after if self.settings.headers else None

    def before(self, request: Request) -> Response | None:
        """Count the request against each of the route's limits; refuse the excess."""
        rule = request.url_rule
        bounds = self._routes.get(rule.endpoint) if rule is not None else None
        if not bounds:
            return None
        return self._count(bounds, request)

    def _count(self, bounds: tuple[_Bound, ...], request: Request) -> Response | None:
        """Count the request against ``bounds``; raise :class:`RateLimitExceeded` past one."""
        limiter: Limiter = self._limiter  # type: ignore[assignment]  # set by configure
        headers = self.settings.headers
        method = request.method
        # The tightest limit so far: remaining, seconds to its reset, the bound.
        tightest: tuple[int, float, _Bound] | None = None
        refused: tuple[_Bound, str, float] | None = None
        for bound in bounds:
            # Keys are computed outside the storage's try: an error in a key
            # function is a bug to see, not a storage outage.
            value = bound.key(request)
            count = bound.counter
            try:
                limiter.check_breaker()
                if count is not None:
                    # One storage call: the hit's count and the window's reset.
                    head = bound.head
                    hits, reset_in = count(
                        f"{bound.prefix}{method}/{value}{bound.suffix}"
                        if head is None
                        else f"{head}{value}{bound.suffix}"
                    )
                    remaining = bound.amount - hits
                    allowed = remaining >= 0
                else:
                    ids = (bound.scope, method if bound.per_method else "*", value)
                    allowed = bound.strategy.hit(bound.item, *ids)
                    if allowed and not headers:
                        continue  # No header to make: skip the stats call.
                    stats = bound.strategy.get_window_stats(bound.item, *ids)
                    remaining, reset_in = stats.remaining, stats.reset_time - limiter.now()
            except limiter.storage_errors as exc:
                # Open: allow (no headers: nothing was counted); closed: 503.
                limiter.storage_failed(exc)
                return None
            if not allowed:
                refused = (bound, value, reset_in)
                break
            if headers and (tightest is None or remaining < tightest[0]):
                tightest = (remaining, reset_in, bound)
        limiter.storage_ok()
        if refused is not None:
            bound, value, reset_in = refused
            retry = str(max(1, math.ceil(reset_in)))
            if headers:
                request.environ[STATE_KEY] = (
                    (_LIMIT, bound.limit),
                    (_REMAINING, "0"),
                    (_RESET, retry),
                )
            item = bound.item
            audit("ratelimit", reason=REASON_EXCEEDED, limit=str(item), key=value)
            raise RateLimitExceeded(headers={"Retry-After": retry}, limit=str(item), key=value)
        if tightest is not None:
            remaining, reset_in, bound = tightest
            request.environ[STATE_KEY] = (
                bound.limit_header,
                (_REMAINING, str(remaining)),
                (_RESET, str(max(0, math.ceil(reset_in)))),
            )
        return None

    def after(self, request: Request, response: Response) -> Response:
        """Add the ``RateLimit-*`` headers of the tightest limit (a view's own win)."""
        state = request.environ.get(STATE_KEY)
        if state is None:  # no limit counted, or RATELIMIT_HEADERS is off
            return response
        # The values are digits made in ``before``: added without checks.
        items = live_items(response.headers)
        if items is not None and _none_of_ours(items):
            items.extend(state)  # the usual case: the view set none of them
        else:
            setdefault_headers(response.headers, state)
        return response
