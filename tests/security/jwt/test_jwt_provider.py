"""Bearer tokens in an app: 401/403 shapes, jwt_required, @requires via scopes, JWKS."""

from __future__ import annotations

import json
import secrets

import jwt as pyjwt
import pytest

import hermetic
from hermetic.security.auth import LoginManager
from hermetic.security.errors import ConfigurationError
from hermetic.security.jwt import (
    JWTAuth,
    current_principal,
    generate_signing_key,
    jwt_required,
    private_pem,
    revoke_jti,
    revoke_subject,
)
from hermetic.security.policy import AuthorizationShield, requires

NOW = 1_700_000_000
ISS = "https://notes.test"
AUD = "notes"


@pytest.fixture(scope="module")
def keys():
    return generate_signing_key("EdDSA"), generate_signing_key("ES256")


def make_app(keys, cls=hermetic.Flask, **config):
    current, old = keys
    app = cls("jwt_provider_tests")
    app.config.update(
        TESTING=True,
        SECRET_KEY=secrets.token_urlsafe(48),
        JWT_ISSUER=ISS,
        JWT_AUDIENCE=AUD,
        JWT_SIGNING_KEYS=[
            {"alg": "EdDSA", "pem": private_pem(current)},
            {"alg": "ES256", "pem": private_pem(old)},
        ],
    )
    app.config.update(config)
    return app


@pytest.fixture
def app(keys):
    # Local: an app with JWTAuth trusting the test's keys.
    app = make_app(keys)
    auth = JWTAuth(app, now=lambda: NOW)

    @app.get("/notes")
    @jwt_required(scopes="notes:read")
    def notes():
        return {"sub": current_principal().sub}

    @app.get("/again")
    @jwt_required(replay=False)
    def again():
        return {"sub": current_principal().sub}

    @app.post("/confirm")
    @jwt_required(replay=True)
    def confirm():
        return {"sub": current_principal().sub}

    app.auth = auth
    return app


