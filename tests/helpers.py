"""Test helpers: an HTTP client for a service under test, and a pika observer on the broker."""
import json
import shutil
import subprocess
import time
from pathlib import Path

import pika
import pytest
import requests
from nameko.testing.utils import find_free_port

from services import registry
from tests.conftest import ADMIN_KEY

SERVICES_CONFIG = Path(__file__).resolve().parents[1] / "services" / "config.yaml"


def services_config_yaml():
    """services/config.yaml as ``nameko run`` reads it, in this process's environment."""
    return registry.deployed_config()


class ServiceClient:
    """``requests`` against a running container (nameko's web_session fixture no longer
    imports on Werkzeug 3)."""

    def __init__(self, web_address, key=ADMIN_KEY):
        self.base = f"http://{web_address}"
        self.key = key

    def as_key(self, key):
        return ServiceClient(self.base[len("http://"):], key)

    def request(self, method, path, json_body=None, headers=None, **kwargs):
        all_headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        all_headers.update(headers or {})
        return requests.request(method, self.base + path, json=json_body, headers=all_headers,
                                timeout=10, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, json_body=None, **kwargs):
        return self.request("POST", path, json_body, **kwargs)

    def patch(self, path, json_body=None, **kwargs):
        return self.request("PATCH", path, json_body, **kwargs)


def with_own_address(service_config):
    """The shared test config with a free port of its own: one more service beside projects."""
    return {**service_config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{find_free_port()}"}


def started(container_factory, service_class, config):
    container = container_factory(service_class, config)
    container.start()
    return container


def pika_connection(amqp_uri):
    return pika.BlockingConnection(pika.URLParameters(amqp_uri))


def publish_envelopes(amqp_uri, envelopes):
    """Publish envelopes as a producer's relay would (to ``<source>.events``, routed by event
    type, persistent, with confirms), straight from a test: one connection for all."""
    connection = pika_connection(amqp_uri)
    channel = connection.channel()
    channel.confirm_delivery()
    for envelope in envelopes:
        channel.basic_publish(f"{envelope['source']}.events", envelope["event_type"],
                              json.dumps(envelope).encode(),
                              pika.BasicProperties(content_type="application/json",
                                                   delivery_mode=2,
                                                   message_id=envelope.get("event_id")))
    connection.close()


def publish_raw(amqp_uri, envelope, times=1):
    """One envelope published ``times`` times (a redelivery as the broker would make it)."""
    publish_envelopes(amqp_uri, [envelope] * times)


class EventObserver:
    """A private queue bound to an events exchange, read with pika, to see what reached the
    broker. Bind it before the events are published."""

    def __init__(self, amqp_uri, exchange, routing_key="#"):
        self.connection = pika_connection(amqp_uri)
        self.channel = self.connection.channel()
        self.queue = self.channel.queue_declare("", exclusive=True).method.queue
        self.channel.queue_bind(self.queue, exchange, routing_key)

    def collect(self, count, timeout=10.0, settle=0.3):
        """Messages (body, properties) until ``count`` arrived and ``settle`` s passed
        without another, or ``timeout``."""
        messages, deadline, last = [], time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                if len(messages) >= count and last and time.monotonic() - last > settle:
                    break
                self.connection.sleep(0.05)
                continue
            messages.append((json.loads(body), properties))
            last = time.monotonic()
        return messages

    def close(self):
        if self.connection.is_open:
            self.connection.close()


def queue_messages(amqp_uri, queue, limit=1000):
    """Read (and ack) every message waiting in ``queue``: (body, headers) pairs."""
    connection = pika_connection(amqp_uri)
    try:
        channel = connection.channel()
        found = []
        while len(found) < limit:
            method, properties, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return found
            found.append((json.loads(body), properties.headers or {}))
        return found
    finally:
        connection.close()


def wait_until(condition, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    return condition()


def promtool_check_metrics(exposition):
    """``promtool check metrics`` on a /metrics text; skips (with the reason) without promtool,
    which ``make test`` installs when it can (tools/prepare_tests.py)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not on PATH: apt-get install prometheus")
    checked = subprocess.run([promtool, "check", "metrics"], input=exposition.encode(),
                             capture_output=True, timeout=60)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
