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
