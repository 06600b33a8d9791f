"""JWK Sets: what a fetched set may contain, caching, rate-limited refresh, rotation."""

from __future__ import annotations

import json
import threading

import jwt as pyjwt
import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from hermetic.security.errors import ConfigurationError
from hermetic.security.jwt import (
    JWKSClient,
    TokenIssuer,
    TokenVerifier,
    UnknownKey,
    generate_signing_key,
    jwks_document,
    parse_jwks,
)
from hermetic.security.jwt.jwks import JWKSFetchError, check_jwks_url

NOW = 1_700_000_000.0
ISS = "https://a.test"
URL = "https://a.test/.well-known/jwks.json"


@pytest.fixture(scope="module")
def ed():
    return generate_signing_key("EdDSA")


@pytest.fixture(scope="module")
def es():
    return generate_signing_key("ES256")


# -- what a key set may hold ------------------------------------------------------


def test_keys_are_bound_to_their_declared_or_implied_alg(ed, es):
    doc = jwks_document([ed, es])
    for jwk in doc["keys"]:
        del jwk["alg"]  # bound by kty/crv
    keys = parse_jwks(json.dumps(doc))
    assert {k: v.alg for k, v in keys.items()} == {ed.kid: "EdDSA", es.kid: "ES256"}


def test_symmetric_private_and_foreign_keys_are_skipped(ed):
    good = ed.verification_key.public_jwk()
    rsa_small = generate_small_rsa_jwk()
    doc = {
        "keys": [
            {"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "kid": "hs"},
            {**good, "kid": "hs-declared", "alg": "HS256"},
            {**good, "kid": "none", "alg": "none"},
            {**good, "kid": "enc", "use": "enc"},
            {**good, "kid": "priv", "d": "AAAA"},
            {**good, "kid": "mismatch", "alg": "ES256"},
            {k: v for k, v in good.items() if k != "kid"},
            {**rsa_small, "kid": "small-rsa"},
            "not a dict",
            good,
        ]
    }
    assert list(parse_jwks(json.dumps(doc))) == [ed.kid]


def generate_small_rsa_jwk():
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)


@pytest.mark.parametrize("body", [b"", b"[]", b'{"keys": 1}', b'{"keys": []}', b"\xff"])
def test_unusable_sets_are_errors(body):
    with pytest.raises(JWKSFetchError):
        parse_jwks(body)


@pytest.mark.parametrize(
    "url",
    [
        "http://issuer.example/jwks.json",
        "http://10.0.0.1/jwks.json",
        "ftp://issuer.example/jwks",
        "file:///etc/passwd",
        "https:///nohost",
    ],
)
def test_only_https_or_loopback_urls(url):
    with pytest.raises(ConfigurationError):
        JWKSClient(url)


@pytest.mark.parametrize(
    "url", ["https://issuer.example/jwks", "http://127.0.0.1:8080/j", "http://[::1]/j"]
)
def test_allowed_urls(url):
    check_jwks_url(url)


# -- caching and refresh (the clock injected) ------------------------------------


class FakeIssuer:
    """A JWKS endpoint in memory: the keys it publishes and its answers."""

    def __init__(self, *keys):
        self.keys = list(keys)
        self.cache_control = None
        self.fail = False
        self.calls = 0

    def __call__(self, url, timeout, max_bytes):
        self.calls += 1
        if self.fail:
            raise OSError("connection refused")
        return json.dumps(jwks_document(self.keys)).encode(), self.cache_control


def test_unknown_kid_refresh_is_rate_limited(ed, es):
    fake = FakeIssuer(ed)
    client = JWKSClient(URL, fetch=fake, cache_ttl=300, min_refresh_interval=30)
    assert client.get_key(ed.kid, NOW) is not None
    assert fake.calls == 1
    # A flood of unknown kids costs one fetch per interval, not one per request.
    for i in range(100):
        assert client.get_key(f"unknown-{i}", NOW + 1) is None
    assert fake.calls == 1  # fetched a second ago
    for i in range(100):
        assert client.get_key(f"unknown-{i}", NOW + 30 + i / 10) is None
    assert fake.calls == 2  # one fetch for the whole flood
    assert client.get_key("unknown", NOW + 59) is None
    assert fake.calls == 2  # 29 seconds after the last fetch
    # The issuer rotates in a new key: found on the next allowed refresh.
    fake.keys.append(es)
    assert client.get_key(es.kid, NOW + 59.5) is None
    assert client.get_key(es.kid, NOW + 60) is not None
    assert fake.calls == 3


