"""Secret keys: where they come from, whether they are strong, and masking.

``SECRET_KEY`` is looked up, in order, in the app config, the environment
(``HERMETIC_SECRET_KEY``, then ``SECRET_KEY``), a file named by
``HERMETIC_SECRET_KEY_FILE`` / ``SECRET_KEY_FILE`` (config or environment),
and a secrets folder (``HERMETIC_SECRETS_DIR``, default ``/run/secrets``,
file ``secret_key``). Old keys for rotation come the same way from
``*_FALLBACKS`` (comma-separated in a variable, one per line in a file).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
import typing as t
import weakref

from ..config import Config
from ..settings import Settings, SettingsError, setting

__all__ = [
    "KEY_FIX",
    "MIN_KEY_BYTES",
    "KeyOrigin",
    "MaskedConfig",
    "SecretFileSettings",
    "SecretsFilter",
    "check_secret_keys",
    "is_secret_name",
    "load_secret_key",
    "mask",
    "preview",
    "redact_secrets_in",
    "settle_secret_key",
    "weak_key_reason",
]

#: How to make a good key; every error about a key ends with this.
KEY_FIX = (
    "Generate a key with `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
    " and give it to the app in the HERMETIC_SECRET_KEY environment variable, or in a"
    " file named by HERMETIC_SECRET_KEY_FILE (e.g. a mounted secret)."
)
#: Keys shorter than this many bytes are refused.
MIN_KEY_BYTES = 32
_KNOWN_WEAK = frozenset(
    {
        "dev",
        "development",
        "secret",
        "secret-key",
        "secret_key",
        "secretkey",
        "changeme",
        "change-me",
        "password",
        "test",
        "test key",
        "testing",
        "your-secret-key",
        "your_secret_key",
        "super-secret",
        "supersecret",
        "default",
        "flask",
        "hermetic",
    }
)
_SECRET_NAME = re.compile(
    r"(SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE|CREDENTIAL|_KEY$|^KEY$|_KEYS$|_CLIENTS$)"
)
# Names that match _SECRET_NAME but hold no secret: where something is (a
# route path, a file path), how long it lasts, how costly a hash is, a flag.
# ``*_URL`` stays masked: a URL can carry a password (redis://:pw@host).
_NOT_SECRET = re.compile(
    r"^(SESSION_COOKIE_|CSRF_FIELD|CSRF_HEADER|JWT_ALGORITHM|PASSWORD_HASH_|CORS_ALLOW_CREDENTIALS$)"
    r"|(_PATH|_FILE|_TTL)$"
)


def is_secret_name(name: str) -> bool:
    """Tell whether a config key holds a secret (its value is masked)."""
    upper = name.upper()
    return bool(_SECRET_NAME.search(upper)) and not _NOT_SECRET.search(upper)


def _read_file(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read().strip()


class KeyOrigin(t.NamedTuple):
    """Where a loaded secret came from; a digest (never the value) tells it apart."""

    #: The source, in words ("the HERMETIC_SECRET_KEY environment variable").
    source: str
    digest: bytes

    def holds(self, value: t.Any) -> bool:
        """Tell whether ``value`` is still the value that was loaded."""
        return _digest(value) == self.digest

    def __repr__(self) -> str:
        return f"KeyOrigin({self.source!r})"


def _digest(value: t.Any) -> bytes:
    if isinstance(value, (list, tuple)):
        value = "\n".join(str(v) for v in value)
    raw = value if isinstance(value, bytes) else str(value).encode("utf-8", "replace")
    return hashlib.sha256(raw).digest()


@dataclasses.dataclass(frozen=True)
class SecretFileSettings(
    Settings,
    feature="secrets",
    title="Secret key files",
    prefixes=("SECRET_KEY_", "HERMETIC_SECRET_KEY_"),
):
    """Files the secret keys are read from (each key also works as an environment variable)."""

    hermetic_key_file: str | None = setting(
        "HERMETIC_SECRET_KEY_FILE",
        default=None,
        doc="A file holding `SECRET_KEY` (a mounted secret), when the config has none.",
    )
    key_file: str | None = setting(
        "SECRET_KEY_FILE",
        default=None,
        doc="The same as `HERMETIC_SECRET_KEY_FILE`, looked at after it.",
    )
    hermetic_fallbacks_file: str | None = setting(
        "HERMETIC_SECRET_KEY_FALLBACKS_FILE",
        default=None,
        doc="A file holding `SECRET_KEY_FALLBACKS`, one old key per line.",
    )
    fallbacks_file: str | None = setting(
        "SECRET_KEY_FALLBACKS_FILE",
        default=None,
        doc="The same as `HERMETIC_SECRET_KEY_FALLBACKS_FILE`, looked at after it.",
    )


def _secret_files(config: t.Mapping[str, t.Any]) -> dict[str, str | None]:
    """Return the ``*_FILE`` paths the config gives, by key (``None`` when absent)."""
    try:
        files = SecretFileSettings.from_config(config)
    except SettingsError as e:
        from .errors import ConfigurationError

        raise ConfigurationError(str(e), key=e.key) from None
    return {decl.key: getattr(files, attr) for attr, decl in files.declarations()}


def _from_sources(
    name: str, config: t.Mapping[str, t.Any], environ: t.Mapping[str, str], secrets_dir: str
) -> tuple[str, str] | None:
    """Return ``(value, where)`` from the first source that has ``name``."""
    for var in (f"HERMETIC_{name}", name):
        if environ.get(var):
            return environ[var], f"the {var} environment variable"
    files = _secret_files(config)
    for var in (f"HERMETIC_{name}_FILE", f"{name}_FILE"):
        path = files[var] or environ.get(var)
        if path:
            try:
                return _read_file(path), f"the file named by {var} ({path})"
            except OSError as e:
                from .errors import ConfigurationError

                raise ConfigurationError(
                    f"{var} names {path!r}, which cannot be read ({e.strerror}). {KEY_FIX}"
                ) from None
    candidate = os.path.join(secrets_dir, name.lower())
    if os.path.isfile(candidate):
        return _read_file(candidate), f"the secrets folder ({candidate})"
    return None


def load_secret_key(
    config: t.MutableMapping[str, t.Any],
    environ: t.Mapping[str, str] | None = None,
    secrets_dir: str | None = None,
) -> dict[str, KeyOrigin]:
    """Fill ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS`` in ``config`` from their sources.

    Values already in the config win; nothing is invented. Return where each
    filled value came from, for :func:`check_secret_keys` to tell a loaded
    key from one the app's own config put there later.
    """
    if environ is None:
        environ = os.environ
    if secrets_dir is None:
        secrets_dir = environ.get("HERMETIC_SECRETS_DIR", "/run/secrets")
    origins: dict[str, KeyOrigin] = {}
    if not config.get("SECRET_KEY"):
        found = _from_sources("SECRET_KEY", config, environ, secrets_dir)
        if found and found[0]:
            config["SECRET_KEY"] = found[0]
            origins["SECRET_KEY"] = KeyOrigin(found[1], _digest(found[0]))
    if not config.get("SECRET_KEY_FALLBACKS"):
        found = _from_sources("SECRET_KEY_FALLBACKS", config, environ, secrets_dir)
        if found and found[0]:
            parts = [p.strip() for p in re.split(r"[,\n]", found[0]) if p.strip()]
            config["SECRET_KEY_FALLBACKS"] = parts
            origins["SECRET_KEY_FALLBACKS"] = KeyOrigin(found[1], _digest(parts))
    return origins


def preview(value: t.Any) -> str:
    """Return a hint of a weak secret that does not give it away (``'d***'``)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return f"of type {type(value).__name__}"
    return f"'{value[:1]}***'" if value else "''"


