"""JWKS over internal TLS (``JWT_JWKS_CA_FILE``) and the plain-http opt-in (``JWT_JWKS_HTTP_HOSTS``).

The attack each time first: a key set fetched from a server whose
certificate is not trusted, or over plain http off loopback, must not be
used; then the defence an operator opts into, and what it still refuses.
"""

from __future__ import annotations

import json
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from hermetic import Hermetic
from hermetic.security.errors import ConfigurationError
from hermetic.security.jwt import JWKSClient, JWTAuth, generate_signing_key, jwks_document
from hermetic.security.jwt.jwks import check_jwks_url
from hermetic.testing import self_signed_certificate

ISS = "https://issuer.test"


@pytest.fixture(scope="module")
def signing_key():
    return generate_signing_key("ES256")


@pytest.fixture
def tls_jwks(tmp_path, signing_key):
    """An issuer's JWKS served over TLS on loopback with a self-signed certificate."""
    crt, key = self_signed_certificate(tmp_path)
    body = json.dumps(jwks_document([signing_key]))

    @Request.application
    def app(request):
        return Response(body, 200 if request.path == "/jwks" else 404)

    server = make_server("127.0.0.1", 0, app, ssl_context=(crt, key))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://localhost:{server.server_port}/jwks", crt
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def _client(config) -> JWKSClient:
    app = Hermetic(__name__)
    app.config.update(JWT_AUDIENCE="b", **config)
    return JWTAuth(app).jwks_clients[ISS]


def test_an_untrusted_certificate_gives_no_keys(tls_jwks, signing_key):
    url, _crt = tls_jwks
    client = _client({"JWT_TRUSTED_ISSUERS": {ISS: url}})
    assert client.get_key(signing_key.kid) is None  # certificate verify failed
    assert client.fetch_count == 1


def test_jwks_ca_file_trusts_the_internal_certificate(tls_jwks, signing_key):
    url, crt = tls_jwks
    client = _client({"JWT_TRUSTED_ISSUERS": {ISS: url}, "JWT_JWKS_CA_FILE": crt})
    assert client.get_key(signing_key.kid) is not None


def test_jwks_ca_file_still_checks_the_host_name(tls_jwks, tmp_path, signing_key):
    url, _crt = tls_jwks
    # A certificate the bundle trusts, but for another name: refused.
    other, _key = self_signed_certificate(tmp_path, ["other.internal"])
    client = _client({"JWT_TRUSTED_ISSUERS": {ISS: url}, "JWT_JWKS_CA_FILE": other})
    assert client.get_key(signing_key.kid) is None


def test_an_unreadable_ca_file_stops_the_app_naming_the_setting(tmp_path):
    with pytest.raises(ConfigurationError, match="JWT_JWKS_CA_FILE"):
        _client(
            {
                "JWT_TRUSTED_ISSUERS": {ISS: "https://issuer.test/jwks"},
                "JWT_JWKS_CA_FILE": str(tmp_path / "missing.pem"),
            }
        )


def test_plain_http_off_loopback_is_refused_by_default():
    with pytest.raises(ConfigurationError, match="JWT_JWKS_HTTP_HOSTS"):
        _client({"JWT_TRUSTED_ISSUERS": {ISS: "http://identity.internal:8000/jwks"}})


def test_plain_http_to_a_named_internal_host_is_an_explicit_opt_in():
    url = "http://identity.internal:8000/jwks"
    client = _client(
        {"JWT_TRUSTED_ISSUERS": {ISS: url}, "JWT_JWKS_HTTP_HOSTS": ["identity.internal"]}
    )
    assert client.url == url
    # Only the hosts named: not another one, not another scheme.
    for other in ("http://identity.internal.evil.test/jwks", "http://10.0.0.7/jwks"):
        with pytest.raises(ConfigurationError):
            check_jwks_url(other, http_hosts=["identity.internal"])
    with pytest.raises(ConfigurationError):
        check_jwks_url("ftp://identity.internal/jwks", http_hosts=["identity.internal"])


@pytest.mark.parametrize("bad", [["http://identity"], ["*.internal"], ["host:8000"], [""], [3]])
def test_http_hosts_must_be_host_names(bad):
    with pytest.raises(ConfigurationError, match="JWT_JWKS_HTTP_HOSTS"):
        _client(
            {"JWT_TRUSTED_ISSUERS": {ISS: "https://issuer.test/jwks"}, "JWT_JWKS_HTTP_HOSTS": bad}
        )
