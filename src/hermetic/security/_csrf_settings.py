"""The declared CSRF settings (:class:`CSRFSettings`) and the check of trusted origins."""

from __future__ import annotations

import dataclasses
import re
import typing as t

from ..settings import Settings, SettingsError, setting

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask

__all__ = ["CSRFSettings"]

_ORIGIN_RE = re.compile(r"https?://[^/?#@\s]+")
# RFC 9110 field-name (token) and the form field names browsers send as is.
_HEADER_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def normalise_origin(value: t.Any) -> str:
    """Return ``value`` as a lower-case origin without a trailing slash, or raise."""
    if not isinstance(value, str) or not _ORIGIN_RE.fullmatch(value.strip().rstrip("/")):
        raise SettingsError(
            f"CSRF_TRUSTED_ORIGINS holds {value!r}, which is not an origin. Fix: write"
            ' each as "https://host[:port]", for example "https://app.example.com".',
            key="CSRF_TRUSTED_ORIGINS",
        )
    return value.strip().rstrip("/").lower()


def _origins(value: tuple[str, ...] | None) -> frozenset[str]:
    return frozenset(normalise_origin(o) for o in value or ())


def _header_name(value: str) -> str:
    if not _HEADER_RE.fullmatch(value):
        raise SettingsError(
            f"CSRF_HEADER_NAME {value!r} is not a header name."
            " Fix: use letters, digits and '-', e.g. 'X-CSRF-Token'.",
            key="CSRF_HEADER_NAME",
        )
    return value


def _field_name(value: str) -> str:
    if not value:
        raise SettingsError(
            "CSRF_FIELD_NAME must not be empty. Fix: name the form field, e.g. 'csrf_token'.",
            key="CSRF_FIELD_NAME",
        )
    return value


@dataclasses.dataclass(frozen=True)
class CSRFSettings(Settings, feature="csrf", title="CSRF", prefixes=("CSRF_",)):
    """The settings of :class:`~hermetic.security.csrf.CSRFShield`.

    ``REMEMBER_COOKIE_NAME`` (which also makes a request cookie-authenticated)
    is the login's setting: :class:`~hermetic.security.auth.LoginSettings`.
    """

    enabled: bool = setting(
        "CSRF_ENABLED",
        default=True,
        secure_default=True,
        doc="Check the origin and the token of unsafe requests; `False` lets other"
        " sites submit forms as your logged-in users.",
    )
    trusted_origins: frozenset[str] = setting(
        "CSRF_TRUSTED_ORIGINS",
        default=(),
        secure_default=(),
        accepts=tuple[str, ...] | None,
        parse=_origins,
        doc="Other origins (`'https://app.example.com'`) allowed to send unsafe requests;"
        " each can make your users do anything they can do here.",
    )
    field_name: str = setting(
        "CSRF_FIELD_NAME",
        default="csrf_token",
        secure_default="csrf_token",
        parse=_field_name,
        doc="The form field holding the token.",
    )
    header_name: str = setting(
        "CSRF_HEADER_NAME",
        default="X-CSRF-Token",
        secure_default="X-CSRF-Token",
        parse=_header_name,
        doc="The request header holding the token (for `fetch()`).",
    )
    enforce_in_tests: bool = setting(
        "CSRF_ENFORCE_IN_TESTS",
        default=False,
        secure_default=False,
        doc="Check the token of requests made by `app.test_client()` too (by default"
        " they pass it; the origin check always runs).",
    )

    @property
    def header_key(self) -> str:
        """Return the WSGI environ key of :attr:`header_name` (``HTTP_X_CSRF_TOKEN``)."""
        return "HTTP_" + self.header_name.upper().replace("-", "_")


def csrf_settings(app: Flask) -> CSRFSettings:
    """Return the checked CSRF settings of ``app``: its CSRF shield's, else read from its config."""
    shield = app.shields.get("csrf") if app.shields is not None else None
    settings = shield.settings if shield is not None else None
    if isinstance(settings, CSRFSettings):
        return settings
    return CSRFSettings.from_config(app.config)
