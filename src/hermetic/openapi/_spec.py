"""Build an OpenAPI 3.1 document from an app's URL map and its routes' declarations."""

from __future__ import annotations

import re
import typing as t

from werkzeug.routing import Rule
from werkzeug.routing.converters import (
    AnyConverter,
    FloatConverter,
    IntegerConverter,
    UUIDConverter,
)

from ._settings import OpenAPISettings
from ._status import declared_responses, declared_success

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Flask

#: The OpenAPI version of the generated document.
OPENAPI_VERSION = "3.1.0"
#: The view attribute that keeps a route out of the document.
HIDDEN_ATTR = "_hermetic_openapi_hidden"
#: Where component schemas live.
REF_PREFIX = "#/components/schemas/"
BEARER_SCHEME = "bearerAuth"
COOKIE_SCHEME = "sessionCookie"

_VARIABLE = re.compile(r"<(?:[A-Za-z_]\w*(?:\([^)]*\))?:)?([A-Za-z_]\w*)>")
_IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

PROBLEM_SCHEMA: dict[str, t.Any] = {
    "type": "object",
    "description": "An RFC 9457 problem document.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "reason": {"type": "string", "description": "A stable identifier of the refusal."},
    },
    "required": ["status", "reason"],
}
VALIDATION_PROBLEM_SCHEMA: dict[str, t.Any] = {
    "allOf": [
        {"$ref": REF_PREFIX + "Problem"},
        {
            "type": "object",
            "properties": {
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "loc": {"type": "string", "examples": ["body/items/0/qty"]},
                            "msg": {"type": "string"},
                            "type": {"type": "string"},
                            "input": {},
                        },
                        "required": ["loc", "msg", "type"],
                    },
                }
            },
            "required": ["errors"],
        },
    ]
}
_ERRORS = {
    "400": "Malformed request body.",
    "401": "Authentication required.",
    "403": "Permission denied.",
    "413": "Request body too large.",
    "415": "Unsupported media type: send JSON.",
    "422": "Validation failed.",
    "429": "Too many requests.",
}


def hidden(view: F) -> F:
    """Keep ``view`` out of the OpenAPI document."""
    setattr(view, HIDDEN_ATTR, True)
    return view


def openapi_path(rule: str) -> str:
    """Turn a Werkzeug rule (``/users/<int:id>``) into an OpenAPI path (``/users/{id}``)."""
    return _VARIABLE.sub(r"{\1}", rule)


def converter_schema(converter: t.Any) -> dict[str, t.Any]:
    """Return the JSON schema of the values a Werkzeug converter matches."""
    if isinstance(converter, (IntegerConverter, FloatConverter)):
        schema: dict[str, t.Any] = {
            "type": "integer" if isinstance(converter, IntegerConverter) else "number"
        }
        low = converter.min
        if low is None and not converter.signed:
            low = 0
        if low is not None:
            schema["minimum"] = low
        if converter.max is not None:
            schema["maximum"] = converter.max
        return schema
    if isinstance(converter, UUIDConverter):
        return {"type": "string", "format": "uuid"}
    if isinstance(converter, AnyConverter):
        return {"type": "string", "enum": sorted(converter.items)}
    return {"type": "string"}


def _validation_module() -> t.Any:
    try:
        from ..security import validation
    except ImportError:  # pydantic not installed: no route declares models
        return None
    return validation


class _Schemas:
    """Collect every type to describe; produce all schemas in one pydantic pass."""

    def __init__(self) -> None:
        self._inputs: list[tuple[int, str, t.Any]] = []
        self._keys: dict[tuple[int, str], int] = {}
        self.results: dict[tuple[int, str], dict[str, t.Any]] = {}
        self.definitions: dict[str, t.Any] = {}

    def add(self, tp: t.Any, mode: str) -> tuple[int, str]:
        from pydantic import TypeAdapter

        key = (id(tp), mode)
        if key not in self._keys:
            self._keys[key] = len(self._inputs)
            self._inputs.append((len(self._inputs), mode, TypeAdapter(tp)))
        return (self._keys[key], mode)

    def build(self) -> None:
        if not self._inputs:
            return
        from pydantic import TypeAdapter

        results, defs = TypeAdapter.json_schemas(
            t.cast(t.Any, self._inputs), ref_template=REF_PREFIX + "{model}"
        )
        self.results = dict(t.cast("dict[tuple[int, str], dict[str, t.Any]]", results))
        self.definitions = dict(defs.get("$defs", {}))

    def get(self, key: tuple[int, str]) -> dict[str, t.Any]:
        return self.results[key]

    def object_schema(self, key: tuple[int, str]) -> dict[str, t.Any]:
        """Return a model's own object schema (following its ``$ref``)."""
        schema = self.results[key]
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            return t.cast(dict[str, t.Any], self.definitions[ref[len(REF_PREFIX) :]])
        return schema


