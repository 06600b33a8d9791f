"""The headers shield's step made per plan, and the vetted header tails.

The step (security/_headers_step.py) must add what the general merge adds
(``HeadersShield._merge`` with the response's names), for every plan,
response, scheme and nonce; the app's vetted-tail shortcut
(``_app_responses.vet_header_tail``) must send what Werkzeug sends.
"""

from __future__ import annotations

import pytest
from tests._wsgi import spy_on_send_loop
from werkzeug.wrappers import Response as WerkzeugResponse

import hermetic
from hermetic._app_responses import _VETTED_TAILS, vet_header_tail
from hermetic.security._headers_step import headers_step
from hermetic.security.headers import NONCE_KEY, HeadersShield, plan_headers
from hermetic.wrappers import Request

PLANS = {
    "default": {},
    "report-only": {"SECURITY_CSP_REPORT_ONLY": True},
    "no-csp": {"SECURITY_CSP": None},
    "no-hsts": {"SECURITY_HSTS": None},
    "reports": {"SECURITY_CSP_REPORTS": True, "SECURITY_CSP_REPORT_TO": True},
    "extra": {"SECURITY_HEADERS_EXTRA": {"X-Extra": "1", "X-Frame-Options": None}},
    "extra-maker-name": {"SECURITY_HEADERS_EXTRA": {"Content-Type": "text/plain"}},
    "extra-location": {"SECURITY_HEADERS_EXTRA": {"Location": "/elsewhere"}},
}
RESPONSES = {
    "bare": lambda: hermetic.Flask.response_class("x"),
    "custom": lambda: hermetic.Flask.response_class("x", headers={"X-Custom": "1"}),
    "frame": lambda: hermetic.Flask.response_class("x", headers={"X-Frame-Options": "SAMEORIGIN"}),
    "csp": lambda: hermetic.Flask.response_class(
        "x", headers={"Content-Security-Policy": "default-src 'none'"}
    ),
    "hsts": lambda: hermetic.Flask.response_class(
        "x", headers={"Strict-Transport-Security": "max-age=1"}
    ),
    "no-length": lambda: hermetic.Flask.response_class(iter([b"x"])),
    "redirect": lambda: hermetic.redirect("/", 303),
    "redirect-framed": lambda: _framed_redirect(),
    "location-later": lambda: hermetic.Flask.response_class(
        "x", headers=[("X-Custom", "1"), ("Location", "/")]
    ),
}


def _framed_redirect():
    # A redirect that sets one of the plan's headers itself, after Location.
    response = hermetic.Flask.response_class("x", status=303, headers={"Location": "/"})
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


def _reference(plan, request, response):
    """The general path: the merge, with the response's own names."""
    items = response.headers._list
    present = {name.lower() for name, _ in items}
    return HeadersShield._merge(plan, request, items, present, response)


@pytest.mark.parametrize("plan_name", PLANS)
@pytest.mark.parametrize("response_name", RESPONSES)
@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("nonce", [None, "bm9uY2U"])
def test_step_adds_what_the_merge_adds(plan_name, response_name, scheme, nonce):
    plan = plan_headers(PLANS[plan_name])
    step = headers_step(plan, HeadersShield._merge, HeadersShield._add_one_by_one)
    app = hermetic.Flask(__name__)
    results = []
    for run in (step, lambda request, response: _reference(plan, request, response)):
        with app.test_request_context("/", base_url=f"{scheme}://localhost") as ctx:
            if nonce is not None:
                ctx.request.environ[NONCE_KEY] = nonce
            response = RESPONSES[response_name]()
            assert run(ctx.request, response) is response
            results.append((response.headers.to_wsgi_list(), ctx.request.environ.get(NONCE_KEY)))
    assert results[0] == results[1]


def test_bare_takes_block_only_when_no_header_of_the_plan_is_a_maker_header():
    assert plan_headers({}).bare_takes_block
    assert not plan_headers({"SECURITY_HEADERS_EXTRA": {"content-length": "1"}}).bare_takes_block


def test_redirect_takes_block_only_when_no_header_of_the_plan_is_a_redirect_header():
    assert plan_headers({}).redirect_takes_block
    assert not plan_headers({"SECURITY_HEADERS_EXTRA": {"location": "/"}}).redirect_takes_block
    assert not plan_headers({"SECURITY_HEADERS_EXTRA": {"Content-Type": "x"}}).redirect_takes_block


