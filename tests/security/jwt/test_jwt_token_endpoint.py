"""The client-credentials token endpoint: RFC 6749 errors first, then tokens."""

from __future__ import annotations

import base64
import secrets

import pytest

import hermetic
from hermetic.security.auth import hash_password
from hermetic.security.errors import ConfigurationError
from hermetic.security.jwt import JWTAuth, TokenVerifier, generate_signing_key, private_pem

NOW = 1_700_000_000
ISS = "https://auth.test"
LOW_COST = {
    "PASSWORD_HASH_TIME_COST": 1,
    "PASSWORD_HASH_MEMORY_COST": 8,
    "PASSWORD_HASH_PARALLELISM": 1,
}


@pytest.fixture(scope="module")
def key():
    return generate_signing_key("EdDSA")


def make_app(key, cls=hermetic.Flask, clients=None, **config):
    app = cls("jwt_token_tests")
    app.config.update(
        {"TESTING": True, **config},
        SECRET_KEY=secrets.token_urlsafe(48),
        JWT_ISSUER=ISS,
        JWT_SIGNING_KEYS=[{"alg": "EdDSA", "pem": private_pem(key)}],
        JWT_CLIENTS=clients
        or {
            "billing": {
                "secret": "s3cret",
                "scopes": ["notes:read", "notes:write"],
                "audience": "notes",
            }
        },
        **LOW_COST,
    )
    app.auth = JWTAuth(app, now=lambda: NOW)
    return app


@pytest.fixture
def client(key):
    return make_app(key).test_client()


def basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def post(client, data, headers=None):
    return client.post("/oauth/token", data=data, headers=headers or {})


@pytest.mark.parametrize(
    "data, headers, status, error",
    [
        ({"grant_type": "client_credentials"}, basic("billing", "wrong"), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, basic("nobody", "s3cret"), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, {}, 401, "invalid_client"),
        (
            {"grant_type": "client_credentials", "client_id": "billing"},
            {},
            401,
            "invalid_client",
        ),
        (
            {"grant_type": "client_credentials"},
            {"Authorization": "Bearer x"},
            401,
            "invalid_client",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "billing", "client_secret": "s3cret"},
            basic("billing", "s3cret"),
            400,
            "invalid_request",
        ),
        ({"grant_type": "password"}, basic("billing", "s3cret"), 400, "unsupported_grant_type"),
        ({}, basic("billing", "s3cret"), 400, "invalid_request"),
        (
            {"grant_type": "client_credentials", "scope": "notes:admin"},
            basic("billing", "s3cret"),
            400,
            "invalid_scope",
        ),
        (
            {"grant_type": "client_credentials", "scope": 'notes:read "x'},
            basic("billing", "s3cret"),
            400,
            "invalid_scope",
        ),
    ],
)
def test_refusals_follow_rfc6749(client, data, headers, status, error):
    r = post(client, data, headers)
    assert r.status_code == status
    assert r.json["error"] == error
    assert r.headers["Cache-Control"] == "no-store"
    if error == "invalid_client":
        assert r.headers["WWW-Authenticate"].startswith("Basic")
    assert "access_token" not in r.json


def test_repeated_parameters_and_json_bodies_are_refused(client):
    r = client.post(
        "/oauth/token",
        data="grant_type=client_credentials&grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        headers=basic("billing", "s3cret"),
    )
    assert r.status_code == 400 and r.json["error"] == "invalid_request"
    r = client.post(
        "/oauth/token",
        json={"grant_type": "client_credentials"},
        headers=basic("billing", "s3cret"),
    )
    assert r.status_code == 400 and r.json["error"] == "invalid_request"
    assert client.get("/oauth/token").status_code == 405


@pytest.mark.parametrize("how", ["basic", "form"])
def test_tokens_are_issued(key, client, how):
    data = {"grant_type": "client_credentials", "scope": "notes:read"}
    if how == "basic":
        r = post(client, data, basic("billing", "s3cret"))
    else:
        r = post(client, {**data, "client_id": "billing", "client_secret": "s3cret"})
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert body["scope"] == "notes:read"
    claims = TokenVerifier({ISS: [key]}, "notes", now=lambda: NOW).verify(body["access_token"])
    assert claims["sub"] == "billing" and claims["scope"] == "notes:read"


def test_default_scope_is_everything_the_client_may_have(client):
    r = post(client, {"grant_type": "client_credentials"}, basic("billing", "s3cret"))
    assert r.json["scope"] == "notes:read notes:write"


def test_argon2_hashed_secrets(key):
    secret_hash = hash_password("long random secret", config=LOW_COST)
    app = make_app(
        key,
        clients={"svc": {"secret_hash": secret_hash, "scopes": ["a"], "audience": "x", "ttl": 60}},
    )
    client = app.test_client()
    r = post(client, {"grant_type": "client_credentials"}, basic("svc", "long random secret"))
    assert r.status_code == 200 and r.json["expires_in"] == 60
    r = post(client, {"grant_type": "client_credentials"}, basic("svc", "long random secreT"))
    assert r.status_code == 401


def test_plain_secrets_only_when_testing(key):
    with pytest.raises(ConfigurationError, match="secret_hash"):
        make_app(key, TESTING=False)


@pytest.mark.parametrize(
    "clients",
    [
        {"c": {"scopes": ["a"], "audience": "x"}},
        {"c": {"secret": "s", "scopes": "a b", "audience": "x"}},
        {"c": {"secret": "s", "scopes": ["a"]}},
    ],
)
def test_bad_client_config_is_refused(key, clients):
    with pytest.raises(ConfigurationError):
        make_app(key, clients=clients)


def test_csrf_exempt_on_a_hermetic_app(key):
    app = make_app(key, cls=hermetic.Hermetic)
    r = post(app.test_client(), {"grant_type": "client_credentials"}, basic("billing", "s3cret"))
    assert r.status_code == 200, r.data


def test_outcomes_are_audited_without_secrets(client, caplog):
    with caplog.at_level("INFO", logger="hermetic.security.audit"):
        post(client, {"grant_type": "client_credentials"}, basic("billing", "wrong"))
        r = post(client, {"grant_type": "client_credentials"}, basic("billing", "s3cret"))
    text = "\n".join(caplog.messages)
    assert '"reason":"invalid_client"' in text and '"result":"issued"' in text
    assert "s3cret" not in text and "wrong" not in text
    assert r.json["access_token"] not in text
