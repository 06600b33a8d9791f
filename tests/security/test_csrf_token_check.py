"""The masked-token check (csrf._token_matches) against a plain reference.

The check reads the token with binascii and one integer XOR instead of a
regular expression, base64.urlsafe_b64decode and a byte loop: it must accept
and refuse exactly what that reference does.
"""

from __future__ import annotations

import base64
import re
import secrets

import pytest

from hermetic.security.csrf import _encode, _token_matches

_REFERENCE_RE = re.compile(r"[A-Za-z0-9_-]{86}")


def _reference(token: str, secret: bytes) -> bool:
    """The check written the obvious way: the specification of _token_matches."""
    if not _REFERENCE_RE.fullmatch(token):
        return False
    raw = base64.urlsafe_b64decode(token + "==")
    pad, masked = raw[:32], raw[32:]
    return bytes(a ^ b for a, b in zip(pad, masked, strict=True)) == secret


def _token_for(secret: bytes) -> str:
    pad = secrets.token_bytes(32)
    return _encode(pad + bytes(a ^ b for a, b in zip(pad, secret, strict=True)))


SECRET = secrets.token_bytes(32)
OTHER = secrets.token_bytes(32)
# Every ASCII character, and a few others, as a replacement at each position.
REPLACEMENTS = [chr(code) for code in range(128)] + ["é", "\u0661", "\uff21", "\U0001f600"]


def test_a_token_for_the_secret_matches_and_another_sessions_does_not():
    for _ in range(50):
        token = _token_for(SECRET)
        assert _token_matches(token, SECRET) is True
        assert _token_matches(token, OTHER) is False  # a token from another session
        assert _reference(token, OTHER) is False


@pytest.mark.parametrize("position", [0, 1, 41, 42, 43, 84, 85])
def test_every_character_at_a_position_is_judged_as_the_reference(position):
    token = _token_for(SECRET)
    for char in REPLACEMENTS:
        changed = token[:position] + char + token[position + 1 :]
        assert _token_matches(changed, SECRET) is _reference(changed, SECRET), repr(changed)


def test_characters_base64url_does_not_have_are_refused_anywhere():
    # "+", "/" and "=" are read by binascii: the check must not let them in.
    token = _token_for(SECRET)
    for position in range(86):
        for char in "+/=.! \t\n\r\x00":
            changed = token[:position] + char + token[position + 1 :]
            assert _token_matches(changed, SECRET) is False, (position, char)


def test_lengths_other_than_86_are_refused():
    token = _token_for(SECRET)
    for changed in (
        token[:-1],
        token + "A",
        token + "=",
        token + "==",
        token[:-2] + "==",
        token[:-1] + "=",
        " " + token,
        token + "\n",
        token[:84],
        "",
    ):
        assert _token_matches(changed, SECRET) is False
        assert _reference(changed, SECRET) is False


def test_the_four_unused_low_bits_of_the_last_character_are_ignored_as_before():
    # 86 characters carry 516 bits for 512: base64 decoding drops the last 4.
    token = _token_for(SECRET)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for char in alphabet:
        changed = token[:-1] + char
        assert _token_matches(changed, SECRET) is _reference(changed, SECRET)


def test_random_strings_are_judged_as_the_reference():
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= "
    for _ in range(300):
        text = "".join(secrets.choice(alphabet) for _ in range(secrets.choice((85, 86, 87))))
        assert _token_matches(text, SECRET) is _reference(text, SECRET)


def test_a_non_string_token_is_refused():
    token = _token_for(SECRET)
    assert _token_matches(token.encode(), SECRET) is False  # type: ignore[arg-type]
    assert _token_matches(None, SECRET) is False  # type: ignore[arg-type]


# -- the session's secret: read without SecureCookieSession.get's calls ----------


def test_reading_the_secret_marks_the_session_read():
    from hermetic.security._hermetic_session import HermeticSession
    from hermetic.security.csrf import SESSION_KEY, _session_secret

    session = HermeticSession({SESSION_KEY: _encode(SECRET)})
    assert not session.accessed
    assert _session_secret(session) == SECRET
    assert session.accessed and not session.modified


def test_a_session_with_its_own_get_is_asked_through_it():
    from hermetic.security._hermetic_session import HermeticSession
    from hermetic.security.csrf import SESSION_KEY, _session_secret

    asked = []

    class Logged(HermeticSession):
        def get(self, key, default=None):
            asked.append(key)
            return _encode(OTHER) if key == SESSION_KEY else default

    assert _session_secret(Logged({SESSION_KEY: _encode(SECRET)})) == OTHER
    assert asked == [SESSION_KEY]
