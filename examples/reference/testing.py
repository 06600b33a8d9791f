"""Drive the reference system the way a browser does, in-process or over HTTP.

:class:`Browser` keeps cookies per host (not per port, as browsers do: the
services' cookie names differ for that reason), follows redirects across
services, sends ``Origin`` on form posts, and finds CSRF tokens in pages.
``send`` is either :func:`wsgi_sender` (the apps called in-process) or
:func:`http_sender` (real servers).
"""

from __future__ import annotations

import http.client
import re
import typing as t
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urljoin, urlsplit

from werkzeug.test import Client

Sender = t.Callable[
    [str, str, dict[str, str], bytes | None], tuple[int, list[tuple[str, str]], bytes]
]

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Page(t.NamedTuple):
    """One response: where it came from, its status, headers and text."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    text: str

    def header(self, name: str) -> str | None:
        """Return the first header ``name`` (case-insensitive)."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def csrf_token(self) -> str:
        """Return the first CSRF token of the page's forms."""
        match = _TOKEN.search(self.text)
        if match is None:
            raise AssertionError(f"no CSRF token in {self.url} ({self.status})")
        return match.group(1)


def _base(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def wsgi_sender(apps: t.Mapping[str, t.Any]) -> Sender:
    """Send requests to ``apps`` (base URL -> WSGI app, looked up per call) in-process."""
    clients: dict[str, Client] = {}

    def send(
        method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        parts = urlsplit(url)
        base = _base(url)
        client = clients.get(base)
        if client is None:
            client = clients[base] = Client(apps[base], use_cookies=False)
        response = client.open(
            parts.path,
            method=method,
            query_string=parts.query,
            headers=headers,
            data=body,
            base_url=_base(url),
        )
        try:
            return response.status_code, list(response.headers.items()), response.get_data()
        finally:
            response.close()

    return send


def http_sender(timeout: float = 10.0) -> Sender:
    """Send requests over HTTP (real servers)."""

    def send(
        method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
        try:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            conn.request(method, path or "/", body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    return send


def wsgi_transport(sender: Sender) -> t.Callable[..., tuple[int, bytes]]:
    """Return a web-service transport (``client.Transport``) made from ``sender``."""

    def transport(
        method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, bytes]:
        status, _headers, data = sender(method, url, headers, body)
        return status, data

    return transport


class Browser:
    """A cookie-keeping client following redirects across the services."""

    def __init__(self, send: Sender) -> None:
        self.send = send
        self.cookies: dict[str, str] = {}
        self.history: list[Page] = []

    def _cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def _store(self, headers: list[tuple[str, str]]) -> None:
        for key, value in headers:
            if key.lower() != "set-cookie":
                continue
            jar = SimpleCookie()
            jar.load(value)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def request(
        self,
        method: str,
        url: str,
        data: t.Mapping[str, str] | None = None,
        *,
        follow: bool = True,
        headers: t.Mapping[str, str] | None = None,
    ) -> Page:
        """Send one request (a form post when ``data`` is given), following redirects."""
        body = urlencode(data).encode() if data is not None else None
        for _ in range(10):
            sent = {"Accept": "text/html"}
            if self.cookies:
                sent["Cookie"] = self._cookie_header()
            if body is not None:
                sent["Content-Type"] = "application/x-www-form-urlencoded"
                sent["Origin"] = _base(url)
            sent.update(headers or {})
            status, got, raw = self.send(method, url, sent, body)
            self._store(got)
            page = Page(url, status, got, raw.decode("utf-8", "replace"))
            self.history.append(page)
            location = page.header("Location")
            if not follow or status not in (301, 302, 303, 307, 308) or not location:
                return page
            url = urljoin(url, location)
            if status in (301, 302, 303):
                method, body = "GET", None
        raise AssertionError(f"too many redirects ending at {url}")

    def get(self, url: str, **kw: t.Any) -> Page:
        """GET ``url``."""
        return self.request("GET", url, **kw)

    def post(self, url: str, data: t.Mapping[str, str], **kw: t.Any) -> Page:
        """Post the form ``data`` to ``url``."""
        return self.request("POST", url, data, **kw)

    def submit(
        self, page: Page, action: str | None, data: t.Mapping[str, str], **kw: t.Any
    ) -> Page:
        """Post ``data`` with ``page``'s CSRF token to ``action`` (default: the page's URL)."""
        return self.post(
            urljoin(page.url, action or page.url), {"csrf_token": page.csrf_token(), **data}, **kw
        )
