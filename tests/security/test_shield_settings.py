"""The shields' declared settings and their one lifecycle, on Flask and Hermetic alike."""

from __future__ import annotations

import dataclasses
import secrets

import pytest

from hermetic import Blueprint, Flask, session
from hermetic.security.checks import run_checks
from hermetic.security.cors import CORSSettings, CORSShield
from hermetic.security.csrf import CSRFShield
from hermetic.security.errors import ConfigurationError
from hermetic.security.headers import HeadersSettings, HeadersShield
from hermetic.security.input_limits import InputLimitsSettings, InputLimitsShield
from hermetic.security.policy import AuthorizationShield, AuthzSettings
from hermetic.security.proxies import HostSettings, HostShield, ProxySettings, ProxyShield
from hermetic.security.ratelimit import RateLimitSettings, RateLimitShield
from hermetic.security.redirects import RedirectSettings, safe_redirect
from hermetic.security.sessions import EncryptedSessionInterface, SessionSettings
from hermetic.security.shields import Shield
from hermetic.security.stores import StoreSettings
from hermetic.settings import Settings, SettingsError, setting

prometheus = pytest.importorskip("prometheus_client", reason="metrics need the 'metrics' extra")

from hermetic.security.observability import Observability  # noqa: E402
from hermetic.security.observability._settings import ObservabilitySettings  # noqa: E402

#: One wrong value for every key of the migrated features.
BAD_VALUES = {
    "SECURITY_CSP": 42,
    "SECURITY_CSP_REPORT_ONLY": "yes",
    "SECURITY_CSP_REPORTS": 1,
    "SECURITY_CSP_REPORT_TO": "yes",
    "SECURITY_CSP_REPORT_URI": "/r; script-src *",
    "SECURITY_CSP_REPORT_MAX_BYTES": 0,
    "SECURITY_CSP_REPORT_RATE": "lots",
    "SECURITY_HSTS": 5,
    "SECURITY_FRAME_OPTIONS": "ALLOW-FROM https://a.example",
    "SECURITY_REFERRER_POLICY": ["no-referrer"],
    "SECURITY_PERMISSIONS_POLICY": 1,
    "SECURITY_COOP": "same-origin\r\nX-Evil: 1",
    "SECURITY_CORP": 1,
    "SECURITY_HEADERS_EXTRA": ["X-A"],
    "TRUSTED_PROXY_HOPS": "1",
    "TRUSTED_HOSTS": "example.com",
    "CORS_ORIGINS": "https://a.example",
    "CORS_ALLOW_CREDENTIALS": "yes",
    "CORS_ALLOW_METHODS": 5,
    "CORS_ALLOW_HEADERS": [1],
    "CORS_EXPOSE_HEADERS": {"X-A": 1},
    "CORS_MAX_AGE": -1,
    "REQUEST_ID_HEADER": "Bad Header",
    "REQUEST_ID_TRUSTED": "no",
    "ACCESS_LOG_ENABLED": 1,
    "METRICS_ENABLED": "false",
    "METRICS_PATH": "metrics",
    "METRICS_TOKEN": 123,
    "METRICS_ALLOWED_NETWORKS": ["not-a-network"],
    "LIMITS_MAX_FILES": "ten",
    "LIMITS_MAX_FILE_SIZE": -1,
    "LIMITS_JSON_MAX_DEPTH": 3.5,
    "LIMITS_MAX_QUERY_PARAMS": True,
    "LIMITS_MAX_URL_LENGTH": "8k",
    "RATELIMIT_ENABLED": "no",
    "RATELIMIT_DEFAULT": "often",
    "RATELIMIT_STRATEGY": "leaky-bucket",
    "RATELIMIT_STORAGE_URI": "localhost:6379",
    "RATELIMIT_STORAGE_OPTIONS": "key_prefix=x",
    "RATELIMIT_ON_STORAGE_ERROR": "ignore",
    "RATELIMIT_HEADERS": 1,
    "AUTHZ_DEFAULT": "Deny",
    "AUTHZ_ROLES": {"editor": "notes:edit"},
    "HERMETIC_REDIS_URL": 6379,
    "HERMETIC_STORE_PREFIX": b"hermetic:",
    "HERMETIC_STORE_TIMEOUT": "soon",
    "HERMETIC_STORE_COOLDOWN": -5,
    "SESSION_IDLE_TIMEOUT": -60,
    "SESSION_ABSOLUTE_TIMEOUT": "12h",
    "SESSION_SERVER_SIDE": "yes",
    "SESSION_OPENED_CACHE_SIZE": -1,
    "REDIRECT_ALLOWED_HOSTS": "sso.example",
}

