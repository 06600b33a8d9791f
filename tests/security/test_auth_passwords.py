"""argon2id password hashes: verify, malformed input, rehash on login."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type

from hermetic.security.auth import (
    LoginManager,
    check_password_and_rehash,
    hash_password,
    needs_rehash,
    passwords,
    verify_and_upgrade,
    verify_password,
)

# Cheap parameters so the tests stay fast (never use these in production).
FAST = {
    "PASSWORD_HASH_TIME_COST": 1,
    "PASSWORD_HASH_MEMORY_COST": 8,
    "PASSWORD_HASH_PARALLELISM": 1,
}
STRONGER = {**FAST, "PASSWORD_HASH_TIME_COST": 2}


def test_defaults_follow_rfc_9106_low_memory():
    ph = passwords.hasher({})
    assert (ph.time_cost, ph.memory_cost, ph.parallelism) == (3, 64 * 1024, 4)
    assert (ph.hash_len, ph.salt_len) == (32, 16)
    assert ph.type is Type.ID


def test_hash_is_argon2id_with_configured_parameters():
    stored = hash_password("correct horse", config=FAST)
    assert stored.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert verify_password(stored, "correct horse", config=FAST)


def test_hashes_are_salted():
    assert hash_password("same", config=FAST) != hash_password("same", config=FAST)


def test_wrong_password_is_false():
    stored = hash_password("right", config=FAST)
    assert verify_password(stored, "wrong", config=FAST) is False
    assert verify_password(stored, "Right", config=FAST) is False
    assert verify_password(stored, "", config=FAST) is False


def test_bytes_and_unicode_passwords():
    stored = hash_password("pässwörd ✓", config=FAST)
    assert verify_password(stored, "pässwörd ✓".encode(), config=FAST)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "garbage",
        "$argon2id$",
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdA",
        "$argon2id$v=19$m=8,t=1,p=1$!!!!$!!!!",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        "pbkdf2:sha256:600000$abc$def",
        "$argon2id$v=19$m=8,t=1,p=1$" + "A" * 5000,
        12345,
        b"$argon2id$",
        ["list"],
    ],
)
def test_malformed_hash_is_false_never_raises(bad):
    assert verify_password(bad, "password", config=FAST) is False


def test_truncated_hash_is_false():
    stored = hash_password("pw", config=FAST)
    assert verify_password(stored[:-4], "pw", config=FAST) is False


@pytest.mark.parametrize("password", [None, 42, ["pw"]])
def test_bad_password_type_is_false(password):
    stored = hash_password("pw", config=FAST)
    assert verify_password(stored, password, config=FAST) is False


def test_hash_password_rejects_non_strings():
    with pytest.raises(TypeError):
        hash_password(None, config=FAST)


def test_unknown_user_is_false_after_a_dummy_check(monkeypatch):
    called = []
    real = PasswordHasher.verify

    def spy(self, stored, pw):
        called.append(stored)
        return real(self, stored, pw)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    assert verify_password(None, "anything", config=FAST) is False
    assert len(called) == 1 and called[0].startswith("$argon2id$")


# -- rehash on login -------------------------------------------------------------


def test_needs_rehash_when_parameters_change():
    stored = hash_password("pw", config=FAST)
    assert needs_rehash(stored, config=FAST) is False
    assert needs_rehash(stored, config=STRONGER) is True


def test_needs_rehash_for_argon2i_and_malformed():
    old = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.I).hash("pw")
    assert verify_password(old, "pw", config=FAST)
    assert needs_rehash(old, config=FAST) is True
    assert needs_rehash("garbage", config=FAST) is True
    assert needs_rehash(None, config=FAST) is True


def test_verify_and_upgrade():
    stored = hash_password("pw", config=FAST)
    assert verify_and_upgrade(stored, "pw", config=FAST) == (True, None)
    assert verify_and_upgrade(stored, "nope", config=STRONGER) == (False, None)
    ok, new = verify_and_upgrade(stored, "pw", config=STRONGER)
    assert ok and new is not None and new != stored
    assert "t=2" in new
    assert verify_password(new, "pw", config=STRONGER)
    assert needs_rehash(new, config=STRONGER) is False


def test_verify_and_upgrade_malformed():
    assert verify_and_upgrade("garbage", "pw", config=FAST) == (False, None)
    assert verify_and_upgrade(None, "pw", config=FAST) == (False, None)


def test_check_password_and_rehash_updates_the_user():
    class Account:
        password_hash = hash_password("pw", config=FAST)

    account = Account()
    old = account.password_hash
    assert check_password_and_rehash(account, "pw", config=FAST)
    assert account.password_hash == old
    assert check_password_and_rehash(account, "pw", config=STRONGER)
    assert account.password_hash != old and "t=2" in account.password_hash
    assert not check_password_and_rehash(account, "wrong", config=STRONGER)


def test_check_password_and_rehash_calls_save():
    saved = []
    stored = hash_password("pw", config=FAST)
    assert check_password_and_rehash(stored, "pw", saved.append, config=STRONGER)
    assert len(saved) == 1 and "t=2" in saved[0]
    assert not check_password_and_rehash(None, "pw", saved.append, config=FAST)
    assert len(saved) == 1


def test_parameters_come_from_the_app_config(app):
    app.config.update(FAST)
    with app.app_context():
        stored = hash_password("pw")
        assert "m=8,t=1,p=1" in stored
        app.config["PASSWORD_HASH_TIME_COST"] = 2
        manager = LoginManager(app)
        ok, new = manager.verify_and_upgrade(stored, "pw")
    assert ok and "t=2" in new
