"""hermetic.compat: running as ``flask``, and Flask-compatible session cookies.

``install_as_flask()`` changes ``sys.modules`` for good, so every check runs in
a fresh interpreter.
"""

from __future__ import annotations


def test_no_flask_distribution_without_install(run_python):
    # The checks below would prove nothing if a real Flask were importable.
    out = run_python(
        """
        import importlib.metadata, importlib.util
        print(importlib.util.find_spec("flask"))
        try:
            importlib.metadata.version("flask")
        except importlib.metadata.PackageNotFoundError:
            print("no metadata")
        """
    )
    assert out.split() == ["None", "no", "metadata"]


def test_install_as_flask_aliases_every_module(run_python):
    out = run_python(
        """
        import importlib, importlib.metadata, sys

        import hermetic
        from hermetic import compat

        version_before = hermetic.__version__
        compat.install_as_flask()

        for alias, real in compat.MODULE_ALIASES.items():
            assert alias in sys.modules, alias
            module = sys.modules[alias]
            assert module.__name__ == alias, alias
            assert module.__hermetic_module__ is sys.modules[real], alias
            assert importlib.import_module(alias) is module, alias
            parent, _, child = alias.rpartition(".")
            assert getattr(sys.modules[parent], child) is module, alias
            # Everything the hermetic module has, the alias answers with.
            for name, value in vars(sys.modules[real]).items():
                if not name.startswith("__") and not isinstance(value, type(sys)):
                    assert getattr(module, name) is value, (alias, name)

        import flask
        assert flask.Flask is hermetic.Flask
        assert flask.Blueprint is hermetic.Blueprint
        assert flask.request is hermetic.request
        assert flask.json is sys.modules["flask.json"]
        assert flask.json.jsonify is hermetic.json.jsonify
        assert flask.__version__ == "3.1.3", flask.__version__
        assert hermetic.__version__ == version_before == "0.1.0", hermetic.__version__

        from flask.sessions import SecureCookieSessionInterface
        import hermetic.sessions
        assert SecureCookieSessionInterface is hermetic.sessions.SecureCookieSessionInterface
        from flask.json.tag import TaggedJSONSerializer
        from hermetic.json.tag import TaggedJSONSerializer as Tagged
        assert TaggedJSONSerializer is Tagged
        import flask.sansio.scaffold
        assert flask.sansio.scaffold is sys.modules["flask.sansio.scaffold"]
        from flask import sessions
        assert sessions is sys.modules["flask.sessions"]

        assert importlib.metadata.version("flask") == "3.1.3"
        assert importlib.metadata.version("Flask") == "3.1.3"
        assert importlib.metadata.metadata("flask")["Name"] == "Flask"
        print("ok")
        """
    )
    assert out == "ok\n"


def test_install_as_flask_twice_is_harmless(run_python):
    out = run_python(
        """
        import importlib.metadata, sys

        from hermetic import compat

        compat.install_as_flask()
        first = {name: mod for name, mod in sys.modules.items() if name.split(".")[0] == "flask"}
        finders = len(sys.meta_path)
        compat.install_as_flask()
        second = {name: mod for name, mod in sys.modules.items() if name.split(".")[0] == "flask"}

        assert first.keys() == second.keys()
        assert all(first[name] is second[name] for name in first)
        assert len(sys.meta_path) == finders
        dists = list(importlib.metadata.distributions(name="flask"))
        assert len(dists) == 1, dists
        assert importlib.metadata.version("flask") == "3.1.3"
        print("ok")
        """
    )
    assert out == "ok\n"


