"""Broker topology and the reliable event handler every consumer uses.

Topology (declared from the event catalogue by each service at start, before it publishes):
- ``<producer>.events`` topic exchanges, with the alternate exchange ``pcn.unrouted`` so that
  an event no queue is bound for is kept in the ``pcn.unrouted`` queue, never dropped;
- every consumer queue of the catalogue, named and declared exactly as nameko's
  ``event_handler`` declares it, so events published before a consumer first starts wait for it;
- retry: one queue per delay (``pcn.retry.<ms>ms``, message TTL = the delay) that dead-letters
  back through the default exchange to the queue named by the message's routing key;
- dead letters: exchange ``pcn.dead-letter``; each handler declares ``<queue>.dead-letter``
  for its queue when it starts.

Every queue is a quorum queue (replicated on a cluster, ``x-queue-type: quorum``), and each one is
declared with the same arguments wherever it is declared, or RabbitMQ refuses the second
declaration (PRECONDITION_FAILED). A consumer queue has ``x-delivery-limit`` as a backstop: a
message redelivered that often (a handler that kills its process every time) goes to its
dead-letter queue instead of looping. Broker dead-lettering (retry TTL expiry, the delivery
limit) is ``at-least-once``, so a message in flight between two queues survives a node failure.
``tools/migrate_queues.py`` turns an existing broker's classic queues into these.

``event_handler`` wraps nameko's: it validates the envelope, skips event ids the handler has
applied already (recorded under a unique index), and on failure publishes the message to the
next retry delay, or after the last one to the dead-letter queue, then acks. nameko's default
(ack and drop) and ``requeue_on_error`` (a hot loop) are both avoided. When the broker goes away
mid-handler, an ack, requeue or retry/dead-letter publish that fails on the lost connection is
logged and left: the broker redelivers the message once nameko's consumer has reconnected, and
the dedupe makes that safe (the error, raised, would kill the service).

Who consumes what is stated once, in the catalogue (a row's ``consumers`` and its
``SUBSCRIPTIONS`` patterns, as ``"<service>.<method>"``). A service marks the method with
``@catalogued_handler``, and ``handle_catalogued_events`` (run by ``shared.service_base.Service``
for each service class) gives it one ``event_handler`` (and queue) per event type the catalogue
names for it, so each type has all of the above and the topology declares the same queues.
"""
import functools
import logging
import traceback
from contextlib import contextmanager

import amqp.exceptions
import kombu.exceptions
from kombu import Connection, Exchange, Queue
from marshmallow import ValidationError
from nameko.amqp.publish import Publisher
from nameko.events import EventHandler
from nameko.extensions import DependencyProvider

from shared import metrics
from shared.broker_uris import mask_passwords_in
from shared.events.catalogue import (
    CATALOGUE, consumer_queues, producers, validate_envelope,
)
from shared.storage import DuplicateKeyError, open_database

log = logging.getLogger(__name__)

# What acking, requeueing or publishing raises when the broker connection is gone: a reset or
# closed socket surfaces as an OSError (ConnectionResetError, BrokenPipeError), a closed
# connection or channel as py-amqp's errors, a failed kombu reconnect as its OperationalError.
# nameko's ack_message catches only amqp.exceptions.ConnectionError.
BROKER_CONNECTION_ERRORS = (OSError, amqp.exceptions.AMQPError, kombu.exceptions.KombuError)

UNROUTED = "pcn.unrouted"
DEAD_LETTER_EXCHANGE = "pcn.dead-letter"
ATTEMPT_HEADER = "x-pcn-attempt"
DEFAULT_RETRY_DELAYS_MS = (1000, 5000, 30000)
APPLIED_EVENTS = "applied_events"


def retry_delays(config):
    return tuple(int(ms) for ms in config.get("EVENT_RETRY_DELAYS_MS", DEFAULT_RETRY_DELAYS_MS))


def retry_exchange_name(delay_ms):
    return f"pcn.retry.{delay_ms}ms"


def dead_letter_queue_name(queue_name):
    return f"{queue_name}.dead-letter"


