"""The per-request plumbing of encrypted sessions, kept cheap.

- :class:`SessionState` holds an app's session settings, read from its
  config once and kept until one of them changes;
- :class:`OpenedCookies` remembers the cookies recently opened, so a cookie
  sent again skips its decryption and decoding (re-exported from
  :mod:`._opened_cookies`);
- :func:`cookie_value` finds a cookie in the ``Cookie`` header, scanned
  once per request without Werkzeug's full parser, with exactly Werkzeug's
  result (re-exported from :mod:`._cookie_scan`);
- :func:`loads_payload` reads a session payload with plain :func:`json.loads`
  when it holds no tagged value, and with the tagged-JSON serializer
  otherwise;
- :func:`vary_cookie` adds ``Cookie`` to ``Vary`` without building
  Werkzeug's header set when it can (re-exported from :mod:`._vary_cookie`).
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import typing as t

from ..config import ConfigAttribute
from ..json.provider import DefaultJSONProvider
from ..json.tag import TaggedJSONSerializer
from ._cookie_scan import RECENT_SCAN_MAX_LENGTH as RECENT_SCAN_MAX_LENGTH
from ._cookie_scan import RECENT_SCANS_SIZE as RECENT_SCANS_SIZE
from ._cookie_scan import SCANNED_KEY as SCANNED_KEY
from ._cookie_scan import _recent_scans as _recent_scans
from ._cookie_scan import cookie_value as cookie_value
from ._cookie_scan import scannable
from ._hermetic_session import opened_attrs
from ._opened_cookies import OpenedCookies as OpenedCookies
from ._opened_cookies import Remembered as Remembered
from ._session_settings import session_settings
from ._vary_cookie import _VARY_SPELLINGS as _VARY_SPELLINGS
from ._vary_cookie import vary_cookie as vary_cookie

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask

#: Key-ring purposes: the cookie, and the data kept in the store.
COOKIE_PURPOSE = "session"
DATA_PURPOSE = "session-data"
#: Where an interface keeps an app's :class:`SessionState`.
SETTINGS_KEY = "hermetic.session.settings"
#: The config keys the settings are computed from: a change is seen at once.
SETTING_KEYS = (
    "SESSION_COOKIE_NAME",
    "SESSION_COOKIE_DOMAIN",
    "SESSION_COOKIE_PATH",
    "APPLICATION_ROOT",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_SAMESITE",
    "SESSION_COOKIE_PARTITIONED",
    "SESSION_IDLE_TIMEOUT",
    "SESSION_ABSOLUTE_TIMEOUT",
    "SESSION_SERVER_SIDE",
    "SESSION_OPENED_CACHE_SIZE",
    # The key ring's: while they are unchanged, open_session keeps the ring
    # (SessionState.ring) and skips app.secret_key and keyring_for.
    "SECRET_KEY",
    "SECRET_KEY_FALLBACKS",
)
#: The interface methods the settings are computed with: a subclass that
#: overrides one gets its settings computed afresh for every request.
SETTING_METHODS = (
    "get_cookie_name",
    "get_cookie_domain",
    "get_cookie_path",
    "get_cookie_httponly",
    "get_cookie_secure",
    "get_cookie_samesite",
    "get_cookie_partitioned",
)
_HOST_PREFIX = "__Host-"
#: SessionState.absent_key when no setting is absent: never a config key.
_NO_KEY = object()


def refresh_interval(idle: float) -> float:
    """Return how long a cookie goes without being re-sent for "last seen"."""
    # A tenth of the idle timeout, at least a minute, at most half the timeout.
    return min(max(60.0, idle / 10), idle / 2)


class SessionState:
    """One app's session settings for one interface, kept until the config changes."""

    __slots__ = (
        "aads",
        "absent",
        "absent_key",
        "absolute",
        "absolute_limit",
        "config",
        "config_items",
        "config_keys",
        "domain",
        "httponly",
        "idle",
        "idle_limit",
        "keyed",
        "names",
        "opened",
        "on_revoke",
        "owner",
        "partitioned",
        "path",
        "present_items",
        "refresh",
        "ring",
        "samesite",
        "scannable",
        "schemes",
        "secure",
        "present",
        "server_side",
        "several_absent",
    )

    def __init__(
        self,
        interface: t.Any,
        app: Flask,
        on_revoke: t.Callable[[str], None],
    ) -> None:
        self.owner = interface
        config = app.config
        #: The SETTING_KEYS set in the config, with their values, and the others.
        self.present = {key: config[key] for key in SETTING_KEYS if key in config}
        self.absent = frozenset(SETTING_KEYS).difference(self.present)
        # The check that none of them was added, told by one `in` when at
        # most one is absent (the usual case): isdisjoint's call costs more.
        self.several_absent = len(self.absent) > 1
        self.absent_key: object = next(iter(self.absent), _NO_KEY)
        fallbacks = self.present.get("SECRET_KEY_FALLBACKS")
        if type(fallbacks) is list:
            # SECURITY: a copy, compared by value: a key added to or removed
            # from the app's own list is seen at once.
            self.present["SECRET_KEY_FALLBACKS"] = list(fallbacks)
        # The config these settings were read from, and live views of it and
        # of the snapshot: kept_settings compares them
        # without building views on every request.
        # SECURITY: the views follow this object only; a config object put
        # in its place (app.config = ...) fails the identity check instead.
        self.config = config
        self.config_items = config.items()
        self.config_keys = config.keys()
        self.present_items = self.present.items()
        #: Whether ``ring`` may hold the app's key ring while this is current.
        self.keyed = _plain_keys(app, self.present)
        #: keyring_for's ring, kept by open_session when ``keyed``.
        self.ring: t.Any = None
        name: str = interface.get_cookie_name(app)
        self.domain: str | None = interface.get_cookie_domain(app)
        self.path: str = interface.get_cookie_path(app)
        self.secure: bool = interface.get_cookie_secure(app)
        self.samesite: str | None = interface.get_cookie_samesite(app)
        self.httponly: bool = interface.get_cookie_httponly(app)
        self.partitioned: bool = interface.get_cookie_partitioned(app)
        secure_name = name
        if (
            self.secure
            and self.path == "/"
            and self.domain is None
            and not name.startswith(("__Host-", "__Secure-"))
        ):
            secure_name = _HOST_PREFIX + name
        #: The cookie name over HTTP and over HTTPS (index: ``request.is_secure``).
        self.names = (name, secure_name)
        #: The same names encoded: the associated data of the cookie.
        self.aads = (name.encode(), secure_name.encode())
        #: Whether cookie_value answers each name from the scanned header.
        self.scannable = (scannable(name), scannable(secure_name))
        declared = session_settings(app)
        self.idle, self.absolute = declared.idle_timeout, declared.absolute_timeout
        self.refresh = None if self.idle is None else refresh_interval(self.idle)
        #: The same timeouts with infinity for "off": open_session's
        #: ``age > limit`` is then False for every age, as skipping it is.
        self.idle_limit = math.inf if self.idle is None else self.idle
        self.absolute_limit = math.inf if self.absolute is None else self.absolute
        self.server_side = declared.server_side
        self.on_revoke = on_revoke
        #: The cookies opened recently, per name (same index as ``names``).
        size = interface.opened_cookies_cache_size
        if size is None:
            size = declared.opened_cache_size
        self.opened = (OpenedCookies(size), OpenedCookies(size))
        #: Per ``request.is_secure``: name, associated data, opened cookies,
        #: scannable, and the attributes of a session opened under that
        #: name (opened_attrs), read by open_session with one subscript.
        self.schemes: tuple[tuple[str, bytes, OpenedCookies, bool, dict[str, t.Any]], ...] = tuple(
            zip(
                self.names,
                self.aads,
                self.opened,
                self.scannable,
                [opened_attrs(interface.now, on_revoke, self, name) for name in self.names],
                strict=True,
            )
        )


