"""Two real services on loopback: A issues tokens and JWKS, B trusts A through JWKS."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from werkzeug.serving import make_server

import hermetic
from hermetic.security.jwt import JWTAuth, current_principal, generate_signing_key, private_pem

ISS_A = "https://service-a.test"
TIMEOUT = 5
# Never send loopback traffic through a proxy from the environment.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def servers():
    running = []

    def start(app):
        server, thread, url = serve(app)
        running.append((server, thread))
        return url

    yield start
    for server, thread in running:
        server.shutdown()
        thread.join(TIMEOUT)
        server.server_close()


def call(url, data=None, headers=None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with OPENER.open(request, timeout=TIMEOUT) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as e:
        with e:
            return e.code, dict(e.headers), e.read()


def make_service_a(cls):
    a = cls("service_a")
    a.config.update(
        TESTING=True,
        SECRET_KEY=secrets.token_urlsafe(48),
        JWT_ISSUER=ISS_A,
        JWT_SIGNING_KEYS=[{"alg": "EdDSA", "pem": private_pem(generate_signing_key("EdDSA"))}],
        JWT_CLIENTS={
            "billing": {"secret": "b-secret", "scopes": ["notes:read"], "audience": "service-b"},
            "mailer": {"secret": "m-secret", "scopes": ["mail:send"], "audience": "service-c"},
        },
    )
    JWTAuth(a)
    return a


def make_service_b(cls, jwks_url):
    b = cls("service_b")
    b.config.update(
        TESTING=True,
        SECRET_KEY=secrets.token_urlsafe(48),
        JWT_AUDIENCE="service-b",
        JWT_TRUSTED_ISSUERS={ISS_A: jwks_url},
        JWT_JWKS_TIMEOUT=TIMEOUT,
    )
    JWTAuth(b)

    @b.get("/whoami")
    @hermetic.security.jwt.jwt_required(scopes="notes:read")
    def whoami():
        return {"sub": current_principal().sub}

    return b


def get_token(a_url, client_id, secret):
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    status, headers, body = call(
        a_url + "/oauth/token",
        {"grant_type": "client_credentials"},
        {"Authorization": f"Basic {credentials}"},
    )
    assert status == 200, body
    assert headers["Cache-Control"] == "no-store"
    return body["access_token"]


@pytest.mark.parametrize("cls", [hermetic.Flask, hermetic.Hermetic])
def test_service_to_service_over_http(servers, cls):
    a_url = servers(make_service_a(cls))
    b_url = servers(make_service_b(cls, a_url + "/.well-known/jwks.json"))
    accept = {"Accept": "application/json"}

    token = get_token(a_url, "billing", "b-secret")
    status, _, body = call(
        b_url + "/whoami", headers={"Authorization": f"Bearer {token}", **accept}
    )
    assert (status, body) == (200, {"sub": "billing"})

    status, headers, _ = call(b_url + "/whoami", headers=accept)
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer"

    # A real token from the same issuer, but for another service.
    other = get_token(a_url, "mailer", "m-secret")
    status, headers, body = call(
        b_url + "/whoami", headers={"Authorization": f"Bearer {other}", **accept}
    )
    assert status == 401 and headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert json.loads(body)["reason"] == "invalid_token"

    fresh = get_token(a_url, "billing", "b-secret")
    head, payload, signature = fresh.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    status, _, _ = call(
        b_url + "/whoami",
        headers={"Authorization": f"Bearer {head}.{forged}.{signature}", **accept},
    )
    assert status == 401
    # The untampered token still works once (it was never accepted before).
    status, _, body = call(
        b_url + "/whoami", headers={"Authorization": f"Bearer {fresh}", **accept}
    )
    assert (status, body) == (200, {"sub": "billing"})
