"""``@validate``: what a route declares, prepared once, applied per request."""

from __future__ import annotations

import functools
import inspect
import typing as t
from dataclasses import dataclass, field

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import SchemaSerializer, SchemaValidator
from werkzeug.wrappers import Response as _BaseResponse

from ...globals import _cv_app, _cv_request
from ._body import count_failure, json_message, read_json
from ._body_route import body_only_view
from ._errors import (
    MAX_ERRORS,
    REASON_INVALID,
    REASON_MALFORMED_JSON,
    MalformedJSON,
    RequestValidationError,
    field_errors,
    refuse_response,
)
from ._hints import resolve_hints

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


#: The view attribute holding the route's :class:`RouteModels` (read by OpenAPI).
VALIDATION_ATTR = "_hermetic_validation"
_SEQUENCE_ORIGINS = (list, tuple, set, frozenset)


@dataclass(frozen=True)
class RouteModels:
    """What ``@validate`` declared for a view (read by :mod:`hermetic.openapi`)."""

    body: t.Any = None
    query: type[BaseModel] | None = None
    path: type[BaseModel] | None = None
    response: t.Any = None
    status: int = 200
    #: Other declared responses: status -> description (str), type, or ``None``.
    responses: t.Mapping[int, t.Any] = field(default_factory=dict)
    #: Annotated URL variables coerced one by one: name -> type.
    path_types: t.Mapping[str, t.Any] = field(default_factory=dict)
    body_arg: str | None = None
    query_arg: str | None = None
    path_arg: str | None = None