SHIELDS: dict[type[Settings], type[Shield]] = {
    HeadersSettings: HeadersShield,
    ProxySettings: ProxyShield,
    HostSettings: HostShield,
    CORSSettings: CORSShield,
    InputLimitsSettings: InputLimitsShield,
    RateLimitSettings: RateLimitShield,
    AuthzSettings: AuthorizationShield,
    # The store's settings are read when the rate limiter is built.
    StoreSettings: RateLimitShield,
}
#: Features read outside a shield: their first use stops the app.
USED_BY_VIEWS = [SessionSettings, RedirectSettings]
MIGRATED = [*SHIELDS, ObservabilitySettings, *USED_BY_VIEWS]


def _owner(key: str) -> type[Settings]:
    return next(cls for cls in MIGRATED if key in cls.keys())


def test_every_migrated_key_has_a_bad_value_case():
    assert sorted(BAD_VALUES) == sorted(k for cls in MIGRATED for k in cls.keys())


def _hermetic():
    from hermetic.security.profile import Hermetic

    app = Hermetic("hermetic_settings_tests")
    app.config.update(TESTING=True, SECRET_KEY=secrets.token_urlsafe(48))
    return app


@pytest.mark.parametrize("key", sorted(BAD_VALUES))
def test_a_wrong_value_stops_a_flask_app_naming_the_key(key):
    app = Flask(__name__)
    app.config[key] = BAD_VALUES[key]
    owner = _owner(key)
    if owner is ObservabilitySettings:
        with pytest.raises(ConfigurationError, match=key):
            Observability(app)
        return
    if owner in SHIELDS:
        shield = SHIELDS[owner]()
        if owner is RateLimitSettings:  # checked at once, naming the key
            with pytest.raises(ConfigurationError, match=key):
                shield.init_app(app)
            return
        shield.init_app(app)
    app.session_interface = EncryptedSessionInterface()
    app.secret_key = secrets.token_urlsafe(48)
    app.testing = owner in USED_BY_VIEWS  # raised in the view: propagated, not a 500

    @app.get("/")
    def index():
        session["seen"] = True  # opens the session
        return safe_redirect("https://sso.example/")

    client = app.test_client()
    for _ in range(2):  # and again on the next request: it never serves
        with pytest.raises(ConfigurationError, match=key):
            client.get("/")


@pytest.mark.parametrize("key", sorted(k for k in BAD_VALUES if _owner(k) not in USED_BY_VIEWS))
def test_a_wrong_value_stops_hermetic_at_security_check(key):
    app = _hermetic()
    if _owner(key) is ObservabilitySettings:
        Observability(app)  # installed first: a bad value set later stops the first request
    app.config[key] = BAD_VALUES[key]
    with pytest.raises(ConfigurationError, match=f"(?s)refuses to start.*{key}"):
        app.security_check()
    with pytest.raises(ConfigurationError, match=key):
        app.test_client().get("/")


def test_the_message_says_what_was_given_and_the_fix():
    with pytest.raises(SettingsError) as info:
        HeadersSettings.from_config({"SECURITY_HSTS": 5})
    assert str(info.value).startswith(
        "SECURITY_HSTS must be a string or None, got int 5. Fix: set SECURITY_HSTS to a"
        " string or None, or remove it to use the default"
    )


def test_a_secret_setting_is_not_echoed():
    app = Flask(__name__)
    app.config["METRICS_TOKEN"] = b"0123456789-secret-token"
    with pytest.raises(ConfigurationError) as info:
        Observability(app)
    assert "secret-token" not in str(info.value)


