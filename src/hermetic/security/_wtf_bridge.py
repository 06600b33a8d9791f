"""Hermetic's CSRF shield next to Flask-WTF: one check, either token as proof.

Flask-WTF (``CSRFProtect`` and ``FlaskForm``) keeps its own token: a value
signed from ``session[WTF_CSRF_FIELD_NAME]``, sent in the form field
``WTF_CSRF_FIELD_NAME`` (``csrf_token``, Hermetic's default field name too) or
a header of ``WTF_CSRF_HEADERS``. When Flask-WTF is on the app, the CSRF
shield finds that token as well and checks it through Flask-WTF's public
:func:`flask_wtf.csrf.validate_csrf` (with the app's Flask-WTF settings;
the token's format stays Flask-WTF's business). The three modes
(:func:`detect`):

``protect``
    ``CSRFProtect`` is registered and ``WTF_CSRF_ENABLED`` is true. One
    token family for the whole app: :func:`hermetic.security.csrf_token`
    returns Flask-WTF's token too, and the shield accepts only Flask-WTF's
    token, so whatever passes Hermetic's check also passes Flask-WTF's and a
    refusal is always Hermetic's (it runs first).
``forms``
    Flask-WTF is imported (``FlaskForm``) without ``CSRFProtect``: only the
    forms that validate check their token, Hermetic checks every unsafe
    request and accepts its own token or Flask-WTF's.
``apart``
    ``WTF_CSRF_ENABLED`` is false: Hermetic alone protects the app; a
    Flask-WTF token that a template still renders is accepted too.

Nothing here runs, and ``flask_wtf`` is never imported, when the app does not
use Flask-WTF.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import sys
import typing as t

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask
    from ..sessions import SessionMixin
    from ..wrappers import Request

__all__ = ["WTFBridge", "bridge_of_current_app", "detect"]

Mode = t.Literal["protect", "forms", "apart"]

# Flask-WTF's documented defaults, for an app that has not set the keys.
_DEFAULT_FIELD = "csrf_token"
_DEFAULT_HEADERS = ("X-CSRFToken", "X-CSRF-Token")

#: What a refusal says when the Flask-WTF token was sent but could not be read.
MALFORMED = "The CSRF token is malformed."


# How many bridges were made: while none was, no shield can hold one.
_bridges_made = 0


def _module(name: str) -> t.Any:
    # Flask-WTF and WTForms ship no types; only an app that imported them gets here.
    return importlib.import_module(name)


def _environ_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


@dataclasses.dataclass(frozen=True)
class WTFBridge:
    """What the CSRF shield knows of Flask-WTF on one app (made by :func:`detect`)."""

    mode: Mode
    #: ``WTF_CSRF_FIELD_NAME``: the form field and the session key of Flask-WTF's token.
    field_name: str
    #: ``WTF_CSRF_HEADERS``, as they are named and as WSGI environ keys.
    headers: tuple[str, ...]
    header_keys: tuple[str, ...]
    #: ``WTF_CSRF_CHECK_DEFAULT``: CSRFProtect checks every view (else only ``csrf.protect()``).
    check_default: bool
    #: The views and blueprints exempt from Flask-WTF (``@csrf.exempt``), for the log only.
    wtf_exempt: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        global _bridges_made
        _bridges_made += 1

    @property
    def accepts_hermetic_token(self) -> bool:
        """Tell whether Hermetic's own (masked) token is proof too (not in ``protect``)."""
        return self.mode != "protect"

    def find_token(self, request: Request, environ: dict[str, t.Any], form: bool) -> str | None:
        """Return the Flask-WTF token the request carries (form field, then headers)."""
        if form:
            values = request.form
            token = values.get(self.field_name)
            if token is None:
                # A FlaskForm with a prefix renders "<prefix>-csrf_token".
                for key in values:
                    if key.endswith(self.field_name):
                        token = values.get(key)
                        break
            if token:
                return token
        for key in self.header_keys:
            token = environ.get(key)
            if token:
                return t.cast(str, token)
        return None

    def problem(self, token: str) -> str | None:
        """Return ``None`` if Flask-WTF accepts ``token`` for this session, else its reason."""
        validation_error = _module("wtforms.validators").ValidationError
        try:
            # secret_key and time_limit None: Flask-WTF reads WTF_CSRF_SECRET_KEY
            # (else SECRET_KEY) and WTF_CSRF_TIME_LIMIT itself, as its own check does.
            _module("flask_wtf.csrf").validate_csrf(token, token_key=self.field_name)
        except validation_error as e:
            return str(e.args[0]) if e.args else MALFORMED
        except (ValueError, TypeError):
            # SECURITY: bad input is a refusal, never a 500.
            return MALFORMED
        return None

    def generate(self) -> str:
        """Return Flask-WTF's token for the current session (``generate_csrf``)."""
        return str(_module("flask_wtf.csrf").generate_csrf(token_key=self.field_name))

    def forget(self, session: SessionMixin) -> None:
        """Drop Flask-WTF's session value, so every token signed from it stops working."""
        from ..globals import _cv_app

        session.pop(self.field_name, None)
        ctx = _cv_app.get(None)
        if ctx is not None:
            # generate_csrf() keeps the request's token on g under the field
            # name; a page rendered after login must get one from the new value.
            ctx.g.pop(self.field_name, None)

    def announce(self, app: Flask, *, hermetic_field: str, hermetic_header: str) -> None:
        """Log the start-up line: a warning when views exempt from Flask-WTF now need a token."""
        app.logger.log(
            logging.WARNING if self.wtf_exempt else logging.INFO,
            "CSRF: %s",
            self.describe(hermetic_field=hermetic_field, hermetic_header=hermetic_header),
        )

    def describe(self, *, hermetic_field: str, hermetic_header: str) -> str:
        """Return the start-up line (and ``hermetic check`` notice) for this mode."""
        if self.mode == "protect":
            text = (
                "Flask-WTF's CSRFProtect is on this app: Hermetic's CSRF shield checks every"
                " unsafe request first (Origin/Sec-Fetch-Site, then the token) and accepts"
                f" Flask-WTF's token (form field {self.field_name!r}, headers"
                f" {', '.join(self.headers)}; form.hidden_tag() and csrf_token() render it) as"
                " proof, so a refusal is Hermetic's 403 and its audit line."
            )
            if not self.check_default:
                text += (
                    " WTF_CSRF_CHECK_DEFAULT is False: Hermetic still checks every unsafe"
                    " request, not only the views that call csrf.protect()."
                )
        elif self.mode == "forms":
            text = (
                "Flask-WTF is imported without CSRFProtect (FlaskForm only): Hermetic's CSRF"
                " shield checks every unsafe request and accepts its own token"
                f" ({hermetic_field!r} / {hermetic_header}) or a FlaskForm's token"
                f" ({self.field_name!r})."
            )
        else:
            text = (
                "WTF_CSRF_ENABLED is False: Hermetic's CSRF shield alone protects this app;"
                f" it reads its token from {hermetic_field!r} or {hermetic_header} and also"
                " accepts a Flask-WTF token a template still renders."
            )
        if self.wtf_exempt:
            text += (
                f" Exempt from Flask-WTF but still checked by Hermetic: {', '.join(self.wtf_exempt)}."
                " Fix: if such a view must take unsafe requests without a token (a"
                ' webhook), add @exempt("csrf") from hermetic.security to it too.'
            )
        elif self.mode == "protect":
            text += (
                " A view exempt from Flask-WTF (@csrf.exempt) is not exempt from Hermetic:"
                ' add @exempt("csrf") from hermetic.security to it as well.'
            )
        if self.mode != "apart":
            text += (
                " To keep them apart (Hermetic's token only), set WTF_CSRF_ENABLED = False"
                " and render {{ csrf_token() }} from hermetic."
            )
        return text


