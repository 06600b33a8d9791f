"""vary_cookie's vetted blocks: a response whose headers after the makers'
two (or redirect's three) are a block known to hold no ``Vary`` gets
``Vary: Cookie`` without a look-up per header, exactly as Werkzeug's
``response.vary.add("Cookie")`` would; anything else goes the general way.
"""

from __future__ import annotations

import pytest

import hermetic
from hermetic.security import _vary_cookie
from hermetic.security._vary_cookie import _VARY_FREE_TAILS, vary_cookie, vet_vary_free
from hermetic.wrappers import Response

BLOCK = [("X-Frame-Options", "DENY"), ("Cross-Origin-Opener-Policy", "same-origin")]
HEADS = {
    "maker": [("Content-Type", "text/plain"), ("Content-Length", "1")],
    "redirect": [("Content-Type", "text/html"), ("Content-Length", "1"), ("Location", "/")],
    "vary-first": [("Vary", "Accept"), ("Content-Length", "1"), ("Location", "/")],
    "vary-second": [("Content-Type", "text/html"), ("VARY", "Cookie"), ("Location", "/")],
    "vary-third": [("Content-Type", "text/html"), ("Content-Length", "1"), ("vary", "Origin")],
    "lower": [("content-type", "text/html"), ("Content-Length", "1"), ("Location", "/")],
    "short": [("Content-Type", "text/html")],
}
AFTER = {
    "nothing": [],
    "vary": [("Vary", "Origin")],
    "vary-cookie": [("vAry", "cookie")],
    "other": [("X-Custom", "1")],
}


def assert_vary_cookie_as_werkzeug(pairs):
    """``vary_cookie`` on a response holding exactly ``pairs`` gives Werkzeug's header list."""
    ours, theirs = Response(), Response()
    ours.headers._list[:] = pairs
    theirs.headers._list[:] = pairs
    vary_cookie(ours)
    theirs.vary.add("Cookie")
    assert ours.headers.to_wsgi_list() == theirs.headers.to_wsgi_list()


@pytest.mark.parametrize(
    "pairs",
    [[], [("Vary", "Origin")], [("X-A", "1"), ("vARY", "x")], [(b"X-A", "1")]],
)
def test_only_blocks_without_a_vary_spelling_are_vetted(pairs):
    before = {k: list(v) for k, v in _VARY_FREE_TAILS.items()}
    assert vet_vary_free(pairs) is False
    assert {k: list(v) for k, v in _VARY_FREE_TAILS.items()} == before


@pytest.mark.parametrize("head", sorted(HEADS))
@pytest.mark.parametrize("after", sorted(AFTER))
def test_a_vetted_block_gives_werkzeugs_vary(head, after):
    assert vet_vary_free(BLOCK)
    assert_vary_cookie_as_werkzeug(HEADS[head] + BLOCK + AFTER[after])
    assert_vary_cookie_as_werkzeug(HEADS[head] + AFTER[after] + BLOCK)


def test_a_vetted_block_skips_the_look_up(monkeypatch):
    assert vet_vary_free(BLOCK)
    looked_up = []

    def first(pair):
        looked_up.append(pair[0])
        return pair[0]

    monkeypatch.setattr(_vary_cookie, "_first", first)
    for head in ("maker", "redirect"):
        response = Response()
        response.headers._list[:] = HEADS[head] + BLOCK
        vary_cookie(response)
        assert response.headers._list[-1] == ("Vary", "Cookie")
    assert looked_up == []
    response = Response()
    response.headers._list[:] = [*HEADS["redirect"], *BLOCK, ("X-Custom", "1")]
    vary_cookie(response)
    assert looked_up


def test_the_security_blocks_are_vetted_with_and_without_the_vary_after():
    # What a Hermetic app's quiet after step appends needs no look-up, and
    # the same with the session's Vary after it is a vetted tail when sent.
    from hermetic._app_responses import _VETTED_TAILS

    app = hermetic.Hermetic(__name__)
    app.config["SECRET_KEY"] = "Vq3-lT8xZ0pWn4Kc7Yr2Hs9Jd6Fb1Mg5Ae0Ux_Ni8Lo"

    @app.post("/")
    def index():
        return hermetic.redirect("/", 303)

    app.test_client().get("/")  # the pipeline's plan, made on the first request
    blocks = [
        tail
        for tails in _VARY_FREE_TAILS.values()
        for tail in tails
        if ("X-Content-Type-Options", "nosniff") in tail
    ]
    assert len(blocks) == 2  # over plain HTTP and over HTTPS
    for tail in blocks:
        assert [*tail, ("Vary", "Cookie")] in _VETTED_TAILS.get(len(tail) + 3, ())