def test_defaults_equal_the_documented_ones():
    headers = HeadersSettings.defaults()
    assert headers.hsts == "max-age=63072000; includeSubDomains"
    assert headers.referrer_policy == "strict-origin-when-cross-origin"
    assert headers.frame_options == "AUTO"
    assert (headers.coop, headers.corp) == ("same-origin", "same-origin")
    assert ProxySettings.defaults().proxy_hops == dict.fromkeys(
        ("for", "proto", "host", "port", "prefix"), 0
    )
    assert HostSettings.defaults().trusted_hosts is None
    cors = CORSSettings.defaults()
    assert (cors.origins, cors.allow_credentials, cors.max_age) == ((), False, 600)
    obs = ObservabilitySettings.defaults()
    assert (obs.request_id_header, obs.metrics_path, obs.metrics_token) == (
        "X-Request-ID",
        "/metrics",
        None,
    )
    assert [str(n) for n in obs.metrics_allowed_networks] == ["127.0.0.0/8", "::1/128"]


def test_an_empty_config_gives_the_default_headers():
    app = Flask(__name__)
    HeadersShield().init_app(app)

    @app.get("/")
    def index():
        return "ok"

    rv = app.test_client().get("/", base_url="https://localhost")
    assert rv.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    assert rv.headers["X-Frame-Options"] == "DENY"
    assert rv.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


# -- one lifecycle ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CountSettings(Settings):
    greeting: str = setting("COUNT_GREETING", default="hi", doc="The greeting.")


class Counting(Shield):
    name = "counting"
    order = 50
    settings_class = CountSettings
    settings: CountSettings

    def __init__(self) -> None:
        self.setups = 0

    def setup(self, app, settings):  # type: ignore[override]
        self.setups += 1

    def after(self, request, response):  # type: ignore[override]
        response.headers["X-Greeting"] = self.settings.greeting
        return response


def _routed(app):
    @app.get("/")
    def index():
        return "ok"

    return app


@pytest.mark.parametrize("kind", ["flask", "hermetic"])
def test_each_shield_is_configured_once_per_app(kind):
    app = _routed(Flask(__name__) if kind == "flask" else _hermetic())
    shield = Counting()
    shield.init_app(app)
    app.config["COUNT_GREETING"] = "hello"  # after init_app: it counts
    assert shield.setups == 0
    client = app.test_client()
    for _ in range(3):
        assert client.get("/").headers["X-Greeting"] == "hello"
    assert shield.setups == 1
    app.config["COUNT_GREETING"] = "later"  # after the first request: not read
    assert client.get("/").headers["X-Greeting"] == "hello"
    app.shields.configure(app)  # an explicit configure reads again
    assert shield.setups == 2
    assert client.get("/").headers["X-Greeting"] == "later"


def test_security_check_configures_before_the_first_request():
    app = _routed(_hermetic())
    shield = Counting()
    shield.init_app(app)
    app.security_check()
    assert shield.setups == 1
    app.test_client().get("/")
    assert shield.setups == 1


def test_a_shield_added_after_the_first_request_is_configured_at_the_next():
    app = _routed(Flask(__name__))
    HeadersShield().init_app(app)
    client = app.test_client()
    client.get("/")
    shield = Counting()
    shield.init_app(app)
    assert client.get("/").headers["X-Greeting"] == "hi"
    assert shield.setups == 1


def test_a_fixed_setting_lets_the_app_start():
    app = _routed(Flask(__name__))
    HeadersShield().init_app(app)
    app.config["SECURITY_HSTS"] = 5
    client = app.test_client()
    with pytest.raises(ConfigurationError, match="SECURITY_HSTS"):
        client.get("/")
    app.config["SECURITY_HSTS"] = "max-age=60"
    rv = client.get("/", base_url="https://localhost")
    assert rv.headers["Strict-Transport-Security"] == "max-age=60"