def weak_key_reason(key: t.Any) -> str | None:
    """Return why ``key`` is not a safe secret key, or ``None`` when it is."""
    if not key:
        return "SECRET_KEY is not set."
    if not isinstance(key, (str, bytes)):
        return f"SECRET_KEY must be str or bytes, not {type(key).__name__}."
    raw = key.encode() if isinstance(key, str) else key
    if isinstance(key, str) and key.strip().lower() in _KNOWN_WEAK:
        return "SECRET_KEY is a well-known placeholder value."
    if len(raw) < MIN_KEY_BYTES:
        return f"SECRET_KEY is too short ({len(raw)} bytes; at least {MIN_KEY_BYTES} are needed)."
    if len(set(raw)) < 10:
        return "SECRET_KEY repeats too few distinct characters to be random."
    return None


#: What a developer changes when the app's own config sets a weak key.
_CONFIG_FIX = (
    "Fix: remove SECRET_KEY from the app's config (from_mapping, from_object, from_pyfile,"
    " app.secret_key = ...) so the key loaded at start-up is used"
)


def _key_problem(value: t.Any, reason: str, origin: KeyOrigin | None) -> str:
    if origin is not None and origin.holds(value):
        return f"{reason} It was loaded from {origin.source}. {KEY_FIX}"
    if origin is not None:
        return (
            f"SECRET_KEY was loaded from {origin.source}, then replaced by the app's config"
            f" with a weak value {preview(value)}: {reason} {_CONFIG_FIX}, or set it there"
            " from a strong source (SECRET_KEY = os.environ['HERMETIC_SECRET_KEY'])."
        )
    if value:
        return (
            f"{reason} It was set by the app's config to {preview(value)}, and nothing was"
            " loaded from HERMETIC_SECRET_KEY, HERMETIC_SECRET_KEY_FILE or the secrets"
            f" folder. {_CONFIG_FIX} (it would replace the loaded key), and: {KEY_FIX}"
        )
    return (
        f"{reason} It was looked for in HERMETIC_SECRET_KEY, SECRET_KEY,"
        f" HERMETIC_SECRET_KEY_FILE, SECRET_KEY_FILE and the secrets folder. {KEY_FIX}"
    )


