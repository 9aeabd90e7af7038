"""Fault logic without a broker: what the event handler does when an ack, a requeue or a publish
meets a dead connection, and how the outbox relay behaves (backoff, gauges, logs) in an outage.

The handler tests go through nameko's own ``QueueConsumer.ack_message``/``requeue_message``
with a message whose ack raises as py-amqp does on a reset socket, so they fail if nameko's
narrow ``except ConnectionError`` were the only guard.
"""
import logging
import time
from datetime import date
from types import SimpleNamespace

import amqp.exceptions
import eventlet
import kombu.exceptions
import pytest
from nameko.messaging import QueueConsumer
from prometheus_client import REGISTRY

from shared import messaging
from shared.amqp_publisher import PublishFailed
from shared.events.catalogue import make_event
from shared.events.envelope import Trace
from shared.lease import Lease
from shared.messaging import ATTEMPT_HEADER, ReliableEventHandler
from shared.outbox import (
    LEASES, RELAY, BrokerSink, Outbox, OutboxRelay, OutboxRelayRunner, RelayBackoff, new_document,
)
from shared.storage import open_database

LOST_CONNECTION_ERRORS = [
    ConnectionResetError(104, "Connection reset by peer"),
    BrokenPipeError(32, "Broken pipe"),
    OSError("Socket closed"),
    amqp.exceptions.RecoverableConnectionError("connection already closed"),
    amqp.exceptions.ConnectionForced("CONNECTION_FORCED - broker forced connection closure"),
    kombu.exceptions.OperationalError("[Errno 111] Connection refused"),
]


def project_created(project_id="prj_1"):
    return make_event("project.created", {
        "project_id": project_id, "title": "t", "scope": "practice", "stage": "idea",
        "aim": {"what": "w", "how_much": "h", "by_when": date(2027, 1, 1)},
        "practice_ids": ["F84001"]}, source="projects", network_id="n", trace=Trace("c"))


class DeadConnectionMessage:
    """A delivered message whose connection died: ack/requeue raise ``error`` (or not)."""

    def __init__(self, payload, error=None, headers=None):
        self.payload = payload
        self.headers = headers or {}
        self.error = error
        self.settled = []
        # nameko only settles when the channel still has a connection: a reset socket does.
        self.channel = SimpleNamespace(connection=object())
        self.delivery_info = {"routing_key": "project.created"}

    def ack(self):
        self._settle("ack")

    def requeue(self):
        self._settle("requeue")

    def _settle(self, action):
        if self.error is not None:
            raise self.error
        self.settled.append(action)


class FakeApplied:
    def __init__(self, seen=()):
        self.ids = set(seen)

    def seen(self, handler, event_id):
        return event_id in self.ids

    def record(self, handler, event_id, applied_at):
        self.ids.add(event_id)


class FakePublisher:
    def __init__(self, error=None):
        self.error = error
        self.published = []

    def publish(self, payload, **options):
        if self.error is not None:
            raise self.error
        self.published.append(options["exchange"])


def bare_handler(publisher, applied=None):
    """A ReliableEventHandler wired to fakes of its storage and publisher and to nameko's real
    QueueConsumer settle methods (no container, no broker)."""
    handler = ReliableEventHandler.__new__(ReliableEventHandler)
    handler.container = SimpleNamespace(service_name="unit")
    handler.event_type = "project.created"
    handler.handler_name = "unit.on_project"
    handler.delays_ms = [100, 200]
    handler.queue = SimpleNamespace(name="evt-projects-project.created--unit.on_project")
    handler.applied = applied or FakeApplied()
    handler.publisher = publisher
    handler.queue_consumer = QueueConsumer.__new__(QueueConsumer)
    return handler


def left_to_redelivery():
    return REGISTRY.get_sample_value("pcn_events_left_to_redelivery_total", {
        "service": "unit", "handler": "unit.on_project", "event_type": "project.created"}) or 0


@pytest.mark.parametrize("error", LOST_CONNECTION_ERRORS, ids=repr)
def test_an_ack_on_a_dead_connection_after_success_leaves_the_event_to_redelivery(error):
    envelope = project_created()
    handler = bare_handler(FakePublisher())
    message = DeadConnectionMessage(envelope, error)
    message.pcn_envelope = envelope
    before = left_to_redelivery()
    handler.handle_message_processed(message, result=None, exc_info=None)
    # Recorded as applied before the ack: the redelivery is then skipped as a duplicate.
    assert handler.applied.seen("unit.on_project", envelope["event_id"])
    # nameko's ack_message swallows py-amqp's ConnectionError itself; the rest reach ours.
    caught_by_nameko = isinstance(error, amqp.exceptions.ConnectionError)
    assert left_to_redelivery() == before + (0 if caught_by_nameko else 1)


@pytest.mark.parametrize("error", LOST_CONNECTION_ERRORS, ids=repr)
def test_a_failed_retry_publish_and_requeue_on_a_dead_connection_raise_nothing(error):
    envelope = project_created()
    handler = bare_handler(FakePublisher(error=error))
    message = DeadConnectionMessage(envelope, error)
    message.pcn_envelope = envelope
    handler.handle_message_processed(message, exc_info=(ValueError, ValueError("boom"), None))
    assert not handler.applied.seen("unit.on_project", envelope["event_id"])


