"""The CSRF secret and its masked tokens: encoding, reading, matching.

The session holds a random 32-byte secret under :data:`SESSION_KEY`, as
base64url without padding (43 characters); a token is ``pad || pad XOR
secret`` (64 bytes, 86 characters). :mod:`.csrf` makes the tokens and runs
the check; these functions are its arithmetic.
"""

from __future__ import annotations

import functools
import typing as t
from binascii import a2b_base64, b2a_base64
from hmac import compare_digest
from os import urandom

from ..sessions import SecureCookieSession
from ._hermetic_session import HermeticSession

if t.TYPE_CHECKING:  # pragma: no cover
    from ..sessions import SessionMixin

#: The session key of the (unmasked) secret.
SESSION_KEY = "_csrf"

SECRET_SIZE = 32
#: The secret's length in the session: base64url of 32 bytes, without padding.
SECRET_CHARS = 43
# A token is base64url without padding of pad (32 bytes) + masked secret (32 bytes).
_TOKEN_CHARS = 86
_TOKEN_BYTES = 2 * SECRET_SIZE
_LOW_BITS = (1 << (8 * SECRET_SIZE)) - 1

# base64url <-> base64, for binascii (what base64.urlsafe_b64* do, minus two calls).
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
# For tokens: base64url to base64, and the three other characters binascii
# would read ("+", "/", "=") to "!", which it skips (see token_matches).
_FROM_TOKEN = bytes.maketrans(b"-_+/=", b"+/!!!")


def encode(data: bytes) -> str:
    """Return ``data`` as base64url without padding."""
    return b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode("ascii")


def xor(a: bytes, b: bytes) -> bytes:
    """Return ``a XOR b`` (both :data:`SECRET_SIZE` bytes)."""
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(SECRET_SIZE, "big")


#: dict's own ``get``, typed for any session (a dict subclass); no ``t.cast`` call per request.
dict_get: t.Callable[[t.Any, str], t.Any] = dict.get


def session_secret(session: SessionMixin) -> bytes | None:
    """Return the secret ``session`` holds (marking it read), or ``None``."""
    if type(session) is HermeticSession or type(session).get is SecureCookieSession.get:
        # What SecureCookieSession.get does, without its two Python calls
        # (the usual session, exactly HermeticSession, is told first).
        session.accessed = True
        value = dict_get(session, SESSION_KEY)
    else:
        value = session.get(SESSION_KEY)
    if not isinstance(value, str) or len(value) != SECRET_CHARS:
        return None
    return decode_secret(value)


@functools.lru_cache(maxsize=1024)
def decode_secret(value: str) -> bytes | None:
    """Return the secret a session value of 43 characters spells, or ``None``."""
    # A session sends the same secret with each request: decoded once.
    try:
        # Non-ASCII text raises UnicodeEncodeError, bad base64 binascii.Error:
        # both ValueErrors. Like base64.urlsafe_b64decode, without validation.
        secret = a2b_base64(value.encode("ascii").translate(_FROM_URLSAFE) + b"=")
    except ValueError:
        return None
    return secret if len(secret) == SECRET_SIZE else None


def new_secret(session: SessionMixin) -> bytes:
    """Store a fresh random secret in ``session`` and return it."""
    secret = urandom(SECRET_SIZE)  # what secrets.token_bytes reads
    session[SESSION_KEY] = encode(secret)
    return secret


def token_matches(token: str, secret: bytes) -> bool:
    """Tell whether ``token`` is ``secret`` masked by a pad (in constant time)."""
    # SECURITY: only tokens of exactly 86 base64url characters can match.
    # A non-ASCII character fails the encoding (UnicodeEncodeError, a
    # ValueError); after _FROM_TOKEN, every other ASCII character is one
    # a2b_base64 skips: a token holding one has at most 85 digits, which
    # decode to at most 63 bytes or fail (a regular expression cost more
    # than all this).
    if not isinstance(token, str) or len(token) != _TOKEN_CHARS:
        return False
    try:
        raw = a2b_base64(token.encode("ascii").translate(_FROM_TOKEN) + b"==")
    except ValueError:
        return False
    if len(raw) != _TOKEN_BYTES:
        return False
    # pad XOR masked, both halves read as one integer (one conversion, not two).
    whole = int.from_bytes(raw, "big")
    unmasked = ((whole >> (8 * SECRET_SIZE)) ^ (whole & _LOW_BITS)).to_bytes(SECRET_SIZE, "big")
    # SECURITY: constant-time compare, so timing tells nothing of the secret.
    return compare_digest(unmasked, secret)
