"""The declared ``JWT_*`` settings of :class:`~hermetic.security.jwt.JWTAuth`."""

from __future__ import annotations

import dataclasses
import math
import re
import typing as t

from ...settings import Settings, SettingsError, setting
from ._cache import DEFAULT_SIZE

__all__ = ["JWTSettings"]

#: The largest clock skew a configuration may allow, in seconds.
MAX_LEEWAY = 300
#: The defaults of the settings, also those of the classes' parameters.
DEFAULT_LEEWAY = 30
DEFAULT_MAX_TTL = 3600
DEFAULT_ACCESS_TOKEN_TTL = 300
DEFAULT_JWKS_CACHE_TTL = 300
DEFAULT_JWKS_MIN_REFRESH_INTERVAL = 30
DEFAULT_JWKS_TIMEOUT = 5
DEFAULT_JWKS_MAX_BYTES = 65536

_KEY_SPECS = tuple[t.Mapping[str, t.Any], ...]
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def _range(
    key: str, low: float, high: float = math.inf, *, open_low: bool = False
) -> t.Callable[[t.Any], t.Any]:
    def parse(value: t.Any) -> t.Any:
        too_low = value <= low if open_low else value < low
        if not math.isfinite(value) or too_low or value > high:
            bound = f"> {low}" if open_low else f">= {low}"
            if high != math.inf:
                bound += f" and <= {high}"
            raise SettingsError(f"{key} must be {bound}, got {value!r}.", key=key)
        return value

    return parse


def _leeway(value: float) -> float:
    if not math.isfinite(value) or not 0 <= value <= MAX_LEEWAY:
        raise SettingsError(
            f"JWT_LEEWAY must be between 0 and {MAX_LEEWAY} seconds, not {value!r}:"
            " a larger clock skew keeps expired tokens alive. Fix the servers' clocks (NTP).",
            key="JWT_LEEWAY",
        )
    return float(value)


def _path(key: str) -> t.Callable[[str], str]:
    def parse(value: str) -> str:
        if not value.startswith("/"):
            raise SettingsError(
                f"{key} must be a URL path starting with '/', got {value!r}.", key=key
            )
        return value

    return parse


def _audience(value: t.Any) -> t.Any:
    if value is True or value == "" or value == ():
        raise SettingsError(
            f"JWT_AUDIENCE must name this service (a string or a list of strings), or be"
            f" False (issue tokens only) or None, got {value!r}.",
            key="JWT_AUDIENCE",
        )
    return value


def _issuers(value: dict[str, t.Any] | None) -> dict[str, t.Any]:
    for name, source in (value or {}).items():
        if not (isinstance(source, (str, list, tuple)) or hasattr(source, "get_key")):
            raise SettingsError(
                f"JWT_TRUSTED_ISSUERS[{name!r}] must be a JWKS URL or a list of key specs,"
                f" got {type(source).__name__}.",
                key="JWT_TRUSTED_ISSUERS",
            )
    return dict(value or {})


def _ca_file(value: str | None) -> str | None:
    if value is not None and not value:
        raise SettingsError(
            "JWT_JWKS_CA_FILE must be the path of a PEM CA bundle, or None.",
            key="JWT_JWKS_CA_FILE",
        )
    return value


def _http_hosts(value: t.Any) -> tuple[str, ...]:
    hosts = (value,) if isinstance(value, str) else tuple(value or ())
    for host in hosts:
        if not isinstance(host, str) or not _HOST.fullmatch(host):
            raise SettingsError(
                f"JWT_JWKS_HTTP_HOSTS must list host names (no scheme, port or wildcard),"
                f" got {host!r}.",
                key="JWT_JWKS_HTTP_HOSTS",
            )
    return tuple(h.lower() for h in hosts)


def _clients(value: dict[str, t.Mapping[str, t.Any]] | None) -> dict[str, t.Mapping[str, t.Any]]:
    return dict(value or {})


