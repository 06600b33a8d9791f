"""The declared CORS settings (:class:`CORSSettings`) and the checks of origins and names."""

from __future__ import annotations

import dataclasses
import re
import typing as t

from ..settings import Settings, SettingsError, setting

DEFAULT_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
DEFAULT_HEADERS = ("Content-Type",)
DEFAULT_MAX_AGE = 600

_ORIGIN_RE = re.compile(r"[a-z][a-z0-9+.\-]*://[^/\s?#@\\]+")


def _origins(value: t.Any, option: str) -> tuple[bool, frozenset[str], tuple[re.Pattern[str], ...]]:
    if value == "*":
        return True, frozenset(), ()
    if isinstance(value, (str, bytes, re.Pattern)) or not isinstance(value, t.Iterable):
        raise SettingsError(
            f"{option} must be a list of origins (or '*'), got {value!r}."
            ' Write ["https://app.example.com"].'
        )
    exact: set[str] = set()
    patterns: list[re.Pattern[str]] = []
    for entry in value:
        if isinstance(entry, re.Pattern):
            patterns.append(entry)
        elif entry == "*":
            return True, frozenset(), ()
        elif isinstance(entry, str) and entry.lower() == "null":
            # SECURITY: "null" is the origin of sandboxed frames and local
            # files; allowing it lets any such page in.
            raise SettingsError(f"{option} must not allow the 'null' origin.")
        elif isinstance(entry, str) and _ORIGIN_RE.fullmatch(entry.lower()):
            exact.add(entry.lower())
        else:
            raise SettingsError(
                f"{option} holds {entry!r}, which is not an origin. Write"
                " scheme://host[:port] with no path or trailing slash"
                " ('https://app.example.com'), or a re.compile() pattern."
            )
    return False, frozenset(exact), tuple(patterns)


def _names(value: t.Any, option: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, t.Iterable) or not all(isinstance(v, str) and v for v in value):
        raise SettingsError(f"{option} must be a list of names, got {value!r}.")
    return tuple(value)


def _parse_origins(value: t.Any) -> tuple[str | re.Pattern[str], ...]:
    if value is None:
        return ()
    any_origin, exact, patterns = _origins(value, "CORS_ORIGINS")
    return ("*",) if any_origin else (*sorted(exact), *patterns)


def _max_age(value: int | None) -> int | None:
    if value is not None and value < 0:
        raise SettingsError(
            f"CORS_MAX_AGE must be seconds >= 0 or None, got {value!r}.", key="CORS_MAX_AGE"
        )
    return value


_NAMES = str | tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class CORSSettings(Settings, feature="cors", title="CORS", prefixes=("CORS_",)):
    """The app-wide CORS settings of :class:`CORSShield` (a route's :func:`cors` overrides)."""

    origins: tuple[str | re.Pattern[str], ...] = setting(
        "CORS_ORIGINS",
        default=(),
        secure_default=(),
        accepts=str | tuple[str | re.Pattern[str], ...] | None,
        parse=_parse_origins,
        doc="Origins whose pages may read responses: exact `scheme://host[:port]` strings and"
        " `re.compile()` patterns (matched in full), or `'*'` (no credentials). Empty: none.",
    )
    allow_credentials: bool = setting(
        "CORS_ALLOW_CREDENTIALS",
        default=False,
        secure_default=False,
        doc="Let the listed origins send cookies and read the answers"
        " (`Access-Control-Allow-Credentials`); refused with `'*'`.",
    )
    allow_methods: tuple[str, ...] = setting(
        "CORS_ALLOW_METHODS",
        default=DEFAULT_METHODS,
        accepts=_NAMES,
        parse=lambda v: _names(v, "CORS_ALLOW_METHODS"),
        doc="Methods a preflight may ask for (a list, or a comma-separated string).",
    )
    allow_headers: tuple[str, ...] = setting(
        "CORS_ALLOW_HEADERS",
        default=DEFAULT_HEADERS,
        accepts=_NAMES,
        parse=lambda v: _names(v, "CORS_ALLOW_HEADERS"),
        doc="Request headers a preflight may ask for; `'*'` allows any.",
    )
    expose_headers: tuple[str, ...] = setting(
        "CORS_EXPOSE_HEADERS",
        default=(),
        accepts=_NAMES,
        parse=lambda v: _names(v, "CORS_EXPOSE_HEADERS"),
        doc="Response headers the page may read (`Access-Control-Expose-Headers`).",
    )
    max_age: int | None = setting(
        "CORS_MAX_AGE",
        default=DEFAULT_MAX_AGE,
        parse=_max_age,
        doc="Seconds a browser may cache a preflight (`None`: no `Access-Control-Max-Age`).",
    )

    def check(self) -> None:
        """Refuse credentials with any origin."""
        if self.allow_credentials and "*" in self.origins:
            raise SettingsError(
                "CORS with credentials cannot allow any origin ('*'): every site"
                " could make logged-in requests and read the answers. Fix: list the"
                " origins in CORS_ORIGINS, or set CORS_ALLOW_CREDENTIALS = False.",
                key="CORS_ORIGINS",
            )
