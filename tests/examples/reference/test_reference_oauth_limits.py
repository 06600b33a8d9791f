"""identity's client-credentials endpoint: guessing a client secret ends in 429."""

from __future__ import annotations

import json
import logging

import pytest
from conftest import WEB_SECRET, common

from hermetic.security.ratelimit import limiter_for
from hermetic.security.stores import MemoryStore
from hermetic.testing import ManualClock, limits_clock

PER_IP = 3
PER_CLIENT = 5


@pytest.fixture
def identity(tmp_path):
    from examples.reference.identity import create_app

    app = create_app(
        common(
            MemoryStore(),
            INSTANCE_PATH=str(tmp_path),
            DATABASE_URL="sqlite://",
            IDENTITY_URL="https://identity.test",
            WEB_URL="https://web.test",
            WEB_CLIENT_SECRET=WEB_SECRET,
            OAUTH_TOKEN_LIMIT_PER_IP=f"{PER_IP}/minute",
            OAUTH_TOKEN_LIMIT_PER_CLIENT=f"{PER_CLIENT}/minute",
        )
    )
    clock = ManualClock()
    limiter_for(app, now=clock)  # the windows stand still: no test sleeps
    with limits_clock(clock):
        yield app


def _ask(app, secret, *, ip="192.0.2.1", client_id="web", basic=True):
    data = {"grant_type": "client_credentials"}
    kwargs = {"environ_base": {"REMOTE_ADDR": ip}}
    if basic:
        kwargs["auth"] = (client_id, secret)
    else:
        data.update(client_id=client_id, client_secret=secret)
    return app.test_client().post("/oauth/token", data=data, **kwargs)


def test_wrong_secrets_from_one_address_end_in_429(identity, caplog):
    for _ in range(PER_IP):
        assert _ask(identity, "guess").status_code == 401
    with caplog.at_level(logging.INFO, logger="hermetic.security.audit"):
        refused = _ask(identity, "guess")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    events = [json.loads(r.getMessage()) for r in caplog.records]
    assert any(e.get("event") == "ratelimit" and e.get("reason") == "exceeded" for e in events)
    # Over the limit, even the right secret is refused: a guess cannot be confirmed.
    assert _ask(identity, WEB_SECRET).status_code == 429


def test_wrong_secrets_from_many_addresses_end_in_429_for_the_client(identity):
    for i in range(PER_CLIENT):
        assert _ask(identity, "guess", ip=f"198.51.100.{i}", basic=i % 2 == 0).status_code == 401
    assert _ask(identity, "guess", ip="203.0.113.9").status_code == 429
    assert _ask(identity, "guess", ip="203.0.113.9", basic=False).status_code == 429


def test_the_right_client_under_the_limit_gets_its_token(identity):
    for _ in range(PER_IP - 1):
        assert _ask(identity, "guess").status_code == 401
    answer = _ask(identity, WEB_SECRET)
    assert answer.status_code == 200
    assert answer.json["token_type"] == "Bearer"


def test_made_up_client_ids_are_counted_by_address(identity):
    for i in range(PER_IP):
        assert _ask(identity, "guess", client_id=f"nobody-{i}").status_code == 401
    assert _ask(identity, "guess", client_id="nobody-else").status_code == 429
    # Another address, the real client: its own counters are untouched.
    assert _ask(identity, WEB_SECRET, ip="192.0.2.2").status_code == 200