@dataclasses.dataclass(frozen=True)
class JWTSettings(Settings, feature="jwt", title="JWT service auth", prefixes=("JWT_",)):
    """The settings of :class:`~hermetic.security.jwt.JWTAuth`, read once by its ``init_app``."""

    issuer: str | None = setting(
        "JWT_ISSUER",
        default=None,
        doc="Our `iss` when this app issues tokens.",
    )
    signing_keys: _KEY_SPECS = setting(
        "JWT_SIGNING_KEYS",
        default=None,
        accepts=_KEY_SPECS | None,
        parse=lambda v: tuple(v or ()),
        secret=True,
        doc='Our keys, `[{"kid", "alg", "pem" or "path"}, ...]`: the first signs, all are'
        " published at `JWT_JWKS_PATH` (keep an old one until its last token expired).",
    )
    audience: str | tuple[str, ...] | t.Literal[False] | None = setting(
        "JWT_AUDIENCE",
        default=None,
        parse=_audience,
        doc="The name (or names) callers address this service by (`aud`); needed to accept"
        " tokens. `False`: this app only issues tokens.",
    )
    trusted_issuers: dict[str, t.Any] = setting(
        "JWT_TRUSTED_ISSUERS",
        default={},
        accepts=dict[str, t.Any] | None,
        parse=_issuers,
        doc="`{issuer: JWKS URL or [key specs]}`; our own issuer (with our keys) is always"
        " trusted.",
    )
    leeway: float = setting(
        "JWT_LEEWAY",
        default=DEFAULT_LEEWAY,
        parse=_leeway,
        doc=f"Clock skew tolerated on `exp`, `nbf`, `iat`, in seconds (at most {MAX_LEEWAY}).",
    )
    max_ttl: int = setting(
        "JWT_MAX_TTL",
        default=DEFAULT_MAX_TTL,
        parse=_range("JWT_MAX_TTL", 0, open_low=True),
        doc="The longest token lifetime (`exp - iat`) accepted, in seconds.",
    )
    access_token_ttl: int = setting(
        "JWT_ACCESS_TOKEN_TTL",
        default=DEFAULT_ACCESS_TOKEN_TTL,
        parse=_range("JWT_ACCESS_TOKEN_TTL", 0, open_low=True),
        doc="The lifetime of the tokens this app issues, in seconds (at most `JWT_MAX_TTL`).",
    )
    replay_check: bool = setting(
        "JWT_REPLAY_CHECK",
        default=False,
        doc="Accept each token id (`jti`) once (one-time tokens); `jwt_required(replay=)`"
        " overrides it per route.",
    )
    verified_cache_size: int = setting(
        "JWT_VERIFIED_CACHE_SIZE",
        default=DEFAULT_SIZE,
        parse=_range("JWT_VERIFIED_CACHE_SIZE", 0),
        doc="How many verified tokens skip their signature check when presented again"
        " (every other check still runs); `0` turns it off.",
    )
    allow_hs256: bool = setting(
        "JWT_ALLOW_HS256",
        default=False,
        doc="Allow shared-secret (`HS256`) keys, 32 bytes or more.",
    )
    jwks_path: str = setting(
        "JWT_JWKS_PATH",
        default="/.well-known/jwks.json",
        parse=_path("JWT_JWKS_PATH"),
        doc="Where this app publishes its public keys (when it issues tokens).",
    )
    jwks_cache_ttl: int = setting(
        "JWT_JWKS_CACHE_TTL",
        default=DEFAULT_JWKS_CACHE_TTL,
        parse=_range("JWT_JWKS_CACHE_TTL", 0),
        doc="Seconds a fetched JWKS is kept, and the `max-age` of ours.",
    )
    jwks_min_refresh_interval: float = setting(
        "JWT_JWKS_MIN_REFRESH_INTERVAL",
        default=DEFAULT_JWKS_MIN_REFRESH_INTERVAL,
        parse=_range("JWT_JWKS_MIN_REFRESH_INTERVAL", 0),
        doc="The fewest seconds between two fetches of an issuer's JWKS (unknown `kid`s).",
    )
    jwks_timeout: float = setting(
        "JWT_JWKS_TIMEOUT",
        default=DEFAULT_JWKS_TIMEOUT,
        parse=_range("JWT_JWKS_TIMEOUT", 0, open_low=True),
        doc="Seconds to wait for an issuer's JWKS.",
    )
    jwks_max_bytes: int = setting(
        "JWT_JWKS_MAX_BYTES",
        default=DEFAULT_JWKS_MAX_BYTES,
        parse=_range("JWT_JWKS_MAX_BYTES", 0, open_low=True),
        doc="The largest JWKS document read.",
    )
    jwks_ca_file: str | None = setting(
        "JWT_JWKS_CA_FILE",
        default=None,
        parse=_ca_file,
        doc="A PEM CA bundle trusted (instead of the system's) for `https` JWKS URLs:"
        " an internal CA or a gateway's self-signed certificate; host names are still checked.",
    )
    jwks_http_hosts: tuple[str, ...] = setting(
        "JWT_JWKS_HTTP_HOSTS",
        default=(),
        accepts=list[str] | str | None,
        parse=_http_hosts,
        doc="Hosts whose JWKS may be fetched over plain `http` besides loopback. An explicit"
        " opt-in for an internal network you trust: keys fetched in clear text can be swapped"
        " by anyone on the path.",
    )
    token_path: str = setting(
        "JWT_TOKEN_PATH",
        default="/oauth/token",
        parse=_path("JWT_TOKEN_PATH"),
        doc="The client-credentials token endpoint, served when `JWT_CLIENTS` is set.",
    )
    clients: dict[str, t.Mapping[str, t.Any]] = setting(
        "JWT_CLIENTS",
        default=None,
        accepts=dict[str, t.Mapping[str, t.Any]] | None,
        parse=_clients,
        secret=True,
        doc='`{client_id: {"secret_hash", "scopes", "audience", "ttl"}}`: the clients of the'
        " token endpoint.",
    )

    def check(self) -> None:
        """Refuse an access-token lifetime longer than the longest accepted."""
        if self.access_token_ttl > self.max_ttl:
            raise SettingsError(
                f"JWT_ACCESS_TOKEN_TTL ({self.access_token_ttl}) must be at most JWT_MAX_TTL"
                f" ({self.max_ttl}): the verifiers would refuse the tokens this app issues.",
                key="JWT_ACCESS_TOKEN_TTL",
            )
