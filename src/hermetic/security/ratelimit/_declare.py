"""Per-route limit declarations, and the keys that tell clients apart."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import typing as t

from limits import RateLimitItem
from limits.strategies import STRATEGIES
from limits.util import parse_many

from ..errors import ConfigurationError, SecurityError

if t.TYPE_CHECKING:  # pragma: no cover
    from ...wrappers import Request

F = t.TypeVar("F", bound=t.Callable[..., t.Any])
KeyFunc = t.Callable[["Request"], "str | None"]

#: The view attribute holding a route's :class:`RateLimitSpec` tuple.
LIMITS_ATTR = "_hermetic_rate_limits"
#: The WSGI environ key where the identity layer puts the user's id.
USER_ID_KEY = "hermetic.user_id"
#: Key kinds accepted by :func:`rate_limit`.
KEY_IP = "ip"
KEY_USER = "user"
KEY_SUBJECT = "subject"
#: Strategy names (``RATELIMIT_STRATEGY`` and ``strategy=``).
STRATEGY_NAMES = tuple(STRATEGIES)
#: Longest key value kept as is; longer values are hashed.
MAX_KEY_LENGTH = 128


@functools.lru_cache(maxsize=256)
def parse_limits(text: str) -> tuple[RateLimitItem, ...]:
    """Parse ``"10/minute"`` or ``"10/minute;100/hour"``, or raise ``ConfigurationError``."""
    if not isinstance(text, str):
        raise ConfigurationError(f"A rate limit is a string such as '10/minute', got {text!r}.")
    try:
        items = tuple(parse_many(text))
    except ValueError:
        raise ConfigurationError(
            f"{text!r} is not a rate limit. Write it as '10/minute',"
            " '100 per hour' or several separated by ';' ('10/minute;100/hour')."
        ) from None
    if any(item.amount < 1 for item in items):
        raise ConfigurationError(
            f"{text!r} allows no request at all; a rate limit needs an amount of at least 1."
            " To close a route, remove it or guard it with a policy."
        )
    return items


def check_strategy(name: str | None, option: str = "strategy") -> str | None:
    """Return ``name`` when it is a strategy of ``limits``, else raise."""
    if name is not None and name not in STRATEGIES:
        raise ConfigurationError(
            f"{option} {name!r} is not a rate limiting strategy;"
            f" use one of {', '.join(repr(s) for s in STRATEGY_NAMES)}."
        )
    return name


@dataclasses.dataclass(frozen=True)
class RateLimitSpec:
    """One ``@rate_limit`` declaration: limits, key, strategy, scope."""

    text: str
    items: tuple[RateLimitItem, ...]
    key: str | KeyFunc = KEY_IP
    strategy: str | None = None
    per_method: bool = False
    scope: str | None = None

    def label(self) -> str:
        """Return ``"10/minute by ip"`` for ``hermetic routes``."""
        key = self.key if isinstance(self.key, str) else getattr(self.key, "__name__", "key")
        return f"{self.text} by {key}"


def make_spec(
    limit: str,
    key: str | KeyFunc = KEY_IP,
    strategy: str | None = None,
    per_method: bool = False,
    scope: str | None = None,
) -> RateLimitSpec:
    """Check a declaration's arguments and return its :class:`RateLimitSpec`."""
    items = parse_limits(limit)
    if not callable(key) and key not in KEY_FUNCS:
        raise ConfigurationError(
            f"key={key!r} is not a rate limit key; use 'ip', 'user', 'subject'"
            " or a function of the request that returns a string."
        )
    if scope is not None and (not isinstance(scope, str) or not scope):
        raise ConfigurationError(f"scope must be a non-empty string, got {scope!r}.")
    return RateLimitSpec(limit, items, key, check_strategy(strategy), bool(per_method), scope)