def bearer(token):
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def test_no_token_is_401_with_a_bare_challenge(app):
    r = app.test_client().get("/notes", headers={"Accept": "application/json"})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"
    r = app.test_client().get("/notes", headers={"Authorization": "Basic dTpw"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("token", ["garbage", "", "a.b.c"])
def test_bad_token_is_401_and_says_little(app, token, caplog):
    with caplog.at_level("INFO", logger="hermetic.security.audit"):
        r = app.test_client().get("/notes", headers=bearer(token))
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert r.mimetype == "application/problem+json"
    assert r.json["reason"] == "invalid_token"
    assert "malformed" not in r.get_data(as_text=True)
    assert any('"event":"jwt"' in m for m in caplog.messages)


def test_tampered_wrong_audience_and_expired(app):
    client = app.test_client()
    token = app.auth.issue("billing", AUD, "notes:read")
    head, body, sig = token.split(".")
    claims = json.loads(pyjwt.utils.base64url_decode(body))
    claims["scope"] = "notes:read notes:admin"
    forged = pyjwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    assert client.get("/notes", headers=bearer(f"{head}.{forged}.{sig}")).status_code == 401
    other = app.auth.issue("billing", "payments", "notes:read")
    r = client.get("/notes", headers=bearer(other))
    assert r.status_code == 401 and r.json["reason"] == "invalid_token"
    old = app.auth.issue("billing", AUD, "notes:read", now=NOW - 400)
    r = client.get("/notes", headers=bearer(old))
    assert r.status_code == 401 and r.json["reason"] == "token_expired"


def test_a_good_token_is_reusable_until_it_expires(app):
    client = app.test_client()
    token = app.auth.issue("billing", AUD, "notes:read")
    for _ in range(3):
        r = client.get("/notes", headers=bearer(token))
        assert r.status_code == 200 and r.json == {"sub": "billing"}


def test_a_one_time_route_refuses_a_replay(app):
    client = app.test_client()
    token = app.auth.issue("billing", AUD, "notes:read")
    assert client.get("/notes", headers=bearer(token)).status_code == 200
    r = client.post("/confirm", headers=bearer(token))
    assert r.status_code == 200 and r.json == {"sub": "billing"}
    r = client.post("/confirm", headers=bearer(token))
    assert r.status_code == 401 and r.json["reason"] == "invalid_token"


def test_replay_check_on_for_the_app_and_off_per_route(keys):
    app = make_app(keys, JWT_REPLAY_CHECK=True)
    auth = JWTAuth(app, now=lambda: NOW)
    app.get("/notes")(jwt_required(lambda: "notes", scopes=()))
    app.get("/again", endpoint="again")(jwt_required(replay=False)(lambda: "again"))
    client = app.test_client()
    token = auth.issue("billing", AUD)
    assert client.get("/notes", headers=bearer(token)).status_code == 200
    r = client.get("/notes", headers=bearer(token))
    assert r.status_code == 401 and r.json["reason"] == "invalid_token"
    for _ in range(3):
        assert client.get("/again", headers=bearer(token)).get_data() == b"again"


def test_missing_scope_is_403(app):
    token = app.auth.issue("billing", AUD, "notes:write")
    r = app.test_client().get("/notes", headers=bearer(token))
    assert r.status_code == 403
    assert r.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="notes:read"'


def test_revocation_through_the_app(app):
    client = app.test_client()
    token = app.auth.issue("billing", AUD, "notes:read")
    jti = pyjwt.decode(token, options={"verify_signature": False})["jti"]
    revoke_jti(app, jti, until=NOW + 300, now=NOW)
    assert client.get("/notes", headers=bearer(token)).status_code == 401
    token = app.auth.issue("billing", AUD, "notes:read", now=NOW - 5)
    revoke_subject(app, "billing", now=NOW)
    assert client.get("/notes", headers=bearer(token)).status_code == 401
    token = app.auth.issue("billing", AUD, "notes:read", now=NOW + 1)
    assert client.get("/notes", headers=bearer(token)).status_code == 200


def test_jwks_endpoint_publishes_current_and_old_keys(app, keys):
    r = app.test_client().get("/.well-known/jwks.json")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "public, max-age=300"
    published = r.get_json(force=True)["keys"]
    assert [k["kid"] for k in published] == [keys[0].kid, keys[1].kid]
    assert [k["alg"] for k in published] == ["EdDSA", "ES256"]
    assert not any("d" in k for k in published)


def test_old_key_tokens_still_verify(app, keys):
    old = keys[1]
    token = pyjwt.encode(
        {"iss": ISS, "aud": AUD, "sub": "legacy", "iat": NOW, "exp": NOW + 60, "jti": "x"},
        old.key,
        "ES256",
        headers={"kid": old.kid},
    )
    assert app.test_client().get("/again", headers=bearer(token)).json == {"sub": "legacy"}


def test_scopes_feed_requires_through_the_login_manager(keys):
    app = make_app(keys)
    LoginManager(app)
    AuthorizationShield().init_app(app)
    auth = JWTAuth(app, now=lambda: NOW)

    @app.get("/read")
    @requires("notes:read")
    def read():
        return {"sub": hermetic.security.auth.current_user.sub}

    client = app.test_client()
    ok = auth.issue("billing", AUD, ["notes:read", "notes:write"])
    assert client.get("/read", headers=bearer(ok)).json == {"sub": "billing"}
    r = client.get("/read", headers=bearer(auth.issue("billing", AUD, "notes:write")))
    assert r.status_code == 403
    assert client.get("/read", headers=bearer("nonsense")).status_code == 401
    assert client.get("/read", headers={"Accept": "application/json"}).status_code == 401


def test_hermetic_app_under_default_deny(keys):
    app = make_app(keys, cls=hermetic.Hermetic, AUTHZ_DEFAULT="deny")
    auth = JWTAuth(app, now=lambda: NOW)

    @app.get("/read")
    @requires("notes:read")
    def read():
        return {"scopes": sorted(hermetic.security.auth.current_user.scopes)}

    @app.get("/svc")
    @jwt_required
    def svc():
        return "ok"

    assert app.security_problems() == []
    client = app.test_client()
    token = auth.issue("billing", AUD, "notes:read")
    assert client.get("/read", headers=bearer(token)).json == {"scopes": ["notes:read"]}
    assert client.get("/svc", headers=bearer(auth.issue("b", AUD))).data == b"ok"
    assert client.get("/.well-known/jwks.json").status_code == 200


def test_missing_token_on_a_protected_route_names_the_bearer_scheme(keys):
    from hermetic.security import LoginManager, requires

    app = make_app(keys)
    LoginManager(app)
    JWTAuth(app, now=lambda: NOW)

    @app.get("/private")
    @requires("notes:read")
    def private():
        return "secret"

    response = app.test_client().get("/private", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "config",
    [{"JWT_AUDIENCE": None}, {"JWT_ISSUER": None, "JWT_SIGNING_KEYS": []}],
    ids=["no-audience", "no-issuer"],
)
def test_an_app_that_would_accept_no_token_says_so_at_start_up(keys, config, caplog):
    app = make_app(keys, **config)
    with caplog.at_level("WARNING", logger=app.logger.name):
        auth = JWTAuth(app, now=lambda: NOW)
    assert auth.verifier is None
    (record,) = [r for r in caplog.records if "JWTAuth accepts no bearer token" in r.message]
    assert record.levelname == "WARNING"
    assert "Fix: set JWT_" in record.message
    debug = make_app(keys, **config)
    debug.debug = True
    with pytest.raises(ConfigurationError, match="Cause: JWT_AUDIENCE .*Fix: set JWT_"):
        JWTAuth(debug, now=lambda: NOW)


def test_an_issuer_only_app_says_so_with_audience_false(keys, caplog):
    app = make_app(keys, JWT_AUDIENCE=False)
    app.debug = True
    auth = JWTAuth(app, now=lambda: NOW)
    assert auth.verifier is None and auth.problem is None
    assert auth.issue("billing", "payments")
    assert not [r for r in caplog.records if "JWTAuth" in r.message]


# -- one verification call, one error tree ------------------------------------------


def test_the_app_verifier_is_the_one_verification_call(app):
    from hermetic.security.jwt import TokenExpired

    token = app.auth.issue("svc", AUD, "notes:read")
    assert app.auth.verifier.verify(token)["sub"] == "svc"
    with pytest.raises(TokenExpired):
        app.auth.verifier.verify(token, now=NOW + 7200)
    assert not hasattr(app.auth.verifier, "authenticate")


def test_jwtauth_verify_is_deprecated_and_still_verifies(app):
    token = app.auth.issue("svc", AUD, "notes:read")
    with pytest.deprecated_call(match="verifier.verify"):
        assert app.auth.verify(token)["sub"] == "svc"


def test_every_jwt_error_is_a_security_error_under_one_root():
    from hermetic.security.errors import SecurityError
    from hermetic.security.jwt import (
        BearerTokenRequired,
        InsufficientScope,
        JWTError,
        TokenCheckUnavailable,
        TokenError,
        TokenExpired,
    )
    from hermetic.security.jwt.token_endpoint import OAuthError

    assert issubclass(JWTError, SecurityError)
    for cls, code in (
        (TokenError, 401),
        (TokenExpired, 401),
        (BearerTokenRequired, 401),
        (InsufficientScope, 403),
        (TokenCheckUnavailable, 503),
        (OAuthError, 400),
    ):
        assert issubclass(cls, JWTError), cls
        assert cls.code == code, cls


def test_jwtauth_writes_no_defaults_into_the_config(keys):
    app = make_app(keys)
    JWTAuth(app, now=lambda: NOW)
    assert "JWT_LEEWAY" not in app.config and "JWT_JWKS_PATH" not in app.config
    assert app.extensions["hermetic.jwt"].settings.leeway == 30
