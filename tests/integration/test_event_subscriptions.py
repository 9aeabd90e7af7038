"""A handler subscribed by pattern (a ``Subscription`` of the catalogue) on the real broker: events of every
matching type published before it first starts reach it, others never do, and each type keeps
dedupe, retries, its own dead-letter queue and quorum queues."""
from datetime import date, datetime, timezone

import pytest
from nameko.testing.services import entrypoint_waiter

from shared import metrics
from shared.events.catalogue import CATALOGUE, Subscription, make_event, with_subscriptions
from shared.events.envelope import Trace
from shared.messaging import (
    ATTEMPT_HEADER, catalogued_handler, consumer_queue_arguments, dead_letter_queue_name,
    declare_topology, handle_catalogued_events,
)
from tests.helpers import publish_envelopes, queue_messages, wait_until

PATTERNS = ("measurement.signal_detected", "huddle.*")
CATALOGUE_WITH_DIGEST = with_subscriptions(CATALOGUE, [Subscription("digest.collect", PATTERNS)])
APPLIED = []


class DigestService:
    """Collects what a digest would report; refuses huddle.item_raised to show its retries."""

    name = "digest"

    @catalogued_handler
    def collect(self, envelope):
        if envelope["event_type"] == "huddle.item_raised":
            raise RuntimeError("raised items are refused in this test")
        APPLIED.append((envelope["event_type"], str(envelope["event_id"])))


handle_catalogued_events(DigestService, CATALOGUE_WITH_DIGEST)


@pytest.fixture(autouse=True)
def clear_applied():
    APPLIED.clear()


def events():
    at = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
    projects = {"source": "projects", "network_id": "north-pcn", "trace": Trace()}
    return {
        "measurement.signal_detected": make_event("measurement.signal_detected", {
            "measure_id": "msr_1", "project_id": "prj_1", "series": "pooled", "rule": "shift",
            "kind": "concern", "point_type": "special_cause", "period": date(2026, 11, 2),
            "value": 12.5}, source="measurement", network_id="north-pcn", trace=Trace()),
        "huddle.item_raised": make_event("huddle.item_raised", {
            "item_id": "itm_1", "team": "reception", "raised_by": "stf_1", "raised_at": at},
            **projects),
        "huddle.item_escalated": make_event("huddle.item_escalated", {
            "item_id": "itm_1", "team": "reception", "escalated_to": "stf_9",
            "escalated_at": at}, **projects),
        "huddle.item_resolved": make_event("huddle.item_resolved", {
            "item_id": "itm_1", "team": "reception", "resolved_at": at, "was_escalated": True,
            "time_to_unblock_seconds": 3600.0}, **projects),
        "project.stage_changed": make_event("project.stage_changed", {
            "project_id": "prj_1", "from_stage": "idea", "to_stage": "planning"}, **projects),
    }


def test_a_pattern_handler_gets_every_matching_type_published_before_it_started(
        container_factory, service_config, rabbit_manager):
    amqp_uri = service_config["AMQP_URI"]
    catalogue = CATALOGUE_WITH_DIGEST
    # What BrokerTopology does at any service's start once the catalogue has the subscription.
    declare_topology(amqp_uri, service_config["EVENT_RETRY_DELAYS_MS"], catalogue=catalogue)
    published = events()
    publish_envelopes(amqp_uri, published.values())  # before the digest service has ever run

    container = container_factory(DigestService, service_config)
    with entrypoint_waiter(container, "collect", timeout=10,
                           callback=lambda worker_ctx, result, exc_info: len(APPLIED) == 3):
        container.start()
    applied_types = {event_type for event_type, _ in APPLIED}
    assert applied_types == {"measurement.signal_detected", "huddle.item_escalated",
                             "huddle.item_resolved"}

    # The refused type went through its retries to its own dead-letter queue.
    raised_queue = "evt-projects-huddle.item_raised--digest.collect"
    dead = wait_until(lambda: queue_messages(amqp_uri, dead_letter_queue_name(raised_queue)),
                      timeout=15)
    assert len(dead) == 1 and dead[0][0] == published["huddle.item_raised"]
    assert dead[0][1][ATTEMPT_HEADER] == len(service_config["EVENT_RETRY_DELAYS_MS"])

    # A redelivered event is applied once, whichever type's queue it came through.
    deduplicated = metrics.EVENTS_DEDUPLICATED.labels(
        "digest", "digest.collect", "measurement.signal_detected")
    before = deduplicated._value.get()
    publish_envelopes(amqp_uri, [published["measurement.signal_detected"]])
    assert wait_until(lambda: deduplicated._value.get() == before + 1, timeout=10)
    assert len(APPLIED) == 3

    # One quorum queue per matching type, bound to that type's routing key; none for the rest.
    queues = {queue["name"]: queue for queue in rabbit_manager.get_queues(service_config["vhost"])}
    digest_queues = {name for name in queues if name.endswith("--digest.collect")}
    assert digest_queues == {f"evt-{producer}-{name}--digest.collect" for producer, name in (
        ("measurement", "measurement.signal_detected"), ("projects", "huddle.item_raised"),
        ("projects", "huddle.item_escalated"), ("projects", "huddle.item_resolved"))}
    for name in digest_queues:
        assert queues[name]["type"] == "quorum"
        assert queues[name]["arguments"] == consumer_queue_arguments(name)
        assert queues[dead_letter_queue_name(name)]["type"] == "quorum"
    assert "project.stage_changed" not in applied_types
