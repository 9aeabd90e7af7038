"""Inspect and replay dead-lettered events.

    python -m tools.dead_letters list [--amqp URI]
        every dead-letter queue with messages, and why each message was dead-lettered
    python -m tools.dead_letters replay QUEUE [--amqp URI] [--limit N]
        move messages of QUEUE (a consumer queue, e.g.
        evt-measurement-measurement.recorded--measurement.apply_to_network_series) from its
        dead-letter queue back onto it, with a fresh retry budget

A replayed message is published with confirms before the dead letter is acked, so a crash in
between duplicates it (the handler ignores an event it has applied) and never loses it.
"""
import argparse
import json
import sys

import pika

from services.registry import DEPLOYED_CATALOGUE
from shared.broker_uris import pika_connection
from shared.events.catalogue import consumer_queues
from shared.messaging import ATTEMPT_HEADER, dead_letter_queue_name

DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/%2F"


def dead_letter_summary(connection, queue_names):
    """(queue, message count, [(event type, event id, reason)]) for each non-empty one.

    Messages are read unacked on a channel of their own and go back to their queue, in order,
    when that channel closes: inspecting removes nothing."""
    summary = []
    for queue in queue_names:
        dead = dead_letter_queue_name(queue)
        channel = connection.channel()
        try:
            count = channel.queue_declare(dead, passive=True).method.message_count
        except pika.exceptions.ChannelClosedByBroker:
            continue  # no such dead-letter queue (yet)
        reasons = []
        while len(reasons) < count:
            method, properties, body = channel.basic_get(dead, auto_ack=False)
            if method is None:
                break
            envelope = json.loads(body)
            reasons.append((envelope.get("event_type"), envelope.get("event_id"),
                            (properties.headers or {}).get("x-pcn-dead-letter-reason")))
        channel.close()
        if count:
            summary.append((queue, count, reasons))
    return summary


def replay(channel, queue, limit=None):
    """Move up to ``limit`` dead letters of ``queue`` back onto it; returns how many."""
    channel.confirm_delivery()
    moved = 0
    while limit is None or moved < limit:
        method, properties, body = channel.basic_get(dead_letter_queue_name(queue))
        if method is None:
            break
        headers = {k: v for k, v in (properties.headers or {}).items()
                   if not k.startswith("x-pcn-")}
        headers[ATTEMPT_HEADER] = 0
        channel.basic_publish("", queue, body, pika.BasicProperties(
            content_type=properties.content_type, content_encoding=properties.content_encoding,
            delivery_mode=2, message_id=properties.message_id, headers=headers),
            mandatory=True)
        channel.basic_ack(method.delivery_tag)
        moved += 1
    return moved


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("list", "replay"))
    parser.add_argument("queue", nargs="?")
    parser.add_argument("--amqp", default=DEFAULT_AMQP,
                        help="the broker; several nodes as 'amqp://a/vhost;amqp://b/vhost'")
    parser.add_argument("--limit", type=int)
    args = parser.parse_args(argv)
    connection = pika_connection(args.amqp)
    try:
        channel = connection.channel()
        if args.command == "list":
            names = [queue for _, _, queue in consumer_queues(DEPLOYED_CATALOGUE)]
            if args.queue:
                names = [args.queue]
            for queue, count, reasons in dead_letter_summary(connection, names):
                print(f"{dead_letter_queue_name(queue)}: {count}")
                for event_type, event_id, reason in reasons:
                    print(f"  {event_type} {event_id}: {reason}")
            return 0
        if not args.queue:
            parser.error("replay needs the consumer queue's name")
        print(f"replayed {replay(channel, args.queue, args.limit)} messages onto {args.queue}")
        return 0
    finally:
        connection.close()


if __name__ == "__main__":
    sys.exit(main())
