"""Keys: one algorithm per key, safe types and sizes, PEM loading, thumbprint kids."""

from __future__ import annotations

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.utils import base64url_decode

from hermetic.security.errors import ConfigurationError
from hermetic.security.jwt import (
    SigningKey,
    VerificationKey,
    generate_signing_key,
    jwk_thumbprint,
    jwks_document,
    load_key,
    load_key_specs,
    private_pem,
)


def test_rfc7638_thumbprint_example():
    # RFC 7638, section 3.1.
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256"])
def test_generated_keys_get_thumbprint_kids(alg):
    key = generate_signing_key(alg)
    assert key.alg == alg
    assert key.kid == jwk_thumbprint(key.verification_key.public_jwk())
    assert generate_signing_key(alg, kid="k1").kid == "k1"


def test_hs256_needs_explicit_permission():
    with pytest.raises(ConfigurationError, match="JWT_ALLOW_HS256"):
        SigningKey(b"x" * 32, "HS256")
    with pytest.raises(ConfigurationError, match="JWT_ALLOW_HS256"):
        VerificationKey(b"x" * 32, "HS256")
    with pytest.raises(ConfigurationError, match="32 bytes"):
        SigningKey(b"short", "HS256", allow_hs256=True)
    key = SigningKey(b"x" * 32, "HS256", allow_hs256=True)
    # A secret is never published.
    assert jwks_document([key]) == {"keys": []}


@pytest.mark.parametrize("alg", ["none", "HS512", "RS512", "PS256", "ES384", "eddsa"])
def test_other_algorithms_are_refused(alg):
    with pytest.raises(ConfigurationError):
        SigningKey(ed25519.Ed25519PrivateKey.generate(), alg)


def test_key_type_must_match_the_algorithm():
    ed = ed25519.Ed25519PrivateKey.generate()
    p384 = ec.generate_private_key(ec.SECP384R1())
    small_rsa = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ConfigurationError):
        SigningKey(ed, "ES256")
    with pytest.raises(ConfigurationError):
        SigningKey(p384, "ES256")
    with pytest.raises(ConfigurationError):
        SigningKey(small_rsa, "RS256")
    with pytest.raises(ConfigurationError):
        VerificationKey(ed, "EdDSA")  # a private key where a public one belongs
    with pytest.raises(ConfigurationError):
        VerificationKey(b"x" * 40, "RS256")  # a secret is not an RSA key


def test_repr_shows_no_key_material():
    key = generate_signing_key("ES256")
    pem = private_pem(key).decode()
    assert "PRIVATE" not in repr(key) and pem[40:80] not in repr(key)
    assert repr(key) == f"<SigningKey kid={key.kid!r} alg='ES256'>"


def test_load_pem_private_and_public(tmp_path):
    key = generate_signing_key("EdDSA")
    pem = private_pem(key)
    loaded = load_key(pem, "EdDSA")
    assert isinstance(loaded, SigningKey) and loaded.kid == key.kid
    public = key.verification_key.key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    loaded_public = load_key(public.decode(), "EdDSA", kid="old")
    assert isinstance(loaded_public, VerificationKey) and loaded_public.kid == "old"
    with pytest.raises(ConfigurationError):
        load_key(pem, "ES256")  # declared alg must match the key
    with pytest.raises(ConfigurationError):
        load_key(b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n", "EdDSA")


def test_load_key_specs(tmp_path):
    current, old = generate_signing_key("EdDSA"), generate_signing_key("ES256")
    path = tmp_path / "old.pem"
    path.write_bytes(private_pem(old))
    keys = load_key_specs(
        [{"alg": "EdDSA", "pem": private_pem(current).decode()}, {"alg": "ES256", "path": path}]
    )
    assert [k.kid for k in keys] == [current.kid, old.kid]
    doc = jwks_document(keys)
    assert [k["kid"] for k in doc["keys"]] == [current.kid, old.kid]
    assert all(k["use"] == "sig" and "d" not in k for k in doc["keys"])
    with pytest.raises(ConfigurationError, match="unique"):
        load_key_specs([{"alg": "EdDSA", "pem": private_pem(current)}] * 2)
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_key_specs([{"alg": "EdDSA", "path": tmp_path / "missing.pem"}])
    with pytest.raises(ConfigurationError):
        load_key_specs([{"pem": "x"}])
    with pytest.raises(ConfigurationError):
        load_key_specs([{"alg": "EdDSA"}])


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256", "HS256"])
def test_verify_signature_accepts_only_the_exact_signature(alg):
    key = generate_signing_key(alg)
    token = pyjwt.encode({"sub": "a"}, key.key, algorithm=alg)
    signing_input, _, sig = token.rpartition(".")
    message, signature = signing_input.encode(), base64url_decode(sig)
    vk = key.verification_key
    assert vk.verify_signature(message, signature)
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    for bad in (b"", b"\x00", signature[:-1], signature + b"\x00", flipped, bytes(len(signature))):
        assert not vk.verify_signature(message, bad)
    assert not vk.verify_signature(message + b"x", signature)
    other = generate_signing_key(alg).verification_key
    assert not other.verify_signature(message, signature)