def test_removing_later_flask_modules_does_not_load_a_second_copy(run_python):
    # What a test fixture that restores sys.modules after each test does.
    out = run_python(
        """
        import importlib, sys

        import hermetic
        from hermetic import compat

        compat.install_as_flask()
        snapshot = dict(sys.modules)
        hermetic_ids = {n: id(m) for n, m in sys.modules.items() if n.startswith("hermetic")}

        import flask
        import flask.app, flask.sessions, flask.json.tag, flask.sansio.app
        from flask import views, testing, cli

        for name in list(sys.modules):
            if name not in snapshot:
                del sys.modules[name]

        import flask
        assert flask is snapshot["flask"]
        for alias in compat.MODULE_ALIASES:
            assert sys.modules[alias] is snapshot[alias], alias
            assert importlib.import_module(alias) is snapshot[alias], alias
        assert flask.app.Flask is hermetic.Flask

        # Even a removed alias comes back as the same alias of the same module.
        del sys.modules["flask.sessions"]
        from flask import sessions
        assert sessions is snapshot["flask.sessions"]
        assert sessions.SessionMixin is sys.modules["hermetic.sessions"].SessionMixin

        for name, ident in hermetic_ids.items():
            assert id(sys.modules[name]) == ident, name
        copies = [n for n, m in sys.modules.items()
                  if getattr(m, "Flask", hermetic.Flask) is not hermetic.Flask]
        assert copies == [], copies
        print("ok")
        """
    )
    assert out == "ok\n"


def test_flask_app_under_alias_handles_requests(run_python):
    out = run_python(
        """
        from hermetic import compat

        compat.install_as_flask()
        import flask

        app = flask.Flask("aliased")
        app.secret_key = "k"

        @app.route("/")
        def index():
            flask.session["n"] = flask.session.get("n", 0) + 1
            return str(flask.session["n"])

        client = app.test_client()
        assert client.get("/").text == "1"
        assert client.get("/").text == "2"
        print("ok")
        """
    )
    assert out == "ok\n"


def test_session_cookie_readable_with_itsdangerous_and_flask_parameters(run_python):
    # Flask signs its session cookie with URLSafeTimedSerializer, salt
    # "cookie-session", HMAC key derivation, SHA-1 and the tagged JSON
    # serializer; a cookie hermetic writes must decode with exactly those.
    out = run_python(
        """
        import hashlib, json, sys, uuid
        from datetime import datetime, timezone

        from itsdangerous import URLSafeTimedSerializer
        from markupsafe import Markup

        import hermetic
        from hermetic.json.tag import TaggedJSONSerializer

        secret = "a secret key"
        app = hermetic.Flask("cookies")
        app.secret_key = secret
        value = {
            "user": "ana",
            "pair": (1, 2),
            "raw": b"\\x00bytes",
            "html": Markup("<b>x</b>"),
            "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "when": datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        }

        @app.route("/")
        def index():
            hermetic.session.update(value)
            return ""

        @app.route("/read")
        def read():
            return repr((hermetic.session["user"], hermetic.session["pair"]))

        client = app.test_client()
        client.get("/")
        cookie = client.get_cookie("session").value

        signer_kwargs = {"key_derivation": "hmac", "digest_method": hashlib.sha1}
        tagged = URLSafeTimedSerializer(
            secret, salt="cookie-session", serializer=TaggedJSONSerializer(),
            signer_kwargs=signer_kwargs,
        )
        assert tagged.loads(cookie) == value, tagged.loads(cookie)

        # The payload itself is Flask's tagged JSON.
        plain = URLSafeTimedSerializer(
            secret, salt="cookie-session", serializer=json, signer_kwargs=signer_kwargs
        )
        payload = plain.loads(cookie)
        assert payload["user"] == "ana"
        assert payload["pair"] == {" t": [1, 2]}
        assert payload["raw"] == {" b": "AGJ5dGVz"}
        assert payload["html"] == {" m": "<b>x</b>"}
        assert payload["id"] == {" u": "12345678123456781234567812345678"}
        assert payload["when"] == {" d": "Tue, 02 Jan 2024 03:04:05 GMT"}

        # A wrong salt or key does not verify.
        from itsdangerous import BadSignature
        for bad in (
            URLSafeTimedSerializer(secret, salt="other", signer_kwargs=signer_kwargs),
            URLSafeTimedSerializer("wrong", salt="cookie-session", signer_kwargs=signer_kwargs),
        ):
            try:
                bad.loads(cookie)
            except BadSignature:
                pass
            else:
                raise AssertionError("verified with the wrong parameters")

        # The other way round: a cookie made by itsdangerous is accepted.
        forged = tagged.dumps({"user": "bob", "pair": (3, 4)})
        client.set_cookie("session", forged)

        assert client.get("/read").text == "('bob', (3, 4))"
        assert "flask" not in sys.modules
        print("ok")
        """
    )
    assert out == "ok\n"