def bridge_of_current_app() -> WTFBridge | None:
    """Return the Flask-WTF bridge of the current request's app (its CSRF shield's)."""
    if not _bridges_made:
        return None  # no bridge exists in this process: none is on a shield
    from ..globals import _cv_request

    ctx = _cv_request.get(None)
    shields = ctx.app.shields if ctx is not None else None
    shield = shields.get("csrf") if shields is not None else None
    wtf = getattr(shield, "wtf", None)
    return wtf if isinstance(wtf, WTFBridge) else None


def _exempt_names(protect: t.Any) -> tuple[str, ...]:
    # For the log line only, so read defensively: these are CSRFProtect's
    # records of @csrf.exempt (a view's "module.name", blueprint objects).
    views = getattr(protect, "_exempt_views", None)
    blueprints = getattr(protect, "_exempt_blueprints", None)
    names = [str(v) for v in views] if isinstance(views, (set, frozenset)) else []
    if isinstance(blueprints, (set, frozenset)):
        names += [f"blueprint {getattr(bp, 'name', bp)!s}" for bp in blueprints]
    return tuple(sorted(names))


def detect(app: Flask) -> WTFBridge | None:
    """Return how Flask-WTF is used on ``app``, or ``None`` when it is not imported.

    Looked at when the CSRF shield is configured (the first request, or
    ``hermetic check``), so after the app registered its extensions.
    """
    if "flask_wtf" not in sys.modules:
        return None
    if not getattr(sys.modules.get("flask"), "__hermetic__", False):
        # ``flask`` is real Flask (or absent): its Flask-WTF works on Flask's
        # contexts and can neither render nor check a token for this app.
        return None
    config = app.config
    csrf_module = sys.modules.get("flask_wtf.csrf")
    protect = app.extensions.get("csrf")
    registered = csrf_module is not None and isinstance(
        protect, getattr(csrf_module, "CSRFProtect", ())
    )
    # Flask-WTF's keys, read as Flask-WTF reads them (its defaults when absent).
    enabled = bool(config.get("WTF_CSRF_ENABLED", True))
    field = config.get("WTF_CSRF_FIELD_NAME") or _DEFAULT_FIELD
    raw_headers = config.get("WTF_CSRF_HEADERS", _DEFAULT_HEADERS)
    if isinstance(raw_headers, str):
        raw_headers = (raw_headers,)
    headers = tuple(str(h) for h in raw_headers or ())
    mode: Mode = "apart" if not enabled else "protect" if registered else "forms"
    return WTFBridge(
        mode=mode,
        field_name=str(field),
        headers=headers,
        header_keys=tuple(_environ_key(h) for h in headers),
        check_default=bool(config.get("WTF_CSRF_CHECK_DEFAULT", True)),
        wtf_exempt=_exempt_names(protect) if registered else (),
    )
