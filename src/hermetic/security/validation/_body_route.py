"""The view of a route whose only model is its body's: ``@validate``'s usual JSON route."""

from __future__ import annotations

import functools
import typing as t

from pydantic import ValidationError

from ...globals import _cv_app, _cv_request
from ._body import read_json
from ._errors import refuse_response

if t.TYPE_CHECKING:  # pragma: no cover
    from ._decorator import _Validator


def body_only_view(view: t.Callable[..., t.Any], validator: _Validator) -> t.Any:
    """The view of a route whose only model is its body's (the usual JSON route).

    :meth:`_Validator.inputs` and :meth:`_Validator.output` in one frame: the
    same checks in the same order, without the path and query steps, and a
    plain dict for the response model answered without output's other cases.
    tests/security/validation/test_body_only.py compares it with the general path.
    """
    # body_only: the body's validator and argument are set.
    body_json: t.Any = validator._body_json
    body_arg: t.Any = validator.models.body_arg
    refuse_body, output, makers = validator.refuse_body, validator.output, validator.makers
    validate: t.Any = validator._response_validate
    dump: t.Any = validator._response_dump
    if dump is None:
        validate = None  # no response model: output's cases
    status = validator.status

    @functools.wraps(view)
    def wrapper(**kwargs: t.Any) -> t.Any:
        try:
            kwargs[body_arg] = body_json(read_json(_cv_request.get().request))
        except ValidationError as e:
            refuse_body(e)
        rv = view(**kwargs)
        if type(rv) is not dict or validate is None:
            return output(rv)
        try:
            body = dump(validate(rv, from_attributes=True))
        except ValidationError as e:
            refuse_response(e)
        app = _cv_app.get().app
        known = validator._maker
        if known is None or known[0] is not app or known[1] is not app.response_class:
            known = makers(app)
        if known[3] is not None:
            return known[3](body)
        return known[1](body, status=status, content_type="application/json")

    return wrapper
