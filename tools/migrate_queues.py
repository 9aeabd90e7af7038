"""Turn a broker's classic event queues into the quorum queues the services now declare.

    python -m tools.migrate_queues [--amqp URI] [--retry-delays-ms 1000,5000,30000] [--dry-run]

Run it with the consuming services stopped (it refuses a queue that has consumers), before
starting the version that declares quorum queues: a service started against a classic queue
fails with PRECONDITION_FAILED. Several nodes: ``--amqp 'amqp://a/vh;amqp://b/vh'``.

For each queue of the catalogue (consumer queues, their dead-letter queues, retry queues,
``pcn.unrouted``) that exists with other arguments than ``shared.messaging`` gives it:

1. declare ``<queue>.migrating`` (quorum, no TTL), bind it as the queue is bound, so events
   published meanwhile land there, and unbind the old queue;
2. move every message of the old queue onto it (published with confirms before the original is
   acked: a crash duplicates a message, which the handlers' dedupe absorbs, and loses none);
3. delete the old queue, declare the quorum one, bind it, unbind ``<queue>.migrating``;
4. once every queue is replaced (retry queues first, so no retry expires into a consumer queue
   being replaced), move the messages back and delete ``<queue>.migrating``.

Every step looks at what is there first, so running it again finishes an interrupted migration
and then does nothing. ``--dry-run`` prints what it would do and changes nothing.
"""
import argparse
import logging
import sys
from dataclasses import dataclass

import pika
from pika.exceptions import ChannelClosedByBroker

from services.registry import DEPLOYED_CATALOGUE
from shared.broker_uris import pika_connection
from shared.events.catalogue import consumer_queues, producers
from shared.messaging import (
    DEAD_LETTER_EXCHANGE, DEFAULT_RETRY_DELAYS_MS, UNROUTED, consumer_queue, dead_letter_queue,
    events_exchange, retry_exchange_name, retry_queue, unrouted_queue,
)

DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/%2F"
MIGRATING_SUFFIX = ".migrating"
# Where a message moved aside came from: a retry queue dead-letters by the message's routing
# key, so it must go back with the key it had, not the temporary queue's name.
ROUTING_KEY_HEADER = "x-pcn-migrated-routing-key"
NOT_FOUND, PRECONDITION_FAILED = 404, 406
# No TTL, no dead-lettering: a message waits here untouched until it goes back.
MIGRATING_ARGUMENTS = {"x-queue-type": "quorum"}


@dataclass
class QueuePlan:
    """A queue as the services declare it, and how to move a message back onto it."""

    name: str
    arguments: dict
    exchange: str
    routing_key: str
    # True for retry queues: their exchange routes every key to them alone, and a message must
    # keep its routing key (the consumer queue it returns to).
    restore_through_exchange: bool = False

    @property
    def migrating_name(self):
        return self.name + MIGRATING_SUFFIX


def plan_from(queue, restore_through_exchange=False):
    return QueuePlan(queue.name, dict(queue.queue_arguments or {}), queue.exchange.name,
                     queue.routing_key, restore_through_exchange)


def catalogue_plans(delays_ms=DEFAULT_RETRY_DELAYS_MS):
    """Every queue the services declare, in the order they are migrated."""
    plans = [plan_from(retry_queue(delay_ms), restore_through_exchange=True)
             for delay_ms in delays_ms]
    plans.append(plan_from(unrouted_queue()))
    for event, _, queue_name in consumer_queues(DEPLOYED_CATALOGUE):
        plans.append(plan_from(consumer_queue(queue_name, event.producer, event.name)))
        plans.append(plan_from(dead_letter_queue(queue_name)))
    return plans


def declare_exchanges(channel, delays_ms):
    """The exchanges the bindings need, exactly as ``declare_topology`` declares them."""
    channel.exchange_declare(UNROUTED, "fanout", durable=True)
    for producer in producers():
        exchange = events_exchange(producer)
        channel.exchange_declare(exchange.name, exchange.type, durable=True,
                                 arguments=exchange.arguments)
    channel.exchange_declare(DEAD_LETTER_EXCHANGE, "direct", durable=True)
    for delay_ms in delays_ms:
        channel.exchange_declare(retry_exchange_name(delay_ms), "topic", durable=True)


