"""Request ids, the access log and request metrics: one shield around the rest."""

from __future__ import annotations

import json
import logging
import re
import time
import typing as t

from ...settings import SettingsError
from ..audit import REQUEST_ID_KEY, request_id
from ..errors import ConfigurationError
from ..shields import Shield
from ._metrics import EXTENSION_KEY, Metrics, MetricsGuard, count_audit_events
from ._settings import ObservabilitySettings

if t.TYPE_CHECKING:  # pragma: no cover
    from prometheus_client import CollectorRegistry

    from ...app import Flask
    from ...wrappers import Request, Response

access_logger = logging.getLogger("hermetic.access")

#: The pipeline position: first, so its ``after`` step runs last and the
#: duration covers every other shield.
ORDER_OBSERVABILITY = 1
#: The environ key holding the request's start time (``time.perf_counter``).
START_KEY = "hermetic.start"
#: A request id taken from a client: 1 to 128 of these characters.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,128}")
#: Longest path written to the access log.
MAX_LOGGED_PATH = 1024
#: The view attribute that keeps a route out of the OpenAPI document.
OPENAPI_HIDDEN_ATTR = "_hermetic_openapi_hidden"


def _environ_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def _proxies_trusted(config: t.Mapping[str, t.Any]) -> bool:
    from ..proxies import ProxySettings

    return any(ProxySettings.from_config(config).proxy_hops.values())


def _enable_access_log() -> None:
    """Make ``hermetic.access`` records reach a handler (stderr if none is set up)."""
    if access_logger.level == logging.NOTSET and not access_logger.isEnabledFor(logging.INFO):
        access_logger.setLevel(logging.INFO)
    if not access_logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_logger.addHandler(handler)


class ObservabilityShield(Shield):
    """Time every request, give it an id, count it and log it.

    Settings (:class:`ObservabilitySettings`, read once per app by the pipeline):

    - ``REQUEST_ID_HEADER`` -- default ``"X-Request-ID"``: the header echoed
      on every response, and accepted from a trusted proxy.
    - ``REQUEST_ID_TRUSTED`` -- default ``False``: accept the client's request
      id even without ``TRUSTED_PROXY_HOPS``. Only ids of 1-128 characters
      ``[A-Za-z0-9._-]`` are ever accepted; others are replaced.
    - ``ACCESS_LOG_ENABLED`` -- default ``True``: one JSON line per request
      on the ``hermetic.access`` logger.
    - ``METRICS_TOKEN`` -- default ``None``: a bearer token that may read
      ``METRICS_PATH``.
    - ``METRICS_ALLOWED_NETWORKS`` -- default loopback only: networks that
      may read it without a token.

    .. warning::
        ``REQUEST_ID_TRUSTED`` lets any client choose the id that ties log
        lines and audit events together; turn it on only behind a proxy that
        sets or strips the header.
    """

    name = "observability"
    order = ORDER_OBSERVABILITY
    exemptable = False
    settings_class = ObservabilitySettings
    settings: ObservabilitySettings

    def __init__(self, app: Flask, metrics: Metrics) -> None:
        self._app = app
        self.metrics = metrics
        self._environ_key = ""
        self._trust_header = False
        self._guard = MetricsGuard(None, ())

    def setup(self, app: Flask, settings: ObservabilitySettings) -> None:
        """Prepare the request id header, the trust in it and the metrics guard."""
        self._environ_key = _environ_key(settings.request_id_header)
        # The proxy shield's own setting: a trusted proxy sets the request id.
        self._trust_header = settings.request_id_trusted or _proxies_trusted(app.config)
        self._guard = MetricsGuard(settings.metrics_token, settings.metrics_allowed_networks)
        if settings.access_log_enabled:
            _enable_access_log()

    def prepare(self, environ: dict[str, t.Any]) -> None:
        """Stamp the start time; take a trusted, well-formed request id."""
        environ[START_KEY] = time.perf_counter()
        if self._trust_header and REQUEST_ID_KEY not in environ:
            value = environ.get(self._environ_key)
            # SECURITY: a strict pattern and length: the id lands in logs and
            # response headers, so no CR/LF, spaces or quotes can ride along.
            if value and REQUEST_ID_PATTERN.fullmatch(value):
                environ[REQUEST_ID_KEY] = value

    def after(self, request: Request, response: Response) -> Response:
        """Echo the request id, count the request, write the access log line."""
        environ = request.environ
        settings = self.settings
        rid = request_id(environ)
        response.headers[settings.request_id_header] = rid
        start = environ.get(START_KEY)
        seconds = time.perf_counter() - start if start is not None else 0.0
        rule = request.url_rule
        route = rule.rule if rule is not None else None
        status = response.status_code
        self.metrics.observe(request.method, route, status, seconds)
        if settings.access_log_enabled and access_logger.isEnabledFor(logging.INFO):
            path = request.path
            record = {
                "ts": round(time.time(), 3),
                "request_id": rid,
                "method": request.method,
                "path": path if len(path) <= MAX_LOGGED_PATH else path[:MAX_LOGGED_PATH] + "...",
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "ip": request.remote_addr,
                "user": environ.get("hermetic.user_id"),
                "bytes": response.content_length,
            }
            # ensure_ascii escapes CR, LF and every control character.
            line = json.dumps(record, ensure_ascii=True, default=str, separators=(",", ":"))
            access_logger.info("%s", line, extra={"access": record})
        return response

    def serve_metrics(self) -> Response:
        """Answer ``METRICS_PATH``: the exposition text, for allowed readers only."""
        from ...globals import _cv_request

        ctx = _cv_request.get()
        self._guard.check(ctx.request)
        body, content_type = self.metrics.render()
        return ctx.app.response_class(body, content_type=content_type)


