"""End to end: identity, api and web as real HTTP servers on loopback, driven like a browser.

Each service runs in werkzeug's threaded server in a thread of this
process; web calls identity and api over HTTP, and api fetches identity's
keys from its JWKS URL. The services share one in-memory store, as they
share Redis in a deployment.
"""

from __future__ import annotations

import secrets
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import System
from examples.reference.identity import create_app as create_identity
from examples.reference.testing import Browser
from werkzeug.serving import make_server

from hermetic.security.jwt import TokenIssuer, generate_signing_key
from hermetic.security.stores import RedisStore

PASSWORD = "a long enough password"


class Swappable:
    """A WSGI app whose target can be replaced (a restart on the same port)."""

    def __init__(self) -> None:
        self.app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


def _serve(tmp_path, store=None):
    holders = [Swappable() for _ in range(3)]
    servers = [make_server("127.0.0.1", 0, h, threaded=True) for h in holders]
    threads = [
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        for s in servers
    ]
    urls = tuple(f"http://127.0.0.1:{s.server_port}" for s in servers)
    system = System(tmp_path, urls, files=True, real=True, store=store)
    for holder, app in zip(holders, (system.identity, system.api, system.web), strict=True):
        holder.app = app
    system.holders = holders
    for thread in threads:
        thread.start()
    yield system
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def live(tmp_path):
    yield from _serve(tmp_path)


@pytest.fixture
def live_redis(tmp_path):
    """The services sharing the Redis at 127.0.0.1:6379, under a prefix of this test's own."""
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    # Never flushed: every key written expires with what it protects.
    yield from _serve(
        tmp_path, RedisStore(url, prefix=f"hermetic-test:reference:{secrets.token_hex(8)}:")
    )


def _grant(system, browser: Browser) -> str:
    """Get a grant for the user signed in to identity in ``browser``, as web does."""
    state = secrets.token_urlsafe(20)
    callback = system.web_url + "/auth/callback"
    page = browser.get(
        f"{system.identity_url}/oauth/authorize?client_id=web&state={state}&redirect_uri={callback}",
        follow=False,
    )
    code = parse_qs(urlsplit(page.header("Location")).query)["code"][0]
    return system.web.extensions["reference.identity"].exchange_code(code, callback)["grant"]


def _api_get(system, token: str, path: str = "/v1/notes") -> int:
    status, _headers, _body = system.send(
        "GET",
        system.api_url + path,
        {"Authorization": f"Bearer {token}", "Accept": "application/json"},
        None,
    )
    return status


def test_the_system_end_to_end(live):
    system = live
    ann, bob = system.browser(), system.browser()
    page = system.sign_up(ann, "ann@example.com")
    assert page.url == system.web_url + "/" and "Signed in as ann@example.com" in page.text
    system.sign_up(bob, "bob@example.com")

    # create, edit, share, delete: web -> api with a token naming the user and web
    new = ann.get(system.web_url + "/notes/new")
    page = ann.submit(new, None, {"title": "Trip", "body": "draft"})
    note = page.url
    page = ann.submit(ann.get(note + "/edit"), None, {"title": "Trip", "body": "booked"})
    assert "Note updated." in page.text and "booked" in page.text
    page = ann.submit(ann.get(note + "/share"), None, {"email": "bob@example.com"})
    assert "Shared with bob@example.com." in page.text
    assert "booked" in bob.get(note).text
    assert bob.get(note + "/edit").status == 403
    page = ann.submit(ann.get(note + "/delete"), None, {})
    assert "Note deleted." in page.text and bob.get(note).status == 404

    # a member is refused the admin page; an admin is not
    assert bob.get(system.web_url + "/admin").status == 403
    system.make_admin("ann@example.com")
    admin = system.browser()
    system.sign_in(admin, "ann@example.com")
    assert admin.get(system.web_url + "/admin").status == 200

    # logout, then the old cookie is refused
    before = dict(admin.cookies)
    admin.submit(admin.get(system.web_url + "/"), "/auth/logout", {})
    admin.cookies = before
    replay = admin.get(system.web_url + "/notes/new", follow=False)
    assert replay.status == 302 and "/auth/login" in replay.header("Location")


@pytest.fixture(params=["memory", "redis"])
def live_any(request):
    return request.getfixturevalue("live" if request.param == "memory" else "live_redis")


def test_password_change_revokes_sessions_and_tokens(live_any):
    system = live_any
    bob = system.browser()
    system.sign_up(bob, "bob@example.com")
    identity = system.web.extensions["reference.identity"]
    grant = _grant(system, bob)
    old_token = identity.user_token(grant)  # issued, not yet used

    other = system.browser()  # a second device
    page = other.get(system.identity_url + "/login")
    other.submit(page, None, {"email": "bob@example.com", "password": PASSWORD})
    form = bob.get(system.identity_url + "/account/password")
    new_password = "another long password"
    changed = bob.submit(
        form,
        None,
        {
            "current_password": PASSWORD,
            "new_password": new_password,
            "confirm_password": new_password,
        },
    )
    assert "Password changed" in changed.text

    assert _api_get(system, old_token) == 401  # the token issued before the change
    with pytest.raises(Exception, match="invalid_grant"):
        identity.user_token(grant)
    assert other.get(system.identity_url + "/").url.startswith(system.identity_url + "/login")
    assert "Your notes" not in bob.get(system.web_url + "/").text  # web's session ended too
    # Signing in again works at once, with the new password's session.
    page = system.sign_in(bob, "bob@example.com", new_password)
    assert "Your notes" in bob.get(system.web_url + "/").text


def test_key_rotation_keeps_old_tokens_verifying(live):
    system = live
    ann = system.browser()
    system.sign_up(ann, "ann@example.com")
    identity = system.web.extensions["reference.identity"]
    grant = _grant(system, ann)
    before = identity.user_token(grant)

    keys = system.identity.extensions["reference.keys"]
    old_kid = system.identity.config["JWT_SIGNING_KEYS"][0]["kid"]
    result = system.identity.test_cli_runner().invoke(args=["rotate-keys"])
    assert result.exit_code == 0
    restarted = create_identity(system.identity_config)  # the same settings, the new key
    system.holders[0].app = restarted
    system.identity = restarted
    assert restarted.config["JWT_SIGNING_KEYS"][0]["kid"] != old_kid

    identity._token = None  # fetch a new service token from the restarted identity
    after = identity.user_token(grant)
    assert _api_get(system, after) == 200  # new kid: api fetches the new JWKS
    assert _api_get(system, before) == 200  # the old key is still published
    assert len(keys.specs()) == 2


def test_forged_tokens_are_refused_over_http(live):
    system = live
    kid = system.identity.config["JWT_SIGNING_KEYS"][0]["kid"]
    forger = TokenIssuer(generate_signing_key(kid=kid), system.identity_url)
    user = forger.issue(
        "1", "api", "notes:read notes:admin", extra_claims={"act": {"sub": "web"}, "email": "x@y.z"}
    )
    assert _api_get(system, user, "/v1/admin/stats") == 401
    service = forger.issue("web", "identity", "identity:exchange")
    status, _h, _b = system.send(
        "POST",
        system.identity_url + "/oauth/user-token",
        {"Authorization": f"Bearer {service}", "Content-Type": "application/x-www-form-urlencoded"},
        b"grant=x&audience=api",
    )
    assert status == 401
