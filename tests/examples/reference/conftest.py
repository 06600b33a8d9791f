"""Fixtures for the reference system: the three services wired together in-process."""

from __future__ import annotations

import secrets
import typing as t

import pytest
from examples.reference.testing import Browser, http_sender, wsgi_sender, wsgi_transport

from hermetic.security.jwt import JWKSClient
from hermetic.security.stores import MemoryStore

IDENTITY = "https://identity.test"
API = "https://api.test"
WEB = "https://web.test"
WEB_SECRET = "web-client-secret-for-tests"
FAST_HASHES = {
    "PASSWORD_HASH_TIME_COST": 1,
    "PASSWORD_HASH_MEMORY_COST": 1024,
    "PASSWORD_HASH_PARALLELISM": 1,
}


def common(store: t.Any, **extra: t.Any) -> dict[str, t.Any]:
    """Return the settings every test service gets."""
    return {
        "TESTING": True,
        "REFERENCE_ENV": "development",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "REFERENCE_STORE": store,
        **FAST_HASHES,
        **extra,
    }


def jwks_fetcher(send: t.Any) -> t.Callable[[str, float, int], tuple[bytes, str | None]]:
    """Return a ``JWKSClient`` fetch function that goes through ``send``."""

    def fetch(url: str, timeout: float, max_bytes: int) -> tuple[bytes, str | None]:
        status, headers, body = send("GET", url, {"Accept": "application/json"}, None)
        if status != 200:
            raise OSError(f"HTTP {status}")
        return body, dict(headers).get("Cache-Control")

    return fetch


class System:
    """identity, api and web sharing one store, and a way to browse them."""

    def __init__(
        self,
        tmp_path: t.Any,
        urls: tuple[str, str, str] = (IDENTITY, API, WEB),
        *,
        files: bool = False,
        real: bool = False,
        store: t.Any = None,
    ) -> None:
        from examples.reference.api import create_app as create_api
        from examples.reference.identity import create_app as create_identity
        from examples.reference.web import create_app as create_web

        self.identity_url, self.api_url, self.web_url = urls
        self.tmp_path = tmp_path
        self.store = store if store is not None else MemoryStore()
        self.apps: dict[str, t.Any] = {}
        # real: the services are served over HTTP by the caller (test_reference_e2e).
        self.send = http_sender() if real else wsgi_sender(self.apps)
        self.identity_config = common(
            self.store,
            INSTANCE_PATH=str(tmp_path),
            DATABASE_URL=f"sqlite:///{tmp_path}/identity.db" if files else "sqlite://",
            IDENTITY_URL=self.identity_url,
            WEB_URL=self.web_url,
            WEB_CLIENT_SECRET=WEB_SECRET,
        )
        self.identity = create_identity(self.identity_config)
        api_config = common(
            self.store,
            DATABASE_URL=f"sqlite:///{tmp_path}/api.db" if files else "sqlite://",
            IDENTITY_URL=self.identity_url,
            JWT_JWKS_MIN_REFRESH_INTERVAL=0,
        )
        if not real:
            api_config["JWT_TRUSTED_ISSUERS"] = {
                self.identity_url: JWKSClient(
                    self.identity_url + "/.well-known/jwks.json",
                    fetch=jwks_fetcher(self.send),
                    min_refresh_interval=0,
                )
            }
        self.api = create_api(api_config)
        self.web = create_web(
            common(
                self.store,
                WEB_URL=self.web_url,
                IDENTITY_URL=self.identity_url,
                API_URL=self.api_url,
                WEB_CLIENT_SECRET=WEB_SECRET,
            ),
            transport=None if real else wsgi_transport(self.send),
        )
        self.apps.update(
            {self.identity_url: self.identity, self.api_url: self.api, self.web_url: self.web}
        )

    def browser(self) -> Browser:
        """Return a new browser with no cookies."""
        return Browser(self.send)

    def sign_up(
        self, browser: Browser, email: str, password: str = "a long enough password"
    ) -> t.Any:
        """Sign up at identity through web's sign-in; return the page web shows after."""
        page = browser.get(self.web_url + "/auth/login")  # -> identity's login page
        signup = browser.get(self.identity_url + "/signup?" + page.url.partition("?")[2])
        return browser.submit(signup, None, {"email": email, "name": email, "password": password})

    def sign_in(
        self, browser: Browser, email: str, password: str = "a long enough password", **extra: str
    ) -> t.Any:
        """Sign in at identity through web's sign-in; return the page web shows after."""
        page = browser.get(self.web_url + "/auth/login")
        return browser.submit(page, None, {"email": email, "password": password, **extra})

    def make_admin(self, email: str) -> None:
        """Give ``email`` the admin role, directly in identity's database."""
        from examples.reference.common.db import session
        from examples.reference.identity.models import ADMIN, User, role

        with self.identity.app_context():
            db = session()
            user = db.query(User).filter_by(email=email).one()
            user.roles.append(role(db, ADMIN))
            db.commit()


@pytest.fixture
def system(tmp_path: t.Any) -> System:
    """The three services, in-process, each on a fresh in-memory database."""
    return System(tmp_path)
