"""Malformed requests against a Hermetic app with every shield on: never a 5xx.

Requests are raw WSGI environs, so they can be what no client library would
send: a Content-Length that lies, chunked bodies, NUL bytes and backslashes
in paths, garbage and tampered session cookies, foreign origins, deep JSON,
broken multipart. Every answer must be below 500, no exception may reach
``got_request_exception``, and the app logger must log no error.
"""

from __future__ import annotations

import io
import json
import logging
import typing as t
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

hermetic = pytest.importorskip("hermetic")

from hermetic import Hermetic, got_request_exception, request, session  # noqa: E402
from hermetic.security.auth import UserMixin, login_required, login_user  # noqa: E402
from hermetic.security.shields import exempt  # noqa: E402

STRONG_KEY = "fUzZ-k3y-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG"
HOSTS = ["localhost", "example.com"]


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Fixture(t.NamedTuple):
    app: Hermetic
    errors: list[BaseException]
    logged: Recorder
    session_cookies: list[str]
    csrf_tokens: list[str]


def make_app() -> Hermetic:
    app = Hermetic("fuzz")
    app.config.update(
        SECRET_KEY=STRONG_KEY,
        PROPAGATE_EXCEPTIONS=False,
        TRUSTED_HOSTS=HOSTS,
        TRUSTED_PROXY_HOPS=1,
        MAX_CONTENT_LENGTH=64 * 1024,
        MAX_FORM_MEMORY_SIZE=8 * 1024,
        MAX_FORM_PARTS=20,
        LIMITS_MAX_FILES=3,
    )
    users = {"alice": "wonderland"}

    @app.login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return User(user_id) if user_id in users else None

    @app.route("/", methods=["GET", "POST"])
    def index() -> str:
        return f"hello {session.get('n', 0)} {request.args.get('q', '')!r}"

    @app.route("/form", methods=["GET", "POST"])
    def form() -> t.Any:
        if request.method == "POST":
            session["n"] = session.get("n", 0) + 1
            return {"fields": sorted(request.form), "files": sorted(request.files)}
        return f'<form method=post><input name=csrf_token value="{app.jinja_env.globals["csrf_token"]()}">'

    @app.post("/api")
    @exempt("csrf")
    def api() -> t.Any:
        data = request.get_json()
        return {"type": type(data).__name__}

    @app.post("/api/silent")
    @exempt("csrf")
    def api_silent() -> t.Any:
        return {"value": repr(request.get_json(silent=True, force=True))[:50]}

    @app.post("/login")
    def login() -> t.Any:
        name = request.form.get("user", "")
        if users.get(name) == request.form.get("password"):
            login_user(User(name))
            return "ok"
        return "no", 401

    @app.get("/me")
    @login_required
    def me() -> str:
        return "me"

    @app.get("/item/<int:item_id>/<path:rest>")
    def item(item_id: int, rest: str) -> str:
        return f"{item_id} {rest}"

    return app


@lru_cache(maxsize=1)
def fixture() -> Fixture:
    app = make_app()
    errors: list[BaseException] = []

    def record(sender: t.Any, exception: BaseException, **kwargs: t.Any) -> None:
        errors.append(exception)

    got_request_exception.connect(record, app, weak=False)
    logged = Recorder()
    app.logger.addHandler(logged)

    # Real session cookies and CSRF tokens, to mutate.
    client = app.test_client()
    page = client.get("/form", base_url="https://localhost")
    token = page.get_data(as_text=True).split('value="')[1].split('"')[0]
    cookies = _set_cookie_values(page)
    login = client.post(
        "/login",
        data={"user": "alice", "password": "wonderland", "csrf_token": token},
        base_url="https://localhost",
        headers={"Origin": "https://localhost"},
    )
    cookies += _set_cookie_values(login)
    return Fixture(app, errors, logged, cookies, [token])


def _set_cookie_values(response):
    """The values of the cookies ``response`` sets (not the ones it deletes)."""
    pairs = (h.split(";", 1)[0].split("=", 1) for h in response.headers.getlist("Set-Cookie"))
    return [value for _, value in pairs if value]


# -- strategies -----------------------------------------------------------

latin1 = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=40)
garbage = st.one_of(latin1, st.sampled_from(["", " ", "\x00", "%", "%zz", "\r\n", "é" * 3]))

PATHS = ["/", "/form", "/api", "/api/silent", "/login", "/me", "/item/1/a", "/missing"]
path_piece = st.one_of(
    st.sampled_from(["/", "//", "\\", "..", "%2e%2e", "%00", "\x00", "%2F", "é", ";x", "~"]),
    latin1,
)


