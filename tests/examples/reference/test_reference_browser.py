"""The reference system in a real browser: Debian's Chromium, driven by Selenium.

identity, api and web run as real HTTP servers on free loopback ports (each
in werkzeug's threaded server, in a thread of this process), on SQLite files
in a temporary folder, one in-memory store, with the demo data of
``./scripts/example``. Headless Chromium signs up, signs in, creates, edits,
shares and deletes a note (through the confirmation dialog), is refused the
admin page as a member, signs out and presses Back, sees its session expire
and opens the API docs. On every page: no CSP violation and no JavaScript
error in the console.

Session expiry without sleeping: web and identity read the time from a
:class:`hermetic.testing.ManualClock` (``EncryptedSessionInterface(now=)``),
which the test moves past ``SESSION_IDLE_TIMEOUT``.

A screenshot of each step is kept in ``$HERMETIC_ARTIFACTS_DIR/reference-browser``
(default ``build/test-artifacts/reference-browser``). With
``HERMETIC_UPDATE_SCREENSHOT=1``, ``test_readme_screenshot`` rewrites
``docs/images/reference-system.png`` (the README's picture).

Needs ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` (Debian's
``chromium`` and ``chromium-driver``; ``.ci/run`` installs them): skipped
with the reason when they are missing. Never downloads a browser.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import typing as t
import urllib.parse

import pytest
from conftest import System

from hermetic.security.sessions import EncryptedSessionInterface
from hermetic.testing import ManualClock

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ARTIFACTS = os.path.join(
    os.environ.get("HERMETIC_ARTIFACTS_DIR") or os.path.join(REPO, "build", "test-artifacts"),
    "reference-browser",
)
README_SCREENSHOT = os.path.join(REPO, "docs", "images", "reference-system.png")
#: The longest any single wait in the browser may take (seconds).
WAIT = 10
PASSWORD = "a long enough password"
#: web's and identity's SESSION_IDLE_TIMEOUT here (seconds, on the manual clock).
IDLE = 600
OWNER, READER, OTHER = "nora@example.com", "member@example.com", "theo@example.com"
ADMIN = "admin@example.com"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="Chromium is not installed: apt-get install chromium chromium-driver"
    " (Debian's packages; .ci/run installs them)",
)


class _Holder:
    """A WSGI app set after the server is bound (the apps need every port first)."""

    app: t.Any = None

    def __call__(self, environ: t.Any, start_response: t.Any) -> t.Any:
        return self.app(environ, start_response)


class Live(t.NamedTuple):
    system: System
    clock: ManualClock
    passwords: dict[str, str]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The three services over HTTP on loopback, with the demo data and two more accounts."""
    from examples.reference.demo import seed
    from examples.reference.identity.accounts import create_user
    from werkzeug.serving import make_server

    holders = [_Holder() for _ in range(3)]
    servers = [make_server("127.0.0.1", 0, h, threaded=True) for h in holders]
    urls = tuple(f"http://127.0.0.1:{s.server_port}" for s in servers)
    system = System(tmp_path_factory.mktemp("reference"), urls, files=True, real=True)
    clock = ManualClock(time.time())
    for app in (system.web, system.identity):
        app.session_interface = EncryptedSessionInterface(now=clock)
        app.config["SESSION_IDLE_TIMEOUT"] = IDLE
    # About a dozen sign-ins from one address within a minute: identity's
    # per-address limit on them is tested in test_reference_identity.
    system.identity.config["RATELIMIT_ENABLED"] = False
    passwords = {email: password for email, password, _role in seed(system.identity, system.api)}
    with system.identity.app_context():
        for email, name in ((OWNER, "Nora Owner"), (OTHER, "Theo Other")):
            create_user(email, name, PASSWORD)
            passwords[email] = PASSWORD
    for holder, app in zip(holders, (system.identity, system.api, system.web), strict=True):
        holder.app = app
    threads = [
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        for s in servers
    ]
    for thread in threads:
        thread.start()
    try:
        yield Live(system, clock, passwords)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def driver():
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (test extra)")
    saved = os.environ.get("SE_OFFLINE")
    os.environ["SE_OFFLINE"] = "true"  # Selenium must use Debian's driver, never fetch one.
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_argument("--window-size=1200,800")
    options.add_argument("--hide-scrollbars")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        chrome = webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))
    finally:
        if saved is None:
            os.environ.pop("SE_OFFLINE", None)
        else:
            os.environ["SE_OFFLINE"] = saved
    chrome.set_page_load_timeout(WAIT)
    try:
        yield chrome
    finally:
        chrome.quit()


