"""JSON functions that use the current app's :attr:`~hermetic.Flask.json` provider."""

from __future__ import annotations

import json as _json
import typing as t

from ..globals import _cv_app, current_app
from .provider import _default

if t.TYPE_CHECKING:  # pragma: no cover
    from ..wrappers import Response

__all__ = [
    "dump",
    "dumps",
    "jsonify",
    "load",
    "loads",
]


def dumps(obj: t.Any, **kwargs: t.Any) -> str:
    """Serialize ``obj`` to a JSON string.

    In an app context this is ``current_app.json.dumps()``; outside one it
    is :func:`json.dumps` that also handles dates, decimals, UUIDs,
    dataclasses and ``__html__`` objects.
    """
    if _cv_app.get(None) is not None:
        return current_app.json.dumps(obj, **kwargs)

    kwargs.setdefault("default", _default)
    return _json.dumps(obj, **kwargs)


def dump(obj: t.Any, fp: t.IO[str], **kwargs: t.Any) -> None:
    """Serialize ``obj`` as JSON and write it to the text file ``fp``.

    Uses ``current_app.json.dump()`` in an app context.
    """
    if _cv_app.get(None) is not None:
        current_app.json.dump(obj, fp, **kwargs)
        return

    kwargs.setdefault("default", _default)
    _json.dump(obj, fp, **kwargs)


def loads(s: str | bytes, **kwargs: t.Any) -> t.Any:
    """Deserialize a JSON string or bytes.

    Uses ``current_app.json.loads()`` in an app context.
    """
    if _cv_app.get(None) is not None:
        return current_app.json.loads(s, **kwargs)

    return _json.loads(s, **kwargs)


def load(fp: t.IO[t.AnyStr], **kwargs: t.Any) -> t.Any:
    """Read the file ``fp`` and deserialize its JSON content.

    Uses ``current_app.json.load()`` in an app context.
    """
    if _cv_app.get(None) is not None:
        return current_app.json.load(fp, **kwargs)

    return _json.load(fp, **kwargs)


def jsonify(*args: t.Any, **kwargs: t.Any) -> Response:
    """Return an ``application/json`` response serializing the arguments.

    Pass one value, several values (sent as a list) or keyword arguments
    (sent as an object). Needs an app context; this is
    ``current_app.json.response()``.
    """
    return current_app.json.response(*args, **kwargs)  # type: ignore[return-value]  # the provider returns the app response class
