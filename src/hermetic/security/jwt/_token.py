"""Split a compact JWS once: three base64url segments, checked at C speed.

PyJWT checks each segment's characters in a Python loop, and
:meth:`~jwt.PyJWS.get_unverified_header` followed by ``decode_complete``
does it twice. Here one compiled regular expression checks the alphabet and
the shape, a few comparisons check what PyJWT checks besides -- no
``len % 4 == 1``, ``=`` padding only up to a multiple of four, canonical
encodings only (the unused low bits of the last character are zero) -- and
each segment is decoded once.
"""

from __future__ import annotations

import binascii
import json
import re
import typing as t

from .errors import TokenInvalid

_COMPACT = re.compile(
    rb"([A-Za-z0-9_-]*)(=*)\.([A-Za-z0-9_-]*)(=*)\.([A-Za-z0-9_-]*)(=*)", re.ASCII
)
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
#: By ``len % 4``: the padding that completes the last quad.
_PAD = (b"", b"", b"==", b"=")
#: By ``len % 4``: the last characters whose unused low bits are zero (4 or 2 bits).
_CANONICAL_LAST = (b"", b"", b"AQgw", b"AEIMQUYcgkosw048")


def _canonical(segment: bytes, padding: bytes) -> bool:
    rest = len(segment) & 3
    if rest == 0:
        return not padding
    if rest == 1:
        return False  # one character holds 6 bits: not a byte
    # "=" only completes the quad, and the last character encodes no stray bits.
    return (not padding or len(padding) == 4 - rest) and segment[-1:] in _CANONICAL_LAST[rest]


def b64url_decode(segment: bytes) -> bytes:
    """Decode a base64url ``segment`` (without its padding) that :func:`parse` accepted."""
    return binascii.a2b_base64(segment.translate(_TO_STANDARD) + _PAD[len(segment) & 3])


class Parsed(t.NamedTuple):
    """A compact JWS taken apart: the header, what was signed, the payload, the signature."""

    header: dict[str, t.Any]
    signing_input: bytes
    payload_segment: bytes
    signature: bytes


def parse(token: bytes) -> Parsed:
    """Split and decode ``token`` (its size already checked); raise ``malformed``.

    Accepts exactly the segments PyJWT accepts (``tests/security/test_jwt_parse.py``
    compares the two).
    """
    match = _COMPACT.fullmatch(token)
    if match is None:
        raise TokenInvalid("malformed")
    head, head_pad, body, body_pad, sig, sig_pad = match.groups()
    if not (_canonical(head, head_pad) and _canonical(body, body_pad) and _canonical(sig, sig_pad)):
        raise TokenInvalid("malformed")
    try:
        header = json.loads(b64url_decode(head))
    except (ValueError, RecursionError):
        raise TokenInvalid("malformed") from None
    if not isinstance(header, dict):
        raise TokenInvalid("malformed")
    signing_input = token[: match.end(4)]
    return Parsed(header, signing_input, body, b64url_decode(sig))


def loads_claims(payload: bytes) -> tuple[dict[str, t.Any], str] | None:
    """Parse the decoded payload into a claims object and its JSON text; ``None`` if not one.

    The text is what ``json.loads(payload)`` decodes internally, kept so the
    same claims can be parsed again without working out the encoding.
    """
    try:
        text = payload.decode(json.detect_encoding(payload), "surrogatepass")
        claims = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return (claims, text) if isinstance(claims, dict) else None
