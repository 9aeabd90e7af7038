"""The private-node helper itself: a node starts on its own ports, keeps its durable queues
through a restart of its app, and is gone after a kill. (test_broker_faults restarts whole
nodes.)"""
import pytest
from kombu import Connection

from tests.rabbit_nodes import epmd_names, rabbit_nodes  # noqa: F401 - the fixture

pytestmark = pytest.mark.faults


def test_a_private_node_restarts_with_its_durable_queues(rabbit_nodes):
    node = rabbit_nodes.node("selftest")
    assert node.amqp_port != 5672
    with Connection(node.amqp_uri) as connection:
        connection.default_channel.queue_declare("kept", durable=True)
    node.stop_app()
    assert not node.accepts_amqp()
    node.start_app()
    assert "kept" in node.rabbitmqctl("list_queues", "name", "--quiet")
    node.kill()
    assert not node.running and node.nodename.split("@")[0] not in epmd_names()
