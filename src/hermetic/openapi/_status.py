"""A view's declared success status and responses, as the OpenAPI document shows them.

The status comes, in this order, from ``@validate(status=...)``, the lowest
2xx code of ``@validate(responses={...})``, a return annotation
``-> tuple[Body, Literal[201]]``, else ``200``.
"""

from __future__ import annotations

import http
import inspect
import typing as t


def annotated_status(view: t.Callable[..., t.Any]) -> tuple[int, t.Any] | None:
    """Return ``(status, body type)`` from ``-> tuple[Body, Literal[201], ...]``, if declared."""
    try:
        hints = t.get_type_hints(inspect.unwrap(view))
    except Exception:  # an annotation that does not resolve declares nothing
        return None
    declared = hints.get("return")
    if t.get_origin(declared) is not tuple:
        return None
    args = t.get_args(declared)
    if len(args) < 2 or t.get_origin(args[1]) is not t.Literal:
        return None
    values = t.get_args(args[1])
    if len(values) != 1 or type(values[0]) is not int:
        return None
    return values[0], args[0]


def check_responses(responses: t.Any, where: str) -> dict[int, t.Any]:
    """Return ``responses`` as ``{code: str | type | None}``, or raise ``TypeError``."""
    if responses is None:
        return {}
    if not isinstance(responses, t.Mapping):
        raise TypeError(f"{where}: responses must be a dict of status code -> description or type.")
    for code in responses:
        if type(code) is not int or not 100 <= code <= 599:
            raise TypeError(
                f"{where}: responses has the key {code!r}; use int status codes, e.g."
                " responses={201: NoteOut, 409: 'Already exists.'}."
            )
    return dict(responses)


def success_status(explicit: int | None, responses: t.Mapping[int, t.Any], view: t.Any) -> int:
    """Return the success status a view declares (see the module docstring)."""
    if explicit is not None:
        return explicit
    success = sorted(code for code in responses if 200 <= code < 300)
    if success:
        return success[0]
    found = annotated_status(view)
    return found[0] if found is not None else 200


def is_model(tp: t.Any) -> bool:
    """Tell whether ``tp`` is a pydantic model class (its schema is documented)."""
    try:
        from pydantic import BaseModel
    except ImportError:  # pragma: no cover - the document needs pydantic anyway
        return False
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def description(code: int, value: t.Any) -> str:
    """Return the description of a declared response."""
    if isinstance(value, str):
        return value
    try:
        return http.HTTPStatus(code).phrase + "."
    except ValueError:
        return "Response."


def declared_success(view: t.Any, models: t.Any) -> tuple[int, t.Any]:
    """Return the success status and the body type to document (or ``None``)."""
    if models is not None:
        body = models.response
        if body is None:
            found = annotated_status(view)
            body = found[1] if found is not None and is_model(found[1]) else None
        return models.status, body
    found = annotated_status(view)
    if found is None:
        return 200, None
    return found[0], found[1] if is_model(found[1]) else None


def declared_responses(models: t.Any, keys: dict[str, t.Any], schemas: t.Any) -> dict[str, t.Any]:
    """Return the success response and the ones ``@validate(responses=...)`` declares."""
    declared = dict(models.responses) if models is not None else {}
    status = keys["status"]
    out: dict[str, t.Any] = {}
    for code in sorted({status, *declared}):
        value = declared.get(code)
        item: dict[str, t.Any] = {
            "description": description(code, value) if value is not None else "Success."
        }
        key = keys["response"] if code == status and "response" in keys else None
        key = keys["declared"].get(code, key)
        if key is not None:
            item["content"] = {"application/json": {"schema": schemas.get(key)}}
        out[str(code)] = item
    return out