def test_an_ack_lost_after_the_retry_was_published_raises_nothing():
    envelope = project_created()
    publisher = FakePublisher()
    handler = bare_handler(publisher)
    message = DeadConnectionMessage(envelope, BrokenPipeError(32, "Broken pipe"))
    message.pcn_envelope = envelope
    handler.handle_message_processed(message, exc_info=(ValueError, ValueError("boom"), None))
    assert publisher.published == [messaging.retry_exchange_name(100)]


@pytest.mark.parametrize("publish_error", [None, ConnectionResetError(104, "reset")])
def test_dead_lettering_on_a_dead_connection_raises_nothing(publish_error):
    envelope = project_created()
    handler = bare_handler(FakePublisher(error=publish_error))
    message = DeadConnectionMessage(envelope, ConnectionResetError(104, "reset"),
                                    headers={ATTEMPT_HEADER: 2})
    message.pcn_envelope = envelope
    handler.handle_message_processed(message, exc_info=(ValueError, ValueError("boom"), None))
    handler.handle_message({"not": "an envelope"}, message)  # the invalid-envelope path


def test_a_duplicate_acked_on_a_dead_connection_raises_nothing():
    envelope = project_created()
    handler = bare_handler(FakePublisher(), FakeApplied(seen={envelope["event_id"]}))
    handler.handle_message(envelope, DeadConnectionMessage(envelope, BrokenPipeError(32, "pipe")))


def test_a_live_connection_still_acks_and_other_errors_are_not_swallowed():
    envelope = project_created()
    handler = bare_handler(FakePublisher())
    message = DeadConnectionMessage(envelope)
    message.pcn_envelope = envelope
    handler.handle_message_processed(message)
    assert message.settled == ["ack"]
    broken = DeadConnectionMessage(envelope, TypeError("a bug, not the broker"))
    broken.pcn_envelope = envelope
    with pytest.raises(TypeError):
        handler.handle_message_processed(broken)


# -- the outbox relay during an outage ------------------------------------------------------

def test_backoff_doubles_to_its_ceiling_and_reports_the_outage_it_ends():
    now = [100.0]
    backoff = RelayBackoff(first_delay=0.1, max_delay=1.0, clock=lambda: now[0])
    assert backoff.seconds_to_retry() == 0
    delays = []
    for _ in range(6):
        backoff.failed()
        delays.append(round(backoff.seconds_to_retry(), 3))
    assert delays == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    now[0] += 0.5
    assert backoff.seconds_to_retry() == pytest.approx(0.5)
    now[0] += 2.0
    assert backoff.seconds_to_retry() == 0
    assert backoff.succeeded() == (6, pytest.approx(2.5))
    assert backoff.succeeded() is None and backoff.seconds_to_retry() == 0


class SwitchableBroker:
    """Refuses every batch while ``down``; counts the attempts."""

    def __init__(self):
        self.down = True
        self.attempts = 0

    def publish_batch(self, messages):
        self.attempts += 1
        if self.down:
            raise PublishFailed("publishing failed: ConnectionRefusedError(111)")
        return {message[2] for message in messages}

    def close(self):
        pass


def gauge(name):
    return REGISTRY.get_sample_value(name, {"service": "unit-relay"})


def relay_warnings(caplog):
    return [r for r in caplog.records if r.name == "shared.outbox" and r.levelno >= logging.WARNING]


def test_the_relay_backs_off_in_an_outage_whatever_wakes_it_and_its_gauges_tell_the_truth(
        storage_config, caplog):
    database = open_database(storage_config, "unit")
    for number in range(3):
        database["things"].insert_one(new_document({"_id": number}, [project_created(str(number))]))
    broker = SwitchableBroker()
    runner = OutboxRelayRunner("things")
    runner.container = SimpleNamespace(service_name="unit-relay")
    runner.relay = OutboxRelay(Outbox(database, ["things"]), BrokerSink(broker), "unit-relay")
    runner.poll_seconds = 0.05
    runner.lease = Lease(database, RELAY, "unit-relay-1", 5, collection=LEASES)
    caplog.set_level(logging.DEBUG, logger="shared.outbox")

    relay_thread = eventlet.spawn(runner._run)
    outage_started = time.monotonic()
    ages, wakeups = [], 0
    while time.monotonic() - outage_started < 1.6:
        runner.worker_result(None)  # a worker finished: what a request does every few ms
        wakeups += 1
        eventlet.sleep(0.005)
        if wakeups % 40 == 0:
            ages.append(gauge("pcn_outbox_oldest_age_seconds"))
    attempts_in_outage = broker.attempts
    # Backoff 0.1, 0.2, 0.4, 0.8 s: 5 passes in 1.6 s, however many wake-ups (about 250).
    assert wakeups > 100 and 4 <= attempts_in_outage <= 6
    assert gauge("pcn_outbox_backlog") == 3
    assert ages == sorted(ages) and ages[-1] - ages[0] > 0.5  # the oldest event keeps ageing
    warnings = relay_warnings(caplog)
    assert len(warnings) == 1 and "cannot publish" in warnings[0].getMessage()

    broker.down = False
    deadline = time.monotonic() + 5
    while gauge("pcn_outbox_backlog") != 0 and time.monotonic() < deadline:
        eventlet.sleep(0.05)
    runner._stopping = True
    runner._wakeup.set()
    relay_thread.wait()
    assert gauge("pcn_outbox_backlog") == 0 and gauge("pcn_outbox_oldest_age_seconds") == 0
    assert database["things"].count_documents({"outbox": {"$exists": True}}) == 0
    warnings = relay_warnings(caplog)
    assert len(warnings) == 2 and "publishes again after" in warnings[1].getMessage()