def test_cache_ttl_and_cache_control(ed):
    fake = FakeIssuer(ed)
    client = JWKSClient(URL, fetch=fake, cache_ttl=300, min_refresh_interval=30)
    client.get_key(ed.kid, NOW)
    client.get_key(ed.kid, NOW + 299)
    assert fake.calls == 1
    client.get_key(ed.kid, NOW + 300)
    assert fake.calls == 2
    fake.cache_control = "public, max-age=1000"
    client.refresh(NOW + 400, force=True)
    client.get_key(ed.kid, NOW + 1399)
    assert fake.calls == 3
    client.get_key(ed.kid, NOW + 1400)
    assert fake.calls == 4
    fake.cache_control = "max-age=0"  # clamped to the refresh interval
    client.refresh(NOW + 2000, force=True)
    client.get_key(ed.kid, NOW + 2029)
    assert fake.calls == 5


def test_failed_refresh_keeps_the_last_good_keys(ed):
    fake = FakeIssuer(ed)
    client = JWKSClient(URL, fetch=fake, cache_ttl=300, min_refresh_interval=30)
    assert client.get_key(ed.kid, NOW)
    fake.fail = True
    assert client.get_key(ed.kid, NOW + 500) is not None  # stale, refresh failed
    assert fake.calls == 2
    assert client.get_key(ed.kid, NOW + 510) is not None
    assert fake.calls == 2  # failures are rate-limited too
    fake.fail = False
    fake.keys = []  # an empty set is a failure as well: keep the old keys
    assert client.get_key(ed.kid, NOW + 600) is not None


# -- rotation through a verifier -------------------------------------------------


def test_rotated_keys_verify_while_published(ed, es):
    fake = FakeIssuer(ed)
    clock = {"now": NOW}
    client = JWKSClient(URL, fetch=fake, now=lambda: clock["now"])
    verifier = TokenVerifier({ISS: client}, "b", replay=False, now=lambda: clock["now"])
    old_token = TokenIssuer(ed, ISS, now=lambda: clock["now"]).issue("svc", "b")
    assert verifier.verify(old_token)["sub"] == "svc"
    # Rotation: the issuer signs with the new key and still publishes the old one.
    fake.keys = [es, ed]
    clock["now"] += 60
    new_token = TokenIssuer(es, ISS, now=lambda: clock["now"]).issue("svc", "b")
    assert verifier.verify(new_token)["sub"] == "svc"  # unknown kid -> refresh
    assert verifier.verify(old_token)["sub"] == "svc"
    # Once the old tokens expired, the old key leaves the set.
    fake.keys = [es]
    clock["now"] += 400
    with pytest.raises(UnknownKey):
        verifier.verify(
            pyjwt.encode(
                {"iss": ISS, "aud": "b", "sub": "s", "iat": clock["now"], "exp": clock["now"] + 60},
                ed.key,
                "EdDSA",
                headers={"kid": ed.kid},
            )
        )


# -- over real HTTP on loopback ----------------------------------------------------


@pytest.fixture
def http_server():
    routes = {}

    @Request.application
    def app(request):
        status, body, headers = routes.get(request.path, (404, b"", {}))
        return Response(body, status, headers=headers)

    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", routes
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def test_fetch_over_http(http_server, ed):
    base, routes = http_server
    routes["/jwks"] = (200, json.dumps(jwks_document([ed])), {"Cache-Control": "max-age=120"})
    routes["/big"] = (200, b" " * 70_000 + json.dumps(jwks_document([ed])).encode(), {})
    routes["/moved"] = (302, b"", {"Location": base + "/jwks"})
    routes["/error"] = (500, b"", {})
    client = JWKSClient(base + "/jwks", timeout=2)
    assert client.get_key(ed.kid, NOW) is not None
    # max-age=120 is honoured: the set is served from the cache until it runs
    # out, then fetched again.
    assert client.fetch_count == 1
    assert client.get_key(ed.kid, NOW + 119) is not None
    assert client.fetch_count == 1
    assert client.get_key(ed.kid, NOW + 120) is not None
    assert client.fetch_count == 2
    for path in ("/big", "/moved", "/error", "/missing"):
        bad = JWKSClient(base + path, timeout=2)
        assert bad.get_key(ed.kid, NOW) is None, path
        assert bad.fetch_count == 1
