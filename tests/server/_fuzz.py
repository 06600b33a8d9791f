"""Malformed HTTP/1.1 requests, as raw bytes, from a seeded generator.

``make_request(seed, ctx)`` always builds the same bytes for the same seed
and context: bad request lines and headers, bad chunking, lying
Content-Lengths, truncated bodies, broken multipart, invalid UTF-8 in the
path, query, headers and body, deep JSON, huge field counts, and forged or
tampered session cookies and CSRF tokens (mutations of real ones in ``ctx``).
"""

from __future__ import annotations

import base64
import json
import random
import typing as t

PATHS = [
    "/",
    "/csrf",
    "/login",
    "/me",
    "/form",
    "/api/items",
    "/upload",
    "/json",
    "/raw",
    "/stream",
    "/limited",
    "/item/7",
    "/missing",
]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


class Context(t.NamedTuple):
    """Real values from the server under test, for mutation."""

    host: str  # "127.0.0.1:PORT"
    cookies: list[str]  # "name=value" of real session cookies
    tokens: list[str]  # real CSRF tokens


def _pick(rng: random.Random, weighted: t.Sequence[tuple[int, t.Any]]) -> t.Any:
    total = sum(w for w, _ in weighted)
    n = rng.randrange(total)
    for weight, value in weighted:
        if n < weight:
            return value
        n -= weight
    raise AssertionError("unreachable")


def _garbage(rng: random.Random, size: int) -> bytes:
    return bytes(rng.randrange(256) for _ in range(size))


def _mutate(rng: random.Random, text: str) -> str:
    """Flip, cut, extend or pad ``text`` (a cookie value, a token)."""
    if not text:
        return "x"
    kind = rng.randrange(6)
    i = rng.randrange(len(text))
    if kind == 0:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        return text[:i] + rng.choice(alphabet) + text[i + 1 :]
    if kind == 1:
        return text[:i]
    if kind == 2:
        return text + text[:i]
    if kind == 3:
        return text + "=="
    if kind == 4:
        return base64.urlsafe_b64encode(_garbage(rng, rng.randrange(1, 300))).decode()
    return text[::-1]


# -- the parts of a request ---------------------------------------------------


def _path(rng: random.Random, bad: bool) -> bytes:
    base = rng.choice(PATHS).encode()
    if not bad:
        return base
    kind = _pick(rng, [(2, "query"), (2, "utf8"), (2, "odd"), (1, "long")])
    if kind == "query":
        n = rng.choice([1, 5, 199, 250, 3000])
        return base + b"?" + b"&".join(b"p%d=%d" % (i, i) for i in range(n))
    if kind == "utf8":
        # Invalid UTF-8, raw and percent-encoded, in the path and the query.
        return rng.choice(
            [
                base + b"/\xff\xfe",
                base + b"?q=\xc3\x28",
                base + b"?q=%ff%fe&r=%c3%28",
                b"/%ff%fe" + base,
                base + b"?\xed\xa0\x80=1",
            ]
        )
    if kind == "odd":
        return rng.choice(
            [
                b"/item/%00",
                b"/../../etc/passwd",
                b"//evil.example/x",
                b"/item/99999999999999999999999999",
                b"*",
                b"http://evil.example/",
                base + b"%",
                base + b"?%zz=%",
                base + b"#frag",
                b"/\\\\evil",
            ]
        )
    return b"/" + b"a" * rng.choice([9000, 20000])


def _request_line(rng: random.Random, method: str, path: bytes, bad: bool) -> bytes:
    if not bad:
        return method.encode() + b" " + path + b" HTTP/1.1"
    kind = _pick(rng, [(1, "garbage"), (1, "version"), (1, "shape"), (1, "method")])
    if kind == "garbage":
        return _garbage(rng, rng.randrange(1, 80)).replace(b"\n", b"")
    if kind == "version":
        version = rng.choice([b"HTTP/1.7", b"HTTP/2.0", b"HTTP/0.9", b"HTTP/1", b"HTTX/1.1", b""])
        return method.encode() + b" " + path + b" " + version
    if kind == "shape":
        return rng.choice(
            [
                method.encode() + b"  " + path + b"  HTTP/1.1",
                method.encode() + b"\t" + path + b"\tHTTP/1.1",
                method.encode() + b" " + path,
                b" " + method.encode() + b" " + path + b" HTTP/1.1",
                method.encode() + b" " + path + b" HTTP/1.1 extra",
                method.encode() + b" /a\x00b HTTP/1.1",
            ]
        )
    return (
        rng.choice([b"G=T", b"get", b"G\xffT", b"CONNECT", b"X" * 300]) + b" " + path + b" HTTP/1.1"
    )


