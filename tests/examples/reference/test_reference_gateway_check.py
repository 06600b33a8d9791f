"""identity's ``/internal/token-check``: the gateway's auth check before routing to api.

In-process (the three services wired together); the topology test runs the
same check behind nginx's ``auth_request``.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qs, urlsplit

from hermetic.security.jwt import revoke_subject


def _grant(system, browser) -> str:
    state = secrets.token_urlsafe(20)
    callback = system.web_url + "/auth/callback"
    page = browser.get(
        f"{system.identity_url}/oauth/authorize?client_id=web&state={state}&redirect_uri={callback}",
        follow=False,
    )
    code = parse_qs(urlsplit(page.header("Location")).query)["code"][0]
    return system.web.extensions["reference.identity"].exchange_code(code, callback)["grant"]


def _check(system, header: str | None) -> int:
    headers = {} if header is None else {"X-Gateway-Token": header}
    return system.identity.test_client().get("/internal/token-check", headers=headers).status_code


def test_the_check_refuses_what_api_would_refuse_and_spends_nothing(system):
    ann = system.browser()
    system.sign_up(ann, "ann@example.com")
    identity = system.web.extensions["reference.identity"]
    token = identity.user_token(_grant(system, ann))
    # The attacks: no token, another scheme, garbage, a token for identity itself.
    assert _check(system, None) == 401
    assert _check(system, "Basic " + token) == 401
    assert _check(system, "Bearer not.a.token") == 401
    assert _check(system, "Bearer " + identity.service_token()) == 401  # aud identity
    # A good user token for api passes, as often as nginx asks ...
    assert _check(system, "Bearer " + token) == 204
    assert _check(system, "Bearer " + token) == 204
    # ... and api still accepts it once (the check did not spend it).
    api = system.api.test_client()
    headers = {"Authorization": "Bearer " + token, "Accept": "application/json"}
    assert api.get("/v1/notes", headers=headers).status_code == 200
    assert api.get("/v1/notes", headers=headers).status_code == 401  # replayed


def test_the_check_sees_revocations(system):
    bob = system.browser()
    system.sign_up(bob, "bob@example.com")
    identity = system.web.extensions["reference.identity"]
    token = identity.user_token(_grant(system, bob))
    assert _check(system, "Bearer " + token) == 204

    with system.identity.app_context():
        user_id = identity_user_id(system, "bob@example.com")
        revoke_subject(system.identity, user_id, now=time.time() + 5)
    assert _check(system, "Bearer " + token) == 401


def identity_user_id(system, email: str) -> str:
    from examples.reference.common.db import session
    from examples.reference.identity.models import User

    return session().query(User).filter_by(email=email).one().get_id()