def check_secret_keys(
    config: t.Mapping[str, t.Any], origins: t.Mapping[str, KeyOrigin] | None = None
) -> list[str]:
    """Return the problems with ``SECRET_KEY`` and its fallbacks, each with the fix.

    ``origins`` (from :func:`load_secret_key`) lets each message say where
    the weak value came from; the value itself is never shown.
    """
    origins = origins or {}
    problems = []
    value = config.get("SECRET_KEY")
    reason = weak_key_reason(value)
    if reason:
        problems.append(_key_problem(value, reason, origins.get("SECRET_KEY")))
    for index, old in enumerate(config.get("SECRET_KEY_FALLBACKS") or ()):
        reason = weak_key_reason(old)
        if reason:
            problems.append(
                f"SECRET_KEY_FALLBACKS[{index}]: {reason.replace('SECRET_KEY ', 'the key ')}"
            )
    return problems


def settle_secret_key(
    config: t.MutableMapping[str, t.Any], origins: dict[str, KeyOrigin]
) -> dict[str, KeyOrigin]:
    """Load again what the app's config emptied after start (``SECRET_KEY = None``).

    A config class with ``SECRET_KEY = os.environ.get("SECRET_KEY")`` sets
    ``None`` when only ``HERMETIC_SECRET_KEY`` is set: the key is then taken
    from its sources as if the config had not touched it.
    """
    if config.get("SECRET_KEY") and config.get("SECRET_KEY_FALLBACKS"):
        return origins
    return {**origins, **load_secret_key(config)}


def mask(value: t.Any) -> str:
    """Return the masked form of a secret value."""
    return "'**********'" if value else repr(value)


class MaskedConfig(Config):
    """A :class:`~hermetic.config.Config` whose repr masks secret values."""

    def __repr__(self) -> str:
        shown = {k: (mask(v) if is_secret_name(k) else repr(v)) for k, v in self.items()}
        body = ", ".join(f"{k!r}: {v}" for k, v in shown.items())
        return f"<{type(self).__name__} {{{body}}}>"


class SecretsFilter(logging.Filter):
    """Replace the secret values of the watched configs by ``**********`` in log records.

    One filter serves every app logging to the same logger: each app's
    config is watched through a weak reference, and the secret values are
    collected again only when a config's secret entries change.
    """

    def __init__(self, config: t.Mapping[str, t.Any] | None = None) -> None:
        super().__init__()
        self._configs: list[weakref.ReferenceType[t.Any]] = []
        self._cache: dict[int, tuple[t.Any, list[str]]] = {}
        if config is not None:
            self.watch(config)

    def watch(self, config: t.Mapping[str, t.Any]) -> None:
        """Also redact the secrets of ``config``."""
        if any(ref() is config for ref in self._configs):
            return
        try:
            ref: t.Callable[[], t.Any] = weakref.ref(config)
        except TypeError:  # a plain dict: held strongly
            ref = lambda: config  # noqa: E731
        self._configs.append(ref)  # type: ignore[arg-type]  # a weakref or a lambda: both return the config

    def _values_of(self, config: t.Mapping[str, t.Any]) -> list[str]:
        names = [k for k in config if is_secret_name(k)] if config else []
        key = tuple((name, id(config[name])) for name in names)
        cached = self._cache.get(id(config))
        if cached is not None and cached[0] == key:
            return cached[1]
        values = []
        for name in names:
            value = config[name]
            items = value if isinstance(value, (list, tuple)) else (value,)
            for item in items:
                if isinstance(item, bytes):
                    item = item.decode("utf-8", "replace")
                if isinstance(item, str) and len(item) >= 6:
                    values.append(item)
        self._cache[id(config)] = (key, values)
        return values

    def _secrets(self) -> list[str]:
        values: list[str] = []
        alive = []
        for ref in self._configs:
            config = ref()
            if config is not None:
                alive.append(ref)
                values.extend(self._values_of(config))
        self._configs = alive
        return values

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._secrets()
        if not secrets:
            return True
        message = record.getMessage()
        redacted = message
        for value in secrets:
            if value in redacted:
                redacted = redacted.replace(value, "**********")
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


def redact_secrets_in(logger: logging.Logger, config: t.Mapping[str, t.Any]) -> None:
    """Make ``logger`` redact the secrets of ``config`` (one filter per logger)."""
    for existing in logger.filters:
        if isinstance(existing, SecretsFilter):
            existing.watch(config)
            return
    logger.addFilter(SecretsFilter(config))
