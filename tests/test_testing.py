"""The test client, the environ builder and the CLI runner."""

from __future__ import annotations

import importlib.metadata
import os

import click
import pytest

import hermetic
from hermetic.globals import _cv_app, _cv_request
from hermetic.testing import EnvironBuilder, FlaskClient, FlaskCliRunner


@pytest.fixture(autouse=True)
def no_leaked_contexts():
    yield
    assert _cv_request.get(None) is None
    assert _cv_app.get(None) is None


# --- EnvironBuilder ----------------------------------------------------------------


def test_builder_defaults(app):
    eb = EnvironBuilder(app)
    assert eb.base_url == "http://localhost/"
    assert eb.path == "/"
    assert eb.app is app


def test_builder_uses_config(app):
    app.config.update(
        SERVER_NAME="example.com:8080",
        APPLICATION_ROOT="/root",
        PREFERRED_URL_SCHEME="https",
    )
    eb = EnvironBuilder(app, "/page", subdomain="api")
    assert eb.base_url == "https://api.example.com:8080/root/"
    assert eb.path == "/page"
    assert EnvironBuilder(app, url_scheme="http").url_scheme == "http"


def test_builder_path_with_query_and_full_url(app):
    eb = EnvironBuilder(app, "/search?q=a+b&x=1")
    assert eb.path == "/search"
    args = eb.get_request().args
    assert args["q"] == "a b"
    assert args["x"] == "1"

    eb = EnvironBuilder(app, "https://other.test/x?y=2")
    assert eb.url_scheme == "https"
    assert eb.host == "other.test"
    assert eb.path == "/x"
    assert eb.get_request().args["y"] == "2"


def test_builder_explicit_base_url(app):
    eb = EnvironBuilder(app, "/x", base_url="http://base.test/app/")
    assert eb.host == "base.test"
    assert eb.script_root == "/app"


@pytest.mark.parametrize("extra", [{"subdomain": "a"}, {"url_scheme": "https"}])
def test_builder_base_url_excludes_subdomain_and_scheme(app, extra):
    with pytest.raises(AssertionError, match="Cannot pass"):
        EnvironBuilder(app, base_url="http://x.test/", **extra)


def test_builder_json_uses_app_provider(app):
    app.json.ensure_ascii = False
    eb = EnvironBuilder(app, json={"price": "\u20ac"})
    assert eb.input_stream.read().decode() == '{"price": "\u20ac"}'
    assert eb.content_type == "application/json"


# --- FlaskClient ---------------------------------------------------------------------


def test_client_class_and_environ_base(app, client):
    @app.route("/")
    def index():
        r = hermetic.request
        return f"{r.remote_addr} {r.user_agent.string} {r.url}"

    assert isinstance(client, FlaskClient)
    version = importlib.metadata.version("werkzeug")
    assert client.get("/").text == f"127.0.0.1 Werkzeug/{version} http://localhost/"
    client.environ_base["REMOTE_ADDR"] = "10.0.0.1"
    assert client.get("/").text.startswith("10.0.0.1 ")


def test_client_accepts_builder_environ_and_request(app, client):
    @app.route("/who")
    def who():
        return hermetic.request.remote_addr

    builder = EnvironBuilder(app, "/who")
    try:
        assert client.get(builder).text == "127.0.0.1"
        environ = builder.get_environ()
    finally:
        builder.close()
    assert builder.environ_base is None  # the caller's builder is left alone

    client.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    assert client.open(environ).text == "10.0.0.2"

    request = EnvironBuilder(app, "/who").get_request()
    client.environ_base["REMOTE_ADDR"] = "10.0.0.3"
    assert client.open(request).text == "10.0.0.3"


def test_client_json_round_trip(app, client):
    @app.post("/echo")
    def echo():
        return hermetic.jsonify(hermetic.request.get_json())

    rv = client.post("/echo", json={"a": [1, 2]})
    assert rv.get_json() == {"a": [1, 2]}


def test_follow_redirects_keeps_cookies(app, client):
    @app.route("/start")
    def start():
        hermetic.session["step"] = 1
        return hermetic.redirect("/end")

    @app.route("/end")
    def end():
        return str(hermetic.session.get("step"))

    rv = client.get("/start", follow_redirects=True)
    assert rv.text == "1"
    assert [r.status_code for r in rv.history] == [302]
    assert rv.request.path == "/end"


def test_buffered_response(app, client):
    @app.route("/")
    def index():
        return hermetic.Response(iter([b"a", b"b"]))

    assert client.get("/", buffered=True).data == b"ab"


def test_context_not_kept_outside_with(app, client):
    @app.route("/")
    def index():
        return ""

    client.get("/")
    assert _cv_request.get(None) is None


def test_with_client_keeps_last_request_context(app, client):
    @app.route("/<name>")
    def index(name):
        hermetic.g.name = name
        hermetic.session["name"] = name
        return name

    with client:
        client.get("/first")
        assert hermetic.request.path == "/first"
        assert hermetic.g.name == "first"
        client.get("/second")
        assert hermetic.request.path == "/second"
        assert hermetic.g.name == "second"
        assert hermetic.session["name"] == "second"

    assert _cv_request.get(None) is None
    with pytest.raises(RuntimeError):
        hermetic.g.name  # noqa: B018


def test_with_client_after_redirect_keeps_final_context(app, client):
    @app.route("/start")
    def start():
        hermetic.session["start"] = True
        return hermetic.redirect("/end")

    @app.route("/end")
    def end():
        hermetic.session["end"] = True
        return ""

    with client:
        client.get("/start", follow_redirects=True)
        assert hermetic.request.path == "/end"
        assert hermetic.session["start"] is True
        assert hermetic.session["end"] is True


