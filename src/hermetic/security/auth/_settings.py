"""The declared settings of logging in (``LOGIN_*``, ``REMEMBER_*``) and of password hashing."""

from __future__ import annotations

import dataclasses
import math
import re
import typing as t
from datetime import timedelta

from ...settings import Settings, SettingsError, setting

#: The argon2id defaults (RFC 9106, section 4, second recommended option).
DEFAULT_TIME_COST = 3
DEFAULT_MEMORY_COST = 64 * 1024
DEFAULT_PARALLELISM = 4
DEFAULT_SALT_LEN = 16
DEFAULT_HASH_LEN = 32

_DURATION = timedelta | int | float
# RFC 6265 cookie-name: a token (no separators, no controls).
_COOKIE_NAME_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _seconds(key: str, *, positive: bool = False) -> t.Callable[[t.Any], float]:
    def parse(value: t.Any) -> float:
        seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
        if not math.isfinite(seconds) or seconds < 0 or (positive and seconds == 0):
            wanted = "> 0" if positive else ">= 0"
            raise SettingsError(
                f"{key} must be a duration {wanted} (seconds or a timedelta), got {value!r}.",
                key=key,
            )
        return seconds

    return parse


def _optional_seconds(key: str) -> t.Callable[[t.Any], float | None]:
    parse = _seconds(key)
    return lambda value: None if value is None else parse(value)


def _cookie_name(value: str) -> str:
    if not _COOKIE_NAME_RE.fullmatch(value):
        raise SettingsError(
            f"REMEMBER_COOKIE_NAME {value!r} is not a cookie name. Fix: use letters,"
            " digits and '_' or '-', e.g. 'remember_token'.",
            key="REMEMBER_COOKIE_NAME",
        )
    return value


def _samesite(value: str | None) -> str | None:
    if value is None:
        return None
    if value.title() not in ("Lax", "Strict", "None"):
        raise SettingsError(
            f"REMEMBER_COOKIE_SAMESITE must be 'Lax', 'Strict', 'None' or None, got {value!r}.",
            key="REMEMBER_COOKIE_SAMESITE",
        )
    return value.title()


def _at_least(key: str, low: int) -> t.Callable[[int], int]:
    def parse(value: int) -> int:
        if value < low:
            raise SettingsError(f"{key} must be {low} or more, got {value!r}.", key=key)
        return value

    return parse


@dataclasses.dataclass(frozen=True)
class LoginSettings(
    Settings, feature="login", title="Login and remember-me", prefixes=("LOGIN_", "REMEMBER_")
):
    """The settings of :class:`~hermetic.security.auth.LoginManager` (and the CSRF shield's cookie)."""

    login_view: str | None = setting(
        "LOGIN_VIEW",
        default=None,
        doc="Endpoint of the login page that browsers are redirected to (with `next`);"
        " `None`: refuse with 401 instead.",
    )
    refresh_view: str | None = setting(
        "LOGIN_REFRESH_VIEW",
        default=None,
        doc="Endpoint asking for the password again (`fresh_login_required`);"
        " `None`: `LOGIN_VIEW`.",
    )
    fresh_max_age: float | None = setting(
        "LOGIN_FRESH_MAX_AGE",
        default=None,
        accepts=_DURATION | None,
        parse=_optional_seconds("LOGIN_FRESH_MAX_AGE"),
        doc="How long a password login stays fresh (seconds or a `timedelta`);"
        " `None`: the whole session.",
    )
    remember_cookie_name: str = setting(
        "REMEMBER_COOKIE_NAME",
        default="remember_token",
        parse=_cookie_name,
        doc="The remember-me cookie; like the session cookie, it makes a request"
        " cookie-authenticated for the CSRF check.",
    )
    remember_duration: float = setting(
        "REMEMBER_COOKIE_DURATION",
        default=timedelta(days=14),
        accepts=_DURATION,
        parse=_seconds("REMEMBER_COOKIE_DURATION", positive=True),
        default_doc="`timedelta(days=14)`",
        doc="How long a remember-me cookie lasts (seconds or a `timedelta`).",
    )
    remember_secure: bool = setting(
        "REMEMBER_COOKIE_SECURE",
        default=True,
        doc="Send the remember-me cookie over HTTPS only; `False` lets anyone on the"
        " network copy a long-lived login.",
    )
    remember_httponly: bool = setting(
        "REMEMBER_COOKIE_HTTPONLY",
        default=True,
        doc="Hide the remember-me cookie from scripts.",
    )
    remember_samesite: str | None = setting(
        "REMEMBER_COOKIE_SAMESITE",
        default="Lax",
        parse=_samesite,
        doc="The remember-me cookie's `SameSite` (`'Lax'`, `'Strict'`, `'None'` or `None`).",
    )
    remember_path: str = setting(
        "REMEMBER_COOKIE_PATH",
        default="/",
        doc="The remember-me cookie's `Path`.",
    )
    remember_domain: str | None = setting(
        "REMEMBER_COOKIE_DOMAIN",
        default=None,
        doc="The remember-me cookie's `Domain`; `None`: this host only.",
    )
    rotation_grace: float = setting(
        "REMEMBER_ROTATION_GRACE",
        default=30,
        accepts=_DURATION,
        parse=_seconds("REMEMBER_ROTATION_GRACE"),
        doc="Seconds the previous remember-me cookie still works after a rotation"
        " (parallel requests); a wrong one after that is treated as theft.",
    )

    @property
    def cookie_options(self) -> dict[str, t.Any]:
        """Return the options of the remember-me cookie for ``set_cookie``/``delete_cookie``."""
        return {
            "path": self.remember_path,
            "domain": self.remember_domain,
            "secure": self.remember_secure,
            "httponly": self.remember_httponly,
            "samesite": self.remember_samesite,
        }