def _problem(name: str, code: str) -> dict[str, t.Any]:
    return {
        "description": _ERRORS[code],
        "content": {"application/problem+json": {"schema": {"$ref": REF_PREFIX + name}}},
    }


def _security(policy: t.Any, schemes: list[str]) -> list[dict[str, list[str]]] | None:
    if policy is None:
        return None
    scopes = getattr(policy, "scopes", None)  # @jwt_required's BearerPolicy
    if scopes is not None:
        return [{BEARER_SCHEME: sorted(scopes)}]
    if policy.public:
        return []
    required = sorted(policy.all_of)
    alternatives = [required]
    for group in policy.any_of:
        alternatives = [sorted({*alt, p}) for alt in alternatives for p in sorted(group)]
    return [{scheme: scopes} for scopes in alternatives for scheme in schemes]


def _schemes(app: Flask, bearer_routes: bool) -> dict[str, dict[str, t.Any]]:
    schemes: dict[str, dict[str, t.Any]] = {}
    if bearer_routes or "hermetic.jwt" in app.extensions:
        schemes[BEARER_SCHEME] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    login = "hermetic.login" in app.extensions or getattr(app, "login_manager", None) is not None
    if not schemes or login:
        schemes[COOKIE_SCHEME] = {
            "type": "apiKey",
            "in": "cookie",
            "name": app.session_interface.get_cookie_name(app),
        }
    return schemes


def _rate_limited(app: Flask, endpoint: str) -> bool:
    """Tell whether the app's rate-limit shield runs on ``endpoint`` (its default limit)."""
    shields = app.shields
    if shields is None or shields.get("ratelimit") is None:
        return False
    return any(s.name == "ratelimit" for s in shields.shields_for(endpoint))


def _operation_id(endpoint: str, method: str, seen: set[str], many: bool) -> str:
    base = endpoint.replace(".", "_")
    candidate = f"{base}_{method.lower()}" if many else base
    unique, n = candidate, 2
    while unique in seen:
        unique, n = f"{candidate}_{n}", n + 1
    seen.add(unique)
    return unique


def _rules(app: Flask) -> list[tuple[Rule, t.Any]]:
    out = []
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        if endpoint == "static" or endpoint.endswith(".static") or rule.websocket:
            continue
        view = app.view_functions.get(endpoint)
        if view is None or getattr(view, HIDDEN_ATTR, False):
            continue
        out.append((rule, view))
    return out


