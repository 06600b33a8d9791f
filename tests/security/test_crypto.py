"""The key ring: AEAD tokens, key ids, rotation, HKDF sub-keys, signatures."""

from __future__ import annotations

import base64

import pytest

import hermetic
from hermetic.security.crypto import (
    CryptoError,
    InvalidToken,
    KeyRing,
    keyring_for,
    random_token,
)
from hermetic.security.errors import ConfigurationError

KEY_A = "a" * 8 + "0123456789abcdefghijklmnopqrstuvwxyz"
KEY_B = "b" * 8 + "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210"
KEY_C = "c" * 8 + "the-third-key-with-enough-entropy-!?"


def _raw(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture
def ring():
    return KeyRing([KEY_A])


def test_round_trip(ring):
    token = ring.encrypt("session", b"hello", aad=b"cookie")
    assert ring.decrypt("session", token, aad=b"cookie") == b"hello"


def test_token_is_urlsafe_without_padding(ring):
    for size in range(0, 40):
        token = ring.encrypt("p", b"x" * size)
        assert "=" not in token and "+" not in token and "/" not in token


def test_ciphertext_hides_plaintext_and_is_randomized(ring):
    a = ring.encrypt("p", b"secret-value")
    b = ring.encrypt("p", b"secret-value")
    assert a != b  # random nonce
    assert b"secret-value" not in _raw(a)


def test_invalid_token_is_a_crypto_error():
    assert issubclass(InvalidToken, CryptoError)
    assert not issubclass(CryptoError, (ValueError, KeyError))


@pytest.mark.parametrize("position", [0, 1, 3, 5, 20, -17, -1])
def test_flipped_byte_is_rejected(ring, position):
    raw = bytearray(_raw(ring.encrypt("p", b"some plaintext")))
    raw[position] ^= 0x01
    with pytest.raises(InvalidToken):
        ring.decrypt("p", _b64(bytes(raw)))


@pytest.mark.parametrize("keep", [0, 1, 5, 17, 33, -1])
def test_truncated_token_is_rejected(ring, keep):
    raw = _raw(ring.encrypt("p", b"some plaintext"))
    cut = raw[:keep] if keep >= 0 else raw[:keep]
    with pytest.raises(InvalidToken):
        ring.decrypt("p", _b64(cut))


@pytest.mark.parametrize(
    "token",
    ["", "!!!!", "a", "abc$def", "\u00e9\u00e9\u00e9\u00e9", "a" * 100_000, None, b"bytes"],
)
def test_garbage_is_rejected_opaquely(ring, token):
    with pytest.raises(InvalidToken):
        ring.decrypt("p", token)


def test_junk_characters_inside_base64_are_not_skipped(ring):
    token = ring.encrypt("p", b"data")
    with pytest.raises(InvalidToken):
        ring.decrypt("p", token[:10] + "." + token[10:])


def test_wrong_version_is_rejected(ring):
    raw = bytearray(_raw(ring.encrypt("p", b"data")))
    raw[0] = 2
    with pytest.raises(InvalidToken):
        ring.decrypt("p", _b64(bytes(raw)))


def test_wrong_aad_is_rejected(ring):
    token = ring.encrypt("p", b"data", aad=b"session")
    with pytest.raises(InvalidToken):
        ring.decrypt("p", token, aad=b"__Host-session")
    with pytest.raises(InvalidToken):
        ring.decrypt("p", token)


def test_wrong_purpose_is_rejected(ring):
    token = ring.encrypt("session", b"data")
    with pytest.raises(InvalidToken):
        ring.decrypt("csrf", token)


def test_wrong_key_is_rejected(ring):
    token = KeyRing([KEY_B]).encrypt("p", b"data")
    with pytest.raises(InvalidToken):
        ring.decrypt("p", token)


def test_same_kid_wrong_key_material_is_rejected(ring):
    # An attacker who copies a valid key id still needs the key.
    other = KeyRing([KEY_B])
    raw = bytearray(_raw(other.encrypt("p", b"data")))
    raw[1:5] = _raw(ring.encrypt("p", b""))[1:5]
    with pytest.raises(InvalidToken):
        ring.decrypt("p", _b64(bytes(raw)))


def test_rotation_old_key_still_decrypts_new_tokens_use_new_kid():
    old = KeyRing([KEY_A])
    old_token = old.encrypt("p", b"before rotation")
    rotated = KeyRing([KEY_B, KEY_A])
    assert rotated.decrypt("p", old_token) == b"before rotation"
    new_token = rotated.encrypt("p", b"after")
    assert _raw(new_token)[1:5] == bytes.fromhex(rotated.key_ids[0])
    assert _raw(old_token)[1:5] == bytes.fromhex(rotated.key_ids[1])
    # The old ring cannot read what the new current key made.
    with pytest.raises(InvalidToken):
        old.decrypt("p", new_token)


def test_removed_key_no_longer_decrypts():
    token = KeyRing([KEY_A]).encrypt("p", b"x")
    with pytest.raises(InvalidToken):
        KeyRing([KEY_B, KEY_C]).decrypt("p", token)


def test_key_ids_are_stable_and_distinct():
    assert KeyRing([KEY_A]).key_ids == KeyRing([KEY_A, KEY_B]).key_ids[:1]
    ids = KeyRing([KEY_A, KEY_B, KEY_C]).key_ids
    assert len(set(ids)) == 3 and all(len(i) == 8 for i in ids)


def test_duplicate_key_is_ignored():
    assert len(KeyRing([KEY_A, KEY_A, KEY_B]).key_ids) == 2


@pytest.mark.parametrize("keys", [[], [""], [b""], ["short"], [KEY_A, "short"], [KEY_A, ""], [42]])
def test_missing_empty_or_short_keys_are_refused(keys):
    with pytest.raises(ConfigurationError) as info:
        KeyRing(keys)
    assert "secrets.token_urlsafe" in str(info.value)


def test_bytes_and_str_keys_are_equivalent():
    token = KeyRing([KEY_A.encode()]).encrypt("p", b"x")
    assert KeyRing([KEY_A]).decrypt("p", token) == b"x"


def test_repr_does_not_leak_keys(ring):
    assert KEY_A not in repr(ring) and "keys=1" in repr(ring)


def test_derive_separates_purposes_and_uses(ring):
    assert len(ring.derive("csrf")) == 32
    assert ring.derive("csrf") != ring.derive("jwt")
    assert ring.derive("csrf") == KeyRing([KEY_A, KEY_B]).derive("csrf")
    assert ring.derive("csrf") != KeyRing([KEY_B]).derive("csrf")
    with pytest.raises(TypeError):
        ring.derive("")


def test_sign_and_verify(ring):
    sig = ring.sign("link", b"user=1")
    assert ring.verify("link", b"user=1", sig)
    assert not ring.verify("link", b"user=2", sig)  # tampered data
    assert not ring.verify("other", b"user=1", sig)  # other purpose
    assert not KeyRing([KEY_B]).verify("link", b"user=1", sig)  # wrong key


@pytest.mark.parametrize("bad", ["", "!!", "a" * 200, None, "AAAA"])
def test_verify_rejects_garbage(ring, bad):
    assert ring.verify("link", b"data", bad) is False


def test_verify_rejects_flipped_signature(ring):
    raw = bytearray(_raw(ring.sign("link", b"data")))
    raw[-1] ^= 1
    assert not ring.verify("link", b"data", _b64(bytes(raw)))


def test_verify_after_rotation():
    sig = KeyRing([KEY_A]).sign("link", b"data")
    rotated = KeyRing([KEY_B, KEY_A])
    assert rotated.verify("link", b"data", sig)
    assert rotated.sign("link", b"data") != sig


def test_random_token():
    assert len(random_token()) >= 43
    assert random_token(8) != random_token(8)


def test_keyring_for_is_cached_and_follows_config_changes():
    app = hermetic.Flask(__name__)
    app.config["SECRET_KEY"] = KEY_A
    ring = keyring_for(app)
    assert keyring_for(app) is ring
    assert app.extensions["hermetic.keyring"] is ring
    token = ring.encrypt("p", b"x")
    app.config.update(SECRET_KEY=KEY_B, SECRET_KEY_FALLBACKS=[KEY_A])
    rotated = keyring_for(app)
    assert rotated is not ring
    assert rotated.decrypt("p", token) == b"x"
    app.config["SECRET_KEY_FALLBACKS"] = []
    with pytest.raises(InvalidToken):
        keyring_for(app).decrypt("p", token)


@pytest.mark.parametrize("key", [None, "", "too short"])
def test_keyring_for_refuses_missing_or_weak_key(key):
    app = hermetic.Flask(__name__)
    app.config["SECRET_KEY"] = key
    with pytest.raises(ConfigurationError):
        keyring_for(app)


# -- the token decoder ----------------------------------------------------------


def test_token_decoding_is_as_strict_as_the_standard_library():
    import binascii
    import random

    from hermetic.security.crypto import _b64decode

    def reference(text):
        try:
            raw = text.encode("ascii")
            return base64.b64decode(raw + b"=" * (-len(raw) % 4), altchars=b"-_", validate=True)
        except (UnicodeEncodeError, binascii.Error, ValueError):
            return None

    rng = random.Random(99)
    alphabet = "ABCxyz019-_+/= \n.é"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(5000)]
    texts += [_b64(bytes(range(n))) for n in range(40)]
    for text in texts:
        expected = reference(text)
        if expected is None:
            with pytest.raises(InvalidToken):
                _b64decode(text)
        else:
            assert _b64decode(text) == expected, text