_KEY_TYPES = (str, bytes)


def _plain_keys(app: Flask, present: dict[str, t.Any]) -> bool:
    # The snapshot tells the key ring's source: a set key and fallbacks of
    # immutable strings (a list is copied), and app.secret_key the config's
    # (no subclass property or converter). Anything else: keyring_for and
    # app.secret_key on every request, as before.
    secret = present.get("SECRET_KEY")
    fallbacks = present.get("SECRET_KEY_FALLBACKS")
    attribute = inspect.getattr_static(type(app), "secret_key", None)
    return (
        bool(secret)
        and type(secret) in _KEY_TYPES
        and (
            fallbacks is None
            or (
                type(fallbacks) in (list, tuple)
                and all(type(key) in _KEY_TYPES for key in fallbacks)
            )
        )
        and type(attribute) is ConfigAttribute
        and attribute.__name__ == "SECRET_KEY"
        and attribute.get_converter is None
    )


#: What a cookie opens to: session id, creation time, last seen, data.
Opened = tuple[str, float, float, t.Any]
#: A session holding only these keys (an anonymous visitor's CSRF secret)
#: is kept in its encrypted cookie alone (re-exported by :mod:`.sessions`).
COOKIE_ONLY_KEYS = frozenset({"_csrf", "_permanent"})


