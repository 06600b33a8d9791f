"""The verified-token cache: a signature is checked once, everything else every time."""

from __future__ import annotations

import json
import logging
import secrets
import threading

import jwt as pyjwt
import pytest
from jwt.utils import base64url_decode, base64url_encode

import hermetic
from hermetic.security.errors import ConfigurationError
from hermetic.security.jwt import (
    JWKSClient,
    JWTAuth,
    KeySet,
    TokenExpired,
    TokenInvalid,
    TokenIssuer,
    TokenLedger,
    TokenNotYetValid,
    TokenReplayed,
    TokenRevoked,
    TokenVerifier,
    UnknownKey,
    current_principal,
    generate_signing_key,
    jwks_document,
    jwt_required,
    private_pem,
)
from hermetic.security.jwt._cache import VerifiedTokens, digest
from hermetic.security.stores import MemoryStore

NOW = 1_700_000_000
ISS = "https://cache.test"
AUD = "notes"


class CountingKey:
    """Count the signature checks of one key (its prepared verify function)."""

    def __init__(self, key):
        self.calls = 0
        vk = key.verification_key
        check = vk._check

        def counted(*args):
            self.calls += 1
            return check(*args)

        vk._check = counted


@pytest.fixture
def key():
    return generate_signing_key("EdDSA", "k1")


@pytest.fixture
def ledger():
    return TokenLedger(MemoryStore(now=lambda: NOW), leeway=30, max_ttl=3600)


@pytest.fixture
def verifier(key, ledger):
    return TokenVerifier({ISS: KeySet([key])}, AUD, ledger=ledger, replay=False, now=lambda: NOW)


def issue(key, **kw):
    return TokenIssuer(key, ISS, now=lambda: NOW).issue("billing", AUD, "notes:read", **kw)


def jti_of(token):
    return json.loads(base64url_decode(token.split(".")[1]))["jti"]


# -- hits skip the signature, and only the signature ----------------------------


def test_a_token_seen_again_skips_its_signature_check(verifier, key):
    counter = CountingKey(key)
    token = issue(key)
    first, fresh = verifier._authenticate(token)
    assert fresh and counter.calls == 1
    for _ in range(3):
        again, fresh = verifier._authenticate(token)
        assert not fresh and again == first
    assert counter.calls == 1
    assert len(verifier.cache) == 1


def test_returned_claims_are_copies(verifier, key):
    token = issue(key)
    claims = verifier.verify(token)
    claims["sub"] = "admin"
    claims["aud"] = "elsewhere"
    assert verifier.verify(token)["sub"] == "billing"
    verifier.verify(token)["iss"] = "x"
    assert verifier.verify(token)["iss"] == ISS


def test_a_tampered_token_never_hits_the_cache(verifier, key):
    counter = CountingKey(key)
    token = issue(key)
    verifier.verify(token)
    head, body, sig = token.split(".")
    claims = json.loads(base64url_decode(body))
    claims["scope"] = "notes:read notes:admin"
    forged_body = base64url_encode(json.dumps(claims).encode()).decode()
    flipped = ("A" if sig[3] != "A" else "B").join((sig[:3], sig[4:]))
    for forged in (f"{head}.{forged_body}.{sig}", f"{head}.{body}.{flipped}", token + "="):
        with pytest.raises(TokenInvalid) as e:
            verifier.verify(forged)
        assert e.value.check in {"bad_signature", "malformed"}
        assert digest(forged.encode()) not in verifier.cache
    assert counter.calls == 3  # the good token once, two forgeries in full
    assert len(verifier.cache) == 1


def test_refused_tokens_are_not_cached(verifier, key):
    with pytest.raises(TokenInvalid):
        verifier.verify(TokenIssuer(key, ISS, now=lambda: NOW).issue("billing", "other"))
    with pytest.raises(TokenNotYetValid):
        verifier.verify(issue(key), now=NOW - 100)
    assert len(verifier.cache) == 0


# -- what is checked again on every hit --------------------------------------------


def test_a_cached_token_expires(verifier, key):
    token = issue(key)  # exp = NOW + 300, leeway 30
    verifier.verify(token)
    assert verifier.verify(token, now=NOW + 329)
    with pytest.raises(TokenExpired):
        verifier.verify(token, now=NOW + 330)
    assert len(verifier.cache) == 0  # an expired entry is dropped


def test_nbf_and_iat_are_checked_against_now_on_a_hit(verifier, key):
    token = issue(key)
    verifier.verify(token)
    with pytest.raises(TokenNotYetValid):
        verifier.verify(token, now=NOW - 31)