def events_exchange(producer):
    """``<producer>.events``, declared by us (nameko's own declaration is switched off with
    ``DECLARE_EVENT_EXCHANGES: false``) because only we add the alternate exchange."""
    return Exchange(f"{producer}.events", type="topic", durable=True,
                    arguments={"alternate-exchange": UNROUTED})


# Redeliveries of one message (consumer crashes, lost connections) before the broker gives up
# on it and dead-letters it; far above what broker restarts cause, so it only stops poison loops.
DELIVERY_LIMIT = 20
QUORUM = {"x-queue-type": "quorum"}
# At-least-once dead-lettering (RabbitMQ >= 3.10) needs reject-publish overflow; no queue here
# has a length limit, so overflow never happens and the setting only enables the strategy.
AT_LEAST_ONCE_DEAD_LETTERING = {"x-dead-letter-strategy": "at-least-once",
                                "x-overflow": "reject-publish"}


def consumer_queue_arguments(queue_name):
    """The arguments of a consumer queue: quorum, with the delivery limit as a backstop that
    dead-letters to ``<queue>.dead-letter``."""
    return {**QUORUM, **AT_LEAST_ONCE_DEAD_LETTERING, "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": queue_name}


def retry_queue_arguments(delay_ms):
    """A retry queue holds each message ``delay_ms`` and then dead-letters it through the
    default exchange to the queue its routing key names (quorum queues keep TTL since 3.10)."""
    return {**QUORUM, **AT_LEAST_ONCE_DEAD_LETTERING, "x-message-ttl": delay_ms,
            "x-dead-letter-exchange": ""}


# No delivery limit on dead-letter queues: ``tools.dead_letters list`` reads and returns their
# messages, and each return counts as a delivery; a limit would drop dead letters there.
DEAD_LETTER_QUEUE_ARGUMENTS = QUORUM
UNROUTED_QUEUE_ARGUMENTS = QUORUM


def consumer_queue(queue_name, producer, event_type):
    """The queue ``event_handler`` consumes from (named as nameko names a SERVICE_POOL handler's
    queue), with the same arguments wherever it is declared."""
    return Queue(queue_name, exchange=Exchange(f"{producer}.events", type="topic", durable=True,
                                               no_declare=True),
                 routing_key=event_type, durable=True, auto_delete=False, exclusive=False,
                 queue_arguments=consumer_queue_arguments(queue_name))


def retry_queue(delay_ms):
    exchange = Exchange(retry_exchange_name(delay_ms), type="topic", durable=True)
    return Queue(retry_exchange_name(delay_ms), exchange=exchange, routing_key="#", durable=True,
                 queue_arguments=retry_queue_arguments(delay_ms))


def dead_letter_queue(queue_name):
    return Queue(dead_letter_queue_name(queue_name),
                 exchange=Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True),
                 routing_key=queue_name, durable=True,
                 queue_arguments=DEAD_LETTER_QUEUE_ARGUMENTS)


def unrouted_queue():
    return Queue(UNROUTED, exchange=Exchange(UNROUTED, type="fanout", durable=True), durable=True,
                 queue_arguments=UNROUTED_QUEUE_ARGUMENTS)


class TopologyMismatch(RuntimeError):
    """A queue exists with other arguments than ours: the broker answered PRECONDITION_FAILED."""


@contextmanager
def explain_mismatch():
    """Turn PRECONDITION_FAILED into an error that says what to do about it."""
    try:
        yield
    except amqp.exceptions.PreconditionFailed as exc:
        raise TopologyMismatch(
            f"{exc}. The broker holds a queue declared with other arguments, such as a classic "
            f"queue of a release before quorum queues: stop the services and run "
            f"`python -m tools.migrate_queues --amqp <AMQP_URI>` (see its --dry-run)") from exc


def declare_topology(amqp_uri, delays_ms=DEFAULT_RETRY_DELAYS_MS, catalogue=CATALOGUE):
    """Declare everything the event flow needs; idempotent, safe to run at every start."""
    with explain_mismatch(), Connection(amqp_uri, connect_timeout=5) as connection:
        channel = connection.channel()
        unrouted_queue()(channel).declare()
        for producer in producers(catalogue):
            events_exchange(producer)(channel).declare()
        dead_letters = Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True)
        dead_letters(channel).declare()
        for event, _, queue_name in consumer_queues(catalogue):
            consumer_queue(queue_name, event.producer, event.name)(channel).declare()
        for delay_ms in delays_ms:
            retry_queue(delay_ms)(channel).declare()
        channel.close()