def _is_model(value: t.Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _plan(
    view: t.Callable[..., t.Any],
    body: t.Any,
    query: type[BaseModel] | None,
    path: type[BaseModel] | None,
    response: t.Any,
    status: int | None,
    responses: t.Any = None,
) -> RouteModels:
    from ...openapi._status import annotated_status, check_responses, success_status

    declared = check_responses(responses, f"@validate on {view.__qualname__}")
    status = success_status(status, declared, view)
    if response is None:
        # -> tuple[NoteOut, Literal[201]] declares the response model too.
        found = annotated_status(view)
        if found is not None and _is_model(found[1]):
            response = found[1]
    params = inspect.signature(view).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    hints = resolve_hints(view, (body, query, path, response))
    hints.pop("return", None)
    body_arg = query_arg = path_arg = None
    path_types: dict[str, t.Any] = {}
    for name, ann in hints.items():
        if _is_model(ann) and ann is query:
            query_arg = name
        elif _is_model(ann) and ann is path:
            path_arg = name
        elif _is_model(ann):
            if body is not None and ann is not body:
                raise TypeError(
                    f"{view.__qualname__} takes two body models ({body.__name__} and"
                    f" {ann.__name__}); a request has one body."
                )
            body, body_arg = ann, name
        elif ann is not str and ann is not t.Any and ann != body and ann != query:
            path_types[name] = ann
    for model, arg, default in ((body, body_arg, "body"), (query, query_arg, "query")):
        if model is not None and arg is None and default not in params and not takes_any:
            raise TypeError(
                f"{view.__qualname__} has no parameter for its {default} model: add a"
                f" parameter annotated with it or named {default!r}."
            )
    return RouteModels(
        body=body,
        query=query,
        path=path,
        response=response,
        status=status,
        responses=declared,
        path_types=path_types,
        body_arg=body_arg or ("body" if body is not None else None),
        query_arg=query_arg or ("query" if query is not None else None),
        path_arg=path_arg,
    )


def _adapter(tp: t.Any, what: str) -> TypeAdapter[t.Any]:
    try:
        return TypeAdapter(tp)
    except Exception as e:
        raise TypeError(f"@validate cannot validate {what} of type {tp!r}: {e}") from None


def _built(adapter: TypeAdapter[t.Any]) -> bool:
    """Tell whether the adapter's core validator and serializer are built (and plain).

    They take the same arguments as the adapter's methods, without its Python
    wrapper. A model whose build is deferred, or a validator wrapped by a
    plugin, keeps going through the adapter.
    """
    return (
        type(adapter.validator) is SchemaValidator and type(adapter.serializer) is SchemaSerializer
    )


_REASON_INVALID_BODY = "invalid_body"


def _body_errors(e: ValidationError) -> list[dict[str, t.Any]]:
    """Return the body's field errors; raise :class:`MalformedJSON` for text that is not JSON."""
    first = e.errors(include_url=False, include_context=False, include_input=False)
    if first and first[0]["type"] == "json_invalid":
        count_failure(REASON_MALFORMED_JSON)
        raise MalformedJSON(json_message(first[0]["msg"]))
    return field_errors(e, "body")


class _Validator:
    """The per-route work of ``@validate``, prepared once at decoration."""

    __slots__ = (
        "models",
        "body",
        "query",
        "path",
        "response",
        "path_types",
        "multi",
        "status",
        "_body_json",
        "_response_validate",
        "_response_dump",
        "_maker",
        "body_only",
    )

    def __init__(self, models: RouteModels) -> None:
        self.models = models
        self.body = _adapter(models.body, "the body") if models.body is not None else None
        self.query = models.query
        self.path = models.path
        self.response = (
            _adapter(models.response, "the response") if models.response is not None else None
        )
        self.path_types = tuple(
            (name, _adapter(tp, f"the URL variable {name!r}"))
            for name, tp in models.path_types.items()
        )
        self.status = models.status
        #: :meth:`makers` of the last answer built.
        self._maker: tuple[t.Any, type, t.Any, t.Any] | None = None
        # The bound methods used per request, looked up once.
        body_json = None
        if self.body is not None:
            body_json = (
                self.body.validator.validate_json if _built(self.body) else self.body.validate_json
            )
        self._body_json: t.Callable[[bytes], t.Any] | None = body_json
        out = self.response
        self._response_validate: t.Callable[..., t.Any] | None
        self._response_dump: t.Callable[..., bytes] | None
        if out is not None and _built(out):
            self._response_validate = out.validator.validate_python
            self._response_dump = out.serializer.to_json
        elif out is not None:
            self._response_validate, self._response_dump = out.validate_python, out.dump_json
        else:
            self._response_validate = self._response_dump = None
        # Query fields that take a list read every value of their key.
        multi: set[str] = set()
        for name, info in (models.query.model_fields if models.query else {}).items():
            origin = t.get_origin(info.annotation) or info.annotation
            if isinstance(origin, type) and issubclass(origin, _SEQUENCE_ORIGINS):
                multi.update((name, info.alias or name))
        self.multi = frozenset(multi)
        #: Only a body to validate: the view is ``_body_route.body_only_view``.
        self.body_only = (
            body_json is not None
            and models.query is None
            and models.path is None
            and not self.path_types
        )

    def inputs(self, kwargs: dict[str, t.Any]) -> dict[str, t.Any]:
        """Validate the request; return the view's keyword arguments."""
        request = _cv_request.get().request
        errors: list[dict[str, t.Any]] = []
        parts: list[str] = []
        if self.path is not None:
            try:
                instance = self.path.model_validate(kwargs)
                if self.models.path_arg is not None:
                    for name in self.path.model_fields:
                        kwargs.pop(name, None)
                    kwargs[self.models.path_arg] = instance
                else:
                    kwargs.update({k: getattr(instance, k) for k in self.path.model_fields})
            except ValidationError as e:
                errors += field_errors(e, "path")
                parts.append("path")
        for name, adapter in self.path_types:
            if name in kwargs:
                try:
                    kwargs[name] = adapter.validate_python(kwargs[name])
                except ValidationError as e:
                    errors += field_errors(e, "path", (name,))
                    if "path" not in parts:
                        parts.append("path")
        if self.query is not None:
            args = request.args
            data = {k: (args.getlist(k) if k in self.multi else args[k]) for k in args}
            try:
                kwargs[self.models.query_arg] = self.query.model_validate(data)  # type: ignore[index]  # query_arg is set when query is
            except ValidationError as e:
                errors += field_errors(e, "query")
                parts.append("query")
        if self._body_json is not None:
            try:
                kwargs[self.models.body_arg] = self._body_json(read_json(request))  # type: ignore[index]  # body_arg is set when the body model is
            except ValidationError as e:
                errors += _body_errors(e)
                parts.append("body")
        if errors:
            reason = f"invalid_{parts[0]}" if len(parts) == 1 else REASON_INVALID
            count_failure(reason)
            raise RequestValidationError(errors[:MAX_ERRORS], reason=reason)
        return kwargs

    def refuse_body(self, e: ValidationError) -> None:
        """:meth:`inputs`' handling of a body that fails validation, for a body-only route.

        Raises the 400 or 422 (``None`` only if pydantic lists no error).
        """
        errors = _body_errors(e)
        if errors:
            count_failure(_REASON_INVALID_BODY)
            raise RequestValidationError(errors[:MAX_ERRORS], reason=_REASON_INVALID_BODY)

    def makers(self, app: t.Any) -> tuple[t.Any, type, t.Any, t.Any]:
        """Return ``(app, response class, maker(data, status, type), maker(data))``.

        The app keeps one maker per response class; the validator remembers the
        last app's. The second maker answers with the route's status and JSON
        (``None`` when only the class itself can build that answer).
        """
        cls = app.response_class
        known = self._maker
        if known is None or known[0] is not app or known[1] is not cls:
            if hasattr(app, "_bytes_maker"):
                general = app._bytes_maker()
                fixed = app._status_maker(self.status, "application/json") if general else None
            else:
                general = fixed = None
            known = self._maker = (app, cls, general, fixed)
        return known

    def output(self, rv: t.Any) -> t.Any:
        """Serialize ``rv`` with the response model and set the status."""
        validate, dump = self._response_validate, self._response_dump
        status: t.Any = self.status
        headers = None
        if type(rv) is dict and validate is not None and dump is not None:
            pass  # the usual answer, a plain dict for the response model: no tuple to unpack
        elif isinstance(rv, _BaseResponse):
            return rv
        elif self.response is None and status == 200 and not isinstance(rv, tuple):
            return rv
        else:
            if isinstance(rv, tuple):
                if len(rv) == 3:
                    rv, status, headers = rv
                elif len(rv) == 2:
                    if isinstance(rv[1], (int, str)):
                        rv, status = rv
                    else:
                        rv, headers = rv
            if validate is None or dump is None:  # no response model
                return (rv, status, headers) if headers is not None else (rv, status)
        try:
            body = dump(validate(rv, from_attributes=True))
        except ValidationError as e:
            refuse_response(e)
        app, cls, maker, _ = self.makers(_cv_app.get().app)
        if maker is not None:
            response = maker(body, status, "application/json")
        else:
            # content_type, not mimetype: no charset to work out for JSON.
            response = cls(body, status=status, content_type="application/json")
        if headers is not None:
            response.headers.update(headers)
        return response


def validate(
    view: F | None = None,
    /,
    *,
    body: t.Any = None,
    query: type[BaseModel] | None = None,
    path: type[BaseModel] | None = None,
    response: t.Any = None,
    status: int | None = None,
    responses: t.Mapping[int, t.Any] | None = None,
) -> t.Any:
    """Validate a view's body, query and URL variables, and filter its response.

    :param body: the JSON body's type (usually a ``BaseModel``); default: the
        type of a parameter annotated with a ``BaseModel`` subclass, if any.
    :param query: a model for the query string; default ``None``.
    :param path: a model for the URL variables; default ``None`` (annotated
        parameters are coerced one by one).
    :param response: the type the return value is validated and serialized
        with; fields it does not declare are dropped; default ``None``: the
        model of a return annotation ``-> tuple[Model, Literal[201]]``, else
        the return value is left alone.
    :param status: the success status; default: the lowest 2xx code of
        ``responses``, else the ``Literal`` status of a return annotation
        ``-> tuple[Body, Literal[201]]``, else ``200``. The OpenAPI document
        shows the same status.
    :param responses: more responses for the OpenAPI document: ``{status:
        description, model class or None}``; default ``None``.
    """

    def decorator(view: F) -> F:
        models = _plan(view, body, query, path, response, status, responses)
        validator = _Validator(models)
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(**kwargs: t.Any) -> t.Any:
                return validator.output(await view(**validator.inputs(kwargs)))

            wrapper: t.Any = async_wrapper
        elif validator.body_only:
            wrapper = body_only_view(view, validator)
        else:

            @functools.wraps(view)
            def wrapper(**kwargs: t.Any) -> t.Any:
                return validator.output(view(**validator.inputs(kwargs)))

        setattr(wrapper, VALIDATION_ATTR, models)
        return t.cast(F, wrapper)

    if view is not None:
        return decorator(view)
    return decorator


def route_models(view: t.Callable[..., t.Any] | None) -> RouteModels | None:
    """Return what ``@validate`` declared for ``view``, or ``None``."""
    return getattr(view, VALIDATION_ATTR, None)
