"""The whole sign-in and notes flow through web, identity and api, in-process."""

from __future__ import annotations


def test_sign_up_then_notes(system):
    b = system.browser()
    page = system.sign_up(b, "ann@example.com")
    assert page.status == 200, page.text
    assert page.url == system.web_url + "/"
    assert "Signed in as ann@example.com" in page.text
    new = b.get(system.web_url + "/notes/new")
    page = b.submit(new, None, {"title": "Groceries", "body": "milk"})
    assert page.status == 200 and "Note saved." in page.text and "milk" in page.text