@dataclasses.dataclass(frozen=True)
class PasswordSettings(
    Settings, feature="passwords", title="Password hashing", prefixes=("PASSWORD_HASH_",)
):
    """The argon2id parameters of :func:`~hermetic.security.auth.hash_password`.

    A stored hash keeps its own parameters: changing them never locks anyone
    out; :func:`~hermetic.security.auth.check_password` returns a new hash
    the next time each user logs in.
    """

    time_cost: int = setting(
        "PASSWORD_HASH_TIME_COST",
        default=DEFAULT_TIME_COST,
        parse=_at_least("PASSWORD_HASH_TIME_COST", 1),
        doc="Argon2id iterations; lower only in tests (cheaper to crack).",
    )
    memory_cost: int = setting(
        "PASSWORD_HASH_MEMORY_COST",
        default=DEFAULT_MEMORY_COST,
        parse=_at_least("PASSWORD_HASH_MEMORY_COST", 8),
        doc="Argon2id memory in KiB (64 MiB); at least 8 per lane.",
    )
    parallelism: int = setting(
        "PASSWORD_HASH_PARALLELISM",
        default=DEFAULT_PARALLELISM,
        parse=_at_least("PASSWORD_HASH_PARALLELISM", 1),
        doc="Argon2id lanes.",
    )
    hash_len: int = setting(
        "PASSWORD_HASH_HASH_LEN",
        default=DEFAULT_HASH_LEN,
        parse=_at_least("PASSWORD_HASH_HASH_LEN", 16),
        doc="Bytes of hash output.",
    )
    salt_len: int = setting(
        "PASSWORD_HASH_SALT_LEN",
        default=DEFAULT_SALT_LEN,
        parse=_at_least("PASSWORD_HASH_SALT_LEN", 8),
        doc="Bytes of random salt.",
    )

    def check(self) -> None:
        """Refuse less memory than argon2 needs for the lanes."""
        if self.memory_cost < 8 * self.parallelism:
            raise SettingsError(
                f"PASSWORD_HASH_MEMORY_COST must be at least 8 KiB per lane"
                f" ({8 * self.parallelism} for PASSWORD_HASH_PARALLELISM ="
                f" {self.parallelism}), got {self.memory_cost}.",
                key="PASSWORD_HASH_MEMORY_COST",
            )

    @property
    def params(self) -> tuple[int, int, int, int, int]:
        """Return ``(time_cost, memory_cost, parallelism, hash_len, salt_len)``."""
        return (self.time_cost, self.memory_cost, self.parallelism, self.hash_len, self.salt_len)
