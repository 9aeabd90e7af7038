"""Publishing with many publisher confirms in flight, on py-amqp (the client under kombu/nameko).

py-amqp is green under eventlet, so this runs inside a nameko service; pika's blocking client is
not eventlet-safe. Messages are published back to back and the broker's acks are collected
afterwards: about ten times the rate of waiting for each confirm in turn.
"""
import json
import logging
import socket
import time

import amqp

from shared.broker_uris import node_addresses

log = logging.getLogger(__name__)

PERSISTENT = 2


class PublishFailed(Exception):
    """The broker did not confirm every message in time; the unconfirmed ones must be retried."""


class ConfirmingPublisher:
    """Publish JSON messages with ``mandatory`` set and wait for the broker's confirms.

    ``publish_batch`` returns the ``message_id`` of every message the broker confirmed
    (acked and not returned as unroutable); the caller treats the rest as unsent.

    ``queues_for(exchange, routing_key)``, when given, names the queues a message of that route
    reaches; the warning about a nack names them (AMQP's nack itself carries no reason).
    """

    def __init__(self, amqp_uri, confirm_timeout=10.0, queues_for=None):
        self.amqp_uri = amqp_uri
        self.confirm_timeout = confirm_timeout
        self.queues_for = queues_for
        self._node_index = 0
        self._connection = None
        self._channel = None
        self._next_tag = 1
        self._tags = {}
        self._acked = set()
        self._nacked = {}
        self._returned = {}

    def _connect(self):
        """Connect to the first node that answers, starting with the one that answered last,
        so a node list (``amqp://a;amqp://b``, as kombu reads it) fails over as kombu does."""
        nodes = node_addresses(self.amqp_uri)
        for attempt in range(len(nodes)):
            index = (self._node_index + attempt) % len(nodes)
            host, port, userid, password, virtual_host = nodes[index]
            connection = amqp.Connection(
                host=f"{host}:{port}", userid=userid, password=password,
                virtual_host=virtual_host, heartbeat=0, connect_timeout=5)
            try:
                connection.connect()
            except (OSError, amqp.exceptions.AMQPError) as exc:
                log.warning("broker node %s:%s unreachable (%r); trying the next", host, port, exc)
                if attempt == len(nodes) - 1:
                    raise
                continue
            self._node_index = index
            self._connection = connection
            return

    def _open_channel(self):
        self._channel = self._connection.channel()
        self._channel.confirm_select()
        self._channel.events["basic_ack"].add(self._on_ack)
        self._channel.events["basic_nack"].add(self._on_nack)
        self._channel.events["basic_return"].add(self._on_return)
        self._next_tag = 1

    def _drop_channel(self):
        """Close the channel, keeping the connection: the next batch opens a fresh one.

        RabbitMQ keeps a quorum queue's publishing state per channel, made at the channel's
        first publish to that queue from the queue's leader as then recorded. A first publish
        between the leader's node going down and the new leader being recorded finds the old
        leader's node down and is refused, and so is every later publish on that channel to
        that queue: nothing ever tells it the new leader (RabbitMQ 3.10's rabbit_fifo_client).
        A fresh channel starts from the new leader."""
        channel, self._channel = self._channel, None
        try:
            channel.close()
        except Exception:  # the connection is in doubt too: the next batch makes a new one
            self.close()

    def _on_ack(self, delivery_tag, multiple):
        for tag in self._settled(delivery_tag, multiple):
            self._acked.add(self._tags.pop(tag)[0])

    def _on_nack(self, delivery_tag, multiple):
        for tag in self._settled(delivery_tag, multiple):
            message_id, exchange, routing_key = self._tags.pop(tag)
            self._nacked[message_id] = (exchange, routing_key)

    def _settled(self, delivery_tag, multiple):
        if multiple:
            return [t for t in self._tags if t <= delivery_tag]
        return [delivery_tag] if delivery_tag in self._tags else []

    def _on_return(self, exc, exchange, routing_key, message):
        # An unroutable message is still acked by the broker: remember it was not delivered.
        self._returned[message.properties.get("message_id")] = (exchange, routing_key,
                                                                  exc.reply_text)

    def publish_batch(self, messages):
        """Publish ``(exchange, routing_key, message_id, body_dict, headers)`` tuples.

        Returns the set of confirmed message ids. Raises ``PublishFailed`` after closing the
        connection when the broker is unreachable or slow; nothing is then assumed sent.
        After a nack the channel is replaced (see ``_drop_channel``).
        """
        if not messages:
            return set()
        self._acked, self._nacked, self._returned, self._tags = set(), {}, {}, {}
        try:
            if self._connection is None:
                self._connect()
            if self._channel is None:
                self._open_channel()
            for exchange, routing_key, message_id, body, headers in messages:
                message = amqp.Message(
                    json.dumps(body), content_type="application/json",
                    content_encoding="utf-8", delivery_mode=PERSISTENT,
                    message_id=message_id, application_headers=headers or {})
                self._tags[self._next_tag] = (message_id, exchange, routing_key)
                self._next_tag += 1
                self._channel.basic_publish(message, exchange=exchange,
                                            routing_key=routing_key, mandatory=True)
            deadline = time.monotonic() + self.confirm_timeout
            while self._tags:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PublishFailed(f"{len(self._tags)} messages not confirmed in time")
                try:
                    self._connection.drain_events(timeout=min(remaining, 1.0))
                except socket.timeout:
                    continue
        except Exception as exc:
            self.close()
            if isinstance(exc, PublishFailed):
                raise
            raise PublishFailed(f"publishing failed: {exc!r}") from exc
        if self._returned:
            log.warning("%d messages were unroutable; they stay pending: %s", len(self._returned),
                        describe_routes(self._returned.values(), self.queues_for))
        if self._nacked:
            log.warning(
                "broker refused %d messages; they stay pending, and the next batch goes out on a "
                "fresh channel. A nack carries no reason: a queue of their route did not take "
                "them (a quorum queue whose leader this channel cannot reach, or one at a length "
                "limit): %s", len(self._nacked),
                describe_routes(self._nacked.values(), self.queues_for))
            self._drop_channel()
        return self._acked - set(self._nacked) - set(self._returned)

    def close(self):
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.collect()
            except Exception:  # the socket may already be gone; nothing left to release
                pass


def describe_routes(routes, queues_for=None):
    """``routes`` (``(exchange, routing_key[, reason])`` per message) as one line for a log:
    each distinct route with its count, and the queues ``queues_for`` names for it."""
    counts = {}
    for route in routes:
        counts[route] = counts.get(route, 0) + 1
    described = []
    for (exchange, routing_key, *reason), count in sorted(counts.items()):
        text = f"{count} to {exchange or '(default)'}/{routing_key}"
        if reason:
            text += f" ({reason[0]})"
        if queues_for is not None:
            queues = queues_for(exchange, routing_key)
            text += f" [queues: {', '.join(queues) if queues else 'none bound'}]"
        described.append(text)
    return "; ".join(described)