class Broker:
    """The few queue operations the migration needs, each on a channel that a refusal by the
    broker (404, 406) may close without ending the run."""

    def __init__(self, connection):
        self.connection = connection
        self.channel = connection.channel()
        self.channel.confirm_delivery()

    def _reopen(self):
        if not self.channel.is_open:
            self.channel = self.connection.channel()
            self.channel.confirm_delivery()

    def queue_state(self, name):
        """``(message count, consumer count)``, or None when there is no such queue."""
        self._reopen()
        try:
            ok = self.channel.queue_declare(name, passive=True).method
        except ChannelClosedByBroker as exc:
            if exc.reply_code != NOT_FOUND:
                raise
            return None
        return ok.message_count, ok.consumer_count

    def matches(self, name, arguments):
        """Whether queue ``name`` (which exists) was declared with ``arguments``."""
        self._reopen()
        try:
            self.channel.queue_declare(name, durable=True, arguments=arguments)
        except ChannelClosedByBroker as exc:
            if exc.reply_code != PRECONDITION_FAILED:
                raise
            return False
        return True

    def declare(self, name, arguments):
        self._reopen()
        self.channel.queue_declare(name, durable=True, arguments=arguments)

    def bind(self, name, plan):
        self._reopen()
        self.channel.queue_bind(name, plan.exchange, plan.routing_key)

    def unbind(self, name, plan):
        self._reopen()
        self.channel.queue_unbind(name, plan.exchange, plan.routing_key)

    def delete_if_empty(self, name):
        """Delete queue ``name`` if it holds no message; False when it did (and stays).

        Quorum queues refuse ``if_empty``; nothing can arrive here unseen (the queue is unbound
        and no consumer or retry publishes to it meanwhile), so count, then delete."""
        state = self.queue_state(name)
        if state is None:
            return True
        if state[0]:
            return False
        self.channel.queue_delete(name)
        return True

    def move(self, source, publish_to):
        """Move every message of ``source``, each published (confirmed) before it is acked;
        ``publish_to(method, headers)`` gives ``(exchange, routing key, headers)`` for each.
        Returns how many moved."""
        self._reopen()
        moved = 0
        while True:
            method, properties, body = self.channel.basic_get(source, auto_ack=False)
            if method is None:
                return moved
            headers = dict(properties.headers or {})
            exchange, routing_key, headers = publish_to(method, headers)
            self.channel.basic_publish(exchange, routing_key, body, pika.BasicProperties(
                content_type=properties.content_type,
                content_encoding=properties.content_encoding, delivery_mode=2,
                message_id=properties.message_id, correlation_id=properties.correlation_id,
                timestamp=properties.timestamp, type=properties.type, headers=headers),
                mandatory=True)
            self.channel.basic_ack(method.delivery_tag)
            moved += 1


def aside(plan):
    """Publish target for moving a message of the old queue to ``<queue>.migrating``."""
    def publish_to(method, headers):
        headers.setdefault(ROUTING_KEY_HEADER, method.routing_key)
        return "", plan.migrating_name, headers
    return publish_to


def back(plan):
    """Publish target for moving a message from ``<queue>.migrating`` onto the new queue."""
    def publish_to(method, headers):
        routing_key = headers.pop(ROUTING_KEY_HEADER, method.routing_key)
        if plan.restore_through_exchange:
            return plan.exchange, routing_key, headers
        return "", plan.name, headers
    return publish_to