class Observability:
    """Request ids, a JSON access log and Prometheus metrics for an app.

    ``Observability(app)`` or ``Observability().init_app(app)``. Adds the
    :class:`ObservabilityShield` to the pipeline and, unless
    ``METRICS_ENABLED`` is false (default ``True``), a ``GET`` route at
    ``METRICS_PATH`` (default ``"/metrics"``) guarded by ``METRICS_TOKEN``
    or ``METRICS_ALLOWED_NETWORKS``. Both are read at ``init_app``.

    :param registry: the Prometheus registry; default: a new one per app.
    :param buckets: the duration histogram's buckets, in seconds.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        registry: CollectorRegistry | None = None,
        buckets: t.Sequence[float] | None = None,
    ) -> None:
        self.registry = registry
        self.buckets = buckets
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> ObservabilityShield:
        """Install the shield, the metrics and the metrics route on ``app``."""
        if self.buckets is not None:
            metrics = Metrics(self.registry, self.buckets)
        else:
            metrics = Metrics(self.registry)
        try:
            # The route is added now, so its settings are read now; this also
            # stops the app at start-up on any bad setting. The shield reads
            # them (again) when the pipeline configures it.
            settings = ObservabilitySettings.from_config(app.config)
        except SettingsError as e:
            raise ConfigurationError(str(e)) from e
        shield = ObservabilityShield(app, metrics)
        shield.init_app(app)
        app.extensions[EXTENSION_KEY] = metrics
        app.extensions["hermetic.observability"] = shield
        count_audit_events()
        if settings.metrics_enabled:
            _add_metrics_route(app, shield, settings.metrics_path)
        return shield


def _add_metrics_route(app: Flask, shield: ObservabilityShield, path: str) -> None:
    from ..policy import public
    from ..shields import exempt

    def metrics() -> Response:
        """Serve the Prometheus metrics."""
        return shield.serve_metrics()

    # The guard is its own authorization: public to the policy layer,
    # no CSRF on a GET, kept out of the API description.
    view = exempt("csrf")(public(metrics))
    setattr(view, OPENAPI_HIDDEN_ATTR, True)
    app.add_url_rule(path, "hermetic_metrics", view, methods=["GET"])
