"""JWK Sets: publish ours, fetch and cache other issuers'.

Fetched keys are bound to one algorithm each: the JWK's ``alg`` when it
declares one (EdDSA, ES256 or RS256), else the one algorithm its key type
implies -- OKP/Ed25519 -> EdDSA, EC/P-256 -> ES256, RSA -> RS256. (A
service that signs with another RSA scheme must declare ``alg``.)
Symmetric (``oct``) keys, keys with private members, keys for encryption
(``use`` other than ``sig``) and keys without a ``kid`` are skipped.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import re
import ssl
import threading
import time
import typing as t
from urllib.parse import urlsplit

from jwt import PyJWK
from jwt.exceptions import PyJWTError

from ..audit import audit
from ..errors import ConfigurationError
from ._settings import (
    DEFAULT_JWKS_CACHE_TTL,
    DEFAULT_JWKS_MAX_BYTES,
    DEFAULT_JWKS_MIN_REFRESH_INTERVAL,
    DEFAULT_JWKS_TIMEOUT,
)
from .keys import ASYMMETRIC_ALGORITHMS, SigningKey, VerificationKey, _check_key_type

__all__ = [
    "JWKS_MEDIA_TYPE",
    "JWKSClient",
    "JWKSFetchError",
    "check_jwks_url",
    "jwks_document",
    "parse_jwks",
    "ssl_context_for",
]

#: The media type of a JWK Set (RFC 7517, section 8.5).
JWKS_MEDIA_TYPE = "application/jwk-set+json"
#: JWK members that belong to private or symmetric keys: never published.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
#: The longest a fetched key set is cached, whatever the server says (1 day).
MAX_CACHE_TTL = 86400

_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d{1,10})", re.IGNORECASE)


class JWKSFetchError(ValueError):
    """A key set that could not be fetched or read (the reason is the message)."""


def jwks_document(keys: t.Iterable[SigningKey | VerificationKey]) -> dict[str, t.Any]:
    """Return the JWK Set publishing the public part of ``keys`` (HS256 secrets left out)."""
    published = []
    for key in keys:
        vk = key.verification_key if isinstance(key, SigningKey) else key
        if vk.alg != "HS256":
            published.append(vk.public_jwk())
    return {"keys": published}


def _alg_for(jwk: t.Mapping[str, t.Any]) -> str | None:
    alg = jwk.get("alg")
    if alg is not None:
        return alg if alg in ASYMMETRIC_ALGORITHMS else None
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "OKP" and crv == "Ed25519":
        return "EdDSA"
    if kty == "EC" and crv == "P-256":
        return "ES256"
    if kty == "RSA":
        return "RS256"
    return None  # oct and everything else: refused


def parse_jwks(data: bytes | str, *, max_keys: int = 50) -> dict[str, VerificationKey]:
    """Return the usable keys of a JWK Set by ``kid``; raise :class:`JWKSFetchError` if none."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        raise JWKSFetchError("not JSON") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise JWKSFetchError("not a JWK Set")
    keys: dict[str, VerificationKey] = {}
    for jwk in doc["keys"][:max_keys]:
        if not isinstance(jwk, dict):
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > 256 or kid in keys:
            continue
        # SECURITY: a published private or symmetric key is never trusted.
        if PRIVATE_MEMBERS.intersection(jwk) or jwk.get("use", "sig") != "sig":
            continue
        alg = _alg_for(jwk)
        if alg is None:
            continue
        try:
            pyjwk = PyJWK(jwk, alg)
            _check_key_type(alg, pyjwk.key, private=False)
            keys[kid] = VerificationKey.from_pyjwk(pyjwk, kid)
        except (PyJWTError, ConfigurationError, ValueError, TypeError):
            continue
    if not keys:
        raise JWKSFetchError("no usable keys")
    return keys


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_jwks_url(url: str, *, http_hosts: t.Iterable[str] = ()) -> None:
    """Refuse a JWKS URL that is not ``https``.

    Plain ``http`` is allowed on loopback, and to the hosts named in
    ``http_hosts`` (``JWT_JWKS_HTTP_HOSTS``: an explicit opt-in for an
    internal network the operator trusts).
    """
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname:
        host = parts.hostname.lower()
        if _is_loopback(host) or host in {h.lower() for h in http_hosts}:
            return
    raise ConfigurationError(
        f"The JWKS URL {url!r} must use https (plain http only on 127.0.0.1 / ::1):"
        " keys fetched in clear text can be swapped by anyone on the path. Fix: serve"
        " the JWKS over TLS (JWT_JWKS_CA_FILE names the CA of an internal certificate),"
        " or, on an internal network you trust, name the host in JWT_JWKS_HTTP_HOSTS."
    )


def ssl_context_for(ca_file: str | None) -> ssl.SSLContext | None:
    """Return a verifying TLS context trusting the CA bundle ``ca_file`` (``None``: the system's).

    Certificates are checked and host names matched as usual: only the trust
    anchors change (an internal CA, or a self-signed gateway certificate).
    """
    if ca_file is None:
        return None
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as e:
        raise ConfigurationError(
            f"JWT_JWKS_CA_FILE {ca_file!r} cannot be read as a PEM CA bundle"
            f" ({type(e).__name__}). Fix: point it at the PEM certificate of the CA"
            " (or the self-signed certificate) that signs the JWKS server's certificate."
        ) from None