def _cookie(rng: random.Random, ctx: Context, bad: bool) -> bytes | None:
    if bad:
        kind = _pick(rng, [(5, "tampered"), (2, "forged"), (1, "huge"), (1, "bytes")])
    else:
        kind = rng.choice([None, "real"])
    if kind is None:
        return None
    real = rng.choice(ctx.cookies) if ctx.cookies else "session=x"
    name, _, value = real.partition("=")
    if kind == "real":
        return real.encode()
    if kind == "tampered":
        return f"{name}={_mutate(rng, value)}".encode()
    if kind == "forged":
        return f"{name}={base64.urlsafe_b64encode(_garbage(rng, 120)).decode()}".encode()
    if kind == "huge":
        return f"{name}={'A' * 9000}; other={'b' * 100}".encode()
    return name.encode() + b"=" + value.encode()[:20] + b"\xff\xfe\x00; x=\xc3\x28"


#: Headers a server accepts; the app decides about them.
_APP_HEADERS = [
    b"Origin: http://{host}",
    b"Origin: https://evil.example",
    b"Origin: null",
    b"Sec-Fetch-Site: same-origin",
    b"Sec-Fetch-Site: cross-site",
    b"X-CSRF-Token: {bad_token}",
    b"X-CSRF-Token: {token}",
    b"X-Forwarded-For: 1.2.3.4",
    b"X-Forwarded-For: garbage, , ::1",
    b"X-Forwarded-Proto: gopher",
    b"Authorization: Bearer a.b.c",
    b"Authorization: Basic \xff\xfe",
    b"Accept: application/json",
    b"X-Utf8: \xff\xfe\xc3\x28",
    b"Expect: 100-continue",
    b"Range: bytes=0-1,-5",
    b"Content-Encoding: gzip",
]
#: Headers a server may refuse itself.
_BAD_HEADERS = [
    b"X-Bad-\xff: 1",
    b"Bad Name: 1",
    b"NoColon",
    b" folded: continuation",
    b"X-Long: " + b"v" * 9000,
    b"Sec-Fetch-Site: \xff",
    b"X-Nul: a\x00b",
    b"X-Cr: a\rb",
]


def _extra_headers(rng: random.Random, ctx: Context, bad: bool) -> list[bytes]:
    token = rng.choice(ctx.tokens) if ctx.tokens else "t"
    values = {
        b"{host}": ctx.host.encode(),
        b"{token}": token.encode(),
        b"{bad_token}": _mutate(rng, token).encode(),
    }
    headers = []
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        header = rng.choice(_APP_HEADERS)
        for name, value in values.items():
            header = header.replace(name, value)
        headers.append(header)
    if bad:
        if rng.randrange(10):
            headers.append(rng.choice(_BAD_HEADERS))
        else:
            headers.extend(b"X-Many-%d: %d" % (i, i) for i in range(150))
    return headers


def _host(rng: random.Random, ctx: Context, bad: bool) -> list[bytes]:
    if not bad:
        return [b"Host: " + ctx.host.encode()]
    kind = _pick(rng, [(1, "none"), (1, "evil"), (1, "two"), (1, "bytes")])
    if kind == "none":
        return []
    if kind == "evil":
        return [b"Host: evil.example"]
    if kind == "two":
        return [b"Host: " + ctx.host.encode(), b"Host: evil.example"]
    return [b"Host: 127.0.0.1\xff"]


# -- bodies ---------------------------------------------------------------------