@st.composite
def paths(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from(PATHS))
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return base
    if kind == 1:
        return base + "".join(draw(st.lists(path_piece, max_size=6)))
    if kind == 2:
        return "/" + "a" * draw(st.sampled_from([100, 5000, 9000]))
    if kind == 3:
        return "".join(draw(st.lists(path_piece, max_size=8)))
    return "/item/" + draw(latin1) + "/" + draw(latin1)


@st.composite
def query_strings(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return ""
    if kind == 1:
        return draw(latin1)
    if kind == 2:
        return "&".join(f"p{i}=1" for i in range(draw(st.sampled_from([5, 199, 201, 2000]))))
    return "q=" + draw(st.sampled_from(["x" * 9000, "%", "%zz%00", "a&&&b=;c"]))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | latin1,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(latin1, inner, max_size=4),
    max_leaves=20,
)


@st.composite
def multipart_bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    boundary = draw(st.sampled_from(["b0undary", "x" * 70, "", "a b", "--"]))
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(garbage).encode("latin-1")
        disposition = b'form-data; name="' + name + b'"'
        if draw(st.booleans()):
            disposition += b'; filename="' + draw(garbage).encode("latin-1") + b'"'
        content = draw(st.binary(max_size=200)) * draw(st.sampled_from([1, 50]))
        parts.append(
            b"--" + boundary.encode() + b"\r\nContent-Disposition: " + disposition + b"\r\n"
            b"Content-Type: " + draw(garbage).encode("latin-1") + b"\r\n\r\n" + content + b"\r\n"
        )
    body = b"".join(parts)
    if draw(st.booleans()):
        body += b"--" + boundary.encode() + b"--\r\n"
    else:
        body += draw(st.binary(max_size=30))
    return body, f"multipart/form-data; boundary={boundary}"


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, str | None]:
    kind = draw(st.integers(0, 6))
    if kind == 0:
        return b"", None
    if kind == 1:
        fields = draw(st.lists(st.tuples(latin1, latin1), max_size=30))
        body = "&".join(f"{k}={v}" for k, v in fields).encode("latin-1")
        return body, "application/x-www-form-urlencoded"
    if kind == 2:
        body = json.dumps(draw(json_values)).encode()
        return body, draw(st.sampled_from(["application/json", "text/plain", "application/x+json"]))
    if kind == 3:
        depth = draw(st.sampled_from([30, 33, 1000, 20_000]))
        opener = draw(st.sampled_from(["[", '{"a":']))
        closer = "]" if opener == "[" else "}"
        return (opener * depth + "1" + closer * depth).encode(), "application/json"
    if kind == 4:
        return draw(multipart_bodies())
    if kind == 5:
        return draw(st.binary(max_size=300)), draw(st.one_of(st.none(), garbage))
    return b"x" * draw(st.sampled_from([64 * 1024, 64 * 1024 + 1, 100_000])), draw(
        st.sampled_from([None, "application/octet-stream", "application/x-www-form-urlencoded"])
    )


@st.composite
def cookies(draw: st.DrawFn) -> str | None:
    fx = fixture()
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return None
    name = draw(st.sampled_from(["session", "__Host-session", "remember_token", "x"]))
    if kind == 1:
        value = draw(st.sampled_from(fx.session_cookies or ["none"]))
    elif kind == 2:
        value = draw(st.sampled_from(fx.session_cookies or ["none"]))
        cut = draw(st.integers(0, max(0, len(value) - 1)))
        value = value[:cut] + draw(st.sampled_from(["", "A", "-", "\x00", "."])) + value[cut + 1 :]
    elif kind == 3:
        value = draw(garbage)
    else:
        return draw(garbage)
    return f"{name}={value}" + draw(st.sampled_from(["", "; a=b", ";;;", "; session=x"]))