def rate_limit(
    limit: str,
    *,
    key: str | KeyFunc = KEY_IP,
    strategy: str | None = None,
    per_method: bool = False,
    scope: str | None = None,
) -> t.Callable[[F], F]:
    """Limit how often a client may call the decorated view.

    Stack several to combine limits (``"10/minute"`` and ``"100/day"``); a
    route with its own limits does not get ``RATELIMIT_DEFAULT``.

    :param limit: ``"10/minute"``, ``"100 per hour"``, or several joined by ``;``.
    :param key: who is counted: ``"ip"`` (default; the client address after
        the proxy shield), ``"user"`` (the logged-in user's id, else the IP),
        ``"subject"`` (the token's subject, else the IP), or a function of
        the request returning a string (``None`` falls back to the IP).
    :param strategy: ``"fixed-window"``, ``"moving-window"`` or
        ``"sliding-window-counter"``; default ``None``: ``RATELIMIT_STRATEGY``.
    :param per_method: count each HTTP method apart, default ``False``.
    :param scope: the counter's name, default ``None``: the endpoint. Give
        routes the same scope to share one counter (login and password reset).
    """
    spec = make_spec(limit, key, strategy, per_method, scope)

    def decorator(view: F) -> F:
        # Decorators apply bottom-up; prepend to keep the order of the source.
        current = getattr(view, LIMITS_ATTR, ())
        setattr(view, LIMITS_ATTR, (spec, *current))
        return view

    return decorator


# -- keys ---------------------------------------------------------------


def bounded(value: str) -> str:
    """Return ``value``, or a hash of it when longer than ``MAX_KEY_LENGTH``."""
    # SECURITY: key values come from clients (tokens, headers); hash long
    # ones so no client can grow the storage's keys without bound.
    if len(value) > MAX_KEY_LENGTH:
        return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return value


def ip_key(request: Request) -> str:
    """Count by client address (``REMOTE_ADDR`` as the proxy shield left it)."""
    return "ip:" + (request.remote_addr or "unknown")


def _current_user_id() -> str | None:
    from ..auth._current_user import get_user

    try:
        user = get_user()
    except SecurityError:
        # Bad credentials: count the request by IP; the identity and
        # authorization steps refuse it after this shield.
        return None
    if not getattr(user, "is_authenticated", False):
        return None
    user_id = user.get_id()
    return None if user_id is None else str(user_id)


def user_key(request: Request) -> str:
    """Count by the logged-in user's id, or by IP for anonymous clients."""
    user_id = request.environ.get(USER_ID_KEY)
    if user_id is None:
        user_id = _current_user_id()
    if user_id is None:
        return ip_key(request)
    return "user:" + bounded(str(user_id))


def _token_subject() -> str | None:
    from ..jwt.provider import current_principal

    try:
        principal = current_principal()
    except SecurityError:
        # SECURITY: an invalid token is counted by IP (so token guessing is
        # limited too); the identity step refuses it with 401 afterwards.
        return None
    return None if principal is None else str(principal.sub)


def subject_key(request: Request) -> str:
    """Count by the bearer token's subject (``sub``), else the identity, else the IP."""
    subject = _token_subject()
    if subject is None:
        subject = request.environ.get(USER_ID_KEY)
    if subject is None:
        return ip_key(request)
    return "sub:" + bounded(str(subject))


def custom_key(func: KeyFunc) -> t.Callable[[Request], str]:
    """Wrap a key function: bound its value, fall back to the IP on ``None``."""

    def key(request: Request) -> str:
        value = func(request)
        # SECURITY: a missing value (no API key header, ...) must not mean
        # "unlimited"; such requests share their IP's counter instead.
        if value is None or value == "":
            return ip_key(request)
        return "k:" + bounded(str(value))

    return key


KEY_FUNCS: dict[str, t.Callable[[Request], str]] = {
    KEY_IP: ip_key,
    KEY_USER: user_key,
    KEY_SUBJECT: subject_key,
}


def key_func(key: str | KeyFunc) -> t.Callable[[Request], str]:
    """Return the function computing a request's key value for ``key``."""
    if isinstance(key, str):
        return KEY_FUNCS[key]
    return custom_key(key)