class Steps:
    """Screenshots of each step, and the console checked at each one."""

    def __init__(self, driver: t.Any, name: str) -> None:
        self.driver = driver
        self.name = name
        self.count = 0

    def check(self, label: str, *, statuses: tuple[int, ...] = (), shot: bool = True) -> None:
        """Keep a screenshot; fail on a CSP violation or a JS error since the last check.

        ``statuses``: the HTTP error statuses this step expects (a 403 page
        is logged by the browser as a failed resource, which it is meant to be).
        ``shot=False``: the console only (steps every test repeats: signing in and out).
        """
        if shot:
            self.count += 1
            os.makedirs(ARTIFACTS, exist_ok=True)
            self.driver.save_screenshot(
                os.path.join(ARTIFACTS, f"{self.name}-{self.count:02d}-{label}.png")
            )
        problems = [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if not _expected(entry, statuses)
        ]
        assert problems == [], f"console at step {label!r} ({self.driver.current_url})"


def _expected(entry: dict[str, t.Any], statuses: tuple[int, ...]) -> bool:
    message = entry["message"]
    if "Content Security Policy" in message:
        return False
    if entry.get("source") == "network":
        return any(f"status of {status} " in message for status in statuses)
    return entry["level"] not in ("SEVERE", "WARNING")


@pytest.fixture
def steps(request, driver):
    """A browser with no cookies (every service's) and an empty console."""
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.get("about:blank")
    driver.get_log("browser")
    return Steps(driver, request.node.name.removeprefix("test_"))


# -- helpers ---------------------------------------------------------------------


def _wait(condition: t.Callable[[], t.Any], what: str) -> t.Any:
    """Return ``condition()`` once it is true; a page still loading counts as not yet."""
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
        WebDriverException,
    )

    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            value = condition()
        except (NoSuchElementException, StaleElementReferenceException):
            value = None
        except WebDriverException as e:
            # Chromium's word for a stale element when the page navigates
            # between finding a node and reading it.
            if "does not belong to the document" not in str(e):
                raise
            value = None
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"gave up after {WAIT} s waiting for {what}")


def _loaded(driver: t.Any) -> None:
    """Wait until the page has run its (deferred) script."""
    _wait(lambda: driver.execute_script("return document.readyState") == "complete", "the page")


def _css(driver: t.Any, selector: str) -> t.Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector)


def _link(driver: t.Any, text: str) -> t.Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.LINK_TEXT, text)


def _text(driver: t.Any) -> str:
    return t.cast(str, _css(driver, "body").text)


def _at(driver: t.Any, url: str) -> bool:
    return t.cast(str, driver.current_url).startswith(url)


def _fill(driver: t.Any, **fields: str) -> None:
    for name, value in fields.items():
        field = _wait(lambda name=name: _css(driver, f"main [name={name}]"), f"the field {name}")
        field.clear()
        field.send_keys(value)


def _sign_in(
    live: Live, steps: Steps, email: str, *, start: str = "/", shots: bool = False
) -> None:
    """Sign in at identity from web's page ``start``; end on web, signed in."""
    driver, system = steps.driver, live.system
    driver.get(system.web_url + start)
    if start == "/":
        _css(driver, "header a.button").click()  # the nav bar's "Sign in"
    _wait(lambda: _at(driver, system.identity_url + "/login"), "identity's sign-in page")
    steps.check("sign-in-page", shot=shots)
    _fill(driver, email=email, password=live.passwords[email])
    _css(driver, "main form button").click()
    _wait(lambda: f"Signed in as {email}." in _text(driver), "web's page, signed in")
    assert _at(driver, system.web_url)
    steps.check("signed-in", shot=shots)


