"""Quorum queues on the real broker: every queue the services declare is a quorum queue with the
arguments of ``shared.messaging`` (the handlers' own declarations agree with the topology's),
retry queues hold a message for their TTL and dead-letter it back, and the delivery limit moves a
poison message to its dead-letter queue."""
import json
import time
import uuid

import pika
import pytest

from services.registry import DEPLOYED_CATALOGUE
from shared.events.catalogue import consumer_queues
from shared.messaging import (
    DEAD_LETTER_QUEUE_ARGUMENTS, DELIVERY_LIMIT, UNROUTED, consumer_queue,
    consumer_queue_arguments, dead_letter_queue, dead_letter_queue_name, declare_topology,
    retry_exchange_name, retry_queue_arguments,
)
from tests.helpers import pika_connection, queue_messages, wait_until


def queues_by_name(rabbit_manager, vhost):
    return {queue["name"]: queue for queue in rabbit_manager.get_queues(vhost)}


def test_services_declare_every_queue_as_a_quorum_queue(projects_service, measurement_service,
                                                        service_config, rabbit_manager):
    """Both services started (topology, then each handler's own declaration of its queue and
    dead-letter queue) without PRECONDITION_FAILED, and every queue is quorum: the topology
    declares the queues of the services not running here too (they wait, unconsumed)."""
    vhost = service_config["vhost"]
    consumed = [name for _, consumer, name in consumer_queues(DEPLOYED_CATALOGUE)
                if consumer.split(".")[0] in ("projects", "measurement")]
    queues = wait_until(lambda: (lambda found: found if all(
        found.get(name, {}).get("consumers") for name in consumed) else None)(
            queues_by_name(rabbit_manager, vhost)), timeout=15)
    assert queues, "a measurement handler is not consuming its queue"
    for _, _, name in consumer_queues(DEPLOYED_CATALOGUE):
        assert queues[name]["type"] == "quorum"
        assert queues[name]["arguments"] == consumer_queue_arguments(name)
    for name in consumed:  # a handler declares its dead-letter queue as it starts
        dead = queues[dead_letter_queue_name(name)]
        assert dead["type"] == "quorum" and dead["arguments"] == DEAD_LETTER_QUEUE_ARGUMENTS
    for delay_ms in service_config["EVENT_RETRY_DELAYS_MS"]:
        retry = queues[retry_exchange_name(delay_ms)]
        assert retry["type"] == "quorum" and retry["arguments"] == retry_queue_arguments(delay_ms)
    assert queues[UNROUTED]["type"] == "quorum"
    assert {queue["type"] for queue in queues.values()} == {"quorum"}


def test_topology_redeclared_over_running_services_is_accepted(measurement_service,
                                                               service_config):
    """Declaring again (another replica starting) matches what the handlers declared."""
    declare_topology(service_config["AMQP_URI"], service_config["EVENT_RETRY_DELAYS_MS"])


@pytest.fixture
def test_queue(service_config):
    """A consumer queue of a handler that does not exist, with its dead-letter queue."""
    from kombu import Connection

    name = f"evt-projects-project.created--quorum{uuid.uuid4().hex[:6]}.apply"
    declare_topology(service_config["AMQP_URI"], service_config["EVENT_RETRY_DELAYS_MS"])
    with Connection(service_config["AMQP_URI"]) as connection:
        channel = connection.channel()
        consumer_queue(name, "projects", "project.created")(channel).declare()
        dead_letter_queue(name)(channel).declare()
    return name


def publish(channel, exchange, routing_key, body):
    channel.basic_publish(exchange, routing_key, json.dumps(body).encode(),
                          pika.BasicProperties(delivery_mode=2, message_id=body["event_id"]),
                          mandatory=True)


def got_message(basic_get_result):
    return basic_get_result if basic_get_result[0] is not None else None


def test_retry_queue_holds_a_message_for_its_ttl_then_returns_it(service_config, test_queue):
    delay_ms = service_config["EVENT_RETRY_DELAYS_MS"][-1]
    connection = pika_connection(service_config["AMQP_URI"])
    channel = connection.channel()
    channel.confirm_delivery()
    body = {"event_id": str(uuid.uuid4())}
    sent = time.monotonic()
    publish(channel, retry_exchange_name(delay_ms), test_queue, body)
    assert channel.basic_get(test_queue, auto_ack=True)[0] is None  # still waiting out its TTL
    back = wait_until(lambda: got_message(channel.basic_get(test_queue, auto_ack=True)),
                      timeout=10, interval=0.02)
    waited = time.monotonic() - sent
    connection.close()
    method, properties, returned = back
    assert method is not None and json.loads(returned) == body
    assert waited >= delay_ms / 1000 * 0.9
    [death] = properties.headers["x-death"]
    assert death["reason"] == "expired" and death["queue"] == retry_exchange_name(delay_ms)


def test_delivery_limit_dead_letters_a_message_redelivered_too_often(service_config, test_queue):
    """A message that keeps coming back (a consumer that dies on it) is moved aside by the
    broker once it has been delivered more than ``x-delivery-limit`` times."""
    connection = pika_connection(service_config["AMQP_URI"])
    channel = connection.channel()
    channel.confirm_delivery()
    body = {"event_id": str(uuid.uuid4())}
    publish(channel, "projects.events", "project.created", body)
    deliveries = 0
    while True:
        method, _, _ = channel.basic_get(test_queue, auto_ack=False)
        if method is None:
            if wait_until(lambda: channel.queue_declare(test_queue, passive=True)
                          .method.message_count == 0, timeout=0.5):
                break
            continue
        deliveries += 1
        channel.basic_nack(method.delivery_tag, requeue=True)
        assert deliveries <= DELIVERY_LIMIT + 1
    connection.close()
    assert deliveries == DELIVERY_LIMIT + 1
    dead = wait_until(lambda: queue_messages(service_config["AMQP_URI"],
                                             dead_letter_queue_name(test_queue)), timeout=5)
    assert [b for b, _ in dead] == [body]
    assert dead[0][1]["x-death"][0]["reason"] == "delivery_limit"


def test_a_classic_queue_left_from_before_is_named_with_the_way_out(service_config):
    """A broker that still holds the classic queues refuses the quorum declaration; the
    service's start fails saying which queue and how to migrate it."""
    from kombu import Connection

    from shared.messaging import TopologyMismatch

    [(event, _, name), *_] = consumer_queues(DEPLOYED_CATALOGUE)
    with Connection(service_config["AMQP_URI"]) as connection:
        connection.default_channel.queue_declare(name, durable=True, auto_delete=False)
    with pytest.raises(TopologyMismatch, match="tools.migrate_queues") as refused:
        declare_topology(service_config["AMQP_URI"], service_config["EVENT_RETRY_DELAYS_MS"])
    assert name in str(refused.value) and "PRECONDITION_FAILED" in str(refused.value)