def test_a_cached_token_is_refused_once_revoked(verifier, key, ledger):
    token = issue(key)
    verifier.verify(token)
    ledger.revoke_jti(jti_of(token), NOW + 300, now=NOW)
    with pytest.raises(TokenRevoked) as e:
        verifier.verify(token)
    assert e.value.check == "jti_revoked"

    other = issue(key)
    verifier.verify(other)
    ledger.revoke_subject("billing", NOW + 1, now=NOW)
    with pytest.raises(TokenRevoked) as e:
        verifier.verify(other)
    assert e.value.check == "subject_revoked"


def test_with_the_replay_check_a_cached_token_passes_once(key, ledger):
    verifier = TokenVerifier({ISS: [key]}, AUD, ledger=ledger, replay=True, now=lambda: NOW)
    token = issue(key)
    verifier.verify(token, replay=False)  # cached on a route without the check
    assert verifier.verify(token)  # the first use the ledger records
    for _ in range(2):
        with pytest.raises(TokenReplayed):
            verifier.verify(token)


def test_a_changed_audience_or_lifetime_applies_to_cached_tokens(verifier, key):
    token = issue(key)
    verifier.verify(token)
    verifier.audience = frozenset({"payments"})
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(token)
    assert e.value.check == "wrong_audience"
    verifier.audience = frozenset({AUD})
    verifier.max_ttl = 60.0
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(token)
    assert e.value.check == "lifetime_too_long"


# -- keys removed or rotated ------------------------------------------------------


def test_a_cached_token_is_refused_when_its_key_is_removed(verifier, key):
    token = issue(key)
    verifier.verify(token)
    keyset = verifier.issuers[0][1]
    del keyset.keys[key.kid]
    with pytest.raises(UnknownKey):
        verifier.verify(token)
    assert len(verifier.cache) == 0


def test_a_cached_token_is_reverified_when_its_kid_names_another_key(verifier, key):
    token = issue(key)
    verifier.verify(token)
    impostor = generate_signing_key("EdDSA", key.kid)  # same kid, new key
    verifier.issuers[0][1].keys[key.kid] = impostor.verification_key
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(token)
    assert e.value.check == "bad_signature"
    # Back to the real key: verified in full again, then cached again.
    verifier.issuers[0][1].keys[key.kid] = key.verification_key
    assert verifier._authenticate(token)[1] is True
    assert verifier._authenticate(token)[1] is False


def test_a_key_moved_to_another_issuer_does_not_keep_its_tokens(key):
    verifier = TokenVerifier({ISS: KeySet([key]), "https://b.test": KeySet([])}, AUD)
    token = issue(key)
    verifier.verify(token, now=NOW)
    del verifier.issuers[0][1].keys[key.kid]
    verifier.issuers[1][1].keys[key.kid] = key.verification_key
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(token, now=NOW)
    assert e.value.check == "wrong_issuer"


def test_jwks_rotation_invalidates_cached_tokens(key):
    clock = [NOW]
    documents = [jwks_document([key])]

    def fetch(url, timeout, max_bytes):
        return json.dumps(documents[-1]).encode(), "max-age=60"

    client = JWKSClient(
        "https://cache.test/jwks", fetch=fetch, now=lambda: clock[0], min_refresh_interval=30
    )
    verifier = TokenVerifier({ISS: client}, AUD, now=lambda: clock[0])
    token = issue(key)
    assert verifier._authenticate(token)[1] is True
    assert verifier._authenticate(token)[1] is False
    # The issuer rotates: same kid, new key; the cached set goes stale at +60.
    documents.append(jwks_document([generate_signing_key("EdDSA", key.kid)]))
    clock[0] = NOW + 61
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(token)
    assert e.value.check == "bad_signature"
    # Then drops the kid altogether.
    documents.append(jwks_document([generate_signing_key("EdDSA", "k2")]))
    clock[0] = NOW + 200
    with pytest.raises(UnknownKey):
        verifier.verify(token)


# -- bounds and configuration ------------------------------------------------------


def test_the_cache_is_bounded_oldest_out_first(key, ledger):
    verifier = TokenVerifier({ISS: [key]}, AUD, ledger=ledger, replay=False, cache_size=3)
    counter = CountingKey(key)
    tokens = [issue(key) for _ in range(5)]
    for token in tokens:
        verifier.verify(token, now=NOW)
    assert len(verifier.cache) == 3
    assert counter.calls == 5
    for token in tokens[2:]:
        assert verifier._authenticate(token, now=NOW)[1] is False
    assert verifier._authenticate(tokens[0], now=NOW)[1] is True  # evicted: in full
    assert len(verifier.cache) == 3 and counter.calls == 6


