"""web: pages, CSRF, the admin page, sign-out, and what happens when identity or api say no."""

from __future__ import annotations

import re
import time

import pytest
from examples.reference.common.db import session as db_session
from examples.reference.identity.models import User
from examples.reference.web.client import ServiceUnavailable

_INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
_SCRIPTS = re.compile(r"<script.*?</script>", re.IGNORECASE | re.DOTALL)


@pytest.fixture
def ann(system):
    b = system.browser()
    system.sign_up(b, "ann@example.com")
    return b


def _create(system, browser, title, body=""):
    new = browser.get(system.web_url + "/notes/new")
    page = browser.submit(new, None, {"title": title, "body": body})
    assert "Note saved." in page.text, page.text
    return page, int(page.url.rstrip("/").split("/")[-1])


def test_create_edit_share_delete(system, ann):
    bob = system.browser()
    system.sign_up(bob, "bob@example.com")
    page, note_id = _create(system, ann, "Plans", "draft")
    edit = ann.get(f"{system.web_url}/notes/{note_id}/edit")
    page = ann.submit(edit, None, {"title": "Plans", "body": "final"})
    assert "Note updated." in page.text and "final" in page.text
    share = ann.get(f"{system.web_url}/notes/{note_id}/share")
    page = ann.submit(share, None, {"email": "bob@example.com"})
    assert "Shared with bob@example.com." in page.text
    assert "Plans" in bob.get(system.web_url + "/").text
    assert bob.get(f"{system.web_url}/notes/{note_id}").status == 200
    assert bob.get(f"{system.web_url}/notes/{note_id}/edit").status == 403
    confirm = ann.get(f"{system.web_url}/notes/{note_id}/delete")
    assert confirm.status == 200 and "cannot be undone" in confirm.text
    assert ann.get(f"{system.web_url}/notes/{note_id}").status == 200  # GET deleted nothing
    page = ann.submit(confirm, None, {})
    assert "Note deleted." in page.text
    assert bob.get(f"{system.web_url}/notes/{note_id}").status == 404


def test_invalid_note_is_refused_with_the_reason(system, ann):
    new = ann.get(system.web_url + "/notes/new")
    page = ann.submit(new, None, {"title": "   "})
    assert page.status == 400 and "title" in page.text and 'class="flash error"' in page.text


def test_pages_have_no_script_and_every_form_a_csrf_token(system, ann):
    _page, note_id = _create(system, ann, "t")
    for path in (
        "/",
        "/notes/new",
        f"/notes/{note_id}",
        f"/notes/{note_id}/edit",
        f"/notes/{note_id}/share",
        f"/notes/{note_id}/delete",
    ):
        page = ann.get(system.web_url + path)
        assert page.status == 200, path
        # One script, from web itself (CSP script-src 'self'); no inline code.
        assert _SCRIPTS.findall(page.text) == ['<script src="/ui/dialogs.js" defer></script>'], path
        assert not _INLINE_HANDLER.search(page.text), path
        assert page.text.count("<form") == page.text.count('name="csrf_token"'), path
        csp = page.header("Content-Security-Policy")
        assert "unsafe-inline" not in csp and "script-src" in csp, path
    style = ann.get(system.web_url + "/ui/style.css")
    assert style.status == 200 and style.header("Content-Type").startswith("text/css")


def test_a_form_without_its_csrf_token_is_refused(system, ann):
    page = ann.post(system.web_url + "/notes/new", {"title": "forged"})
    assert page.status == 403
    assert ann.get(system.web_url + "/").text.count("forged") == 0


def test_a_cross_site_form_post_is_refused(system, ann):
    new = ann.get(system.web_url + "/notes/new")
    page = ann.submit(new, None, {"title": "t"}, headers={"Origin": "https://evil.test"})
    assert page.status == 403