HEADER_VALUES = {
    "HTTP_HOST": st.one_of(st.sampled_from(HOSTS + ["evil.com", "localhost:80", ""]), garbage),
    "HTTP_ORIGIN": st.one_of(
        st.sampled_from(["https://localhost", "http://localhost", "null", "https://evil.com"]),
        garbage,
    ),
    "HTTP_SEC_FETCH_SITE": st.one_of(
        st.sampled_from(["same-origin", "same-site", "cross-site", "none"]), garbage
    ),
    "HTTP_REFERER": st.one_of(
        st.sampled_from(["https://localhost/", "https://evil.com/"]), garbage
    ),
    "HTTP_X_FORWARDED_FOR": st.one_of(st.sampled_from(["1.2.3.4", "1.2.3.4, ::1", ""]), garbage),
    "HTTP_X_FORWARDED_PROTO": st.one_of(st.sampled_from(["https", "http", "https, http"]), garbage),
    "HTTP_X_FORWARDED_HOST": st.one_of(st.sampled_from(["evil.com", "localhost"]), garbage),
    "HTTP_ACCEPT": st.one_of(st.sampled_from(["application/json", "text/html", "*/*"]), garbage),
    "HTTP_AUTHORIZATION": garbage,
    "HTTP_IF_MODIFIED_SINCE": garbage,
    "HTTP_RANGE": garbage,
}


@st.composite
def environs(draw: st.DrawFn) -> dict[str, t.Any]:
    fx = fixture()
    body, content_type = draw(bodies())
    environ: dict[str, t.Any] = {
        "REQUEST_METHOD": draw(
            st.sampled_from(
                ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "get", "BREW"]
            )
        ),
        "SCRIPT_NAME": "",
        "PATH_INFO": draw(paths()),
        "QUERY_STRING": draw(query_strings()),
        "SERVER_NAME": "localhost",
        "SERVER_PORT": draw(st.sampled_from(["80", "443", "x"])),
        "SERVER_PROTOCOL": draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2"])),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": draw(st.sampled_from(["http", "https"])),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    remote = draw(st.sampled_from(["127.0.0.1", "::1", "", None, "garbage"]))
    if remote is not None:
        environ["REMOTE_ADDR"] = remote
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    length = draw(st.sampled_from(["right", "none", "short", "long", "garbage", "negative"]))
    if length == "right":
        environ["CONTENT_LENGTH"] = str(len(body))
    elif length == "short":
        environ["CONTENT_LENGTH"] = str(max(0, len(body) - 7))
    elif length == "long":
        environ["CONTENT_LENGTH"] = str(len(body) + draw(st.sampled_from([1, 10**9])))
    elif length == "garbage":
        environ["CONTENT_LENGTH"] = draw(garbage)
    elif length == "negative":
        environ["CONTENT_LENGTH"] = "-5"
    if draw(st.booleans()):
        environ["HTTP_TRANSFER_ENCODING"] = draw(st.sampled_from(["chunked", "gzip, chunked", "x"]))
        environ["wsgi.input_terminated"] = True
    for key in draw(st.lists(st.sampled_from(sorted(HEADER_VALUES)), max_size=5, unique=True)):
        environ[key] = draw(HEADER_VALUES[key])
    if "HTTP_HOST" not in environ and draw(st.booleans()):
        environ["HTTP_HOST"] = "localhost"
    cookie = draw(cookies())
    if cookie is not None:
        environ["HTTP_COOKIE"] = cookie
    if draw(st.booleans()):
        token = draw(st.sampled_from(fx.csrf_tokens)) if draw(st.booleans()) else draw(garbage)
        environ["HTTP_X_CSRF_TOKEN"] = token
    return environ


def call(app: Hermetic, environ: dict[str, t.Any]) -> int:
    status: list[str] = []

    def start_response(s: str, headers: list[tuple[str, str]], exc_info: t.Any = None) -> None:
        status.append(s)

    body = app(environ, start_response)
    try:
        for _ in body:
            pass
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return int(status[-1].split()[0])


def test_the_fixture_works():
    fx = fixture()
    assert fx.session_cookies and fx.csrf_tokens
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
    }
    assert call(fx.app, environ) == 200


def test_a_failure_would_be_seen():
    app = make_app()
    errors: list[BaseException] = []
    got_request_exception.connect(
        lambda s, exception, **kw: errors.append(exception), app, weak=False
    )

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/boom",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
    }
    app.logger.disabled = True
    assert call(app, environ) == 500
    assert errors


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(environ=environs())
def test_malformed_requests_never_cause_a_server_error(environ: dict[str, t.Any]) -> None:
    fx = fixture()
    fx.errors.clear()
    fx.logged.records.clear()
    shown = {k: (v if k != "wsgi.input" else v.getvalue()[:200]) for k, v in environ.items()}
    code = call(fx.app, environ)
    assert not fx.errors, f"unhandled {fx.errors!r} for {shown!r}"
    assert not fx.logged.records, f"logged {fx.logged.records[0].getMessage()} for {shown!r}"
    assert code < 500, f"{code} for {shown!r}"
