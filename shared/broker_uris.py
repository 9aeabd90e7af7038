"""One ``AMQP_URI`` that lists every node of a RabbitMQ cluster, for every client we use.

kombu (and so nameko, which hands ``AMQP_URI`` to kombu unchanged) reads
``amqp://guest:guest@node1:5672/vhost;amqp://guest:guest@node2:5672/vhost`` as a primary and its
alternates and fails over to the next one when a connection fails. The py-amqp publisher of the
outbox relay and the pika tools read the same string through these helpers, so one setting
serves them all.
"""
import logging
import re

import pika
from kombu import Connection

URI_SEPARATOR = ";"
# user:password@ in an AMQP URI; nameko masks only the first node's password when it logs a
# connection error, so a node list would put the others in the log.
PASSWORD_IN_URI = re.compile(r"(amqps?://[^:/@;\s]*:)[^@;\s]+@")


def node_uris(amqp_uri):
    """The URIs of ``amqp_uri`` in order: ``"amqp://a;amqp://b"`` → ``["amqp://a", "amqp://b"]``.

    Raises ``ValueError`` for a string that names no node."""
    uris = [uri.strip() for uri in amqp_uri.split(URI_SEPARATOR) if uri.strip()]
    if not uris:
        raise ValueError(f"AMQP URI {amqp_uri!r} names no broker node")
    return uris


def node_addresses(amqp_uri):
    """``(host, port, userid, password, virtual_host)`` of each node, parsed as kombu parses
    them (so ``%2F`` and default ports mean the same everywhere)."""
    addresses = []
    for uri in node_uris(amqp_uri):
        parsed = Connection(uri)
        addresses.append((parsed.hostname, parsed.port or 5672, parsed.userid, parsed.password,
                          parsed.virtual_host or "/"))
    return addresses


def pika_parameters(amqp_uri):
    """pika connection parameters for each node; ``pika.BlockingConnection`` given the list
    tries them in order and connects to the first that answers."""
    return [pika.URLParameters(uri) for uri in node_uris(amqp_uri)]


def pika_connection(amqp_uri):
    """A blocking pika connection to the first node of ``amqp_uri`` that answers."""
    return pika.BlockingConnection(pika_parameters(amqp_uri))


class MaskBrokerPasswords(logging.Filter):
    """Replaces every password in AMQP URIs of a log record with ``********``."""

    def filter(self, record):
        message = record.getMessage()
        masked = PASSWORD_IN_URI.sub(r"\1********@", message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def mask_passwords_in(logger_name="nameko.messaging"):
    """Install the mask on the logger that reports broker connection errors (once)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, MaskBrokerPasswords) for f in logger.filters):
        logger.addFilter(MaskBrokerPasswords())
