"""The key ring: authenticated encryption and signatures with rotating keys.

A :class:`KeyRing` holds the app's master keys: the first (``SECRET_KEY``)
encrypts and signs, the others (``SECRET_KEY_FALLBACKS``, old keys kept
during a rotation) only decrypt and verify. No master key is used directly:
each use gets its own sub-key, derived with HKDF-SHA256, so a key made for
session cookies can never decrypt or sign anything else.

A token names the key that made it by a short key id, so reading it costs
one decryption, whatever the number of old keys::

    token = urlsafe_b64(version || kid || nonce || ciphertext+tag)

Encryption is AES-256-GCM with a random 96-bit nonce; the version and key id
are authenticated with the caller's associated data. Any failure -- bad
base64, unknown key, wrong version, a flipped bit, a cut token -- is the same
opaque :class:`InvalidToken`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import sys
import typing as t

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import ConfigurationError
from .secrets import KEY_FIX, MIN_KEY_BYTES

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask

__all__ = [
    "CryptoError",
    "InvalidToken",
    "KeyRing",
    "keyring_for",
    "random_token",
]

#: The first byte of every encrypted token.
VERSION = b"\x01"
#: Bytes of the key id in a token or signature.
KID_SIZE = 4
#: Bytes of the random AES-GCM nonce.
NONCE_SIZE = 12
_TAG_SIZE = 16
_HEADER_SIZE = 1 + KID_SIZE
_BODY_START = _HEADER_SIZE + NONCE_SIZE
_MIN_TOKEN_BYTES = _BODY_START + _TAG_SIZE
#: Longest token accepted by :meth:`KeyRing.decrypt`, in characters.
MAX_TOKEN_CHARS = 64 * 1024
#: Where :func:`keyring_for` keeps the app's ring.
EXTENSION_KEY = "hermetic.keyring"


class CryptoError(Exception):
    """The root of the key ring's errors."""