def _sign_out(live: Live, steps: Steps, *, shot: bool = False) -> None:
    driver = steps.driver
    _css(driver, "header form button").click()  # "Sign out"
    _wait(lambda: "You are signed out." in _text(driver), "the signed-out page")
    steps.check("signed-out", shot=shot)


def _open_note(live: Live, steps: Steps, title: str) -> str:
    """Open the note ``title`` from the list of notes; return its URL."""
    driver = steps.driver
    driver.get(live.system.web_url + "/")
    _link(driver, title).click()
    _wait(lambda: _css(driver, "h1").text == title, f"the note {title!r}")
    _loaded(driver)
    return t.cast(str, driver.current_url)


# -- the tests -------------------------------------------------------------------


def test_sign_up_then_sign_in(live, steps):
    driver, system = steps.driver, live.system
    driver.get(system.web_url + "/")
    assert "Notes, shared safely" in _text(driver)
    steps.check("welcome")
    _link(driver, "Sign in or create an account").click()
    _wait(lambda: _at(driver, system.identity_url + "/login"), "identity's sign-in page")
    _link(driver, "Create one").click()
    _wait(lambda: _at(driver, system.identity_url + "/signup"), "the sign-up page")
    steps.check("sign-up-page")
    _fill(driver, email="sam@example.com", name="Sam Sign-up", password=PASSWORD)
    _css(driver, "main form button").click()
    _wait(lambda: "Signed in as sam@example.com." in _text(driver), "web's page, signed in")
    assert _at(driver, system.web_url) and "No notes yet." in _text(driver)
    steps.check("signed-up")
    _sign_out(live, steps, shot=True)
    live.passwords["sam@example.com"] = PASSWORD
    _sign_in(live, steps, "sam@example.com", shots=True)
    assert "Your notes" in _text(driver)


def test_create_edit_share_and_delete_through_the_dialog(live, steps):
    from selenium.webdriver.common.by import By

    driver = steps.driver
    _sign_in(live, steps, OWNER)
    _link(driver, "New note").click()
    _fill(driver, title="Quarterly plan", body="Draft: hire two people.")
    steps.check("new-note")
    _css(driver, "main form button").click()
    _wait(lambda: "Note saved." in _text(driver), "the saved note")
    note = driver.current_url
    steps.check("saved")
    _link(driver, "Edit").click()
    _fill(driver, body="Final: hire two people, ship the API.")
    _css(driver, "main form button").click()
    _wait(lambda: "Note updated." in _text(driver), "the updated note")
    assert "ship the API" in _text(driver)
    steps.check("edited")
    _link(driver, "Share").click()
    _fill(driver, email=READER)
    _css(driver, "main form button").click()
    _wait(lambda: f"Shared with {READER}." in _text(driver), "the share confirmation")
    steps.check("shared")
    _sign_out(live, steps)

    # The reader sees it, read-only; someone it is not shared with does not.
    _sign_in(live, steps, READER)
    assert "Quarterly plan" in _text(driver)
    _open_note(live, steps, "Quarterly plan")
    assert "ship the API" in _text(driver) and "Delete…" not in _text(driver)
    steps.check("reader-sees-it")
    _sign_out(live, steps)
    _sign_in(live, steps, OTHER)
    assert "Quarterly plan" not in _text(driver)
    driver.get(note)
    _wait(lambda: "Not Found" in driver.title or "not found" in _text(driver).lower(), "a 404")
    assert "ship the API" not in _text(driver)
    steps.check("other-refused", statuses=(404,))
    _sign_out(live, steps)

    # Delete: the dialog's Cancel keeps the note, its Delete deletes it.
    _sign_in(live, steps, OWNER)
    _open_note(live, steps, "Quarterly plan")
    _link(driver, "Delete…").click()
    dialog = _wait(lambda: _css(driver, "dialog[open]"), "the confirmation dialog")
    assert "Delete “Quarterly plan”?" in dialog.text
    steps.check("dialog")
    _css(driver, "dialog[open] button.secondary").click()  # Cancel
    _wait(lambda: not driver.find_elements(By.CSS_SELECTOR, "dialog[open]"), "the dialog closed")
    assert driver.current_url == note
    driver.refresh()
    _loaded(driver)
    assert _css(driver, "h1").text == "Quarterly plan"  # kept
    steps.check("cancelled")
    _link(driver, "Delete…").click()
    _wait(lambda: _css(driver, "dialog[open]"), "the confirmation dialog")
    _css(driver, "dialog[open] button.danger").click()  # Delete
    _wait(lambda: "Note deleted." in _text(driver), "the list after the delete")
    assert "Quarterly plan" not in _text(driver)
    steps.check("deleted")
    _sign_out(live, steps)
    _sign_in(live, steps, READER)
    assert "Quarterly plan" not in _text(driver)


