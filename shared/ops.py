"""What ops teams need from every service: health, readiness, metrics, the API document."""
import logging

from kombu import Connection
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from shared import metrics
from shared.storage import is_reachable, open_database
from shared.routes import route

log = logging.getLogger(__name__)


def broker_reachable(amqp_uri):
    """True when a node of ``amqp_uri`` accepts a connection now. One try per listed node and
    no sleeping between them: during an outage /ready answers 503 at once, not after kombu's
    retry intervals."""
    try:
        with Connection(amqp_uri, connect_timeout=2) as connection:
            nodes = len(connection.alt) or 1  # a node list fails over to the next on a retry
            connection.ensure_connection(max_retries=nodes - 1, interval_start=0,
                                         interval_step=0)
        return True
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        log.warning("broker is not reachable: %r", exc)
        return False


class Readiness(DependencyProvider):
    """Injects a callable answering {"broker": bool, "storage": bool}."""

    def setup(self):
        self.amqp_uri = self.container.config["AMQP_URI"]
        self.database = open_database(self.container.config, self.container.service_name)

    def get_dependency(self, worker_ctx):
        return lambda: {"broker": broker_reachable(self.amqp_uri),
                        "storage": is_reachable(self.database)}


class OpsEndpoints:
    """Mixed into every service class (through ``shared.service_base.Service``). Needs
    ``auth`` (``ApiKeyAuth``), ``readiness`` (``Readiness``) and ``openapi_document`` (a dict)
    on the service. Not part of the API document: these are for operators and probes."""

    name = None
    openapi_document = None

    @route("GET", "/health", documented=False)
    def health(self, request):
        return {"status": "ok", "service": self.name}

    @route("GET", "/ready", documented=False, answers={200: None, 503: None})
    def ready(self, request):
        checks = self.readiness()
        metrics.record_readiness(self.name, checks)
        status = 200 if all(checks.values()) else 503
        return {"ready": status == 200, "checks": checks}, status

    @route("GET", "/metrics", documented=False, roles=("ops",))
    def metrics(self, request, principal):
        metrics.record_readiness(self.name, self.readiness())
        body, content_type = metrics.exposition()
        return Response(body, status=200, content_type=content_type)

    @route("GET", "/openapi.json", documented=False)
    def openapi(self, request):
        return self.openapi_document
