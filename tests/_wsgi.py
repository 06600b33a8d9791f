"""Calling a WSGI app as a server does, for the tests that compare request paths."""

from __future__ import annotations

import typing as t


def serve(app: t.Callable[..., t.Any], environ: dict[str, t.Any]) -> tuple[str, list[t.Any], bytes]:
    """Call ``app`` with ``environ``; return the status, the header list and the body.

    The body iterable is consumed and closed; ``start_response`` must have
    been called once.
    """
    calls: list[tuple[str, list[t.Any]]] = []
    body = app(
        environ, lambda status, headers, exc_info=None: calls.append((status, list(headers)))
    )
    try:
        data = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    ((status, headers),) = calls
    return status, headers, data


def spy_on_send_loop(monkeypatch: t.Any) -> list[str]:
    """Record each header name ``_respond``'s send loop looks up (in ``_HEADER_KINDS``)."""
    from hermetic import _app_responses

    looked_up: list[str] = []

    class Spy(dict):  # type: ignore[type-arg]
        def get(self, key: str, default: t.Any = None) -> t.Any:
            looked_up.append(key)
            return super().get(key, default)

    monkeypatch.setattr(_app_responses, "_HEADER_KINDS", Spy(_app_responses._HEADER_KINDS))
    return looked_up
