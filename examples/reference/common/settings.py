"""Settings from the environment: one place per service, secrets never in the repository.

Each service reads its settings here, in this order: the ``config`` passed
to ``create_app`` (tests), then the environment. A secret ``NAME`` is read
from ``$NAME``, else from the file named by ``$NAME_FILE``, else from
``$HERMETIC_SECRETS_DIR/<name>`` (default ``/run/secrets``), the way
hermetic reads ``SECRET_KEY``.

``REFERENCE_ENV`` is ``development`` (the default: plain-HTTP loopback, so
cookies are not ``Secure``) or ``production`` (``Secure`` cookies, ``hermetic
check`` clean). ``hermetic check`` fails on the development settings and says why.

``REFERENCE_LOAD_RUN=1`` (``bench/reference_load.py`` sets it on the system it
starts; development only) turns the rate limits of every service off, and
api's one-use token check: a load generator replays one token and one
session, thousands of times a second.
"""

from __future__ import annotations

import os
import typing as t

DEVELOPMENT = "development"
PRODUCTION = "production"


def read_secret(name: str, environ: t.Mapping[str, str] | None = None) -> str | None:
    """Return the secret ``name`` from the environment, a ``*_FILE`` or the secrets folder."""
    environ = os.environ if environ is None else environ
    if environ.get(name):
        return environ[name]
    path = environ.get(f"{name}_FILE")
    if path:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    candidate = os.path.join(environ.get("HERMETIC_SECRETS_DIR", "/run/secrets"), name.lower())
    if os.path.isfile(candidate):
        with open(candidate, encoding="utf-8") as f:
            return f.read().strip()
    return None


def base_config(
    service: str,
    config: t.Mapping[str, t.Any] | None,
    environ: t.Mapping[str, str] | None = None,
) -> dict[str, t.Any]:
    """Return the settings every service shares, ``config`` winning over the environment."""
    environ = os.environ if environ is None else environ
    config = dict(config or {})
    mode = config.get("REFERENCE_ENV") or environ.get("REFERENCE_ENV") or DEVELOPMENT
    if mode not in (DEVELOPMENT, PRODUCTION):
        raise ValueError(f"REFERENCE_ENV must be {DEVELOPMENT!r} or {PRODUCTION!r}, not {mode!r}.")
    instance = config.get("INSTANCE_PATH") or environ.get("REFERENCE_INSTANCE", "instance")
    # --8<-- [start:shared-settings]
    out: dict[str, t.Any] = {
        "REFERENCE_ENV": mode,
        "INSTANCE_PATH": instance,
        # The URL holds the database password: a secret (DATABASE_URL_FILE works).
        "DATABASE_URL": read_secret("DATABASE_URL", environ)
        or "sqlite:///" + os.path.join(os.path.abspath(instance), f"{service}.db"),
        # Every service refuses to start while a route declares no policy.
        "AUTHZ_DEFAULT": "deny",
        # Cookies of services on one host are shared across ports: one name each.
        "SESSION_COOKIE_NAME": f"{service}_session",
        "REMEMBER_COOKIE_NAME": f"{service}_remember",
        # The store prefix is shared: token revocations reach every service.
        "HERMETIC_STORE_PREFIX": environ.get("HERMETIC_STORE_PREFIX", "reference:"),
    }
    redis_url = read_secret("HERMETIC_REDIS_URL", environ)
    if redis_url:
        out["HERMETIC_REDIS_URL"] = redis_url
    metrics_token = read_secret("METRICS_TOKEN", environ)
    if metrics_token:
        # Prometheus presents it as a bearer token; loopback needs none.
        out["METRICS_TOKEN"] = metrics_token
    if environ.get("REFERENCE_LOAD_RUN", "") not in ("", "0"):
        if mode != DEVELOPMENT:
            raise ValueError(
                "Cause: REFERENCE_LOAD_RUN turns rate limits off and is set with"
                " REFERENCE_ENV=production. Fix: unset REFERENCE_LOAD_RUN."
            )
        out["RATELIMIT_ENABLED"] = False
        out["REFERENCE_LOAD_RUN"] = True
    if mode == DEVELOPMENT:
        # SECURITY: only for plain HTTP on loopback; production keeps Secure cookies.
        out.update(SESSION_COOKIE_SECURE=False, REMEMBER_COOKIE_SECURE=False)
    # --8<-- [end:shared-settings]
    hosts = environ.get("TRUSTED_HOSTS")
    if hosts:
        out["TRUSTED_HOSTS"] = [h.strip() for h in hosts.split(",") if h.strip()]
    hops = environ.get("TRUSTED_PROXY_HOPS")
    if hops:
        out["TRUSTED_PROXY_HOPS"] = int(hops)
    out.update(config)
    return out


def url_setting(config: t.Mapping[str, t.Any], name: str, default: str) -> str:
    """Return the base URL ``name`` from ``config`` or the environment, without a trailing ``/``."""
    value = config.get(name) or os.environ.get(name) or default
    return str(value).rstrip("/")


def share_store(app: t.Any, config: t.Mapping[str, t.Any] | None) -> None:
    """Give ``app`` the store object in ``config["REFERENCE_STORE"]``, if any.

    In a deployment every service reaches the same Redis (``HERMETIC_REDIS_URL``),
    so a token or grant revoked by one is refused by all. Tests that run the
    services in one process share one in-memory store the same way.
    """
    store = (config or {}).get("REFERENCE_STORE")
    if store is not None:
        app.extensions["hermetic.store"] = store
