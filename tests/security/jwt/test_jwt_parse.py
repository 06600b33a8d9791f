"""The one-pass JWS parser accepts what PyJWT accepts, less padding, and decodes the same.

PyJWT accepts ``=`` padding; RFC 7515 (section 2) forbids it, and so do we.
"""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt import PyJWS
from jwt.exceptions import PyJWTError
from jwt.utils import base64url_encode

from hermetic.security.jwt import TokenInvalid
from hermetic.security.jwt._token import b64url_decode, parse

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
HEADER = base64url_encode(json.dumps({"alg": "EdDSA", "kid": "k"}).encode())
PAYLOAD = base64url_encode(b'{"sub":"a"}')
SIGNATURE = base64url_encode(bytes(range(64)))
_JWS = PyJWS()


def pyjwt_load(token: bytes):
    """Return PyJWT's reading of ``token`` (header, signing input, payload, signature), or None.

    None for a padded segment too, which PyJWT accepts and RFC 7515 forbids.
    """
    if b"=" in token:
        return None
    try:
        payload, signing_input, header, signature = _JWS._load(token)
    except PyJWTError:
        return None
    return header, signing_input, payload, signature


def ours(token: bytes):
    """Return our reading of ``token`` in the same shape, or None."""
    try:
        header, signing_input, payload_segment, signature = parse(token)
    except TokenInvalid as e:
        assert e.check == "malformed"
        return None
    return header, signing_input, b64url_decode(payload_segment), signature


def same_reading(token: bytes) -> None:
    assert ours(token) == pyjwt_load(token), token


@pytest.mark.parametrize("position", [0, 1, 2])
@pytest.mark.parametrize("padding", ["", "=", "==", "==="])
def test_every_short_tail_in_every_position(position, padding):
    # No tail, and every 1- and 2-character tail after a full quad, with every
    # padding: alphabet, length and canonical-bits rules, all three segments.
    tails = ["", *ALPHABET, *("".join(p) for p in itertools.product(ALPHABET, repeat=2))]
    for tail in tails:
        segment = ("QUJD" + tail + padding).encode()
        parts = [HEADER, PAYLOAD, SIGNATURE]
        if position == 0:
            segment = HEADER + segment  # keep the header decodable when it can be
        parts[position] = segment
        same_reading(b".".join(parts))


@pytest.mark.parametrize("last", list(ALPHABET))
@pytest.mark.parametrize("padding", ["", "=", "=="])
def test_three_character_tails(last, padding):
    same_reading(b".".join([HEADER, PAYLOAD, ("QUJDRE" + last + padding).encode()]))


@pytest.mark.parametrize(
    "token",
    [
        b"",
        b"..",
        b"a.b",
        b"a.b.c.d",
        HEADER + b"." + PAYLOAD,
        HEADER + b"." + PAYLOAD + b"." + SIGNATURE + b".",
        HEADER + b".." + SIGNATURE,
        HEADER + b"." + PAYLOAD + b".",
        b"." + PAYLOAD + b"." + SIGNATURE,
        HEADER + b"." + PAYLOAD + b"." + SIGNATURE.replace(b"A", b"+"),
        HEADER + b"." + PAYLOAD + b"." + SIGNATURE.replace(b"A", b"/"),
        HEADER + b" ." + PAYLOAD + b"." + SIGNATURE,
        HEADER + b"." + PAYLOAD + b"." + SIGNATURE + b"\n",
        HEADER + b"." + PAYLOAD + b"=." + SIGNATURE,
        HEADER + b"." + PAYLOAD + b"==." + SIGNATURE,
        HEADER + b"." + PAYLOAD + b"." + b"QUJD=",
        HEADER + b"." + PAYLOAD + b"." + b"=",
        base64url_encode(b"[1]") + b"." + PAYLOAD + b"." + SIGNATURE,
        base64url_encode(b"{bad") + b"." + PAYLOAD + b"." + SIGNATURE,
        base64url_encode(b"[" * 5000 + b"]" * 5000) + b"." + PAYLOAD + b"." + SIGNATURE,
    ],
)
def test_edge_cases(token):
    same_reading(token)


SEGMENT = st.text(alphabet=ALPHABET + "=+/.!% ", max_size=14)


@settings(max_examples=400, deadline=None)
@given(SEGMENT, SEGMENT, SEGMENT)
def test_random_tokens(head, body, sig):
    # Header-shaped prefixes keep some headers decodable.
    same_reading(HEADER[:8] + f"{head}.{body}.{sig}".encode())
    same_reading(f"{head}.{body}.{sig}".encode())


def test_signing_input_is_what_was_signed():
    token = HEADER + b"." + base64url_encode(b'{"sub":"abc"}') + b"." + SIGNATURE
    parsed = parse(token)
    assert parsed.signing_input == token.rsplit(b".", 1)[0]
    assert b64url_decode(parsed.payload_segment) == b'{"sub":"abc"}'


@pytest.mark.parametrize("position", [0, 1, 2])
def test_padding_that_pyjwt_accepts_is_refused(position):
    parts = [HEADER, base64url_encode(b'{"sub":"abc"}'), SIGNATURE]
    assert len(parts[position]) % 4  # each segment can be padded
    parts[position] += b"=" * (-len(parts[position]) % 4)
    token = b".".join(parts)
    payload, _, _, _ = _JWS._load(token)  # PyJWT reads it
    assert payload == b'{"sub":"abc"}'
    assert ours(token) is None
    assert ours(token.replace(b"=", b"")) is not None


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_constants_in_the_header_are_malformed(constant):
    header = base64url_encode(b'{"alg": "EdDSA", "kid": "k", "x": ' + constant.encode() + b"}")
    assert ours(header + b"." + PAYLOAD + b"." + SIGNATURE) is None


# -- the shared JSON decoder answers as json.loads(..., parse_constant=) -------

_JSON_CASES = [
    b'{"a": 1}',
    b'{"exp": NaN}',
    b'{"exp": -Infinity}',
    b"\xef\xbb\xbf{}",
    '{"a": "é"}'.encode("utf-16"),
    '{"a": 1}'.encode("utf-32-le"),
    b'{"a": "\xff"}',
    b"[1, 2]",
    b"",
    b'{"a": 1} x',
    b"[" * 5000 + b"]" * 5000,
]


def _reference(data):
    def refuse(constant):
        raise ValueError(constant)

    try:
        return ("ok", json.loads(data, parse_constant=refuse))
    except (ValueError, RecursionError) as e:
        return ("error", type(e).__name__ if isinstance(e, RecursionError) else "ValueError")


@pytest.mark.parametrize("data", _JSON_CASES)
def test_shared_decoder_is_json_loads(data):
    from hermetic.security.jwt._token import _loads_bytes, _loads_text

    def ours(load, value):
        try:
            return ("ok", load(value))
        except (ValueError, RecursionError) as e:
            return ("error", type(e).__name__ if isinstance(e, RecursionError) else "ValueError")

    assert ours(_loads_bytes, data) == _reference(data)
    try:
        text = data.decode(json.detect_encoding(data), "surrogatepass")
    except UnicodeDecodeError:
        return
    assert ours(_loads_text, text) == _reference(text)
    assert ours(_loads_text, "\ufeff" + text) == _reference("\ufeff" + text)