def test_a_member_is_refused_the_admin_page_an_admin_reaches_it(live, steps):
    driver, system = steps.driver, live.system
    _sign_in(live, steps, OTHER)
    assert "Admin" not in _css(driver, "header nav").text
    driver.get(system.web_url + "/admin")
    _wait(lambda: "403" in driver.title or "Forbidden" in _text(driver), "the 403 page")
    assert "Members" not in _text(driver)
    steps.check("member-refused", statuses=(403,))
    _sign_out(live, steps)
    _sign_in(live, steps, ADMIN)
    _link(driver, "Admin").click()
    _wait(lambda: _css(driver, "h1").text == "Admin", "the admin page")
    assert "Members" in _text(driver)
    steps.check("admin-page")


def test_after_sign_out_back_shows_nothing_private(live, steps):
    driver, system = steps.driver, live.system
    secret = "who can read it but not edit it"  # the demo note's text
    _sign_in(live, steps, READER)
    note = _open_note(live, steps, "Welcome to the reference system")
    assert secret in _text(driver)
    steps.check("private-page")
    _sign_out(live, steps)
    driver.back()
    _loaded(driver)
    _wait(lambda: _at(driver, system.identity_url + "/login"), "the sign-in page after Back")
    assert secret not in driver.page_source
    steps.check("back")
    # Why: the page was never stored (the browser asked web again, which sent it to sign in).
    browser = system.browser()
    system.sign_in(browser, READER, live.passwords[READER])
    page = browser.get(note)
    assert page.status == 200 and page.header("Cache-Control") == "no-store"


def test_an_idle_session_expires(live, steps):
    driver, system = steps.driver, live.system
    secret = "who can read it but not edit it"
    _sign_in(live, steps, READER)
    note = _open_note(live, steps, "Welcome to the reference system")
    live.clock.advance(IDLE - 60)
    driver.refresh()
    assert secret in _text(driver)  # in use: the idle time starts again
    live.clock.advance(IDLE + 1)
    driver.refresh()
    _wait(lambda: _at(driver, system.identity_url + "/login"), "the sign-in page")
    assert secret not in driver.page_source
    steps.check("expired")
    # Signing in again leads back to the page asked for.
    _fill(driver, email=READER, password=live.passwords[READER])
    _css(driver, "main form button").click()
    _wait(lambda: driver.current_url == note, "the note after signing in again")
    assert secret in _text(driver)
    steps.check("signed-in-again")


def test_the_api_docs_page_renders_under_the_csp(live, steps):
    driver, system = steps.driver, live.system
    driver.get(system.api_url + "/docs")
    _wait(lambda: "/v1/notes" in _text(driver), "the operations on the docs page")
    steps.check("api-docs")
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    origins = {urllib.parse.urlsplit(url)._replace(path="", query="").geturl() for url in resources}
    assert resources and origins == {system.api_url}  # no CDN: everything from api itself


@pytest.mark.skipif(
    os.environ.get("HERMETIC_UPDATE_SCREENSHOT") != "1",
    reason="rewrites docs/images/reference-system.png only with HERMETIC_UPDATE_SCREENSHOT=1",
)
def test_readme_screenshot(live, steps):
    driver = steps.driver
    size = {"width": 1200, "height": 800, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", size)
    try:
        _sign_in(live, steps, READER)
        _wait(lambda: "Groceries" in _text(driver), "the demo notes")
        os.makedirs(os.path.dirname(README_SCREENSHOT), exist_ok=True)
        driver.save_screenshot(README_SCREENSHOT)
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    steps.check("readme")
