"""TokenVerifier: every known JWT attack first, then what a good token gets."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from jwt.utils import base64url_encode

from hermetic.security.errors import ConfigurationError
from hermetic.security.jwt import (
    TokenExpired,
    TokenInvalid,
    TokenIssuer,
    TokenNotYetValid,
    TokenVerifier,
    UnknownKey,
    generate_signing_key,
)

NOW = 1_700_000_000
ISS = "https://issuer.test"
AUD = "notes-service"


@pytest.fixture(scope="module")
def ed_key():
    return generate_signing_key("EdDSA")


@pytest.fixture(scope="module")
def es_key():
    return generate_signing_key("ES256")


@pytest.fixture(scope="module")
def rsa_key():
    return generate_signing_key("RS256")


@pytest.fixture
def verifier(ed_key, es_key, rsa_key):
    return TokenVerifier({ISS: [ed_key, es_key, rsa_key]}, AUD, now=lambda: NOW)


def claims(**overrides):
    base = {"iss": ISS, "aud": AUD, "sub": "billing", "iat": NOW, "exp": NOW + 300, "jti": "j1"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(key, payload=None, **headers):
    headers.setdefault("kid", key.kid)
    return pyjwt.encode(
        payload or claims(), key.key, algorithm=headers.pop("alg", key.alg), headers=headers
    )


def raw_token(header, payload, signer=lambda signing_input: b""):
    def seg(obj):
        return base64url_encode(json.dumps(obj).encode())

    signing_input = seg(header) + b"." + seg(payload)
    return (signing_input + b"." + base64url_encode(signer(signing_input))).decode()


def check_of(excinfo):
    return excinfo.value.check


# -- attacks on the header -----------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "", None])
def test_alg_none_is_refused(verifier, ed_key, alg):
    header = {"alg": alg, "kid": ed_key.kid, "typ": "JWT"}
    token = raw_token(header, claims())
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(token)
    assert check_of(e) in {"alg_none", "malformed"}


def test_hs256_signed_with_the_rsa_public_key_is_refused(verifier, rsa_key):
    # The classic confusion: the attacker knows the public key and uses its
    # PEM as an HMAC secret, hoping the verifier lets the token pick HS256.
    pem = rsa_key.verification_key.key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def signer(data):
        return hmac.new(pem, data, hashlib.sha256).digest()

    header = {"alg": "HS256", "kid": rsa_key.kid, "typ": "JWT"}
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(raw_token(header, claims(sub="admin"), signer))
    assert check_of(e) == "alg_mismatch"
    # Without a kid, there is no key to confuse.
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(raw_token({"alg": "HS256"}, claims(), signer))
    assert check_of(e) == "missing_kid"


def test_alg_swapped_between_two_keys_is_refused(verifier, ed_key, es_key):
    # Signed (validly) by the ES256 key, but claiming the EdDSA key's kid.
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(sign(es_key, kid=ed_key.kid))
    assert check_of(e) == "alg_mismatch"
    # Signed by the EdDSA key, with the ES256 key's kid.
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(sign(ed_key, kid=es_key.kid))
    assert check_of(e) == "alg_mismatch"


def test_same_alg_other_key_fails_the_signature(verifier, ed_key):
    other = generate_signing_key("EdDSA")
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(sign(other, kid=ed_key.kid))
    assert check_of(e) == "bad_signature"


@pytest.mark.parametrize("header", ["jku", "x5u", "jwk", "x5c"])
def test_keys_named_or_carried_by_the_token_are_refused(verifier, ed_key, header):
    attacker = generate_signing_key("EdDSA")
    values = {
        "jku": "https://evil.example/jwks.json",
        "x5u": "https://evil.example/cert.pem",
        "jwk": attacker.verification_key.public_jwk(),
        "x5c": ["MIIB..."],
    }
    # Even a token validly signed by a trusted key is refused with such a header.
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(sign(ed_key, **{header: values[header]}))
    assert check_of(e) == "key_in_header"
    with pytest.raises(TokenInvalid):
        verifier.verify(sign(attacker, **{header: values[header]}))


def test_unknown_kid_is_refused(verifier):
    stranger = generate_signing_key("EdDSA")
    with pytest.raises(UnknownKey):
        verifier.verify(sign(stranger))


@pytest.mark.parametrize(
    "header", [{"crit": ["exp"]}, {"b64": False}, {"typ": "JWE"}, {"zip": "DEF"}]
)
def test_unsupported_headers_are_refused(verifier, ed_key, header):
    with pytest.raises(TokenInvalid):
        verifier.verify(sign(ed_key, **header))


# -- attacks on the payload and signature -------------------------------------


def test_tampered_payload_is_refused(verifier, ed_key):
    header, _, signature = sign(ed_key).split(".")
    forged = base64url_encode(json.dumps(claims(sub="admin")).encode()).decode()
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(f"{header}.{forged}.{signature}")
    assert check_of(e) == "bad_signature"


@pytest.mark.parametrize("key_name", ["ed_key", "es_key", "rsa_key"])
def test_tampered_signature_is_refused(verifier, request, key_name):
    token = sign(request.getfixturevalue(key_name))
    head, body, signature = token.split(".")
    flipped = ("A" if signature[5] != "A" else "B").join((signature[:5], signature[6:]))
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(f"{head}.{body}.{flipped}")
    assert check_of(e) in {"bad_signature", "malformed"}
    with pytest.raises(TokenInvalid):
        verifier.verify(f"{head}.{body}.")


@pytest.mark.parametrize(
    "token", ["", "a.b", "a.b.c", "not a token", "é.é.é", "x" * 9000, None, 42, b"a.b.c"]
)
def test_garbage_is_refused(verifier, token):
    with pytest.raises(TokenInvalid):
        verifier.verify(token)


# -- claims ----------------------------------------------------------------------


def test_expired_token_is_refused_beyond_the_leeway(verifier, ed_key):
    token = sign(ed_key)
    exp = NOW + 300
    assert verifier.verify(token, now=exp + 29)["sub"] == "billing"
    with pytest.raises(TokenExpired):
        verifier.verify(token, now=exp + 30)


def test_not_yet_valid_token_is_refused_beyond_the_leeway(verifier, ed_key):
    token = sign(ed_key, claims(nbf=NOW + 100))
    assert verifier.verify(token, now=NOW + 70)
    with pytest.raises(TokenNotYetValid) as e:
        verifier.verify(token, now=NOW + 69)
    assert check_of(e) == "not_yet_valid"


def test_iat_in_the_future_beyond_the_skew_is_refused(verifier, ed_key):
    token = sign(ed_key, claims(iat=NOW + 31, exp=NOW + 331))
    with pytest.raises(TokenNotYetValid) as e:
        verifier.verify(token)
    assert check_of(e) == "issued_in_future"
    assert verifier.verify(sign(ed_key, claims(iat=NOW + 30, exp=NOW + 300)))


def test_wrong_audience_is_refused(verifier, ed_key):
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(sign(ed_key, claims(aud="other-service")))
    assert check_of(e) == "wrong_audience"
    with pytest.raises(TokenInvalid):
        verifier.verify(sign(ed_key, claims(aud=["a", "b"])))
    assert verifier.verify(sign(ed_key, claims(aud=["a", AUD])))


def test_wrong_issuer_is_refused(verifier, ed_key):
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(sign(ed_key, claims(iss="https://evil.example")))
    assert check_of(e) == "wrong_issuer"


def test_a_key_is_trusted_only_for_its_own_issuer(ed_key):
    other_key = generate_signing_key("EdDSA")
    verifier = TokenVerifier(
        {ISS: [ed_key], "https://other.test": [other_key]}, AUD, now=lambda: NOW
    )
    # The other issuer signs a token claiming to come from ISS.
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(sign(other_key, claims(iss=ISS)))
    assert check_of(e) == "wrong_issuer"
    assert verifier.verify(sign(other_key, claims(iss="https://other.test")))


@pytest.mark.parametrize("missing", ["exp", "iat", "iss", "aud", "sub"])
def test_missing_claims_are_refused(verifier, ed_key, missing):
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(sign(ed_key, claims(**{missing: None})))
    assert check_of(e) == "missing_claim"


@pytest.mark.parametrize(
    "bad",
    [
        {"exp": "tomorrow"},
        {"exp": True},
        {"iat": None, "iat_": 1},
        {"nbf": "now"},
        {"sub": 42},
        {"sub": ""},
        {"aud": 7},
        {"jti": 5},
    ],
)
def test_claims_of_the_wrong_type_are_refused(verifier, ed_key, bad):
    with pytest.raises(TokenInvalid):
        verifier.verify(sign(ed_key, claims(**bad)))


def test_payload_that_is_not_an_object_is_refused(verifier, ed_key):
    token = pyjwt.api_jws.encode(b"[1, 2]", ed_key.key, "EdDSA", headers={"kid": ed_key.kid})
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(token)
    assert check_of(e) == "malformed_payload"


def test_lifetime_too_long_is_refused(verifier, ed_key):
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(sign(ed_key, claims(exp=NOW + 3601)))
    assert check_of(e) == "lifetime_too_long"
    assert verifier.verify(sign(ed_key, claims(exp=NOW + 3600)))
    with pytest.raises(TokenInvalid):
        verifier.verify(sign(ed_key, claims(exp=NOW)))  # exp <= iat


def signed_text(key, payload: bytes) -> str:
    """A token whose payload is exactly ``payload`` (JSON no encoder would write)."""
    return pyjwt.api_jws.encode(payload, key.key, key.alg, headers={"kid": key.kid})


#: Time values that are no finite number: JSON's forbidden constants (Python's
#: parser reads them), numbers that overflow a float to infinity, and an
#: integer too large to be a float at all.
NOT_FINITE = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" + "0" * 400]


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("literal", NOT_FINITE)
def test_time_claims_that_are_not_finite_numbers_are_refused(verifier, ed_key, claim, literal):
    base = claims(nbf=NOW)
    text = json.dumps(base).replace(f'"{claim}": {base[claim]}', f'"{claim}": {literal}')
    assert literal in text
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(signed_text(ed_key, text.encode()))
    assert check_of(e) in {"malformed_payload", "bad_claim_type"}


def test_exp_nan_does_not_make_a_token_that_never_expires(verifier, ed_key):
    token = signed_text(ed_key, json.dumps(claims()).replace(str(NOW + 300), "NaN").encode())
    for now in (NOW, NOW + 10 * 365 * 86400):
        with pytest.raises(TokenInvalid):
            verifier.verify(token, now=now)


def test_iat_nan_does_not_pass_the_lifetime_check(verifier, ed_key):
    ten_years = NOW + 10 * 365 * 86400
    text = json.dumps(claims(exp=ten_years)).replace(f'"iat": {NOW}', '"iat": NaN')
    with pytest.raises(TokenInvalid):
        verifier.verify(signed_text(ed_key, text.encode()))


def test_nan_anywhere_in_the_payload_is_malformed(verifier, ed_key):
    text = json.dumps(claims(scope="x")).replace('"x"', "NaN")
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(signed_text(ed_key, text.encode()))
    assert check_of(e) == "malformed_payload"


def test_nan_in_the_header_is_malformed(verifier, ed_key):
    head = base64url_encode(
        json.dumps({"alg": "EdDSA", "kid": ed_key.kid}).replace("}", ', "n": NaN}').encode()
    )
    body = base64url_encode(json.dumps(claims()).encode())
    token = signed_segments(ed_key, head.decode(), body.decode())
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(token)
    assert check_of(e) == "malformed"


# -- base64url without padding (RFC 7515, section 2) ----------------------------


def signed_segments(key, head: str, body: str, *, pad_signature: bool = False) -> str:
    """Sign ``head.body`` as given (padding included) with ``key``."""
    algorithm = pyjwt.algorithms.get_default_algorithms()[key.alg]
    signature = algorithm.sign(f"{head}.{body}".encode(), algorithm.prepare_key(key.key))
    sig = base64url_encode(signature).decode()
    return f"{head}.{body}.{padded(sig) if pad_signature else sig}"


def padded(segment: str) -> str:
    return segment + "=" * (-len(segment) % 4)


def unpadded_lengths(make) -> str:
    """The first segment ``make(n)`` whose length is not a multiple of four."""
    return next(seg for seg in map(make, range(8)) if len(seg) % 4)


@pytest.mark.parametrize("position", ["header", "payload", "signature"])
def test_padded_segments_are_refused(verifier, ed_key, position):
    def header(n):
        return base64url_encode(
            json.dumps({"alg": "EdDSA", "kid": ed_key.kid, "x": "a" * n}).encode()
        ).decode()

    def payload(n):
        return base64url_encode(json.dumps(claims(jti="j" * (n + 1))).encode()).decode()

    head, body = unpadded_lengths(header), unpadded_lengths(payload)
    assert len(signed_segments(ed_key, head, body).rsplit(".", 1)[1]) % 4  # Ed25519: 86
    # The same token without padding is good.
    assert verifier.verify(signed_segments(ed_key, head, body))["sub"] == "billing"
    if position == "header":
        token = signed_segments(ed_key, padded(head), body)
    elif position == "payload":
        token = signed_segments(ed_key, head, padded(body))
    else:
        token = signed_segments(ed_key, head, body, pad_signature=True)
        assert token.endswith("==")
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(token)
    assert check_of(e) == "malformed"


# -- configuration ---------------------------------------------------------------


@pytest.mark.parametrize("leeway", [301, -1, 10_000, "30", True])
def test_unbounded_leeway_is_refused(ed_key, leeway):
    with pytest.raises(ConfigurationError):
        TokenVerifier({ISS: [ed_key]}, AUD, leeway=leeway)


@pytest.mark.parametrize("audience", ["", [], [""]])
def test_an_audience_is_required(ed_key, audience):
    with pytest.raises(ConfigurationError):
        TokenVerifier({ISS: [ed_key]}, audience)


def test_an_issuer_is_required():
    with pytest.raises(ConfigurationError):
        TokenVerifier({}, AUD)


# -- the good path and the audit trail -------------------------------------------


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256"])
def test_issued_tokens_verify(request, alg):
    key = {"EdDSA": "ed_key", "ES256": "es_key", "RS256": "rsa_key"}[alg]
    key = request.getfixturevalue(key)
    token = TokenIssuer(key, ISS, now=lambda: NOW).issue("billing", AUD, ["notes:read"])
    header = pyjwt.get_unverified_header(token)
    assert header["kid"] == key.kid and header["alg"] == alg
    verifier = TokenVerifier({ISS: [key]}, AUD, now=lambda: NOW + 10)
    got = verifier.verify(token)
    assert got["sub"] == "billing" and got["scope"] == "notes:read"
    assert got["exp"] - got["iat"] == 300 and got["jti"]


def test_failures_are_audited_with_the_detailed_reason(verifier, ed_key, caplog):
    token = sign(ed_key, claims(aud="elsewhere"))
    with caplog.at_level(logging.INFO, logger="hermetic.security.audit"):
        with pytest.raises(TokenInvalid) as e:
            verifier.verify(token)
    records = [json.loads(r.getMessage()) for r in caplog.records]
    assert [r["event"] for r in records] == ["jwt"]
    assert records[0]["reason"] == "wrong_audience"
    assert token not in caplog.text  # never the token itself
    # The client-facing side stays coarse.
    assert e.value.reason == "invalid_token" and e.value.code == 401
