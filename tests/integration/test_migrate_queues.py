"""tools/migrate_queues on a vhost holding the classic queues of the previous release, with
messages in each kind: every message ends where it belongs, once; a crash halfway is finished by
the next run; a run on a migrated broker does nothing; the services then start and consume."""
import json
from datetime import date

import pika
import pytest
from kombu import Connection, Exchange, Queue

from services.registry import DEPLOYED_CATALOGUE
from shared.events.catalogue import consumer_queues, make_event
from shared.events.envelope import Trace
from shared.messaging import (
    DEAD_LETTER_EXCHANGE, UNROUTED, dead_letter_queue_name, events_exchange, retry_exchange_name,
)
from shared.storage import open_database
from tests.helpers import pika_connection, wait_until
from tools import migrate_queues

# A short delay, which may expire into its consumer queue before or after the migration (either
# way the message must end there), and a long one, which must still be waiting after it.
SHORT_MS, LONG_MS = 1000, 60000
TRACKED = "evt-projects-project.created--measurement.track_project"
APPLIED = "evt-measurement-measurement.recorded--measurement.apply_to_network_series"


def declare_classic_topology(amqp_uri, delays_ms):
    """The topology as the release before quorum queues declared it."""
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        unrouted = Exchange(UNROUTED, type="fanout", durable=True)
        Queue(UNROUTED, exchange=unrouted, durable=True)(channel).declare()
        dead_letters = Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True)
        for event, _, name in consumer_queues(DEPLOYED_CATALOGUE):
            events_exchange(event.producer)(channel).declare()
            Queue(name, exchange=Exchange(f"{event.producer}.events", type="topic",
                                          no_declare=True),
                  routing_key=event.name, durable=True)(channel).declare()
            Queue(dead_letter_queue_name(name), exchange=dead_letters, routing_key=name,
                  durable=True)(channel).declare()
        for delay_ms in delays_ms:
            exchange = Exchange(retry_exchange_name(delay_ms), type="topic", durable=True)
            Queue(retry_exchange_name(delay_ms), exchange=exchange, routing_key="#", durable=True,
                  queue_arguments={"x-message-ttl": delay_ms, "x-dead-letter-exchange": ""},
                  )(channel).declare()


def project_created(number):
    return make_event("project.created", {
        "project_id": f"prj_{number}", "title": "t", "scope": "practice", "stage": "idea",
        "aim": {"what": "w", "how_much": "h", "by_when": date(2027, 1, 1)},
        "practice_ids": ["F84001"]}, source="projects", network_id="north-pcn", trace=Trace())


def publish(channel, exchange, routing_key, envelope, headers=None):
    channel.basic_publish(exchange, routing_key, json.dumps(envelope).encode(),
                          pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                               message_id=envelope["event_id"], headers=headers),
                          mandatory=True)


def read_all(connection, queue):
    """(event id, routing key) of every message in ``queue``, left in place (read unacked on
    a channel of its own, which gives them back when it closes)."""
    channel = connection.channel()
    found = []
    while True:
        method, _, body = channel.basic_get(queue, auto_ack=False)
        if method is None:
            break
        found.append((json.loads(body)["event_id"], method.routing_key))
    channel.close()
    return found


@pytest.fixture
def classic_broker(service_config):
    """The old topology with messages in a consumer queue (five), a dead-letter queue (one),
    both retry queues (one each) and the unrouted queue (one). Returns the ids by queue."""
    uri = service_config["AMQP_URI"]
    declare_classic_topology(uri, (SHORT_MS, LONG_MS))
    connection = pika_connection(uri)
    channel = connection.channel()
    channel.confirm_delivery()
    waiting = [project_created(n) for n in range(5)]
    for envelope in waiting:
        publish(channel, "projects.events", "project.created", envelope)
    dead = project_created("dead")
    publish(channel, DEAD_LETTER_EXCHANGE, TRACKED, dead, {"x-pcn-dead-letter-reason": "test"})
    short_retry, long_retry = project_created("retry-short"), project_created("retry-long")
    publish(channel, retry_exchange_name(SHORT_MS), TRACKED, short_retry)
    publish(channel, retry_exchange_name(LONG_MS), TRACKED, long_retry)
    unrouted = {"event_type": "nobody.listens", "source": "projects", "event_id": "unrouted-1"}
    publish(channel, "projects.events", "nobody.listens", unrouted)
    connection.close()
    return {"waiting": [e["event_id"] for e in waiting] + [short_retry["event_id"]],
            "dead": [dead["event_id"]], "long_retry": [long_retry["event_id"]],
            "unrouted": ["unrouted-1"]}


def queue_types(rabbit_manager, vhost):
    return {queue["name"]: queue["type"] for queue in rabbit_manager.get_queues(vhost)}


