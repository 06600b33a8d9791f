"""The migrated flaskr in a real browser: Debian's Chromium, driven by Selenium.

Registers, logs in, creates a post, clicks Delete and sees the confirmation
dialog, with no CSP violation in the console and no ``csp`` report at the
server. The control: the unmigrated delete button (``onclick=``) on the
same server is blocked, and the console and the report endpoint (the
default CSP's ``report-uri``) say so.
A screenshot is kept in ``build/migration/flaskr-delete.png``.

Needs ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` (Debian's
``chromium`` and ``chromium-driver``; ``.ci/run`` installs them): skipped
with the reason when they are missing. Never downloads a browser.
"""

from __future__ import annotations

import importlib
import os
import secrets
import shutil
import sys
import threading
import time

import flaskr_steps
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARTIFACTS = os.path.join(REPO, "build", "migration")
#: The longest any single wait in the browser may take (seconds).
WAIT = 10

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="Chromium is not installed: apt-get install chromium chromium-driver"
    " (Debian's packages; .ci/run installs them)",
)


@pytest.fixture
def server(flaskr, monkeypatch):
    """Serve the migrated flaskr on 127.0.0.1 (a free port) in a thread."""
    from werkzeug.serving import make_server

    from hermetic import render_template_string
    from hermetic.security import audit
    from hermetic.security.policy import public

    flaskr_steps.migrate(flaskr)
    monkeypatch.setenv("HERMETIC_SECRET_KEY", secrets.token_urlsafe(48))
    monkeypatch.syspath_prepend(flaskr)
    for name in [m for m in sys.modules if m == "flaskr" or m.startswith("flaskr.")]:
        monkeypatch.delitem(sys.modules, name)
    module = importlib.import_module("flaskr")
    app = module.create_app({"DATABASE": os.path.join(flaskr, "flaskr.sqlite")})
    with app.app_context():
        importlib.import_module("flaskr.db").init_db()

    # The control: flaskr's original delete button, under the same default CSP.
    def old_delete():
        return render_template_string(
            "<!doctype html><form action='/nowhere' method='post'>"
            + flaskr_steps.OLD_DELETE
            + "</form>"
        )

    app.add_url_rule("/old-delete", "old_delete", public(old_delete))
    reports = []

    def listen(record):
        if record.get("event") == "csp":
            reports.append(record)

    monkeypatch.setattr(audit, "listeners", [*audit.listeners, listen])
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", reports
    finally:
        httpd.shutdown()
        thread.join(WAIT)
        for name in [m for m in sys.modules if m == "flaskr" or m.startswith("flaskr.")]:
            sys.modules.pop(name, None)


@pytest.fixture
def browser(monkeypatch):
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (test extra)")
    # Selenium must use Debian's driver, never fetch one.
    monkeypatch.setenv("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_argument("--window-size=1000,800")
    # Deliver Reporting API reports (the CSP's report-to) at once, not batched a minute.
    options.add_argument("--short-reporting-delay")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def _csp_messages(driver):
    return [
        e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]
    ]


def _wait_for(condition, what):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"gave up after {WAIT} s waiting for {what}")


def _submit(driver, base, path, **fields):
    from selenium.webdriver.common.by import By

    driver.get(base + path)
    for name, value in fields.items():
        driver.find_element(By.NAME, name).send_keys(value)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()


def test_delete_asks_for_confirmation_under_the_csp(server, browser):
    from selenium.webdriver.common.by import By

    base, reports = server
    _submit(browser, base, "/auth/register", username="ann", password="a long password")
    _wait_for(lambda: browser.current_url.endswith("/auth/login"), "the login page")
    _submit(browser, base, "/auth/login", username="ann", password="a long password")
    _wait_for(lambda: "Log Out" in browser.page_source, "the logged-in index")
    _submit(browser, base, "/create", title="Hello Hermetic", body="Moved from Flask.")
    _wait_for(lambda: "Hello Hermetic" in browser.page_source, "the new post")
    browser.find_element(By.LINK_TEXT, "Edit").click()
    _wait_for(lambda: browser.current_url.endswith("/1/update"), "the edit page")
    os.makedirs(ARTIFACTS, exist_ok=True)
    browser.save_screenshot(os.path.join(ARTIFACTS, "flaskr-delete.png"))

    # First answer "Cancel": the post stays.
    browser.find_element(By.CSS_SELECTOR, "input.danger").click()
    alert = _wait_for(_alert(browser), "the confirmation dialog")
    assert alert.text == "Are you sure?"
    alert.dismiss()
    assert browser.current_url.endswith("/1/update")
    # Then "OK": the post is deleted.
    browser.find_element(By.CSS_SELECTOR, "input.danger").click()
    _wait_for(_alert(browser), "the confirmation dialog").accept()
    _wait_for(lambda: browser.current_url == base + "/", "the index after the delete")
    assert "Hello Hermetic" not in browser.page_source
    assert _csp_messages(browser) == []
    assert reports == []


def test_unmigrated_delete_button_is_blocked_and_reported(server, browser):
    # The control for the test above: the same browser and server see a violation.
    from selenium.webdriver.common.by import By

    base, reports = server
    browser.get(base + "/old-delete")
    browser.find_element(By.CSS_SELECTOR, "input.danger").click()
    messages = _wait_for(lambda: _csp_messages(browser), "the CSP violation in the console")
    assert any("inline event handler" in m for m in messages)
    report = _wait_for(lambda: reports, "the CSP report at the server")[0]
    assert report["reason"] == "script-src-attr"
    assert report["document"] == base + "/old-delete"


def _alert(driver):
    from selenium.common.exceptions import NoAlertPresentException

    def present():
        try:
            alert = driver.switch_to.alert
            alert.text  # noqa: B018 - raises while no dialog is open
            return alert
        except NoAlertPresentException:
            return None

    return present