def replace_queue(broker, plan, dry_run, report):
    """Steps 1-3 for one queue: its messages aside, the new queue declared and bound in its
    place. Resumes a run interrupted at any point of them."""
    state = broker.queue_state(plan.name)
    aside_state = broker.queue_state(plan.migrating_name)
    if state is None and aside_state is None:
        report(f"{plan.name}: absent; the services declare it at start")
        return
    if state is not None and broker.matches(plan.name, plan.arguments):
        if aside_state is None:
            report(f"{plan.name}: already as declared; nothing to do")
        return  # messages still aside come back in step 4
    verb = "would" if dry_run else "will"
    if state is not None:
        messages, consumers = state
        if consumers:
            raise SystemExit(f"{plan.name} has {consumers} consumers: stop the services that "
                             f"consume it, then run this again")
        report(f"{plan.name}: {messages} messages; {verb} move them to {plan.migrating_name} "
               f"and re-declare it with {plan.arguments}")
        if dry_run:
            return
        broker.declare(plan.migrating_name, MIGRATING_ARGUMENTS)
        broker.bind(plan.migrating_name, plan)
        broker.unbind(plan.name, plan)
        moved = broker.move(plan.name, aside(plan))
        while not broker.delete_if_empty(plan.name):
            moved += broker.move(plan.name, aside(plan))  # one arrived by the default exchange
        report(f"{plan.name}: {moved} messages moved aside; old queue deleted")
    else:
        report(f"{plan.name}: interrupted after its old queue was deleted; {verb} declare it")
        if dry_run:
            return
    broker.declare(plan.name, plan.arguments)
    broker.bind(plan.name, plan)
    # Both bound for a moment: an event published now may arrive twice (deduped), never 0 times.
    broker.unbind(plan.migrating_name, plan)
    report(f"{plan.name}: declared as {plan.arguments['x-queue-type']} and bound")


def restore_messages(broker, plan, dry_run, report):
    """Step 4 for one queue: the messages moved aside go back onto it. Returns how many."""
    aside_state = broker.queue_state(plan.migrating_name)
    if aside_state is None:
        return 0
    if dry_run:
        report(f"{plan.name}: would move {aside_state[0]} messages back from "
               f"{plan.migrating_name}")
        return 0
    moved = broker.move(plan.migrating_name, back(plan))
    while not broker.delete_if_empty(plan.migrating_name):
        moved += broker.move(plan.migrating_name, back(plan))
    report(f"{plan.name}: {moved} messages moved back; {plan.migrating_name} deleted")
    return moved


def migrate(connection, delays_ms=DEFAULT_RETRY_DELAYS_MS, dry_run=False, report=print):
    """Migrate every catalogue queue on ``connection``; returns {queue: messages moved back}.

    Every queue is replaced before any message comes back, retry queues first: their messages
    wait aside (no TTL there) until every consumer queue they return to exists again, so none
    expires into a queue that is being replaced."""
    broker = Broker(connection)
    if not dry_run:
        declare_exchanges(broker.channel, delays_ms)
    plans = catalogue_plans(delays_ms)
    for plan in plans:  # refuse before changing anything, not halfway
        state = broker.queue_state(plan.name)
        if state and state[1] and not broker.matches(plan.name, plan.arguments):
            raise SystemExit(f"{plan.name} has {state[1]} consumers: stop the services that "
                             f"consume it, then run this again")
    for plan in plans:
        replace_queue(broker, plan, dry_run, report)
    return {plan.name: restore_messages(broker, plan, dry_run, report)
            for plan in reversed(plans)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--amqp", default=DEFAULT_AMQP,
                        help="the broker; several nodes as 'amqp://a/vhost;amqp://b/vhost'")
    parser.add_argument("--retry-delays-ms", default=",".join(map(str, DEFAULT_RETRY_DELAYS_MS)),
                        help="the services' EVENT_RETRY_DELAYS_MS, comma-separated")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    args = parser.parse_args(argv)
    # pika logs every refusal it is asked for (a passive declare of an absent queue) as a warning.
    logging.getLogger("pika").setLevel(logging.ERROR)
    try:
        delays_ms = tuple(int(ms) for ms in args.retry_delays_ms.split(","))
    except ValueError:
        parser.error("--retry-delays-ms must be whole milliseconds separated by commas")
    connection = pika_connection(args.amqp)
    try:
        migrate(connection, delays_ms, args.dry_run)
    finally:
        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