def declare_dead_letter_queue(amqp_uri, queue_name):
    """The dead-letter queue of a consumer queue (declared by its handler at start)."""
    with explain_mismatch(), Connection(amqp_uri, connect_timeout=5) as connection:
        channel = connection.channel()
        dead_letter_queue(queue_name)(channel).declare()
        channel.close()


class BrokerTopology(DependencyProvider):
    """Declares the topology of ``catalogue`` (default: the catalogue) in ``setup()``, before
    any entrypoint consumes or publishes."""

    def __init__(self, catalogue=None):
        self.catalogue = catalogue

    def setup(self):
        config = self.container.config
        mask_passwords_in("nameko.messaging")  # AMQP_URI may list several nodes' passwords
        declare_topology(config["AMQP_URI"], retry_delays(config),
                         catalogue=self.catalogue or CATALOGUE)

    def get_dependency(self, worker_ctx):
        return None


class AppliedEvents:
    """The event ids each handler has applied, in the consuming service's own database."""

    def __init__(self, database):
        self.collection = database[APPLIED_EVENTS]
        self.collection.create_index([("handler", 1), ("event_id", 1)], unique=True)

    def seen(self, handler, event_id):
        return self.collection.find_one({"handler": handler, "event_id": event_id}) is not None

    def record(self, handler, event_id, applied_at):
        try:
            self.collection.insert_one(
                {"handler": handler, "event_id": event_id, "applied_at": applied_at})
        except DuplicateKeyError:
            pass  # a concurrent redelivery recorded it first


class ReliableEventHandler(EventHandler):
    """nameko's ``event_handler`` with envelope checks, deduplication, retries, dead letters.

    The decorated method receives the validated envelope (``data`` loaded by its schema).
    """

    def setup(self):
        super().setup()
        # nameko declares its queue without arguments; ours must match the topology's.
        self.queue = consumer_queue(self.queue.name, self.source_service, self.event_type)
        config = self.container.config
        self.handler_name = f"{self.container.service_name}.{self.method_name}"
        self.delays_ms = retry_delays(config)
        self.applied = AppliedEvents(open_database(config, self.container.service_name))
        self.publisher = Publisher(config["AMQP_URI"], serializer="json", mandatory=True)
        declare_dead_letter_queue(config["AMQP_URI"], self.queue.name)

    def _labels(self):
        return self.container.service_name, self.handler_name, self.event_type

    def handle_message(self, body, message):
        try:
            envelope = validate_envelope(body)
        except ValidationError as exc:
            self._dead_letter(body, message, f"invalid envelope: {exc.messages}")
            return
        if self.applied.seen(self.handler_name, str(envelope["event_id"])):
            metrics.EVENTS_DEDUPLICATED.labels(*self._labels()).inc()
            self._settle("ack", message)
            return
        message.pcn_envelope = envelope
        try:
            super().handle_message(envelope, message)
        except BROKER_CONNECTION_ERRORS as exc:  # a requeue while the container is being killed
            self._left_to_redelivery("requeue", exc)

    def handle_message_processed(self, message, result=None, exc_info=None):
        envelope = message.pcn_envelope
        if exc_info is None:
            self.applied.record(self.handler_name, str(envelope["event_id"]),
                                envelope["occurred_at"])
            metrics.EVENTS_CONSUMED.labels(*self._labels()).inc()
            self._settle("ack", message)
            return
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 0))
        error = "".join(traceback.format_exception_only(exc_info[0], exc_info[1])).strip()
        if attempt < len(self.delays_ms):
            try:
                self.publisher.publish(
                    message.payload, exchange=retry_exchange_name(self.delays_ms[attempt]),
                    routing_key=self.queue.name,
                    headers={**(message.headers or {}), ATTEMPT_HEADER: attempt + 1,
                             "x-pcn-last-error": error[:1000]})
            except Exception as exc:  # broker trouble: give the message back, lose nothing
                log.warning("could not schedule a retry of %s: %r", self.handler_name, exc)
                self._settle("requeue", message)
                return
            metrics.EVENTS_RETRIED.labels(*self._labels()).inc()
            self._settle("ack", message)
        else:
            self._dead_letter(message.payload, message, error)

    def _dead_letter(self, body, message, reason):
        log.error("%s dead-letters a message after %s attempts: %s", self.handler_name,
                  (message.headers or {}).get(ATTEMPT_HEADER, 0), reason)
        try:
            self.publisher.publish(
                body, exchange=DEAD_LETTER_EXCHANGE, routing_key=self.queue.name,
                headers={**(message.headers or {}), "x-pcn-dead-letter-reason": reason[:1000],
                         "x-pcn-handler": self.handler_name})
        except Exception as exc:
            log.warning("could not dead-letter a message of %s: %r", self.handler_name, exc)
            self._settle("requeue", message)
            return
        metrics.EVENTS_DEAD_LETTERED.labels(*self._labels()).inc()
        self._settle("ack", message)

    def _settle(self, action, message):
        """Ack or requeue ``message``. On a lost connection the broker has already taken the
        message back and redelivers it once nameko's consumer reconnects; the dedupe makes that
        safe, so the error is logged, not raised (raised, it would kill the container)."""
        settle = (self.queue_consumer.ack_message if action == "ack"
                  else self.queue_consumer.requeue_message)
        try:
            settle(message)
        except BROKER_CONNECTION_ERRORS as exc:
            self._left_to_redelivery(action, exc)

    def _left_to_redelivery(self, action, exc):
        metrics.EVENTS_LEFT_TO_REDELIVERY.labels(*self._labels()).inc()
        log.warning("%s could not %s a message (%r): the broker redelivers it", self.handler_name,
                    action, exc)


