"""The shared platform pieces that need no broker: config, errors, envelopes, catalogue, auth,
validation, and the outbox against the storage fixture."""
import importlib
import pathlib
from datetime import date
from types import SimpleNamespace

import pytest
from marshmallow import ValidationError
from prometheus_client import REGISTRY

from services import registry
from shared import auth
from shared.errors import field_messages
from tools import event_docs as docs
from shared.events.catalogue import (
    CATALOGUE, Subscription, make_event, matching_event_types, topic_matches, validate_envelope,
    with_subscriptions,
)
from shared.events.envelope import Trace
from shared.lease import Lease
from shared.messaging import (
    ReliableEventHandler, catalogued_handler, handle_catalogued_events,
)
from shared.outbox import (
    LEASES, RELAY, BrokerSink, Outbox, OutboxRelay, OutboxRelayRunner, RelayBackoff, new_document,
    with_events,
)
from shared.storage import open_database
from shared.validation import no_patient_identifiers

ROOT = pathlib.Path(__file__).resolve().parents[2]


def created(project_id="prj_1"):
    return make_event("project.created", {
        "project_id": project_id, "title": "t", "scope": "practice", "stage": "idea",
        "aim": {"what": "w", "how_much": "h", "by_when": date(2027, 1, 1)},
        "practice_ids": ["F84001"]}, source="projects", network_id="n", trace=Trace("c"))


def test_error_fields_are_flattened_to_dotted_names():
    assert field_messages({"aim": {"by_when": ["Not a valid date."]}, "practice_ids": {
        0: ["bad"]}}) == {"aim.by_when": ["Not a valid date."], "practice_ids.0": ["bad"]}


def test_envelope_validation_names_bad_fields():
    envelope = created()
    assert validate_envelope(envelope)["data"]["aim"]["by_when"] == date(2027, 1, 1)
    with pytest.raises(ValidationError) as bad_data:
        validate_envelope({**envelope, "data": {**envelope["data"], "scope": "galaxy"}})
    assert "scope" in bad_data.value.messages["data"]
    with pytest.raises(ValidationError) as bad_source:
        validate_envelope({**envelope, "source": "training"})
    assert "source" in bad_source.value.messages
    with pytest.raises(ValidationError) as unknown:
        validate_envelope({**envelope, "event_type": "project.exploded"})
    assert "event_type" in unknown.value.messages
    with pytest.raises(ValidationError) as missing:
        validate_envelope({k: v for k, v in envelope.items() if k != "occurred_at"})
    assert "occurred_at" in missing.value.messages


def test_make_event_refuses_data_that_breaks_the_schema():
    with pytest.raises(ValidationError):
        make_event("project.practice_joined", {"project_id": "p"}, source="projects",
                   network_id="n", trace=Trace())


def test_events_document_matches_the_catalogue():
    assert docs.main(["--check"]) == 0, "docs/events.md is stale: run make docs"


def handlers_of_services():
    """("service.method", source, event type) of every event handler the registered services'
    classes carry, as nameko will run them."""
    found = set()
    for service in registry.existing():
        module_name, class_name = service.target.split(":")
        service_cls = getattr(importlib.import_module(module_name), class_name)
        for method_name in dir(service_cls):
            for entrypoint in getattr(getattr(service_cls, method_name), "nameko_entrypoints",
                                      ()):
                if isinstance(entrypoint, ReliableEventHandler):
                    found.add((f"{service.name}.{method_name}", entrypoint.source_service,
                               entrypoint.event_type))
    return found


def test_the_services_consume_exactly_what_the_catalogue_says():
    catalogued = {(consumer, event.producer, event.name)
                  for event in registry.DEPLOYED_CATALOGUE for consumer in event.consumers}
    assert handlers_of_services() == catalogued


@pytest.mark.parametrize("pattern, name, matches", [
    ("measurement.*", "measurement.signal_detected", True),
    ("measurement.*", "project.created", False),
    ("*", "measurement.recorded", False),
    ("#", "measurement.recorded", True),
    ("#.item_escalated", "huddle.item_escalated", True),
    ("huddle.#", "huddle", True),
    ("huddle.*", "huddle", False),
    ("*.item_*", "huddle.item_raised", False),  # no partial words in AMQP topics
    ("pdsa.cycle_started", "pdsa.cycle_started", True),
])
def test_patterns_match_event_types_as_amqp_topic_bindings_do(pattern, name, matches):
    assert topic_matches(pattern, name) is matches


