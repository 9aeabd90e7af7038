"""Events per second through the outbox relay to RabbitMQ, against raw pika publishing with
publisher confirms to the same broker, exchange and queue, in the same run.

    python bench/outbox.py [--events 20000] [--amqp amqp://guest:guest@127.0.0.1:5672]
        [--management http://guest:guest@127.0.0.1:15672] [--mongo mongomock://bench]

Both sides publish the same persistent JSON envelopes. The baseline waits for each confirm in
turn (pika BlockingConnection with confirm_delivery); the relay reads pending events from
storage, publishes a batch with all confirms in flight, and marks the batch sent in storage.
A throw-away vhost keeps the run apart from anything else on the broker.
"""
import argparse
import json
import sys
import time
import uuid
from pathlib import Path

import pika
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.amqp_publisher import ConfirmingPublisher  # noqa: E402
from shared.events.catalogue import make_event  # noqa: E402
from shared.events.envelope import Trace  # noqa: E402
from shared.messaging import declare_topology  # noqa: E402
from shared.outbox import BrokerSink, Outbox, OutboxRelay, new_document  # noqa: E402
from shared.storage import open_database  # noqa: E402

EXCHANGE = "projects.events"


def envelopes(count):
    return [make_event("project.practice_joined", {"project_id": f"prj_{n}",
                                                   "practice_id": "F84001"},
                       source="projects", network_id="north-pcn", trace=Trace())
            for n in range(count)]


def raw_pika(amqp_uri, events):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.confirm_delivery()
    properties = pika.BasicProperties(content_type="application/json", delivery_mode=2)
    started = time.perf_counter()
    for envelope in events:
        channel.basic_publish(EXCHANGE, envelope["event_type"], json.dumps(envelope).encode(),
                              properties, mandatory=True)
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def relay(amqp_uri, mongo_uri, events):
    config = {"MONGO_URI": mongo_uri, "MONGO_DATABASE_PREFIX": f"bench{uuid.uuid4().hex[:6]}"}
    database = open_database(config, "projects")
    Outbox.ensure_indexes(database, ["projects"])
    database["projects"].insert_many(
        [new_document({"_id": envelope["data"]["project_id"]}, [envelope]) for envelope in events])
    publisher = ConfirmingPublisher(amqp_uri)
    outbox_relay = OutboxRelay(Outbox(database, ["projects"]), BrokerSink(publisher), "projects")
    started = time.perf_counter()
    sent = outbox_relay.publish_pending()
    elapsed = time.perf_counter() - started
    publisher.close()
    assert sent == len(events) and outbox_relay.outbox.backlog()[0] == 0
    database.client.drop_database(database.name)
    return elapsed


def queue_depth(amqp_uri, queue):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    depth = connection.channel().queue_declare(queue, passive=True).method.message_count
    connection.close()
    return depth


def sink(amqp_uri, action):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    if action == "declare":
        channel.queue_declare("bench.sink", durable=True)
        channel.queue_bind("bench.sink", EXCHANGE, "#")
    else:
        channel.queue_purge("bench.sink")
    connection.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672")
    parser.add_argument("--management", default="http://guest:guest@127.0.0.1:15672")
    parser.add_argument("--mongo", default="mongomock://bench")
    args = parser.parse_args(argv)

    vhost = f"bench-{uuid.uuid4().hex[:8]}"
    requests.put(f"{args.management}/api/vhosts/{vhost}", timeout=10).raise_for_status()
    requests.put(f"{args.management}/api/permissions/{vhost}/guest", timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    amqp_uri = f"{args.amqp}/{vhost}"
    try:
        declare_topology(amqp_uri)
        sink(amqp_uri, "declare")
        baseline = raw_pika(amqp_uri, envelopes(args.events))
        sink(amqp_uri, "purge")
        ours = relay(amqp_uri, args.mongo, envelopes(args.events))
        delivered = queue_depth(amqp_uri, "bench.sink")
    finally:
        requests.delete(f"{args.management}/api/vhosts/{vhost}", timeout=10)

    baseline_rate, our_rate = args.events / baseline, args.events / ours
    print(f"events: {args.events} (storage {args.mongo.split('://')[0]})")
    print(f"raw pika, confirm each publish : {baseline_rate:10.0f} events/s")
    print(f"outbox relay (storage + broker): {our_rate:10.0f} events/s")
    print(f"ratio relay / raw pika         : {our_rate / baseline_rate:10.2f}  (target >= 0.5)")
    print(f"queued in the sink after relay : {delivered}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