event_handler = ReliableEventHandler.decorator


def catalogued_handler(method):
    """Mark ``method`` as the handler of the event types the catalogue names for it
    (``"<service>.<method>"`` among a row's ``consumers`` or a ``Subscription``); the service
    class gets its ``event_handler``s from :func:`handle_catalogued_events`."""
    method.catalogued_handler = True
    return method


def handle_catalogued_events(service_cls, catalogue=CATALOGUE, **options):
    """Give every ``@catalogued_handler`` method of ``service_cls`` (whose ``name`` is the
    service's) one reliable ``event_handler`` per event type the catalogue names for it, with
    that type's own queue as the topology declares it: envelope checks, dedupe on the event id
    (across all its types, under the one handler name), retries, a dead-letter queue.

    Drift is a ``TypeError`` when the class is made: a marked method the catalogue does not
    name, or a consumer of this service in the catalogue with no marked method."""
    marked = {name for name in dir(service_cls)
              if getattr(getattr(service_cls, name), "catalogued_handler", False)}
    consumed = {}
    for event in catalogue:
        for consumer in event.consumers:
            service, _, method_name = consumer.partition(".")
            if service == service_cls.name:
                consumed.setdefault(method_name, []).append(event)
    if marked - set(consumed):
        raise TypeError(f"{service_cls.__name__}: the catalogue names no event for "
                        f"{', '.join(sorted(marked - set(consumed)))} (add it to a row's "
                        f"consumers or to SUBSCRIPTIONS in shared/events/catalogue.py)")
    if set(consumed) - marked:
        raise TypeError(f"{service_cls.__name__}: the catalogue names consumers with no "
                        f"@catalogued_handler method: "
                        f"{', '.join(sorted(set(consumed) - marked))}")
    for method_name, events in consumed.items():
        # A copy per class: nameko keeps entrypoints on the function, and a function shared
        # by several classes (the key replica's, a subclass's) must not collect theirs.
        handler = functools.wraps(getattr(service_cls, method_name), updated=())(
            _calling(getattr(service_cls, method_name)))
        handler.catalogued_handler = True
        for event in events:
            handler = event_handler(event.producer, event.name, **options)(handler)
        setattr(service_cls, method_name, handler)


def _calling(function):
    def handler(self, *args, **kwargs):
        return function(self, *args, **kwargs)
    return handler
