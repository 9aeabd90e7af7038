"""Prometheus metrics every service exports, and the provider that times every entrypoint.

The metric objects are module-level, as prometheus-client intends: the registry is
process-wide and the ``service`` label tells services apart.
"""
import logging
import time

from nameko.extensions import DependencyProvider
from prometheus_client import (
    CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

ENTRYPOINT_CALLS = Counter(
    "pcn_entrypoint_calls", "Entrypoint calls by outcome (success, client_error, error).",
    ["service", "entrypoint", "outcome"])
ENTRYPOINT_DURATION = Histogram(
    "pcn_entrypoint_duration_seconds", "Time spent in each entrypoint.",
    ["service", "entrypoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
HTTP_REQUESTS = Counter(
    "pcn_http_requests", "HTTP requests answered, by method and status.",
    ["service", "method", "status"])
EVENTS_PUBLISHED = Counter(
    "pcn_events_published", "Events confirmed by the broker, from the outbox.",
    ["service", "event_type"])
EVENTS_CONSUMED = Counter(
    "pcn_events_consumed", "Events applied by a handler.", ["service", "handler", "event_type"])
EVENTS_DEDUPLICATED = Counter(
    "pcn_events_deduplicated", "Redelivered events a handler had already applied.",
    ["service", "handler", "event_type"])
EVENTS_RETRIED = Counter(
    "pcn_events_retried", "Failed events sent back for a delayed retry.",
    ["service", "handler", "event_type"])
EVENTS_DEAD_LETTERED = Counter(
    "pcn_events_dead_lettered", "Events moved to a dead-letter queue.",
    ["service", "handler", "event_type"])
EVENTS_LEFT_TO_REDELIVERY = Counter(
    "pcn_events_left_to_redelivery",
    "Acks or requeues lost with the broker connection; the broker redelivers those events.",
    ["service", "handler", "event_type"])


class OutboxGauges:
    """``pcn_outbox_backlog`` and ``pcn_outbox_oldest_age_seconds``, read from storage at every
    scrape, so they are true while the broker is down whatever the relay is doing (waiting out
    its backoff, or blocked on a connect or on confirms that will not come).

    A relay ``watch``es its outbox with a function returning ``(events pending, age in seconds
    of the oldest)``; ``record`` sets a reading directly (the relay does after each pass). When
    storage cannot be read, a scrape shows the last reading.
    """

    def __init__(self):
        self._readers = {}  # service label: function returning (pending, oldest age)
        self._readings = {}  # service label: the last (pending, oldest age)

    def watch(self, service, read_backlog):
        self._readers[service] = read_backlog

    def forget(self, service, read_backlog):
        """Stop reading for ``service`` (if ``read_backlog`` is still its reader); the last
        reading stays, as a gauge keeps its value."""
        if self._readers.get(service) == read_backlog:  # the same bound method
            del self._readers[service]

    def record(self, service, pending, oldest_age):
        self._readings[service] = (pending, oldest_age)

    def describe(self):
        return list(self._families({}))

    def collect(self):
        for service, read_backlog in list(self._readers.items()):
            try:
                self._readings[service] = read_backlog()
            except Exception as exc:  # storage down: the last reading stands
                log.debug("cannot read the outbox backlog of %s: %r", service, exc)
        return self._families(self._readings)

    @staticmethod
    def _families(readings):
        backlog = GaugeMetricFamily("pcn_outbox_backlog", "Events waiting in the outbox.",
                                    labels=["service"])
        oldest = GaugeMetricFamily("pcn_outbox_oldest_age_seconds",
                                   "Age of the oldest event waiting in the outbox.",
                                   labels=["service"])
        for service, (pending, oldest_age) in sorted(readings.items()):
            backlog.add_metric([service], pending)
            oldest.add_metric([service], oldest_age)
        return [backlog, oldest]


OUTBOX_GAUGES = OutboxGauges()
REGISTRY.register(OUTBOX_GAUGES)
# Prometheus reads /metrics, not /ready: each scrape (and each /ready call) sets this gauge
# from the same checks, so an alert can see a service that runs but is not ready.
READINESS_CHECK = Gauge(
    "pcn_readiness_check", "1 when the /ready check passes, 0 when it fails.",
    ["service", "check"])


def outcome_of(exc_info):
    if exc_info is None:
        return "success"
    status = getattr(exc_info[1], "status", 500)
    return "client_error" if status < 500 else "error"


class EntrypointMetrics(DependencyProvider):
    """Counts and times every entrypoint of the service it is declared on."""

    def __init__(self):
        self.started = {}

    def worker_setup(self, worker_ctx):
        self.started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self.started.pop(worker_ctx, None)
        service = self.container.service_name
        entrypoint = worker_ctx.entrypoint.method_name
        ENTRYPOINT_CALLS.labels(service, entrypoint, outcome_of(exc_info)).inc()
        if started is not None:
            ENTRYPOINT_DURATION.labels(service, entrypoint).observe(time.perf_counter() - started)

    def get_dependency(self, worker_ctx):
        return self


def record_readiness(service, checks):
    """Set ``pcn_readiness_check`` from /ready's checks ({"broker": bool, "storage": bool})."""
    for check, passed in checks.items():
        READINESS_CHECK.labels(service, check).set(1 if passed else 0)


def exposition():
    """(body, content type) of every metric, in Prometheus text format."""
    return generate_latest(), CONTENT_TYPE_LATEST
