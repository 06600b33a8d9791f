"""argon2id password hashes: one check (``check_password``), malformed input, rehash on login."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type

from hermetic.security.auth import (
    LoginManager,
    Verified,
    check_password,
    check_password_and_rehash,
    hash_password,
    needs_rehash,
    passwords,
    verify_and_upgrade,
    verify_password,
)
from hermetic.settings import SettingsError

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
    assert check_password(stored, "correct horse", config=FAST) == (True, None)


def test_hashes_are_salted():
    assert hash_password("same", config=FAST) != hash_password("same", config=FAST)


def test_wrong_password_is_false():
    stored = hash_password("right", config=FAST)
    for attempt in ("wrong", "Right", ""):
        result = check_password(stored, attempt, config=FAST)
        assert result == (False, None)
        # SECURITY: a two-item tuple is true; the failed check must not be.
        assert not result
        assert bool(result) is False


def test_the_result_is_true_only_when_the_password_matched():
    stored = hash_password("right", config=FAST)
    result = check_password(stored, "right", config=FAST)
    assert isinstance(result, Verified)
    assert result and result.ok and result.new_hash is None
    ok, new_hash = result
    assert (ok, new_hash) == (True, None)


def test_bytes_and_unicode_passwords():
    stored = hash_password("pässwörd ✓", config=FAST)
    assert check_password(stored, "pässwörd ✓".encode(), config=FAST).ok


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
    assert check_password(bad, "password", config=FAST) == (False, None)


def test_truncated_hash_is_false():
    stored = hash_password("pw", config=FAST)
    assert check_password(stored[:-4], "pw", config=FAST).ok is False


@pytest.mark.parametrize("password", [None, 42, ["pw"]])
def test_bad_password_type_is_false(password):
    stored = hash_password("pw", config=FAST)
    assert check_password(stored, password, config=FAST).ok is False


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
    assert check_password(None, "anything", config=FAST).ok is False
    assert len(called) == 1 and called[0].startswith("$argon2id$")


# -- rehash on login -------------------------------------------------------------


def test_new_hash_when_parameters_change():
    stored = hash_password("pw", config=FAST)
    assert check_password(stored, "pw", config=FAST) == (True, None)
    assert check_password(stored, "nope", config=STRONGER) == (False, None)
    ok, new = check_password(stored, "pw", config=STRONGER)
    assert ok and new is not None and new != stored
    assert "t=2" in new
    assert check_password(new, "pw", config=STRONGER) == (True, None)


def test_new_hash_for_argon2i():
    old = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.I).hash("pw")
    ok, new = check_password(old, "pw", config=FAST)
    assert ok and new is not None and new.startswith("$argon2id$v=19$m=8,t=1,p=1$")


def test_no_new_hash_without_a_match():
    assert check_password("garbage", "pw", config=FAST) == (False, None)
    assert check_password(None, "pw", config=FAST) == (False, None)


def test_parameters_come_from_the_app_config(app):
    app.config.update(FAST)
    with app.app_context():
        stored = hash_password("pw")
        assert "m=8,t=1,p=1" in stored
        app.config["PASSWORD_HASH_TIME_COST"] = 2
        ok, new = check_password(stored, "pw")
    assert ok and "t=2" in new


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("PASSWORD_HASH_TIME_COST", 0),
        ("PASSWORD_HASH_TIME_COST", True),
        ("PASSWORD_HASH_MEMORY_COST", "64MiB"),
        ("PASSWORD_HASH_PARALLELISM", 0),
        ("PASSWORD_HASH_SALT_LEN", 4),
        ("PASSWORD_HASH_HASH_LEN", 8),
    ],
)
def test_a_bad_parameter_names_the_key(key, value):
    with pytest.raises(SettingsError, match=key):
        hash_password("pw", config={**FAST, key: value})
    with pytest.raises(SettingsError, match=key):
        check_password(None, "pw", config={**FAST, key: value})


def test_less_memory_than_the_lanes_need_is_refused():
    with pytest.raises(SettingsError, match="PASSWORD_HASH_MEMORY_COST must be at least 8 KiB"):
        hash_password("pw", config={**FAST, "PASSWORD_HASH_PARALLELISM": 2})


# -- the deprecated entry points ----------------------------------------------------


def test_verify_password_is_deprecated_and_still_a_bool():
    stored = hash_password("pw", config=FAST)
    with pytest.deprecated_call(match="check_password"):
        assert verify_password(stored, "pw", config=FAST) is True
    with pytest.deprecated_call():
        assert verify_password(stored, "wrong", config=FAST) is False
    with pytest.deprecated_call():
        assert verify_password(None, "pw", config=FAST) is False


def test_needs_rehash_is_deprecated():
    stored = hash_password("pw", config=FAST)
    with pytest.deprecated_call(match="new_hash"):
        assert needs_rehash(stored, config=FAST) is False
    with pytest.deprecated_call():
        assert needs_rehash(stored, config=STRONGER) is True
    with pytest.deprecated_call():
        assert needs_rehash("garbage", config=FAST) is True


def test_verify_and_upgrade_is_deprecated():
    stored = hash_password("pw", config=FAST)
    with pytest.deprecated_call():
        assert verify_and_upgrade(stored, "pw", config=FAST) == (True, None)
    with pytest.deprecated_call():
        ok, new = verify_and_upgrade(stored, "pw", config=STRONGER)
    assert ok and "t=2" in new
    with pytest.deprecated_call():
        assert verify_and_upgrade(None, "pw", config=FAST) == (False, None)


def test_check_password_and_rehash_is_deprecated_and_updates_the_user():
    class Account:
        password_hash = hash_password("pw", config=FAST)

    account = Account()
    old = account.password_hash
    with pytest.deprecated_call():
        assert check_password_and_rehash(account, "pw", config=FAST)
    assert account.password_hash == old
    with pytest.deprecated_call():
        assert check_password_and_rehash(account, "pw", config=STRONGER)
    assert account.password_hash != old and "t=2" in account.password_hash
    with pytest.deprecated_call():
        assert not check_password_and_rehash(account, "wrong", config=STRONGER)
    saved = []
    with pytest.deprecated_call():
        assert check_password_and_rehash(old, "pw", saved.append, config=STRONGER)
    assert len(saved) == 1 and "t=2" in saved[0]


def test_login_manager_verify_and_upgrade_is_deprecated(app):
    app.config.update(FAST)
    stored = hash_password("pw", config=FAST)
    manager = LoginManager(app)
    with app.app_context():
        app.config["PASSWORD_HASH_TIME_COST"] = 2
        with pytest.deprecated_call(match="check_password"):
            ok, new = manager.verify_and_upgrade(stored, "pw")
    assert ok and "t=2" in new