def test_with_client_restores_outer_context(app, client):
    @app.route("/")
    def index():
        return ""

    with app.test_request_context("/outer") as outer:
        with client:
            client.get("/")
            assert _cv_request.get() is not outer
        assert _cv_request.get() is outer


def test_with_client_teardown_and_errors(app, client):
    app.testing = False
    torn_down = []
    app.teardown_request(lambda exc: torn_down.append(exc))

    @app.route("/fail")
    def fail():
        raise ZeroDivisionError

    with client:
        rv = client.get("/fail")
        assert rv.status_code == 500
        assert hermetic.request.path == "/fail"

    assert torn_down
    assert _cv_request.get(None) is None


def test_client_cannot_nest(client):
    with client:
        with pytest.raises(RuntimeError, match="Cannot nest client invocations"):
            with client:
                pass
    # Reusable once the block ends.
    with client:
        assert client.get("/").status_code == 404


def test_session_transaction_round_trip(app, client):
    @app.route("/")
    def index():
        return repr(hermetic.session.get("items"))

    with client.session_transaction() as sess:
        assert len(sess) == 0
        sess["items"] = (1, 2)
    assert client.get("/").text == "(1, 2)"

    with client.session_transaction() as sess:
        assert sess["items"] == (1, 2)
        sess.clear()
    assert client.get("/").text == "None"


def test_session_transaction_arguments_pick_the_cookie(app, client):
    app.config["SESSION_COOKIE_PATH"] = "/area"

    @app.route("/area/")
    def area():
        return str(hermetic.session.get("x"))

    with client.session_transaction("/area/") as sess:
        sess["x"] = 5
    assert client.get_cookie("session", path="/area") is not None
    assert client.get("/area/").text == "5"


def test_session_transaction_error_discards_changes(app, client):
    with pytest.raises(ZeroDivisionError):
        with client.session_transaction() as sess:
            sess["x"] = 1
            raise ZeroDivisionError
    assert client.get_cookie("session") is None


def test_session_transaction_keeps_outer_request(app, client):
    with app.test_request_context("/outer"):
        request = hermetic.request._get_current_object()
        with client.session_transaction():
            pass
        assert hermetic.request._get_current_object() is request


def test_session_transaction_needs_cookies(app):
    client = app.test_client(use_cookies=False)
    with pytest.raises(TypeError, match="Cookies are disabled"):
        with client.session_transaction():
            pass


def test_session_transaction_needs_a_session(app, client):
    app.secret_key = None
    with pytest.raises(RuntimeError, match="Session backend did not open a session"):
        with client.session_transaction():
            pass


# --- FlaskCliRunner --------------------------------------------------------------


def test_cli_runner_class(app):
    runner = app.test_cli_runner()
    assert isinstance(runner, FlaskCliRunner)
    assert runner.app is app


def test_cli_runner_defaults_to_app_cli(app):
    @app.cli.command("hello")
    @click.option("--name", default="World")
    def hello(name):
        click.echo(f"Hello, {name} from {hermetic.current_app.name}!")

    runner = app.test_cli_runner()
    result = runner.invoke(args=["hello", "--name", "Ada"])
    assert result.exit_code == 0
    assert result.output == f"Hello, Ada from {app.name}!\n"
    assert "Hello, World" in runner.invoke(hello).output


def test_cli_runner_custom_obj(app):
    from hermetic.cli import ScriptInfo

    loaded = []

    def create_app():
        loaded.append(True)
        return app

    @app.cli.command("hello")
    def hello():
        click.echo("hi")

    result = app.test_cli_runner().invoke(hello, obj=ScriptInfo(create_app=create_app))
    assert result.output == "hi\n"
    assert loaded


def test_with_client_after_error_keeps_only_next_request(app, client):
    @app.route("/fail")
    def fail():
        raise ZeroDivisionError

    @app.route("/ok")
    def ok():
        return ""

    with client:
        with pytest.raises(ZeroDivisionError):
            client.get("/fail")
        client.get("/ok")
        assert hermetic.request.path == "/ok"
        # Only the /ok request's contexts are pushed on top of nothing.
        ctx = _cv_request.get()
        ctx.pop()
        assert _cv_request.get(None) is None
        ctx.push()


def test_self_signed_certificate_is_valid_for_its_hosts_and_its_own_ca(tmp_path):
    import ssl

    from cryptography import x509

    from hermetic.testing import self_signed_certificate

    crt, key = self_signed_certificate(tmp_path, ["svc.internal", "10.0.0.7"], stem="gw")
    assert (crt, key) == (str(tmp_path / "gw.crt"), str(tmp_path / "gw.key"))
    cert = x509.load_pem_x509_certificate((tmp_path / "gw.crt").read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["svc.internal"]
    assert [str(a) for a in sans.get_values_for_type(x509.IPAddress)] == ["10.0.0.7"]
    assert oct(os.stat(key).st_mode & 0o777) == "0o600"
    # Usable as a server certificate and, being its own CA, as the bundle to trust.
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(crt, key)
    ssl.create_default_context(cafile=crt)


def test_self_signed_certificate_needs_a_host(tmp_path):
    from hermetic.testing import self_signed_certificate

    with pytest.raises(ValueError, match="at least one host"):
        self_signed_certificate(tmp_path, [])