def test_members_cannot_reach_the_admin_page(system, ann):
    assert ann.get(system.web_url + "/admin").status == 403
    assert "Admin" not in ann.get(system.web_url + "/").text.split("<main>")[0]
    system.make_admin("ann@example.com")
    again = system.browser()
    system.sign_in(again, "ann@example.com")
    page = again.get(system.web_url + "/admin")
    assert page.status == 200 and "Members" in page.text


def test_logout_then_the_old_cookie_is_refused(system, ann):
    page = ann.get(system.web_url + "/")
    old = dict(ann.cookies)
    page = ann.submit(page, "/auth/logout", {})
    assert "You are signed out." in page.text
    ann.cookies = old
    replay = ann.get(system.web_url + "/notes/new", follow=False)
    assert replay.status == 302 and "/auth/login" in replay.header("Location")


def test_logout_signs_out_of_identity_too(system, ann):
    page = ann.get(system.web_url + "/")
    ann.submit(page, "/auth/logout", {})
    assert ann.get(system.identity_url + "/").url.startswith(system.identity_url + "/login")


def test_a_dead_grant_ends_the_session_with_a_message(system, ann):
    with system.identity.app_context():
        db = db_session()
        db.query(User).one().tokens_valid_after = time.time() + 60
        db.commit()
    page = ann.get(system.web_url + "/")
    assert "Your sign-in has ended" in page.text
    assert ann.get(system.web_url + "/notes/new", follow=False).status == 302


def test_callback_with_a_wrong_state_signs_nobody_in(system):
    b = system.browser()
    b.get(system.web_url + "/auth/login")
    page = b.get(system.web_url + "/auth/callback?code=x&state=not-the-state")
    assert "not valid any more" in page.text and "Your notes" not in page.text


def test_api_down_is_a_503_page(system, ann):
    def down(*_args):
        raise ServiceUnavailable("api unreachable")

    system.web.extensions["reference.api"].transport = down
    page = ann.get(system.web_url + "/")
    assert page.status == 503 and "not answering" in page.text


def test_one_request_id_follows_a_page_through_the_services(system, ann, caplog):
    ann.get(system.web_url + "/", headers={})
    lines = [line for line in caplog.text.splitlines() if '"path":"/v1/notes"' in line]
    assert lines, "api logged no request"
    rid = re.search(r'"request_id":"([^"]+)"', lines[-1]).group(1)
    web_lines = [
        line
        for line in caplog.text.splitlines()
        if f'"request_id":"{rid}"' in line and '"path":"/"' in line
    ]
    assert web_lines, "the api call does not carry web's request id"


def test_too_long_input_is_refused_and_the_form_keeps_it(system, ann):
    new = ann.get(system.web_url + "/notes/new")
    title = "t" * 201
    page = ann.submit(new, None, {"title": title, "body": "kept"})
    assert page.status == 400 and "at most 200 characters" in page.text
    assert f'value="{title}"' in page.text and ">kept</textarea>" in page.text


def test_pages_are_never_stored_but_the_shared_assets_are(system, ann):
    # After sign-out, Back must ask web again (which asks to sign in), not show a stored page.
    _page, note_id = _create(system, ann, "private")
    for path in ("/", f"/notes/{note_id}", "/notes/new"):
        assert ann.get(system.web_url + path).header("Cache-Control") == "no-store", path
    for path in ("/ui/style.css", "/ui/dialogs.js", "/favicon.ico"):
        page = ann.get(system.web_url + path)
        assert page.status == 200 and page.header("Cache-Control") != "no-store", path


def test_refusals_are_pages_of_the_app_with_the_reason(system, ann):
    admin = ann.get(system.web_url + "/admin")
    assert admin.status == 403 and "<title>Forbidden · Notes</title>" in admin.text
    assert "Sign out" in admin.text and "Members" not in admin.text  # the nav, not the stats
    missing = ann.get(system.web_url + "/notes/999999")
    assert missing.status == 404 and "not shared with you" in missing.text
    forged = ann.post(system.web_url + "/notes/new", {"title": "forged"})
    assert forged.status == 403 and "The CSRF token is missing." in forged.text
