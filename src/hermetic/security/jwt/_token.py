"""Split a compact JWS once: three base64url segments, checked at C speed.

PyJWT checks each segment's characters in a Python loop, and
:meth:`~jwt.PyJWS.get_unverified_header` followed by ``decode_complete``
does it twice. Here one compiled regular expression checks the alphabet and
the shape, a few comparisons check what PyJWT checks besides -- no
``len % 4 == 1``, canonical encodings only (the unused low bits of the last
character are zero) -- and each segment is decoded once.

Stricter than PyJWT: no ``=`` padding in any segment (RFC 7515, section 2:
base64url "with all trailing '=' characters omitted"), and JSON is JSON
(RFC 8259): ``NaN``, ``Infinity`` and ``-Infinity``, which Python's parser
reads, make the header or payload malformed.
"""

from __future__ import annotations

import binascii
import json
import re
import typing as t

from .errors import TokenInvalid

# SECURITY: no "=" at all: a padded segment is a second spelling of the same
# token, which RFC 7515 forbids and a cache or replay check must not meet.
_COMPACT = re.compile(rb"([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)", re.ASCII)
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
#: By ``len % 4``: the padding that completes the last quad.
_PAD = (b"", b"", b"==", b"=")
#: By ``len % 4``: the last characters whose unused low bits are zero (4 or 2 bits).
_CANONICAL_LAST = (b"", b"", b"AQgw", b"AEIMQUYcgkosw048")


def _canonical(segment: bytes) -> bool:
    rest = len(segment) & 3
    if rest == 0:
        return True
    if rest == 1:
        return False  # one character holds 6 bits: not a byte
    # The last character encodes no stray bits.
    return segment[-1:] in _CANONICAL_LAST[rest]


def _not_json(constant: str) -> t.NoReturn:
    # SECURITY: "exp": NaN compares false with everything: it would never expire.
    raise ValueError(f"{constant} is not JSON")


#: One decoder for every token: ``json.loads(..., parse_constant=)`` builds a
#: new ``JSONDecoder`` (and its scanner) on each call.
_DECODER = json.JSONDecoder(parse_constant=_not_json)


def _loads_text(text: str) -> t.Any:
    # As json.loads(text, parse_constant=_not_json), without a decoder per call.
    if text.startswith("\ufeff"):
        raise ValueError("Unexpected UTF-8 BOM")
    return _DECODER.decode(text)


def _loads_bytes(data: bytes) -> t.Any:
    # As json.loads(data, parse_constant=_not_json): the encoding detected as it does.
    return _DECODER.decode(data.decode(json.detect_encoding(data), "surrogatepass"))


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

    Accepts exactly the segments PyJWT accepts, less padded ones
    (``tests/security/jwt/test_jwt_parse.py`` compares the two).
    """
    match = _COMPACT.fullmatch(token)
    if match is None:
        raise TokenInvalid("malformed")
    head, body, sig = match.groups()
    if not (_canonical(head) and _canonical(body) and _canonical(sig)):
        raise TokenInvalid("malformed")
    try:
        header = _loads_bytes(b64url_decode(head))
    except (ValueError, RecursionError):
        raise TokenInvalid("malformed") from None
    if not isinstance(header, dict):
        raise TokenInvalid("malformed")
    signing_input = token[: match.end(2)]
    return Parsed(header, signing_input, body, b64url_decode(sig))


def loads_claims(payload: bytes) -> tuple[dict[str, t.Any], str] | None:
    """Parse the decoded payload into a claims object and its JSON text; ``None`` if not one.

    The text is what ``json.loads(payload)`` decodes internally, kept so the
    same claims can be parsed again without working out the encoding.
    """
    try:
        text = payload.decode(json.detect_encoding(payload), "surrogatepass")
        claims = _loads_text(text)
    except (ValueError, RecursionError):
        return None
    return (claims, text) if isinstance(claims, dict) else None