class InvalidToken(CryptoError):
    """A token or signature that cannot be read: one opaque failure, no details."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_PADDING = (b"", b"===", b"==", b"=")


def _b64decode(text: str) -> bytes:
    # SECURITY: strict alphabet; Python's default decoder skips junk bytes.
    try:
        raw = text.encode("ascii")
    except (UnicodeEncodeError, AttributeError):
        raise InvalidToken() from None
    try:
        if sys.version_info >= (3, 11):  # a2b_base64(strict_mode=...) is new in 3.11
            # base64.b64decode(..., altchars=b"-_", validate=True) without its
            # per-call translation table.
            return binascii.a2b_base64(
                raw.translate(_URLSAFE_TO_STANDARD) + _PADDING[len(raw) % 4], strict_mode=True
            )
        return base64.b64decode(raw + _PADDING[len(raw) % 4], altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise InvalidToken() from None


def _hkdf(master: bytes, info: bytes, length: int = 32) -> bytes:
    return HKDF(algorithm=SHA256(), length=length, salt=None, info=info).derive(master)


def random_token(nbytes: int = 32) -> str:
    """Return a URL-safe random string with ``nbytes`` of entropy (default ``32``)."""
    return secrets.token_urlsafe(nbytes)


def _as_key_bytes(key: t.Any, index: int) -> bytes:
    what = "SECRET_KEY" if index == 0 else f"SECRET_KEY_FALLBACKS[{index - 1}]"
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, bytes):
        raise ConfigurationError(f"{what} must be str or bytes. {KEY_FIX}")
    if not key:
        raise ConfigurationError(f"{what} is empty. {KEY_FIX}")
    if len(key) < MIN_KEY_BYTES:
        raise ConfigurationError(
            f"{what} is too short to derive encryption keys from ({len(key)} bytes;"
            f" at least {MIN_KEY_BYTES} are needed). {KEY_FIX}"
        )
    return key


class KeyRing:
    """Encrypt, decrypt, sign and verify with a list of master keys.

    :param keys: The master keys, ``str`` (UTF-8) or ``bytes``, at least
        32 bytes each. The first is current: it encrypts and signs. The
        others only decrypt and verify, so tokens made before a rotation
        keep working until they expire on their own.

    Sub-keys are derived with HKDF-SHA256 from each master key with
    ``info = b"hermetic:" + use + b":" + purpose`` (``use`` is ``aead``,
    ``mac`` or ``raw``), and the key id with ``info = b"hermetic:kid"``;
    the ``use`` part keeps an encryption key, a signing key and a raw
    :meth:`derive` key for one purpose apart. Derived keys are cached.
    """

    __slots__ = ("_masters", "_kids", "_index", "_cache", "source")

    def __init__(self, keys: t.Iterable[str | bytes]) -> None:
        masters: list[bytes] = []
        kids: list[bytes] = []
        index: dict[bytes, int] = {}
        for position, key in enumerate(keys):
            raw = _as_key_bytes(key, position)
            kid = _hkdf(raw, b"hermetic:kid", KID_SIZE)
            if kid in index:
                if masters[index[kid]] == raw:
                    continue  # the same key listed twice
                raise ConfigurationError(
                    "Two secret keys share a key id (a 1 in 4 billion chance)."
                    f" Replace the newest one. {KEY_FIX}"
                )
            index[kid] = len(masters)
            masters.append(raw)
            kids.append(kid)
        if not masters:
            raise ConfigurationError(f"No secret key is set. {KEY_FIX}")
        self._masters: tuple[bytes, ...] = tuple(masters)
        self._kids: tuple[bytes, ...] = tuple(kids)
        self._index = index
        # (use, purpose, position) -> derived key or cipher. Races only
        # compute the same value twice.
        self._cache: dict[tuple[str, str, int], t.Any] = {}
        #: What the ring was built from (used by :func:`keyring_for`).
        self.source: t.Any = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} keys={len(self._masters)}>"

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The key ids (hex), current key first; safe to log."""
        return tuple(kid.hex() for kid in self._kids)

    def _derived(self, use: str, purpose: str, position: int) -> t.Any:
        entry = (use, purpose, position)
        value = self._cache.get(entry)
        if value is None:
            if not isinstance(purpose, str) or not purpose:
                raise TypeError("The purpose must be a non-empty string, e.g. 'session'.")
            info = f"hermetic:{use}:{purpose}".encode()
            value = _hkdf(self._masters[position], info)
            if use == "aead":
                value = AESGCM(value)
            self._cache[entry] = value
        return value

    def derive(self, purpose: str) -> bytes:
        """Return the current 32-byte sub-key for ``purpose`` (for another primitive)."""
        return t.cast(bytes, self._derived("raw", purpose, 0))

    def encrypt(self, purpose: str, plaintext: bytes, *, aad: bytes = b"") -> str:
        """Encrypt ``plaintext`` for ``purpose`` with the current key; return a URL-safe token.

        ``aad`` (associated data) is authenticated, not stored: the same
        value must be given to :meth:`decrypt`. Bind a token to its place
        with it (a cookie name, a user id).
        """
        header = VERSION + self._kids[0]
        nonce = os.urandom(NONCE_SIZE)
        sealed = self._derived("aead", purpose, 0).encrypt(nonce, plaintext, header + aad)
        return _b64encode(header + nonce + sealed)

    def decrypt(self, purpose: str, token: str, *, aad: bytes = b"") -> bytes:
        """Return the plaintext of ``token``; raise :class:`InvalidToken` on any failure."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken()
        raw = _b64decode(token)
        if len(raw) < _MIN_TOKEN_BYTES or raw[:1] != VERSION:
            raise InvalidToken()
        position = self._index.get(raw[1:_HEADER_SIZE])
        if position is None:
            raise InvalidToken()
        cipher = self._derived("aead", purpose, position)
        try:
            plaintext: bytes = cipher.decrypt(
                raw[_HEADER_SIZE:_BODY_START], raw[_BODY_START:], raw[:_HEADER_SIZE] + aad
            )
        except InvalidTag:
            raise InvalidToken() from None
        return plaintext

    def sign(self, purpose: str, data: bytes) -> str:
        """Return a URL-safe HMAC-SHA256 signature of ``data`` for ``purpose``."""
        kid = self._kids[0]
        mac = hmac.new(self._derived("mac", purpose, 0), data, hashlib.sha256).digest()
        return _b64encode(kid + mac)

    def verify(self, purpose: str, data: bytes, signature: str) -> bool:
        """Tell whether ``signature`` is a signature of ``data`` by any key of the ring."""
        if not isinstance(signature, str) or len(signature) > 128:
            return False
        try:
            raw = _b64decode(signature)
        except InvalidToken:
            return False
        position = self._index.get(raw[:KID_SIZE])
        if position is None:
            return False
        expected = hmac.new(self._derived("mac", purpose, position), data, hashlib.sha256).digest()
        # SECURITY: constant-time compare, no early exit on the first wrong byte.
        return hmac.compare_digest(expected, raw[KID_SIZE:])


def keyring_for(app: Flask) -> KeyRing:
    """Return ``app``'s key ring from ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS``.

    The ring is kept in ``app.extensions["hermetic.keyring"]`` and rebuilt
    when either setting changes. Raises
    :class:`~hermetic.security.errors.ConfigurationError` when a key is
    missing or too short.
    """
    config = app.config
    source = (config.get("SECRET_KEY"), tuple(config.get("SECRET_KEY_FALLBACKS") or ()))
    # (Annotated rather than cast: no call per request.)
    ring: KeyRing | None = app.extensions.get(EXTENSION_KEY)
    if ring is not None and ring.source == source:
        return ring
    if not source[0]:
        raise ConfigurationError(f"SECRET_KEY is not set. {KEY_FIX}")
    ring = KeyRing([source[0], *source[1]])
    ring.source = source
    app.extensions[EXTENSION_KEY] = ring
    return ring
