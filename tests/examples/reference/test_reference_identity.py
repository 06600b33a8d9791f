"""identity: accounts, pages, the OAuth endpoints for web, and key rotation."""

from __future__ import annotations

import base64
import json
import secrets

import pytest
from argon2 import PasswordHasher
from conftest import WEB_SECRET
from examples.reference.common.db import session as db_session
from examples.reference.identity.keys import KeyDirectory
from examples.reference.identity.models import User

from hermetic.security.jwt import TokenIssuer, generate_signing_key

PASSWORD = "a long enough password"


def _service_token(system, client=None, scope=None):
    client = client or system.identity.test_client()
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    response = client.post("/oauth/token", data=data, auth=("web", WEB_SECRET))
    assert response.status_code == 200, response.json
    return response.json["access_token"]


def _claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_sign_up_refuses_short_passwords_and_duplicates(system):
    b = system.browser()
    page = b.get(system.identity_url + "/signup")
    short = b.submit(page, None, {"email": "a@example.com", "password": "short"})
    assert short.status == 400 and "Choose a password of at least 12 characters" in short.text
    ok = b.submit(short, None, {"email": "a@example.com", "password": PASSWORD})
    assert ok.status == 200 and "Your account" in ok.text
    other = system.browser()
    page = other.get(system.identity_url + "/signup")
    again = other.submit(page, None, {"email": "A@Example.com", "password": PASSWORD})
    assert again.status == 400 and "exists already" in again.text


def test_wrong_password_is_refused_and_audited(system, caplog):
    system.sign_up(system.browser(), "ann@example.com")
    b = system.browser()
    page = b.get(system.identity_url + "/login")
    wrong = b.submit(page, None, {"email": "ann@example.com", "password": "not the password"})
    assert wrong.status == 401 and "Wrong e-mail address or password" in wrong.text
    assert '"event":"failed_login"' in caplog.text and "not the password" not in caplog.text
    unknown = b.submit(wrong, None, {"email": "nobody@example.com", "password": PASSWORD})
    assert unknown.status == 401


def test_login_upgrades_an_old_hash(system):
    system.sign_up(system.browser(), "ann@example.com")
    with system.identity.app_context():
        db = db_session()
        user = db.query(User).filter_by(email="ann@example.com").one()
        old = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash(PASSWORD)
        user.password_hash = old
        db.commit()
    b = system.browser()
    page = b.get(system.identity_url + "/login")
    assert b.submit(page, None, {"email": "ann@example.com", "password": PASSWORD}).status == 200
    with system.identity.app_context():
        upgraded = db_session().query(User).filter_by(email="ann@example.com").one().password_hash
    assert upgraded != old and "m=1024" in upgraded


def test_remember_me_outlives_the_session(system):
    system.sign_up(system.browser(), "ann@example.com")
    b = system.browser()
    page = b.get(system.identity_url + "/login")
    b.submit(page, None, {"email": "ann@example.com", "password": PASSWORD, "remember": "on"})
    remembered = system.browser()
    remembered.cookies = {"identity_remember": b.cookies["identity_remember"]}
    assert "Your account" in remembered.get(system.identity_url + "/").text
    # Without the cookie: the login page.
    assert "Sign in" in system.browser().get(system.identity_url + "/").text


def test_logout_revokes_the_session_cookie(system):
    b = system.browser()
    system.sign_up(b, "ann@example.com")
    page = b.get(system.identity_url + "/")
    old = dict(b.cookies)
    b.submit(page, "/logout", {})
    b.cookies = old  # replay the cookie from before the logout
    assert b.get(system.identity_url + "/").url.startswith(system.identity_url + "/login")


def test_password_change_ends_other_sessions_remember_tokens_and_grants(system):
    here, there = system.browser(), system.browser()
    system.sign_up(here, "ann@example.com")
    page = there.get(system.identity_url + "/login")
    there.submit(page, None, {"email": "ann@example.com", "password": PASSWORD, "remember": "on"})
    grant = there  # "there" is also signed in at web through a grant
    system.sign_in(grant, "ann@example.com")
    assert "Your notes" in grant.get(system.web_url + "/").text

    form = here.get(system.identity_url + "/account/password")
    changed = here.submit(
        form,
        None,
        {
            "current_password": PASSWORD,
            "new_password": "another long password",
            "confirm_password": "another long password",
        },
    )
    assert changed.status == 200 and "Password changed" in changed.text
    assert "Your account" in here.get(system.identity_url + "/").text  # this device stays in
    assert there.get(system.identity_url + "/").url.startswith(system.identity_url + "/login")
    # The services share one store (Redis in a deployment): web's session for
    # the same user id is revoked too, and the grant is dead anyway.
    page = there.get(system.web_url + "/")
    assert "Sign in or create an account" in page.text and "Your notes" not in page.text


