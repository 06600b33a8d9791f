"""The url-encoded form's split without unquoting against ``parse_qsl``.

``hermetic._body.urlencoded_form`` splits a body with neither ``%`` nor
``+`` itself (``plain_form_pairs``) and hands every other body to
``parse_qsl``, as Werkzeug's parser does. For every body it must give
``parse_qsl``'s pairs, in order and of the same types, or the same
``UnicodeDecodeError``; through whole requests, the same form as the app
with that split and the fast form read switched off (a plain app's then
being Werkzeug's own parse).
"""

from __future__ import annotations

import collections
import typing as t
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict, MultiDict

import hermetic
from hermetic import _body, request
from hermetic._body import plain_form_pairs, urlencoded_form

URLENCODED = "application/x-www-form-urlencoded"
KEY = "form-parse-tests-key-0123456789abcdef-0123456789"

# Bytes that parse_qsl treats specially or that a split could get wrong:
# separators and near-separators, escapes good and bad, non-ASCII text and
# bytes that are not UTF-8 (a lone lead byte, a continuation, 0xff).
_SPECIAL = [b"&", b"&", b"=", b"=", b";", b"%", b"%41", b"%zz", b"%C3%A9", b"%FF", b"%2B", b"+"]
_PLAIN = [b"a", b"b", b"", b" ", b"\x00", b"#", b"?", b"\t", b"\xc3\xa9", b"\xe2\x80\xa8", b"\\"]
_BROKEN = [b"\xff", b"\xc3", b"\xa9", b"\xed\xa0\x80"]


def _bodies(pieces: list[bytes]) -> st.SearchStrategy[bytes]:
    return st.lists(st.sampled_from(pieces), max_size=24).map(b"".join)


#: Bodies the split answers (no "%", no "+") and bodies of any byte.
BODIES = st.one_of(
    _bodies([b"&", b"&", b"=", b"=", b";", *_PLAIN]),
    _bodies(_SPECIAL + _PLAIN + _BROKEN),
    st.binary(max_size=40),
)


def _parse_qsl(data: bytes) -> t.Any:
    """Werkzeug's url-encoded parse: the pairs, or the decoding error."""
    try:
        return parse_qsl(data.decode(), keep_blank_values=True, errors="werkzeug.url_quote")
    except UnicodeDecodeError as e:
        return type(e), e.reason, e.start


def _ours(data: bytes, cls: t.Any) -> t.Any:
    try:
        return urlencoded_form(data, None, None, cls)
    except UnicodeDecodeError as e:
        return type(e), e.reason, e.start


def _typed(pairs: t.Any) -> t.Any:
    if not isinstance(pairs, list):
        return pairs
    return [(type(pair), [(type(part), part) for part in pair]) for pair in pairs]


@settings(max_examples=1000, deadline=None, derandomize=True, database=None)
@given(data=BODIES)
def test_the_pairs_are_parse_qsls(data: bytes) -> None:
    expected = _parse_qsl(data)
    assert _typed(_ours(data, list)) == _typed(expected), data
    if isinstance(expected, list):
        form = urlencoded_form(data, None, None, ImmutableMultiDict)
        assert type(form) is ImmutableMultiDict
        assert list(form.items(multi=True)) == list(MultiDict(expected).items(multi=True))


@pytest.mark.parametrize(
    ("text", "pairs"),
    [
        ("", []),
        ("&&", []),
        ("a", [("a", "")]),
        ("a=", [("a", "")]),
        ("=", [("", "")]),
        ("==x", [("", "=x")]),
        ("a=b=c&a", [("a", "b=c"), ("a", "")]),
        ("a;b=c;d", [("a;b", "c;d")]),
        ("&title=Groceries&&csrf_token=x-_&", [("title", "Groceries"), ("csrf_token", "x-_")]),
        ("é=ü ", [("é", "ü ")]),
    ],
)
def test_plain_bodies_are_split_here(text: str, pairs: list[tuple[str, str]]) -> None:
    assert plain_form_pairs(text) == pairs == parse_qsl(text, keep_blank_values=True)


@pytest.mark.parametrize("text", ["a=%41", "a+b=1", "%", "+", "a=1&b=%zz", "a=1&b=c+d"])
def test_bodies_to_unquote_go_to_parse_qsl(text: str) -> None:
    assert plain_form_pairs(text) is None


def test_the_drawn_bodies_take_both_ways() -> None:
    """The comparison means something: drawn bodies are split here and by parse_qsl."""
    ways: collections.Counter[str] = collections.Counter()

    @settings(max_examples=300, deadline=None, derandomize=True, database=None)
    @given(data=BODIES)
    def count(data: bytes) -> None:
        try:
            text = data.decode()
        except UnicodeDecodeError:
            ways["not utf-8"] += 1
            return
        pairs = plain_form_pairs(text)
        ways["parse_qsl" if pairs is None else "split"] += 1
        ways["several fields"] += pairs is not None and len(pairs) > 1

    count()
    assert min(ways[way] for way in ("split", "parse_qsl", "not utf-8", "several fields")) >= 20


# -- through whole requests ------------------------------------------------------


def _app(kind: str) -> t.Any:
    app = hermetic.Hermetic(__name__) if kind == "hermetic" else hermetic.Flask(__name__)
    app.config.update(SECRET_KEY=KEY, TESTING=True, MAX_FORM_PARTS=12)

    @app.post("/form")
    def form() -> t.Any:
        fields = request.form
        return {"type": type(fields).__name__, "fields": list(fields.items(multi=True))}

    return app


_APPS = {kind: _app(kind) for kind in ("flask", "hermetic")}


def _answer(kind: str, data: bytes, content_type: str) -> t.Any:
    rv = _APPS[kind].test_client().post("/form", data=data, content_type=content_type)
    return rv.status_code, rv.get_data()


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    kind=st.sampled_from(["flask", "hermetic"]),
    data=BODIES,
    content_type=st.sampled_from([URLENCODED, URLENCODED, URLENCODED + "; charset=utf-8"]),
)
def test_a_request_reads_the_form_as_without_the_split(
    kind: str, data: bytes, content_type: str
) -> None:
    fast = _answer(kind, data, content_type)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_body, "plain_form_pairs", lambda text: None)
        m.setattr(_body, "read_form_fast", lambda request, parse: False)
        general = _answer(kind, data, content_type)
    assert fast == general, data


@pytest.mark.parametrize("kind", ["flask", "hermetic"])
def test_a_requests_plain_form_is_split_here(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    split: list[str] = []
    real = _body.plain_form_pairs

    def spy(text: str) -> t.Any:
        pairs = real(text)
        split.append(text if pairs is not None else "")
        return pairs

    monkeypatch.setattr(_body, "plain_form_pairs", spy)
    status, body = _answer(kind, b"title=Groceries&csrf_token=a_-b", URLENCODED)
    assert status == 200 and b"Groceries" in body
    assert split == ["title=Groceries&csrf_token=a_-b"]
