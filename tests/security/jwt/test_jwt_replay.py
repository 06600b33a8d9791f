"""The jti replay cache and revocation lists, on memory and on a real Redis."""

from __future__ import annotations

import uuid

import pytest

from hermetic.security.jwt import (
    TokenCheckUnavailable,
    TokenInvalid,
    TokenIssuer,
    TokenLedger,
    TokenNotYetValid,
    TokenReplayed,
    TokenRevoked,
    TokenVerifier,
    generate_signing_key,
)
from hermetic.security.stores import MemoryStore, RedisStore, StoreUnavailable

NOW = 1_700_000_000
ISS = "https://a.test"
AUD = "b"


@pytest.fixture(scope="module")
def key():
    return generate_signing_key("EdDSA")


def _redis_store():
    redis = pytest.importorskip("redis")
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    except redis.exceptions.RedisError as e:
        pytest.skip(f"Redis on 127.0.0.1:6379 is unreachable ({type(e).__name__})")
    return client, RedisStore(client, prefix=f"hermetic-test:{uuid.uuid4().hex}:")


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        yield MemoryStore(now=lambda: NOW)
        return
    client, store = _redis_store()
    try:
        yield store
    finally:
        for name in client.scan_iter(match=store.prefix + "*"):
            client.delete(name)
        client.close()


@pytest.fixture
def ledger(store):
    return TokenLedger(store, leeway=30, max_ttl=3600)


@pytest.fixture
def verifier(key, ledger):
    return TokenVerifier({ISS: [key]}, AUD, ledger=ledger, replay=True, now=lambda: NOW)


@pytest.fixture
def issuer(key):
    return TokenIssuer(key, ISS, now=lambda: NOW)


def test_replayed_token_is_refused(verifier, issuer):
    token = issuer.issue("svc", AUD)
    assert verifier.verify(token)["sub"] == "svc"
    with pytest.raises(TokenReplayed):
        verifier.verify(token)
    with pytest.raises(TokenReplayed):
        verifier.verify(token, now=NOW + 200)
    # Another token of the same caller is fine.
    assert verifier.verify(issuer.issue("svc", AUD))


def test_tokens_are_reusable_by_default(key, ledger, issuer):
    """RFC 6750: an access token is used until it expires; the check is opt-in."""
    verifier = TokenVerifier({ISS: [key]}, AUD, ledger=ledger, now=lambda: NOW)
    token = issuer.issue("svc", AUD)
    for now in (NOW, NOW + 1, NOW + 200):
        assert verifier.verify(token, now=now)["sub"] == "svc"
    # A route can still ask for the check: the first use it records passes.
    assert verifier.verify(token, replay=True)
    with pytest.raises(TokenReplayed):
        verifier.verify(token, replay=True)


def test_replay_check_can_be_off(verifier, issuer):
    token = issuer.issue("svc", AUD)
    for _ in range(3):
        assert verifier.verify(token, replay=False)


def test_replay_check_needs_a_jti(verifier, key):
    import jwt as pyjwt

    token = pyjwt.encode(
        {"iss": ISS, "aud": AUD, "sub": "s", "iat": NOW, "exp": NOW + 60},
        key.key,
        "EdDSA",
        headers={"kid": key.kid},
    )
    with pytest.raises(TokenInvalid) as e:
        verifier.verify(token)
    assert e.value.check == "missing_claim"
    assert verifier.verify(token, replay=False)


def test_failed_tokens_are_not_recorded(verifier, issuer):
    # A token refused for its audience must not burn its jti.
    token = issuer.issue("svc", "elsewhere")
    with pytest.raises(TokenInvalid):
        verifier.verify(token)
    good = issuer.issue("svc", AUD)
    with pytest.raises(TokenNotYetValid):
        verifier.verify(good, now=NOW - 1000)  # refused: issued in the future
    assert verifier.verify(good)


def test_seen_mark_lives_as_long_as_the_token(store, verifier, issuer):
    token = issuer.issue("svc", AUD, ttl=120)
    verifier.verify(token)
    if isinstance(store, RedisStore):
        (name,) = store.client.scan_iter(match=store.prefix + "jwt:seen:*")
        assert 149_000 <= store.client.pttl(name) <= 150_000  # exp + leeway - now
    else:
        ((name, (_, expires)),) = store._data.items()
        assert name.startswith("jwt:seen:") and expires == NOW + 150


def test_revoked_jti_is_refused(verifier, issuer, ledger):
    import jwt as pyjwt

    token, other = issuer.issue("svc", AUD), issuer.issue("svc", AUD)
    jti = pyjwt.decode(token, options={"verify_signature": False})["jti"]
    ledger.revoke_jti(jti, until=NOW + 300, now=NOW)
    with pytest.raises(TokenRevoked) as e:
        verifier.verify(token)
    assert e.value.check == "jti_revoked"
    assert verifier.verify(other)


def test_revoked_subject_is_refused_for_older_tokens(verifier, key, ledger):
    before = TokenIssuer(key, ISS, now=lambda: NOW - 10).issue("svc", AUD)
    other_sub = TokenIssuer(key, ISS, now=lambda: NOW - 10).issue("other", AUD)
    ledger.revoke_subject("svc", now=NOW)  # not_before = NOW + 1
    with pytest.raises(TokenRevoked) as e:
        verifier.verify(before)
    assert e.value.check == "subject_revoked"
    with pytest.raises(TokenRevoked):
        verifier.verify(TokenIssuer(key, ISS, now=lambda: NOW).issue("svc", AUD))
    assert verifier.verify(TokenIssuer(key, ISS, now=lambda: NOW + 1).issue("svc", AUD))
    assert verifier.verify(other_sub)


class DownStore(MemoryStore):
    """A store whose backend is gone."""

    def get_many(self, keys):
        raise StoreUnavailable("Redis is unreachable (ConnectionError).")


def test_unreachable_store_fails_closed(key, issuer, caplog):
    ledger = TokenLedger(DownStore())
    verifier = TokenVerifier({ISS: [key]}, AUD, ledger=ledger, now=lambda: NOW)
    with caplog.at_level("INFO", logger="hermetic.security.audit"):
        with pytest.raises(TokenCheckUnavailable) as e:
            verifier.verify(issuer.issue("svc", AUD))
    assert e.value.code == 503
    assert '"reason":"store_unavailable"' in caplog.text