def test_password_change_needs_the_current_password(system):
    b = system.browser()
    system.sign_up(b, "ann@example.com")
    form = b.get(system.identity_url + "/account/password")
    refused = b.submit(
        form,
        None,
        {
            "current_password": "wrong password!",
            "new_password": "x" * 12,
            "confirm_password": "x" * 12,
        },
    )
    assert refused.status == 400 and "current password is not right" in refused.text


@pytest.mark.parametrize(
    "query",
    [
        "client_id=web&redirect_uri=https://evil.test/auth/callback&state=" + "s" * 20,
        "client_id=evil&redirect_uri=https://web.test/auth/callback&state=" + "s" * 20,
        "client_id=web&redirect_uri=https://web.test/auth/callback&state=short",
    ],
)
def test_authorize_refuses_unknown_clients_redirects_and_bad_state(system, query):
    b = system.browser()
    system.sign_up(b, "ann@example.com")
    page = b.get(system.identity_url + "/oauth/authorize?" + query, follow=False)
    assert page.status == 400 and page.header("Location") is None
    # A page of identity's layout that says which part is wrong.
    assert "Sign out" in page.text and ("redirect URI" in page.text or "state" in page.text)


def _code(system, browser):
    state = secrets.token_urlsafe(20)
    page = browser.get(
        system.identity_url
        + "/oauth/authorize?client_id=web&state="
        + state
        + "&redirect_uri=https%3A%2F%2Fweb.test%2Fauth%2Fcallback",
        follow=False,
    )
    assert page.status == 302 and f"state={state}" in page.header("Location")
    return page.header("Location").split("code=")[1].split("&")[0]


def test_a_code_is_spent_by_its_first_use(system):
    b = system.browser()
    system.sign_up(b, "ann@example.com")
    code = _code(system, b)
    client = system.identity.test_client()
    headers = {"Authorization": "Bearer " + _service_token(system)}
    data = {"code": code, "redirect_uri": "https://web.test/auth/callback"}
    first = client.post("/oauth/code", data=data, headers=headers)
    assert first.status_code == 200 and first.json["user"]["email"] == "ann@example.com"
    assert "password_hash" not in json.dumps(first.json)
    second = client.post("/oauth/code", data=data, headers=headers)
    assert second.status_code == 400 and second.json["error"] == "invalid_grant"


