"""The declared settings of CSRF, login, passwords, JWT and OpenAPI: one bad value per key."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from hermetic import Flask
from hermetic.security._csrf_settings import CSRFSettings
from hermetic.security.auth import LoginManager, LoginSettings, PasswordSettings
from hermetic.security.csrf import CSRFShield, enforce_in_tests
from hermetic.security.errors import ConfigurationError
from hermetic.settings import SettingsError

jwt = pytest.importorskip("jwt", reason="JWT needs the 'jwt' extra")

from hermetic.openapi import OpenAPI, OpenAPISettings, openapi_spec  # noqa: E402
from hermetic.security.jwt import JWTAuth, JWTSettings  # noqa: E402

#: One wrong value for every key of these features.
BAD_VALUES = {
    "CSRF_ENABLED": 1,
    "CSRF_TRUSTED_ORIGINS": "https://a.example",
    "CSRF_FIELD_NAME": "",
    "CSRF_HEADER_NAME": "X CSRF",
    "CSRF_ENFORCE_IN_TESTS": "no",
    "LOGIN_VIEW": 5,
    "LOGIN_REFRESH_VIEW": ["login"],
    "LOGIN_FRESH_MAX_AGE": -1,
    "REMEMBER_COOKIE_NAME": "remember me",
    "REMEMBER_COOKIE_DURATION": 0,
    "REMEMBER_COOKIE_SECURE": "false",
    "REMEMBER_COOKIE_HTTPONLY": None,
    "REMEMBER_COOKIE_SAMESITE": "sometimes",
    "REMEMBER_COOKIE_PATH": None,
    "REMEMBER_COOKIE_DOMAIN": 1,
    "REMEMBER_ROTATION_GRACE": float("nan"),
    "PASSWORD_HASH_TIME_COST": 0,
    "PASSWORD_HASH_MEMORY_COST": "64MiB",
    "PASSWORD_HASH_PARALLELISM": 0,
    "PASSWORD_HASH_HASH_LEN": 8,
    "PASSWORD_HASH_SALT_LEN": 4,
    "JWT_ISSUER": 1,
    "JWT_SIGNING_KEYS": "a.pem",
    "JWT_AUDIENCE": True,
    "JWT_TRUSTED_ISSUERS": {"https://idp.example": 42},
    "JWT_LEEWAY": 3600,
    "JWT_MAX_TTL": 0,
    "JWT_ACCESS_TOKEN_TTL": 7200,
    "JWT_REPLAY_CHECK": "yes",
    "JWT_VERIFIED_CACHE_SIZE": -1,
    "JWT_ALLOW_HS256": 1,
    "JWT_JWKS_PATH": "jwks.json",
    "JWT_JWKS_CACHE_TTL": -5,
    "JWT_JWKS_MIN_REFRESH_INTERVAL": "30s",
    "JWT_JWKS_TIMEOUT": 0,
    "JWT_JWKS_MAX_BYTES": 0,
    "JWT_JWKS_CA_FILE": "",
    "JWT_JWKS_HTTP_HOSTS": ["http://identity"],
    "JWT_TOKEN_PATH": "oauth/token",
    "JWT_CLIENTS": ["billing"],
    "OPENAPI_TITLE": " ",
    "OPENAPI_VERSION": 2,
}

#: Keys checked at the first request (or ``security_check``) by the pipeline.
PIPELINE = (CSRFSettings, LoginSettings, PasswordSettings)
OWNED = (*PIPELINE, JWTSettings, OpenAPISettings)


def _owner(key):
    return next(cls for cls in OWNED if key in cls.keys())


def test_every_key_has_a_bad_value_case():
    assert sorted(BAD_VALUES) == sorted(k for cls in OWNED for k in cls.keys())


@pytest.mark.parametrize("key", sorted(BAD_VALUES))
def test_the_declaration_refuses_the_bad_value_naming_the_key(key):
    with pytest.raises(SettingsError) as info:
        _owner(key).from_config({key: BAD_VALUES[key]})
    assert info.value.key == key
    assert key in str(info.value)


def _flask_app():
    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY=secrets.token_urlsafe(48))

    @app.get("/")
    def index():
        return "never"

    return app


@pytest.mark.parametrize("key", sorted(BAD_VALUES))
def test_a_bad_value_stops_a_flask_app_naming_the_key(key):
    app = _flask_app()
    app.config[key] = BAD_VALUES[key]
    owner = _owner(key)
    if owner is JWTSettings:
        with pytest.raises(ConfigurationError, match=key):
            JWTAuth(app)
        return
    if owner is OpenAPISettings:
        with pytest.raises(ConfigurationError, match=key):
            OpenAPI(app)
        return
    CSRFShield().init_app(app)
    LoginManager(app)
    client = app.test_client()
    for _ in range(2):  # and again: it never serves
        with pytest.raises(ConfigurationError, match=key):
            client.get("/")


@pytest.mark.parametrize("key", sorted(k for k in BAD_VALUES if _owner(k) in PIPELINE))
def test_a_bad_value_stops_hermetic_at_security_check(key):
    from hermetic.security.profile import Hermetic

    app = Hermetic("hermetic_auth_settings_tests")
    app.config.update(TESTING=True, SECRET_KEY=secrets.token_urlsafe(48))
    app.config[key] = BAD_VALUES[key]
    with pytest.raises(ConfigurationError, match=f"(?s)refuses to start.*{key}"):
        app.security_check()


def test_defaults_equal_the_documented_ones():
    csrf = CSRFSettings.defaults()
    assert (csrf.enabled, csrf.field_name, csrf.header_name) == (True, "csrf_token", "X-CSRF-Token")
    assert (csrf.trusted_origins, csrf.enforce_in_tests, csrf.header_key) == (
        frozenset(),
        False,
        "HTTP_X_CSRF_TOKEN",
    )
    login = LoginSettings.defaults()
    assert login.remember_cookie_name == "remember_token"
    assert login.remember_duration == timedelta(days=14).total_seconds()
    assert login.cookie_options == {
        "path": "/",
        "domain": None,
        "secure": True,
        "httponly": True,
        "samesite": "Lax",
    }
    assert (login.rotation_grace, login.fresh_max_age, login.login_view) == (30, None, None)
    assert PasswordSettings.defaults().params == (3, 64 * 1024, 4, 32, 16)
    jwt_settings = JWTSettings.defaults()
    assert (jwt_settings.leeway, jwt_settings.max_ttl, jwt_settings.access_token_ttl) == (
        30,
        3600,
        300,
    )
    assert (jwt_settings.signing_keys, jwt_settings.clients) == ((), {})
    openapi = OpenAPISettings.defaults()
    assert (openapi.api_title, openapi.api_version) == (None, "0.1.0")


def test_durations_accept_seconds_or_a_timedelta():
    login = LoginSettings.from_config(
        {"LOGIN_FRESH_MAX_AGE": timedelta(minutes=5), "REMEMBER_COOKIE_DURATION": 60}
    )
    assert (login.fresh_max_age, login.remember_duration) == (300.0, 60.0)
    assert LoginSettings.from_config({"REMEMBER_COOKIE_SAMESITE": "strict"}).remember_samesite == (
        "Strict"
    )


def test_trusted_origins_are_normalised():
    settings = CSRFSettings.from_config(
        {"CSRF_TRUSTED_ORIGINS": ["https://App.Example/", "http://localhost:5000"]}
    )
    assert settings.trusted_origins == {"https://app.example", "http://localhost:5000"}
    assert CSRFSettings.from_config({"CSRF_TRUSTED_ORIGINS": None}).trusted_origins == frozenset()


def test_an_access_token_lifetime_above_the_maximum_is_refused():
    with pytest.raises(SettingsError, match="JWT_ACCESS_TOKEN_TTL .* at most JWT_MAX_TTL"):
        JWTSettings.from_config({"JWT_MAX_TTL": 600, "JWT_ACCESS_TOKEN_TTL": 900})


def test_a_secret_jwt_setting_is_not_echoed():
    pem = "-----BEGIN PRIVATE KEY-----secret-material"
    with pytest.raises(SettingsError) as info:
        JWTSettings.from_config({"JWT_SIGNING_KEYS": pem})
    assert "secret-material" not in str(info.value)
    with pytest.raises(SettingsError) as info:
        JWTSettings.from_config({"JWT_CLIENTS": {"billing": "plain-secret-value"}})
    assert "plain-secret-value" not in str(info.value)


# -- one declaration, read where it is needed ------------------------------------------


def test_the_csrf_shield_reads_the_remember_cookie_name_of_the_login_settings():
    """A request carrying the configured remember-me cookie is cookie-authenticated."""
    app = _flask_app()
    app.config["REMEMBER_COOKIE_NAME"] = "keep_me"
    CSRFShield().init_app(app)
    app.post("/change")(lambda: "changed")
    client = app.test_client(enforce_csrf=True)
    assert client.post("/change").status_code == 200  # no cookie: nothing to forge
    client.set_cookie("remember_token", "x")
    assert client.post("/change").status_code == 200  # not the configured name
    client.set_cookie("keep_me", "x")
    assert client.post("/change").status_code == 403


def test_the_csrf_header_name_is_read_once_for_the_check_and_the_docs_page():
    pytest.importorskip("pydantic")
    app = _flask_app()
    app.config["CSRF_HEADER_NAME"] = "X-My-Token"
    CSRFShield().init_app(app)
    OpenAPI(app)
    page = app.test_client().get("/docs").get_data(as_text=True)
    assert 'data-csrf-header="X-My-Token"' in page


def test_enforce_in_tests_is_read_from_the_shield_settings():
    app = _flask_app()
    assert enforce_in_tests(app) is False
    app.config["CSRF_ENFORCE_IN_TESTS"] = True
    assert enforce_in_tests(app) is True
    CSRFShield().init_app(app)
    app.shields.configure(app)
    app.config["CSRF_ENFORCE_IN_TESTS"] = False  # after start-up: the checked value stays
    assert enforce_in_tests(app) is True


def test_openapi_title_and_version_come_from_the_settings():
    pytest.importorskip("pydantic")
    app = _flask_app()
    assert openapi_spec(app)["info"] == {"title": app.name, "version": "0.1.0"}
    app.config.update(OPENAPI_TITLE="Shop", OPENAPI_VERSION="2.0")
    assert openapi_spec(app)["info"] == {"title": "Shop", "version": "2.0"}
    assert openapi_spec(app, "Given", "3")["info"] == {"title": "Given", "version": "3"}


def test_the_login_settings_do_not_show_in_hermetic_routes():
    app = _flask_app()
    LoginManager(app)
    app.shields.configure(app)
    assert app.shields.describe("index") == ""
    assert app.shields.get("login") is not None