def _multipart(rng: random.Random) -> tuple[bytes, bytes]:
    boundary = rng.choice([b"b0undary", b"x" * 70, b"a b", b"--"])
    kind = _pick(
        rng,
        [(3, "good"), (1, "no-boundary"), (1, "wrong"), (1, "open"), (1, "many"), (1, "big")],
    )
    parts = []
    count = 60 if kind == "many" else rng.randrange(0, 5)
    for i in range(count):
        filename = rng.choice([b"", b'; filename="f.txt"', b'; filename="\xff\xfe.txt"'])
        content = _garbage(rng, rng.randrange(0, 64))
        if kind == "big" and i == 0:
            content = b"z" * rng.choice([20_000, 70_000])
        name = rng.choice([b"f%d" % i, b"\xc3\x28", b"", b'a"b'])
        parts.append(
            b"--"
            + boundary
            + b'\r\nContent-Disposition: form-data; name="'
            + name
            + b'"'
            + filename
            + b"\r\nContent-Type: text/plain\r\n\r\n"
            + content
            + b"\r\n"
        )
    body = b"".join(parts) + b"--" + boundary + b"--\r\n"
    content_type = b"multipart/form-data; boundary=" + boundary
    if kind == "no-boundary":
        content_type = b"multipart/form-data"
    elif kind == "wrong":
        content_type = b"multipart/form-data; boundary=other"
    elif kind == "open":
        body = body[: len(body) // 2]
    return content_type, body


def _json(rng: random.Random) -> bytes:
    kind = _pick(
        rng,
        [(3, "item"), (2, "bad-item"), (1, "deep"), (1, "wide"), (1, "utf8"), (1, "broken")],
    )
    if kind == "item":
        return json.dumps(
            {"name": "n" * rng.randrange(1, 60), "count": rng.randrange(-5, 2000)}
        ).encode()
    if kind == "bad-item":
        return rng.choice(
            [
                b'{"name": 5, "count": "x"}',
                b'{"name": "a", "count": NaN}',
                b'{"name": "a", "count": 1e400}',
                b'{"name": "a", "count": 1, "tags": [' + b'"t",' * 50 + b'"t"]}',
                b"[]",
                b"null",
                b'"string"',
                b'{"name": "a", "count": 1' + b"0" * 5000 + b"}",
            ]
        )
    if kind == "deep":
        n = rng.choice([31, 33, 1000, 30000])
        return b"[" * n + b"]" * n if rng.randrange(2) else b'{"a":' * n + b"1" + b"}" * n
    if kind == "wide":
        return json.dumps({f"k{i}": i for i in range(rng.choice([100, 3000]))}).encode()
    if kind == "utf8":
        return b'{"name": "\xff\xfe", "count": 1}'
    return rng.choice([b"{", b'{"a": }', b"\x00\x00\x00{", b"\xef\xbb\xbf{}", b"{'a': 1}"])


def _form(rng: random.Random, ctx: Context) -> bytes:
    kind = _pick(rng, [(3, "login"), (2, "fields"), (1, "many"), (1, "utf8"), (1, "big")])
    token = rng.choice(ctx.tokens) if ctx.tokens else "t"
    if rng.randrange(3) == 0:
        token = _mutate(rng, token)
    if kind == "login":
        password = rng.choice(["wonderland", "wrong", ""])
        return f"user=alice&password={password}&csrf_token={token}".encode()
    if kind == "fields":
        return f"a=1&b=2&csrf_token={token}".encode()
    if kind == "many":
        return b"&".join(b"f%d=%d" % (i, i) for i in range(rng.choice([51, 5000])))
    if kind == "utf8":
        return rng.choice([b"a=\xff\xfe&b=%ff", b"\xc3\x28=1", b"a=%zz&=&&=="])
    return b"a=" + b"x" * rng.choice([9000, 70_000])


def _body(rng: random.Random, ctx: Context) -> tuple[bytes | None, bytes]:
    kind = _pick(rng, [(2, None), (4, "form"), (3, "json"), (3, "multipart"), (1, "garbage")])
    if kind is None:
        return None, b""
    if kind == "form":
        return b"application/x-www-form-urlencoded", _form(rng, ctx)
    if kind == "json":
        return rng.choice([b"application/json", b"text/plain"]), _json(rng)
    if kind == "multipart":
        return _multipart(rng)
    return b"application/octet-stream", _garbage(rng, rng.randrange(1, 4000))


def _chunked(rng: random.Random, body: bytes, *, good: bool = False) -> bytes:
    """``body`` chunked: well, or with one of the ways chunking goes wrong."""
    size = max(1, len(body) // rng.randrange(1, 4) if body else 1)
    chunks = [body[i : i + size] for i in range(0, len(body), size)]
    encoded = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
    if good:
        return encoded + b"0\r\n\r\n"
    kind = _pick(
        rng,
        [(3, "size"), (3, "terminator"), (2, "truncated"), (1, "ext"), (1, "huge")],
    )
    if kind == "size":
        bad = rng.choice([b"zz", b"-1", b"0x10", b" 5", b"5 ", b"", b"\xff"])
        return bad + b"\r\n" + body[:5] + b"\r\n0\r\n\r\n"
    if kind == "terminator":
        return b"%x\r\n%sXX0\r\n\r\n" % (len(body[:5]), body[:5])
    if kind == "truncated":
        return encoded[: rng.randrange(len(encoded) + 1)]
    if kind == "ext":
        return b"5;x=\x00\xff\r\nhello\r\n0\r\n\r\n"
    return b"ffffffffffffffffffff\r\n" + body[:10] + b"\r\n0\r\n\r\n"


#: What one request gets wrong (besides its body, which is often odd anyway).
FOCUS = [
    (3, "request-line"),
    (2, "path"),
    (2, "host"),
    (4, "headers"),
    (4, "cookie"),
    (8, "framing"),
    (8, "body"),
]


def make_request(seed: int, ctx: Context) -> bytes:
    """Return the bytes of request number ``seed``: malformed, mostly."""
    rng = random.Random(seed)
    focus = _pick(rng, FOCUS)

    def bad(part: str) -> bool:
        # The focus, and now and then a second mistake anywhere.
        return part == focus or rng.randrange(40) == 0

    content_type, body = _body(rng, ctx)
    method = "POST" if body and rng.randrange(6) else rng.choice(METHODS)
    lines = [_request_line(rng, method, _path(rng, bad("path")), bad("request-line"))]
    lines += _host(rng, ctx, bad("host"))
    cookie = _cookie(rng, ctx, bad("cookie"))
    if cookie is not None:
        lines.append(b"Cookie: " + cookie)
    if content_type is not None:
        lines.append(b"Content-Type: " + content_type)
    lines += _extra_headers(rng, ctx, bad("headers"))
    framing = "length"
    if bad("framing"):
        framing = _pick(
            rng, [(5, "chunked"), (2, "long"), (2, "short"), (1, "bad-length"), (1, "both")]
        )
    elif rng.randrange(4) == 0:
        framing = "good-chunked"
    if framing == "length":
        lines.append(b"Content-Length: %d" % len(body))
    elif framing == "good-chunked":
        lines.append(b"Transfer-Encoding: chunked")
        body = _chunked(rng, body, good=True)
    elif framing == "chunked":
        coding = rng.choice([b"chunked"] * 5 + [b"gzip, chunked", b"xchunked", b"chunked, chunked"])
        lines.append(b"Transfer-Encoding: " + coding)
        body = _chunked(rng, body)
    elif framing == "long":  # the body is cut short
        lines.append(b"Content-Length: %d" % (len(body) + rng.choice([1, 100, 10_000])))
    elif framing == "short":  # the rest is read as the next request
        lines.append(b"Content-Length: %d" % (len(body) // 2))
    elif framing == "bad-length":
        lines.append(
            b"Content-Length: "
            + rng.choice([b"abc", b"-1", b"1e3", b"+5", b" 5", b"99999999999999999999", b"5, 6"])
        )
    else:
        lines.append(b"Content-Length: %d" % len(body))
        lines.append(b"Transfer-Encoding: chunked")
        if rng.randrange(2):
            body = _chunked(rng, body)
    if rng.randrange(8):
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