def test_oauth_endpoints_need_a_service_token_with_the_scope(system):
    client = system.identity.test_client()
    no_token = client.post(
        "/oauth/user-token", data={"grant": "x"}, headers={"Accept": "application/json"}
    )
    assert no_token.status_code == 401
    forged = TokenIssuer(generate_signing_key(), system.identity_url).issue(
        "web", "identity", "identity:exchange"
    )
    response = client.post(
        "/oauth/user-token", data={"grant": "x"}, headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401


def test_user_tokens_name_the_user_and_the_client(system):
    b = system.browser()
    system.sign_up(b, "ann@example.com")
    code = _code(system, b)
    client = system.identity.test_client()
    headers = {"Authorization": "Bearer " + _service_token(system)}
    grant = client.post(
        "/oauth/code",
        data={"code": code, "redirect_uri": "https://web.test/auth/callback"},
        headers=headers,
    ).json["grant"]
    wrong_audience = client.post(
        "/oauth/user-token", data={"grant": grant, "audience": "identity"}, headers=headers
    )
    assert wrong_audience.status_code == 400 and wrong_audience.json["error"] == "invalid_target"
    token = client.post(
        "/oauth/user-token", data={"grant": grant, "audience": "api"}, headers=headers
    ).json
    claims = _claims(token["access_token"])
    assert claims["act"] == {"sub": "web"} and claims["email"] == "ann@example.com"
    assert claims["aud"] == "api" and claims["scope"] == "notes:read notes:write"
    assert client.post("/oauth/revoke", data={"grant": grant}, headers=headers).status_code == 200
    revoked = client.post(
        "/oauth/user-token", data={"grant": grant, "audience": "api"}, headers=headers
    )
    assert revoked.json["error"] == "invalid_grant"


def test_jwks_publishes_public_keys_only(system):
    jwks = system.identity.test_client().get("/.well-known/jwks.json").json
    assert [k["kty"] for k in jwks["keys"]] == ["OKP"]
    assert not any("d" in k for k in jwks["keys"])


def test_rotate_keys_command_keeps_the_old_key_published(system):
    keys = system.identity.extensions["reference.keys"]
    old = [s["kid"] for s in keys.specs()]
    result = system.identity.test_cli_runner().invoke(args=["rotate-keys"])
    assert result.exit_code == 0 and "New signing key" in result.output
    now = [s["kid"] for s in keys.specs()]
    assert len(now) == 2 and now[1:] == old


def test_key_directory_prunes_keys_after_their_last_token_expired(tmp_path):
    clock = [1_000_000.0]
    keys = KeyDirectory(str(tmp_path), keep_for=3630, now=lambda: clock[0])
    first = keys.ensure()
    clock[0] += 100
    second = keys.rotate()
    assert [s["kid"] for s in keys.specs()] == [second, first]
    clock[0] += 3629
    assert keys.prune() == [] and len(keys.specs()) == 2
    clock[0] += 2
    assert keys.prune() == [first] and [s["kid"] for s in keys.specs()] == [second]
    assert (
        oct((tmp_path / f"{int(clock[0] - 3631)}-{second}.pem").stat().st_mode & 0o777) == "0o600"
    )


def test_login_attempts_are_rate_limited_per_address(system):
    b = system.browser()
    page = b.get(system.identity_url + "/login")
    statuses = [
        b.submit(page, None, {"email": "ann@example.com", "password": f"guess {i}"}).status
        for i in range(11)
    ]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429


def test_login_never_redirects_off_site(system):
    system.sign_up(system.browser(), "ann@example.com")
    b = system.browser()
    page = b.get(system.identity_url + "/login?next=https://evil.test/")
    done = b.submit(page, None, {"email": "ann@example.com", "password": PASSWORD}, follow=False)
    assert done.status == 302 and done.header("Location") == "/"


def test_a_code_only_works_with_its_redirect_uri(system):
    b = system.browser()
    system.sign_up(b, "ann@example.com")
    code = _code(system, b)
    response = system.identity.test_client().post(
        "/oauth/code",
        data={"code": code, "redirect_uri": "https://web.test/elsewhere"},
        headers={"Authorization": "Bearer " + _service_token(system)},
    )
    assert response.status_code == 400 and response.json["error"] == "invalid_grant"


@pytest.mark.parametrize("service", ["identity", "api", "web"])
def test_each_service_serves_metrics_to_loopback_only(system, service):
    app = getattr(system, service)
    local = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert local.status_code == 200 and "hermetic_requests" in local.text
    remote = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert remote.status_code in (401, 403)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password": "p" * 257}, "at most 256 characters"),
        ({"name": "n" * 101}, "at most 100 characters"),
        ({"email": "not an address"}, "valid e-mail address"),
        ({"password": "ann@example.com"}, "cannot be your e-mail address"),
    ],
)
def test_sign_up_refuses_bad_input_with_the_reason(system, fields, message):
    b = system.browser()
    page = b.get(system.identity_url + "/signup")
    data = {"email": "ann@example.com", "name": "Ann", "password": PASSWORD, **fields}
    refused = b.submit(page, None, data)
    assert refused.status == 400 and message in refused.text


def test_sign_in_forms_may_end_at_the_registered_clients_only(system):
    # A browser applies the CSP's form-action to the redirects after a form:
    # identity's sign-in ends at web's callback, so web's origin (and only the
    # registered clients' origins) must be allowed, or no browser can sign in.
    page = system.browser().get(system.identity_url + "/login")
    directives = dict(
        (d.strip().split(" ", 1) + [""])[:2]
        for d in page.header("Content-Security-Policy").split(";")
    )
    assert directives["form-action"].split() == ["'self'", system.web_url]
    assert "'unsafe-inline'" not in directives["script-src"]