class JWKSClient:
    """Fetch, cache and refresh the JWK Set of another issuer.

    :param url: The issuer's JWKS URL (``https``; ``http`` only on loopback).
    :param timeout: Seconds for connecting and for the whole download, default ``5``.
    :param cache_ttl: Seconds a key set is fresh when the response has no
        ``Cache-Control: max-age``, default ``300``.
    :param min_refresh_interval: At most one fetch per this many seconds,
        however many unknown ``kid`` values arrive, default ``30``.
    :param max_bytes: Larger responses are refused, default ``65536``.
    :param now: The clock, default :func:`time.time`.
    :param fetch: ``fetch(url, timeout, max_bytes) -> (body, cache_control)``,
        default an ``http.client`` GET (no proxies, no redirects).
    :param ssl_context: The TLS context of ``https`` fetches, default the
        system's trust store (``JWT_JWKS_CA_FILE`` makes one trusting an
        internal CA: :func:`ssl_context_for`).
    :param http_hosts: Hosts that may serve the JWKS over plain ``http``
        besides loopback (``JWT_JWKS_HTTP_HOSTS``), default none.

    A failed refresh keeps the last good key set. Verification stays local:
    the issuer is never called per request.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_JWKS_TIMEOUT,
        cache_ttl: float = DEFAULT_JWKS_CACHE_TTL,
        min_refresh_interval: float = DEFAULT_JWKS_MIN_REFRESH_INTERVAL,
        max_bytes: int = DEFAULT_JWKS_MAX_BYTES,
        max_keys: int = 50,
        now: t.Callable[[], float] = time.time,
        fetch: t.Callable[[str, float, int], tuple[bytes, str | None]] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        http_hosts: t.Iterable[str] = (),
    ) -> None:
        check_jwks_url(url, http_hosts=http_hosts)
        self.url = url
        self.timeout = timeout
        self.cache_ttl = cache_ttl
        self.min_refresh_interval = min_refresh_interval
        self.max_bytes = max_bytes
        self.max_keys = max_keys
        self.now = now
        self._ssl_context = ssl_context
        self._fetch = fetch or self._http_get
        self._keys: dict[str, VerificationKey] = {}
        self._expires = float("-inf")
        self._last_attempt: float | None = None
        self._lock = threading.Lock()
        #: How many fetches were attempted (for tests and metrics).
        self.fetch_count = 0

    def __repr__(self) -> str:
        return f"<JWKSClient {self.url!r} keys={len(self._keys)}>"

    @property
    def keys(self) -> dict[str, VerificationKey]:
        """Return the cached keys by ``kid`` (no fetch)."""
        return dict(self._keys)

    def get_key(
        self, kid: str, now: float | None = None, *, refresh: bool = True
    ) -> VerificationKey | None:
        """Return the key ``kid``, fetching when the cache is stale or (if ``refresh``) lacks it."""
        now = self.now() if now is None else now
        if now >= self._expires:
            self.refresh(now)
        key = self._keys.get(kid)
        if key is None and refresh:
            self.refresh(now)
            key = self._keys.get(kid)
        return key

    def refresh(self, now: float | None = None, *, force: bool = False) -> bool:
        """Fetch the key set unless one was fetched in the last ``min_refresh_interval``.

        Return whether a new key set was installed.
        """
        now = self.now() if now is None else now
        # Wait for a first fetch in progress; later, let one thread fetch.
        if not self._lock.acquire(blocking=not self._keys):
            return False
        try:
            last = self._last_attempt
            if not force and last is not None and now - last < self.min_refresh_interval:
                return False
            self._last_attempt = now
            self.fetch_count += 1
            try:
                body, cache_control = self._fetch(self.url, self.timeout, self.max_bytes)
                keys = parse_jwks(body, max_keys=self.max_keys)
            except (JWKSFetchError, OSError, http.client.HTTPException, ValueError) as e:
                # SECURITY: keep the last good keys; the rate limit stops hammering.
                audit("jwks", reason="refresh_failed", url=self.url, error=_describe(e))
                return False
            self._keys = keys
            self._expires = now + self._ttl(cache_control)
            return True
        finally:
            self._lock.release()

    def _ttl(self, cache_control: str | None) -> float:
        if cache_control:
            lowered = cache_control.lower()
            if "no-store" in lowered or "no-cache" in lowered:
                return self.min_refresh_interval
            match = _MAX_AGE.search(cache_control)
            if match:
                return max(self.min_refresh_interval, min(int(match.group(1)), MAX_CACHE_TTL))
        return self.cache_ttl

    def _http_get(self, url: str, timeout: float, max_bytes: int) -> tuple[bytes, str | None]:
        parts = urlsplit(url)
        host = t.cast(str, parts.hostname)
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            context = self._ssl_context or ssl.create_default_context()
            conn = http.client.HTTPSConnection(host, parts.port, timeout=timeout, context=context)
        else:
            conn = http.client.HTTPConnection(host, parts.port, timeout=timeout)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        deadline = time.monotonic() + timeout
        try:
            conn.request("GET", path, headers={"Accept": f"{JWKS_MEDIA_TYPE}, application/json"})
            response = conn.getresponse()
            if response.status != 200:
                # Redirects are not followed: a JWKS URL must be the final one.
                raise JWKSFetchError(f"HTTP {response.status}")
            length = response.getheader("Content-Length")
            if length is not None and length.isdigit() and int(length) > max_bytes:
                raise JWKSFetchError("too large")
            chunks: list[bytes] = []
            size = 0
            while True:
                chunk = response.read(min(16384, max_bytes + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:
                    raise JWKSFetchError("too large")
                if time.monotonic() > deadline:
                    raise JWKSFetchError("too slow")
            return b"".join(chunks), response.getheader("Cache-Control")
        finally:
            conn.close()


def _describe(error: Exception) -> str:
    if isinstance(error, JWKSFetchError):
        return str(error)
    return type(error).__name__