@pytest.mark.parametrize("shield_class", [*SHIELDS.values(), Counting])
def test_a_shield_with_settings_serves_one_app(shield_class):
    shield = shield_class()
    app = Flask(__name__)
    shield.init_app(app)
    shield.init_app(app)  # the same app again is fine
    with pytest.raises(RuntimeError, match="already serves another app"):
        shield.init_app(Flask("other"))


def test_routes_built_before_configuration_see_the_settings():
    app = Flask(__name__)
    CORSShield().init_app(app)
    app.config["CORS_ORIGINS"] = ["https://a.example"]

    @app.get("/api")
    def api():
        return "ok"

    # `hermetic routes` describes the route before any request: configured first.
    assert app.shields.describe("api") == "cors(1 origins)"


# -- exempt= on a plain Flask app ---------------------------------------------------

CROSS_SITE = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}


def test_exempt_route_option_on_a_plain_flask_app():
    app = Flask(__name__)
    CSRFShield().init_app(app)

    @app.post("/hook", exempt=["csrf"])
    def hook():
        return "accepted"

    @app.post("/form")
    def form():
        return "accepted"

    client = app.test_client()
    assert client.post("/hook", headers=CROSS_SITE).text == "accepted"
    assert client.post("/form", headers=CROSS_SITE).status_code == 403


def test_exempt_given_before_the_shield_is_installed_and_as_a_string():
    app = Flask(__name__)
    bp = Blueprint("api", __name__)

    @bp.post("/hook", exempt="csrf")
    def hook():
        return "accepted"

    app.register_blueprint(bp)

    @app.route("/other", methods=["POST"], exempt=("csrf",))
    def other():
        return "accepted"

    CSRFShield().init_app(app)
    client = app.test_client()
    assert client.post("/hook", headers=CROSS_SITE).text == "accepted"
    assert client.post("/other", headers=CROSS_SITE).text == "accepted"
    assert app.shields.exempted("api.hook") == {"csrf"}


def test_a_flask_app_without_exempt_gets_no_pipeline():
    app = _routed(Flask(__name__))
    assert app.shields is None


@pytest.mark.parametrize("value", [[1], [""], [None]])
def test_exempt_needs_shield_names(value):
    app = Flask(__name__)
    with pytest.raises(TypeError, match="exempt="):
        app.add_url_rule("/x", "x", lambda: "x", exempt=value)


# -- hermetic check -----------------------------------------------------------------


def test_check_suggests_the_closest_key_and_reports_bad_values():
    app = Flask(__name__)
    HeadersShield().init_app(app)
    app.config.update(SECURITY_CPS=None, SECURITY_HSTS=5, JWT_ANYTHING=1)
    findings = {f.id: f for f in run_checks(app, {})}
    unknown = findings["unknown_setting"]
    assert unknown.level == "warning"
    assert "SECURITY_CPS is not a hermetic setting; did you mean SECURITY_CSP?" in unknown.message
    invalid = findings["invalid_setting"]
    assert invalid.level == "error"
    assert invalid.message.startswith("headers: SECURITY_HSTS must be a string or None")
    # JWT_ANYTHING too: JWT_ is a declared prefix.
    assert [f.id for f in run_checks(app, {})].count("unknown_setting") == 2


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, "DENY"),
        ({"SECURITY_FRAME_OPTIONS": "auto"}, "DENY"),
        ({"SECURITY_CSP": {"frame-ancestors": ["'self'"]}}, "SAMEORIGIN"),
        (
            {
                "SECURITY_CSP": {"frame-ancestors": ["'self'"]},
                "SECURITY_FRAME_OPTIONS": "sameorigin",
            },
            "SAMEORIGIN",
        ),
        ({"SECURITY_CSP": None, "SECURITY_FRAME_OPTIONS": "SAMEORIGIN"}, "SAMEORIGIN"),
        ({"SECURITY_FRAME_OPTIONS": None}, None),
    ],
)
def test_frame_options_follow_the_csp_unless_set(config, expected):
    from hermetic.security.headers import plan_headers

    static = {lower: value for _, lower, value in plan_headers(config).static}
    assert static.get("x-frame-options") == expected