def openapi_spec(
    app: Flask, title: str | None = None, version: str | None = None
) -> dict[str, t.Any]:
    """Return the OpenAPI 3.1 document describing ``app``'s routes.

    :param title: the API's title; default ``OPENAPI_TITLE`` or the app's name.
    :param version: the API's version; default ``OPENAPI_VERSION`` or ``"0.1.0"``.
    """
    from ..security.policy import policy_of

    validation = _validation_module()
    schemas = _Schemas()
    limits_attr = "_hermetic_rate_limits"
    settings = OpenAPISettings.from_config(app.config)
    rules = _rules(app)
    bearer_routes = any(hasattr(policy_of(view), "scopes") for _, view in rules)
    schemes = _schemes(app, bearer_routes)
    # Login-manager policies accept every scheme the app has (cookie, bearer).
    scheme_names = list(schemes)
    endpoint_count: dict[str, int] = {}
    for rule, _ in rules:
        methods = (rule.methods or set()) - _IGNORED_METHODS
        endpoint_count[rule.endpoint] = endpoint_count.get(rule.endpoint, 0) + len(methods)

    # First pass: register every type so one pydantic call names them all.
    plans = []
    for rule, view in rules:
        models = validation.route_models(view) if validation is not None else None
        keys: dict[str, t.Any] = {"declared": {}}
        status, body_type = declared_success(view, models)
        keys["status"] = status
        if body_type is not None:
            keys["response"] = schemas.add(body_type, "serialization")
        for code, value in (models.responses if models is not None else {}).items():
            if value is not None and not isinstance(value, str):
                keys["declared"][code] = schemas.add(value, "serialization")
        if models is not None:
            if models.body is not None:
                keys["body"] = schemas.add(models.body, "validation")
            if models.query is not None:
                keys["query"] = schemas.add(models.query, "validation")
            if models.path is not None:
                keys["path"] = schemas.add(models.path, "validation")
            keys["path_types"] = {
                name: schemas.add(tp, "validation") for name, tp in models.path_types.items()
            }
        plans.append((rule, view, models, keys))
    schemas.build()

    paths: dict[str, dict[str, t.Any]] = {}
    seen_ids: set[str] = set()
    for rule, view, models, keys in plans:
        policy = policy_of(view)
        path_item = paths.setdefault(openapi_path(rule.rule), {})
        parameters = _parameters(rule, models, keys, schemas)
        doc = (view.__doc__ or "").strip()
        summary, _, description = doc.partition("\n")
        many = endpoint_count[rule.endpoint] > 1
        for method in sorted((rule.methods or set()) - _IGNORED_METHODS):
            if method.lower() in path_item:
                continue  # an earlier rule for the same path and method wins
            op: dict[str, t.Any] = {
                "operationId": _operation_id(rule.endpoint, method, seen_ids, many)
            }
            if "." in rule.endpoint:
                op["tags"] = [rule.endpoint.rpartition(".")[0]]
            if summary:
                op["summary"] = summary.strip()
            if description.strip():
                op["description"] = description.strip()
            if parameters:
                op["parameters"] = parameters
            responses = declared_responses(models, keys, schemas)
            if "body" in keys:
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": schemas.get(keys["body"])}},
                }
                for code in ("400", "413", "415"):
                    responses[code] = _problem("Problem", code)
            if models is not None:
                responses["422"] = _problem("ValidationProblem", "422")
            security = _security(policy, scheme_names)
            if security is not None and policy is not None:
                op["security"] = security
                op["x-hermetic-policy"] = policy.describe()
                if security:
                    responses["401"] = _problem("Problem", "401")
                if policy.all_of or policy.any_of or getattr(policy, "scopes", None):
                    responses["403"] = _problem("Problem", "403")
            if getattr(view, limits_attr, None) or _rate_limited(app, rule.endpoint):
                responses["429"] = _problem("Problem", "429")
            op["responses"] = dict(sorted(responses.items()))
            path_item[method.lower()] = op

    components: dict[str, t.Any] = {
        "schemas": {
            **schemas.definitions,
            "Problem": PROBLEM_SCHEMA,
            "ValidationProblem": VALIDATION_PROBLEM_SCHEMA,
        },
        "securitySchemes": schemes,
    }
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title or settings.api_title or app.name,
            "version": version or settings.api_version,
        },
        "paths": paths,
        "components": components,
    }


def _parameters(
    rule: Rule, models: t.Any, keys: dict[str, t.Any], schemas: _Schemas
) -> list[dict[str, t.Any]]:
    params = []
    path_fields: dict[str, t.Any] = {}
    if "path" in keys:
        path_fields = schemas.object_schema(keys["path"]).get("properties", {})
    typed = keys.get("path_types", {})
    for name in _VARIABLE.findall(rule.rule):
        if name in path_fields:
            schema = path_fields[name]
        else:
            schema = converter_schema(rule._converters.get(name))
            if name in typed:
                annotated = schemas.get(typed[name])
                # The converter's bounds stay when both describe the same type.
                if annotated.get("type") == schema.get("type"):
                    schema = {**schema, **annotated}
                else:
                    schema = annotated
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    if "query" in keys:
        query = schemas.object_schema(keys["query"])
        required = set(query.get("required", ()))
        for name, schema in query.get("properties", {}).items():
            param: dict[str, t.Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": schema,
            }
            if schema.get("type") == "array":
                param["explode"] = True
            params.append(param)
    return params