def assert_migrated(service_config, rabbit_manager, expected):
    types = queue_types(rabbit_manager, service_config["vhost"])
    assert set(types.values()) == {"quorum"}, types
    assert not [name for name in types if name.endswith(migrate_queues.MIGRATING_SUFFIX)]
    connection = pika_connection(service_config["AMQP_URI"])
    channel = connection.channel()
    # The short retry comes back to its consumer queue (it may already have, before migrating).
    waiting = wait_until(lambda: (lambda found: found if len(found) == 6 else None)(
        read_all(connection, TRACKED)), timeout=5)
    assert sorted(event_id for event_id, _ in waiting) == sorted(expected["waiting"])
    assert [i for i, _ in read_all(connection, dead_letter_queue_name(TRACKED))] == expected["dead"]
    # The long retry still waits, with the routing key that takes it back to its queue.
    assert read_all(connection, retry_exchange_name(LONG_MS)) == [(expected["long_retry"][0],
                                                                TRACKED)]
    assert [i for i, _ in read_all(connection, UNROUTED)] == expected["unrouted"]
    for name in types:
        if name not in (TRACKED, dead_letter_queue_name(TRACKED), retry_exchange_name(LONG_MS),
                        UNROUTED):
            assert channel.queue_declare(name, passive=True).method.message_count == 0, name
    connection.close()


def test_dry_run_lists_the_plan_and_changes_nothing(classic_broker, service_config,
                                                    rabbit_manager):
    lines = []
    connection = pika_connection(service_config["AMQP_URI"])
    migrate_queues.migrate(connection, (SHORT_MS, LONG_MS), dry_run=True, report=lines.append)
    connection.close()
    assert f"{TRACKED}: 5 messages; would move them to {TRACKED}.migrating" in "\n".join(lines)
    assert set(queue_types(rabbit_manager, service_config["vhost"]).values()) == {"classic"}


def test_migration_keeps_every_message_and_a_second_run_does_nothing(
        classic_broker, service_config, rabbit_manager):
    connection = pika_connection(service_config["AMQP_URI"])
    migrate_queues.migrate(connection, (SHORT_MS, LONG_MS), report=lambda line: None)
    assert_migrated(service_config, rabbit_manager, classic_broker)
    lines = []
    moved = migrate_queues.migrate(connection, (SHORT_MS, LONG_MS), report=lines.append)
    connection.close()
    assert set(moved.values()) == {0}
    assert all(line.endswith("nothing to do") for line in lines), lines
    assert_migrated(service_config, rabbit_manager, classic_broker)


def test_a_run_that_crashed_halfway_is_finished_by_the_next(classic_broker, service_config,
                                                            rabbit_manager, monkeypatch):
    real_move = migrate_queues.Broker.move
    calls = []

    def crash_on_the_consumer_queue(broker, source, publish_to):
        calls.append(source)
        if source == TRACKED:
            raise ConnectionError("the operator's laptop went to sleep")
        return real_move(broker, source, publish_to)

    with monkeypatch.context() as patch:
        patch.setattr(migrate_queues.Broker, "move", crash_on_the_consumer_queue)
        connection = pika_connection(service_config["AMQP_URI"])
        with pytest.raises(ConnectionError):
            migrate_queues.migrate(connection, (SHORT_MS, LONG_MS), report=lambda line: None)
        connection.close()
    assert TRACKED + migrate_queues.MIGRATING_SUFFIX in queue_types(rabbit_manager,
                                                                    service_config["vhost"])
    connection = pika_connection(service_config["AMQP_URI"])
    migrate_queues.migrate(connection, (SHORT_MS, LONG_MS), report=lambda line: None)
    connection.close()
    assert_migrated(service_config, rabbit_manager, classic_broker)


def test_services_start_on_the_migrated_broker_and_consume_what_waited(
        classic_broker, service_config, rabbit_manager, container_factory):
    from services.measurement.service import MeasurementService

    assert migrate_queues.main(["--amqp", service_config["AMQP_URI"],
                                "--retry-delays-ms", f"{SHORT_MS},{LONG_MS}"]) == 0
    config = {**service_config, "EVENT_RETRY_DELAYS_MS": [SHORT_MS, LONG_MS]}
    container = container_factory(MeasurementService, config)
    container.start()  # declares the topology and its handlers' queues: no PRECONDITION_FAILED
    applied = open_database(config, "measurement")["applied_events"]
    assert wait_until(lambda: applied.count_documents(
        {"handler": "measurement.track_project"}) == 6, timeout=10)
    assert sorted(d["event_id"] for d in applied.find({"handler": "measurement.track_project"})
                  ) == sorted(classic_broker["waiting"])
    assert rabbit_manager.get_queue(service_config["vhost"], APPLIED)["type"] == "quorum"


def test_a_queue_with_consumers_is_refused(classic_broker, service_config, rabbit_manager):
    """A running old service would lose its queue under it: the tool stops and says why."""
    connection = pika_connection(service_config["AMQP_URI"])
    connection.channel().basic_consume(TRACKED, lambda *args: None)
    with pytest.raises(SystemExit, match="stop the services that consume it"):
        migrate_queues.migrate(pika_connection(service_config["AMQP_URI"]), (SHORT_MS, LONG_MS),
                               report=lambda line: None)
    connection.close()
    assert set(queue_types(rabbit_manager, service_config["vhost"]).values()) == {"classic"}