def test_patterns_select_event_types_from_the_catalogue():
    selected = matching_event_types(["huddle.*", "measurement.signal_detected"])
    assert [event.name for event in selected] == [
        "huddle.item_raised", "huddle.item_escalated", "huddle.item_resolved",
        "measurement.signal_detected"]
    with pytest.raises(ValueError, match="huddle.escalated"):
        matching_event_types(["huddle.*", "huddle.escalated"])


def test_a_subscription_consumes_each_matching_type_from_that_types_own_queue():
    subscribed = with_subscriptions(CATALOGUE, [Subscription("digest.collect", ("huddle.*",))])
    queues = {event.name: event.queue_for("digest.collect")
              for event in subscribed if "digest.collect" in event.consumers}
    assert queues == {name: f"evt-projects-{name}--digest.collect" for name in (
        "huddle.item_raised", "huddle.item_escalated", "huddle.item_resolved")}
    again = with_subscriptions(subscribed, [Subscription("digest.collect", ("#",))])
    assert all(event.consumers.count("digest.collect") == 1 for event in again)


def test_a_catalogued_handler_gets_one_reliable_event_handler_per_type_the_catalogue_names():
    catalogue = with_subscriptions(CATALOGUE, [Subscription("digest.collect", (
        "measurement.signal_detected", "huddle.*"))])

    class Digest:
        name = "digest"

        @catalogued_handler
        def collect(self, envelope):
            pass

    class Nightly(Digest):
        name = "digest"

    for service_cls in (Digest, Nightly):
        handle_catalogued_events(service_cls, catalogue)
    handlers = Digest.collect.nameko_entrypoints
    assert all(isinstance(handler, ReliableEventHandler) for handler in handlers)
    assert {(h.source_service, h.event_type) for h in handlers} == {
        ("measurement", "measurement.signal_detected"), ("projects", "huddle.item_raised"),
        ("projects", "huddle.item_escalated"), ("projects", "huddle.item_resolved")}
    # Each class its own handlers: a subclass does not add its entrypoints to its parent's.
    assert len(Nightly.collect.nameko_entrypoints) == len(handlers) == 4
    assert Nightly.collect.nameko_entrypoints.isdisjoint(handlers)


def test_a_handler_and_the_catalogue_that_disagree_stop_the_service_class():
    class Unlisted:
        name = "digest"

        @catalogued_handler
        def collect(self, envelope):
            pass

    with pytest.raises(TypeError, match="names no event for collect"):
        handle_catalogued_events(Unlisted)

    class Forgetful:
        name = "measurement"  # the catalogue names measurement.track_project and others

    with pytest.raises(TypeError, match="track_project"):
        handle_catalogued_events(Forgetful)


def test_keys_hash_and_parse():
    key_id, key, key_hash = auth.generate_key()
    assert auth.key_id_of(key) == key_id and auth.hash_key(key) == key_hash
    assert len(key_hash) == 64 and key_hash not in key
    assert auth.key_id_of("pcn__x") is None and auth.key_id_of("token") is None


@pytest.mark.parametrize("text", ["NHS 943 476 5919", "9434765919", "id 943-476-5919 seen"])
def test_free_text_with_an_nhs_number_is_refused(text):
    with pytest.raises(ValidationError):
        no_patient_identifiers(text)


@pytest.mark.parametrize("text", ["saved 280 appointments a week", "call 0123 4567", "12345678901"])
def test_free_text_without_one_passes(text):
    no_patient_identifiers(text)


class RecordingPublisher:
    """Confirms every message except the ids it is told to refuse."""

    def __init__(self, refuse=()):
        self.refuse = set(refuse)
        self.published = []

    def publish_batch(self, messages):
        self.published += [m[2] for m in messages]
        return {m[2] for m in messages} - self.refuse


def test_outbox_relay_marks_only_the_confirmed_prefix_and_keeps_order(storage_config):
    database = open_database(storage_config, "unit")
    Outbox.ensure_indexes(database, ["things"])
    first, second, third = created("a"), created("b"), created("c")
    database["things"].insert_one(new_document({"_id": 1}, [first, second]))
    database["things"].update_one({"_id": 1}, with_events({"$set": {"x": 1}}, [third]))
    outbox = Outbox(database, ["things"])
    assert outbox.backlog()[0] == 3

    refusing = RecordingPublisher(refuse={second["event_id"]})
    relay = OutboxRelay(outbox, BrokerSink(refusing), "unit")
    with pytest.raises(Exception, match="stay pending"):
        relay.publish_pending()
    remaining = database["things"].find_one({"_id": 1})["outbox"]
    assert [e["event_id"] for e in remaining] == [second["event_id"], third["event_id"]]

    publisher = RecordingPublisher()
    assert OutboxRelay(outbox, BrokerSink(publisher), "unit").publish_pending() == 2
    assert publisher.published == [second["event_id"], third["event_id"]]
    assert "outbox" not in database["things"].find_one({"_id": 1})
    assert outbox.backlog() == (0, 0.0)


