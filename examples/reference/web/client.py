"""web's calls to identity and api over HTTP.

- :class:`HTTPTransport`: ``http.client``, a timeout, no proxies, no
  redirects, a bounded response size. Tests swap in a transport that calls
  the apps in-process.
- :class:`IdentityClient`: a service token by client credentials (cached
  until shortly before it expires), then codes, grants and user tokens.
- :class:`ApiClient`: one api call with a fresh user token (api accepts
  each token once).

Every call carries the current request id (``X-Request-ID``), so one user
action can be followed across the services' logs.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time
import typing as t
from urllib.parse import quote, urlencode, urlsplit

from hermetic.security.audit import request_id

#: The largest response body read from another service.
MAX_RESPONSE_BYTES = 1024 * 1024

Transport = t.Callable[[str, str, dict[str, str], bytes | None], tuple[int, bytes]]


class ServiceUnavailable(Exception):
    """Another service could not be reached or answered 5xx (the message names it)."""


class GrantInvalid(Exception):
    """identity no longer honours the user's grant: signed out, password changed, expired."""


class ApiError(Exception):
    """api refused a call: ``status`` and its problem document."""

    def __init__(self, status: int, problem: dict[str, t.Any]) -> None:
        super().__init__(f"api answered {status}")
        self.status = status
        self.problem = problem

    def messages(self) -> list[str]:
        """Return what to tell the user: each field error, or the detail."""
        errors = self.problem.get("errors") or []
        out = [f"{str(e.get('loc', '')).split('/')[-1]}: {e.get('msg')}" for e in errors]
        return out or [str(self.problem.get("detail") or "The request was refused.")]


class HTTPTransport:
    """Send one request with ``http.client`` (no proxy, no redirect, bounded)."""

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout

    def __call__(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, bytes]:
        parts = urlsplit(url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.hostname or "", parts.port, timeout=self.timeout)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read(MAX_RESPONSE_BYTES + 1)
            if len(data) > MAX_RESPONSE_BYTES:
                raise ServiceUnavailable(f"{parts.netloc} answered too much")
            return response.status, data
        except (OSError, http.client.HTTPException) as e:
            raise ServiceUnavailable(f"{parts.netloc} unreachable ({type(e).__name__})") from None
        finally:
            conn.close()


def _headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    rid = request_id()
    if rid:
        headers["X-Request-ID"] = rid
    headers.update(extra or {})
    return headers


def _json(status: int, data: bytes, service: str) -> dict[str, t.Any]:
    if status >= 500:
        raise ServiceUnavailable(f"{service} answered {status}")
    try:
        body = json.loads(data) if data else {}
    except ValueError:
        if status < 400:
            raise ServiceUnavailable(f"{service} answered something that is not JSON") from None
        body = {}  # a refusal without a problem document: the status says enough
    return body if isinstance(body, dict) else {}


class IdentityClient:
    """web as a client of identity: service token, code exchange, user tokens, revocation."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        transport: Transport,
        *,
        now: t.Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url
        self.client_id = client_id
        self._basic = base64.b64encode(
            f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}".encode()
        ).decode("ascii")
        self.transport = transport
        self.now = now
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def _form(self, path: str, fields: dict[str, str], auth: str) -> tuple[int, dict[str, t.Any]]:
        headers = _headers(
            {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"}
        )
        status, data = self.transport(
            "POST", self.base_url + path, headers, urlencode(fields).encode()
        )
        return status, _json(status, data, "identity")

    def service_token(self) -> str:
        """Return web's own token for identity (client credentials), cached."""
        with self._lock:
            if self._token is not None and self._token[1] > self.now():
                return self._token[0]
            status, body = self._form(
                "/oauth/token", {"grant_type": "client_credentials"}, "Basic " + self._basic
            )
            if status != 200 or "access_token" not in body:
                raise ServiceUnavailable(f"identity refused web's credentials ({status})")
            # Renew 30 s early: a token must not expire on its way.
            self._token = (body["access_token"], self.now() + int(body["expires_in"]) - 30)
            return self._token[0]

    def _call(self, path: str, fields: dict[str, str]) -> tuple[int, dict[str, t.Any]]:
        status, body = self._form(path, fields, "Bearer " + self.service_token())
        if status == 401:  # our token was revoked or the keys rotated: one retry
            self._token = None
            status, body = self._form(path, fields, "Bearer " + self.service_token())
        return status, body

    def exchange_code(self, code: str, redirect_uri: str) -> dict[str, t.Any]:
        """Return ``{"grant", "user"}`` for an authorization code; raise :class:`GrantInvalid`."""
        status, body = self._call("/oauth/code", {"code": code, "redirect_uri": redirect_uri})
        if status != 200:
            raise GrantInvalid(body.get("error", str(status)))
        return body

    def user_token(self, grant: str, audience: str = "api") -> str:
        """Return a one-use access token for ``audience`` on behalf of the grant's user."""
        status, body = self._call("/oauth/user-token", {"grant": grant, "audience": audience})
        if status != 200:
            raise GrantInvalid(body.get("error", str(status)))
        return str(body["access_token"])

    def revoke(self, grant: str) -> None:
        """End the grant (and the identity session that made it)."""
        self._call("/oauth/revoke", {"grant": grant})


class ApiClient:
    """Call api on behalf of the signed-in user."""

    def __init__(self, base_url: str, identity: IdentityClient, transport: Transport) -> None:
        self.base_url = base_url
        self.identity = identity
        self.transport = transport

    def call(self, method: str, path: str, grant: str, payload: t.Any = None) -> dict[str, t.Any]:
        """Send one call with a fresh user token; return the JSON body or raise :class:`ApiError`."""
        token = self.identity.user_token(grant)
        headers = _headers({"Authorization": "Bearer " + token})
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        status, data = self.transport(method, self.base_url + path, headers, body)
        result = _json(status, data, "api")
        if status >= 400:
            raise ApiError(status, result)
        return result