def test_the_bound_holds_under_threads():
    cache = VerifiedTokens(8)
    entry = object()

    def fill(n):
        for i in range(2000):
            cache.put(f"{n}:{i}".encode(), entry)  # type: ignore[arg-type]
            cache.discard(f"{n}:{i - 3}".encode())

    threads = [threading.Thread(target=fill, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) <= 8


def test_size_zero_turns_the_cache_off(key):
    verifier = TokenVerifier({ISS: [key]}, AUD, cache_size=0, now=lambda: NOW)
    counter = CountingKey(key)
    token = issue(key)
    assert verifier.cache is None
    for _ in range(3):
        assert verifier._authenticate(token)[1] is True
    assert counter.calls == 3


@pytest.mark.parametrize("size", [-1, 1.5, "10", True])
def test_bad_cache_sizes_are_refused(key, size):
    with pytest.raises(ConfigurationError):
        TokenVerifier({ISS: [key]}, AUD, cache_size=size)


# -- in an app: the setting, and the audit trail ------------------------------------


def make_app(key, **config):
    app = hermetic.Flask("jwt_cache_tests")
    app.config.update(
        TESTING=True,
        SECRET_KEY=secrets.token_urlsafe(48),
        JWT_ISSUER=ISS,
        JWT_AUDIENCE=AUD,
        JWT_SIGNING_KEYS=[{"alg": "EdDSA", "kid": key.kid, "pem": private_pem(key)}],
        JWT_REPLAY_CHECK=False,
        **config,
    )
    auth = JWTAuth(app, now=lambda: NOW)

    @app.get("/notes")
    @jwt_required(scopes="notes:read")
    def notes():
        return {"sub": current_principal().sub}

    return app, auth


def test_the_setting_sizes_the_cache(key):
    _, auth = make_app(key)
    assert auth.verifier.cache.maxsize == 4096
    _, auth = make_app(key, JWT_VERIFIED_CACHE_SIZE=10)
    assert auth.verifier.cache.maxsize == 10
    _, auth = make_app(key, JWT_VERIFIED_CACHE_SIZE=0)
    assert auth.verifier.cache is None


def _jwt_events(caplog):
    return [
        json.loads(r.getMessage())
        for r in caplog.records
        if r.name == "hermetic.security.audit" and '"event":"jwt"' in r.getMessage()
    ]


def test_acceptance_is_audited_once_per_token_refusals_every_time(key, caplog):
    app, auth = make_app(key)
    client = app.test_client()
    token = auth.issue("billing", AUD, "notes:read")
    headers = {"Authorization": f"Bearer {token}"}
    with caplog.at_level(logging.INFO, logger="hermetic.security.audit"):
        for _ in range(3):
            assert client.get("/notes", headers=headers).json == {"sub": "billing"}
        accepted = [e for e in _jwt_events(caplog) if e.get("result") == "accepted"]
        assert len(accepted) == 1 and accepted[0]["sub"] == "billing"
        auth.ledger.revoke_jti(jti_of(token), NOW + 300, now=NOW)
        for _ in range(2):
            assert client.get("/notes", headers=headers).status_code == 401
    refused = [e for e in _jwt_events(caplog) if e.get("reason") == "jti_revoked"]
    assert len(refused) == 2


def test_without_the_cache_every_acceptance_is_audited(key, caplog):
    app, auth = make_app(key, JWT_VERIFIED_CACHE_SIZE=0)
    token = auth.issue("billing", AUD, "notes:read")
    with caplog.at_level(logging.INFO, logger="hermetic.security.audit"):
        for _ in range(2):
            app.test_client().get("/notes", headers={"Authorization": f"Bearer {token}"})
    assert len([e for e in _jwt_events(caplog) if e.get("result") == "accepted"]) == 2


def test_a_hit_reads_the_claims_as_the_full_check_did(verifier, key):
    # JSON in UTF-16 (with its BOM) is still JSON to json.loads: same claims both ways.
    claims = {"iss": ISS, "aud": AUD, "sub": "bïlling", "iat": NOW, "exp": NOW + 60}
    payload = json.dumps(claims, ensure_ascii=False).encode("utf-16")
    token = pyjwt.api_jws.encode(payload, key.key, "EdDSA", headers={"kid": key.kid})
    first, fresh = verifier._authenticate(token)
    assert fresh and first == claims
    again, fresh = verifier._authenticate(token)
    assert not fresh and again == claims
