"""OpenAPI 3.1 for hermetic apps: the document, a local docs page, a CLI command.

``openapi_spec(app)`` describes every route from the URL map (converters
become typed path parameters), the models declared with
:func:`hermetic.security.validation.validate`, the authorization policies
of :mod:`hermetic.security.policy` (security requirements, 401/403) and the
problem responses (400/413/415/422/429). ``OpenAPI(app)`` serves it at
``/openapi.json`` with a docs page at ``/docs`` whose script and style are
served by the app itself; ``hermetic openapi -o openapi.json`` writes it.
"""

from __future__ import annotations

from ._ext import EXTENSION_KEY as EXTENSION_KEY
from ._ext import OpenAPI as OpenAPI
from ._ext import openapi_command as openapi_command
from ._settings import OpenAPISettings as OpenAPISettings
from ._spec import HIDDEN_ATTR as HIDDEN_ATTR
from ._spec import OPENAPI_VERSION as OPENAPI_VERSION
from ._spec import converter_schema as converter_schema
from ._spec import hidden as hidden
from ._spec import openapi_path as openapi_path
from ._spec import openapi_spec as openapi_spec

__all__ = [
    "EXTENSION_KEY",
    "HIDDEN_ATTR",
    "OPENAPI_VERSION",
    "OpenAPI",
    "OpenAPISettings",
    "converter_schema",
    "hidden",
    "openapi_command",
    "openapi_path",
    "openapi_spec",
]
