"""Request and response validation with pydantic v2.

``@validate(body=Model, query=Model, path=Model, response=Model, status=200)``
parses what a view receives and filters what it returns::

    @app.post("/orders/<int:shop>")
    @validate(response=OrderOut, status=201)
    def create(shop: int, order: OrderIn):  # ``order`` is the parsed JSON body
        ...

- A view parameter annotated with a ``BaseModel`` subclass receives the
  parsed body (or the query when the class is given as ``query=``); a model
  passed without such a parameter goes to the parameter named ``body`` /
  ``query``.
- URL variables whose parameter is annotated (``int``, ``UUID``, ...) are
  coerced with a pydantic ``TypeAdapter``; a ``path=`` model validates them
  all at once.
- Invalid input is a ``422 application/problem+json`` listing every field
  error (``loc`` like ``body/items/0/qty``, ``msg``, ``type`` and a short,
  cut ``input``); a body that is not JSON is a 415; malformed or too deeply
  nested JSON is a 400.
- The return value (a dict, an object or a model) is validated and
  serialized with ``response=``: fields the model does not declare never
  leave the server.

Validation failures are the client's mistakes, not attacks: they are not
audit events, they are counted by the metrics of
:mod:`hermetic.security.observability` when installed (a limit broken --
body too large, JSON too deep -- is audited, as every limit is).
"""

from __future__ import annotations

from . import _requirement as _requirement  # says which extra is missing
from ._body import json_too_deep as json_too_deep
from ._decorator import VALIDATION_ATTR as VALIDATION_ATTR
from ._decorator import RouteModels as RouteModels
from ._decorator import route_models as route_models
from ._decorator import validate as validate
from ._errors import MAX_ERRORS as MAX_ERRORS
from ._errors import MAX_INPUT_ECHO as MAX_INPUT_ECHO
from ._errors import REASON_INVALID as REASON_INVALID
from ._errors import REASON_JSON_TOO_DEEP as REASON_JSON_TOO_DEEP
from ._errors import REASON_MALFORMED_JSON as REASON_MALFORMED_JSON
from ._errors import REASON_UNSUPPORTED_MEDIA_TYPE as REASON_UNSUPPORTED_MEDIA_TYPE
from ._errors import MalformedJSON as MalformedJSON
from ._errors import RequestValidationError as RequestValidationError
from ._errors import ResponseValidationError as ResponseValidationError
from ._errors import UnsupportedMediaType as UnsupportedMediaType
from ._errors import field_errors as field_errors

__all__ = [
    "MAX_ERRORS",
    "MAX_INPUT_ECHO",
    "REASON_INVALID",
    "REASON_JSON_TOO_DEEP",
    "REASON_MALFORMED_JSON",
    "REASON_UNSUPPORTED_MEDIA_TYPE",
    "VALIDATION_ATTR",
    "MalformedJSON",
    "RequestValidationError",
    "ResponseValidationError",
    "RouteModels",
    "UnsupportedMediaType",
    "field_errors",
    "json_too_deep",
    "route_models",
    "validate",
]