def test_the_step_honours_a_set_scheme_and_a_subclass():
    """The step asks ``request.scheme``: an assignment or a subclass's own wins."""
    app = hermetic.Flask(__name__)
    step = headers_step(plan_headers({}), HeadersShield._merge, HeadersShield._add_one_by_one)

    class Forced(Request):
        # Its own scheme (Werkzeug's constructor assigns one: ignored).
        scheme = property(lambda self: "https", lambda self, value: None)

    def hsts(request):
        response = step(request, app.response_class("x"))
        return "Strict-Transport-Security" in response.headers

    with app.test_request_context("/", base_url="http://localhost") as ctx:
        assert not hsts(ctx.request)
        ctx.request.scheme = "https"
        assert hsts(ctx.request)
        assert hsts(Forced(ctx.request.environ))


# -- the vetted tails of _app_responses -------------------------------------


@pytest.mark.parametrize(
    "pairs",
    [
        [("Location", "/x")],
        [("Content-Location", "/x")],
        [("content-length", "3")],
        [("Content-Length", "3")],
        [("X-Unknown", "1")],
        [],
    ],
)
def test_only_names_of_kind_0_are_vetted(pairs):
    before = {k: list(v) for k, v in _VETTED_TAILS.items()}
    assert vet_header_tail(pairs) is False
    assert {k: list(v) for k, v in _VETTED_TAILS.items()} == before


def _sent(app, response):
    seen = []
    with app.test_request_context("/", base_url="https://localhost") as ctx:
        body = app._respond(response, ctx.request.environ, lambda s, h: seen.append((s, h)))
        return seen, b"".join(body)


def _werkzeug_sent(app, response):
    seen = []
    with app.test_request_context("/", base_url="https://localhost") as ctx:
        body = WerkzeugResponse.__call__(
            response, ctx.request.environ, lambda s, h: seen.append((s, h))
        )
        return seen, b"".join(body)


TAIL = [("X-Frame-Options", "DENY"), ("Cross-Origin-Opener-Policy", "same-origin")]


@pytest.mark.parametrize(
    "after",
    [
        [],  # the vetted tail itself
        [("Location", "/relative")],  # then a header Werkzeug rewrites
        [("content-length", "1")],  # another spelling
        [("Set-Cookie", "a=b")],  # more: not the vetted tail any longer
    ],
)
def test_a_vetted_tail_is_sent_as_werkzeug_sends_it(after):
    assert vet_header_tail(TAIL)
    app = hermetic.Flask(__name__)
    results = []
    for send in (_sent, _werkzeug_sent):
        response = app.response_class("body")
        response.headers._list.extend(TAIL + after)
        results.append(send(app, response))
    assert results[0] == results[1]


def test_a_vetted_tail_skips_the_loop(monkeypatch):
    # The loop reads _HEADER_KINDS for each name: a vetted tail does not.
    assert vet_header_tail(TAIL)
    looked_up = spy_on_send_loop(monkeypatch)
    app = hermetic.Flask(__name__)
    response = app.response_class("body")
    response.headers._list.extend(TAIL)
    _sent(app, response)
    assert looked_up == []
    response = app.response_class("body")
    response.headers._list.extend([*TAIL, ("X-Custom", "1")])
    _sent(app, response)
    assert looked_up


def test_live_items_reads_the_instance_list_without_making_its_dict():
    # live_items uses getattr: right only while no class in Headers' MRO
    # has a _list of its own.
    from werkzeug.datastructures import Headers

    from hermetic._headers import live_items

    assert not any("_list" in vars(cls) for cls in Headers.__mro__)
    headers = Headers([("Content-Type", "text/plain")])
    assert live_items(headers) is headers.__dict__["_list"]


@pytest.mark.parametrize(
    "after",
    [
        [],  # the vetted tail itself, after redirect's Location
        [("Location", "/again")],  # a second Location: Werkzeug's loop decides
        [("content-length", "1")],  # another spelling
        [("Set-Cookie", "a=b")],  # more: not the vetted tail any longer
    ],
)
@pytest.mark.parametrize("location", ["/relative", "https://localhost/é", "/a b"])
def test_a_vetted_tail_after_a_location_is_sent_as_werkzeug_sends_it(after, location):
    assert vet_header_tail(TAIL)
    app = hermetic.Flask(__name__)
    results = []
    for send in (_sent, _werkzeug_sent):
        response = app.response_class("body", status=303)
        response.headers._list.extend([("Location", location), *TAIL, *after])
        results.append(send(app, response))
    assert results[0] == results[1]


def test_a_vetted_tail_after_a_location_skips_the_loop(monkeypatch):
    assert vet_header_tail(TAIL)
    looked_up = spy_on_send_loop(monkeypatch)
    app = hermetic.Flask(__name__)
    response = app.response_class("body", status=303)
    response.headers._list.extend([("Location", "/"), *TAIL])
    _sent(app, response)
    assert looked_up == []
    response = app.response_class("body", status=303)
    response.headers._list.extend([("Location", "/"), *TAIL, ("Location", "/x")])
    _sent(app, response)
    assert looked_up