def is_cookie_only_data(data: t.Any) -> bool:
    """Tell whether an opened cookie's data is a dict of :data:`COOKIE_ONLY_KEYS` only."""
    return type(data) is dict and COOKIE_ONLY_KEYS.issuperset(data)


def kept_settings(interface: t.Any, app: Flask) -> SessionState | None:
    """Return ``interface``'s settings kept for ``app`` while its config is as
    they saw it, else ``None`` (the one currency check: :func:`settings_for`
    and ``open_session`` ask it)."""
    # (Annotated rather than cast: no call per request.)
    settings: SessionState | None = app.extensions.get(SETTINGS_KEY)
    if (
        settings is not None
        and settings.owner is interface
        # Every setting as it was (values compared with ==), and none added:
        # the dict views compare in C what fourteen config.get calls would.
        and settings.config is app.config
        and settings.present_items <= settings.config_items
        and (
            settings.config_keys.isdisjoint(settings.absent)
            if settings.several_absent
            else settings.absent_key not in settings.config_keys
        )
    ):
        return settings
    return None


def settings_for(
    interface: t.Any, app: Flask, revoke: t.Callable[[Flask, str], None]
) -> SessionState:
    """Return ``interface``'s settings for ``app``, recomputed when its config changed."""
    settings = kept_settings(interface, app)
    if settings is not None:
        return settings
    settings = SessionState(interface, app, functools.partial(revoke, app))
    if interface._settings_cacheable:
        app.extensions[SETTINGS_KEY] = settings
    return settings


def keyed_settings(interface: t.Any, app: Flask) -> SessionState | None:
    """Return :func:`kept_settings` when they may keep the key ring (``keyed``), else ``None``."""
    settings = kept_settings(interface, app)
    return settings if settings is not None and settings.keyed else None


# -- the session payload ------------------------------------------------------

_default_loads = DefaultJSONProvider.loads
_tagged_loads = TaggedJSONSerializer.loads
_tagged_scan = TaggedJSONSerializer._untag_scan


class _TagCheck:
    """Remember whether a serializer's tag keys all start with a space."""

    __slots__ = ("keys", "ok", "serializer")

    def __init__(self, serializer: t.Any, keys: tuple[str, ...]) -> None:
        self.serializer = serializer
        self.keys = keys
        self.ok = all(key[:1] == " " for key in keys)


_last_check: _TagCheck | None = None


def _plain_json_ok(serializer: t.Any) -> bool:
    global _last_check
    cls = type(serializer)
    if not (
        isinstance(serializer, TaggedJSONSerializer)
        and cls.loads is _tagged_loads
        and cls._untag_scan is _tagged_scan
    ):
        return False
    keys = tuple(serializer.tags)
    check = _last_check
    if check is None or check.serializer is not serializer or check.keys != keys:
        # Tags registered later (app.session_interface.serializer.register)
        # change the keys and are seen here.
        check = _last_check = _TagCheck(serializer, keys)
    return check.ok


def loads_payload(app: Flask, serializer: t.Any, text: str) -> t.Any:
    """Deserialize a session payload as ``serializer.loads(text)`` would.

    Tagged JSON marks a tagged value with a one-key object whose key starts
    with a space. A JSON text in which no string starts with a space
    (written ``" `` or ``"\\u0020``) holds no such object: plain
    :func:`json.loads` gives the same result, several times faster. That
    needs the default tags (or tags whose keys all start with a space) and
    the app's default JSON provider.
    """
    if (
        '" ' not in text
        and '"\\u0020' not in text
        and type(app.json).loads is _default_loads
        and _plain_json_ok(serializer)
    ):
        return json.loads(text)
    return serializer.loads(text)


#: Seconds since the epoch a session time stays below (the year 5138).
_TIME_BOUND = 1e11


def decode_cookie(app: Flask, serializer: t.Any, plaintext: bytes) -> Opened:
    """Return the session id, times and data of a decrypted cookie; ``ValueError`` if malformed."""
    obj = loads_payload(app, serializer, plaintext.decode("utf-8"))
    sid, created, last_seen = obj["i"], obj["c"], obj["l"]
    if not (
        isinstance(sid, str)
        and 16 <= len(sid) <= 64
        and type(created) in (int, float)
        and type(last_seen) in (int, float)
        # SECURITY: times, not NaN (it compares false: never expired), an
        # infinity or an integer too large for a float (compared exactly).
        and -_TIME_BOUND < created < _TIME_BOUND
        and -_TIME_BOUND < last_seen < _TIME_BOUND
    ):
        raise ValueError("malformed session payload")
    return sid, float(created), float(last_seen), obj.get("d")