def test_outbox_relay_takes_the_oldest_documents_first_in_batches(storage_config):
    database = open_database(storage_config, "unit")
    events = [created(str(n)) for n in range(7)]
    for number, envelope in enumerate(events):
        database["things"].insert_one(new_document({"_id": number}, [envelope]))
    publisher = RecordingPublisher()
    assert OutboxRelay(Outbox(database, ["things"]), BrokerSink(publisher), "unit", batch_size=3
                       ).publish_pending() == 7
    assert publisher.published == [e["event_id"] for e in events]


def test_only_one_relay_holds_the_lease(storage_config):
    database = open_database(storage_config, "unit")
    relay_a, relay_b = (Lease(database, RELAY, owner, 30, collection=LEASES) for owner in "ab")
    assert relay_a.acquire()
    assert relay_a.acquire()
    assert not relay_b.acquire()
    relay_a.release()
    assert relay_b.acquire()


class UnreachableBroker:
    def publish_batch(self, messages):
        from shared.amqp_publisher import PublishFailed

        raise PublishFailed("connection refused")


def test_events_stay_pending_while_the_broker_is_unreachable(storage_config):
    database = open_database(storage_config, "unit")
    envelope = created("down")
    database["things"].insert_one(new_document({"_id": 1}, [envelope]))
    outbox = Outbox(database, ["things"])
    with pytest.raises(Exception, match="connection refused"):
        OutboxRelay(outbox, BrokerSink(UnreachableBroker()), "unit").publish_pending()
    assert outbox.backlog()[0] == 1
    publisher = RecordingPublisher()
    assert OutboxRelay(outbox, BrokerSink(publisher), "unit").publish_pending() == 1
    assert publisher.published == [envelope["event_id"]]


def test_an_expired_lease_passes_to_another_relay(storage_config):
    import time

    database = open_database(storage_config, "unit")
    relay_a, relay_b = (Lease(database, RELAY, owner, 0.2, collection=LEASES) for owner in "ab")
    assert relay_a.acquire()
    assert not relay_b.acquire()
    time.sleep(0.3)
    relay_b.seconds = relay_a.seconds = 30
    assert relay_b.acquire()
    assert not relay_a.acquire()


class RecordingSink:
    """A non-broker sink (what an email or webhook sink is): takes envelopes, says which it
    delivered."""

    name = "email"

    def __init__(self, refuse=()):
        self.refuse = set(refuse)
        self.delivered = []
        self.closed = False

    def deliver(self, envelopes):
        self.delivered += [e["event_id"] for e in envelopes if e["event_id"] not in self.refuse]
        return {e["event_id"] for e in envelopes} - self.refuse

    def close(self):
        self.closed = True


def test_a_relay_to_another_sink_has_its_own_lease_backlog_and_backoff(storage_config):
    database = open_database(storage_config, "unit")
    first, second = created("a"), created("b")
    database["deliveries"].insert_one(new_document({"_id": 1}, [first, second]))
    sink = RecordingSink(refuse={second["event_id"]})
    runner = OutboxRelayRunner("deliveries", name="email", sink=lambda config: sink,
                               first_retry_seconds=30, max_retry_seconds=3600)
    runner.container = SimpleNamespace(config=storage_config, service_name="unit")
    runner.setup()
    # The broker relay of the same service holds its own lease; the email relay is not blocked.
    assert Lease(database, RELAY, "broker-relay", 30, collection=LEASES).acquire()
    backoff = RelayBackoff(runner.first_retry_seconds, runner.max_retry_seconds, clock=lambda: 0)
    assert runner._relay_pass(backoff) is True  # one delivery refused: it stays, the relay backs off
    assert sink.delivered == [first["event_id"]] and backoff.delay() == 30
    assert [e["event_id"] for e in database["deliveries"].find_one({"_id": 1})["outbox"]] == [
        second["event_id"]]
    runner._record_backlog()
    assert REGISTRY.get_sample_value("pcn_outbox_backlog", {"service": "unit/email"}) == 1
    assert database[LEASES].find_one({"_id": "email"})["owner"] == runner.lease.owner
    runner._thread = None
    runner.stop()
    assert sink.closed and database[LEASES].find_one({"_id": "email"}) is None
