"""``AMQP_URI`` listing several nodes (``amqp://a;amqp://b``): every client we use (nameko's
kombu consumers and publishers, the relay's py-amqp publisher, the pika tools) connects through
the list and passes over a node that does not answer. The cluster test stops a real node."""
import pytest
from nameko.testing.utils import find_free_port

from services.measurement.service import MeasurementService
from services.projects.service import ProjectsService
from shared.amqp_publisher import ConfirmingPublisher
from shared.broker_uris import node_addresses, node_uris, pika_connection
from shared.storage import open_database
from tests.helpers import EventObserver, ServiceClient, wait_until
from tests.integration.conftest import practice_project
from tools import dead_letters


@pytest.fixture
def node_list_uri(service_config):
    """A dead node first, then the test's vhost on the real broker."""
    real = service_config["AMQP_URI"]
    dead = real.replace(":5672/", f":{find_free_port()}/")
    assert dead != real
    return f"{dead};{real}"


def test_node_uris_are_split_as_kombu_splits_them():
    uri = "amqp://u:p@node-0:5672/pcn; amqp://u:p@node-1/pcn;"
    assert node_uris(uri) == ["amqp://u:p@node-0:5672/pcn", "amqp://u:p@node-1/pcn"]
    assert node_addresses(uri)[1] == ("node-1", 5672, "u", "p", "pcn")
    with pytest.raises(ValueError):
        node_uris(" ; ")


def test_relay_publisher_passes_over_a_dead_node(node_list_uri, service_config):
    from shared.messaging import declare_topology

    declare_topology(node_list_uri, service_config["EVENT_RETRY_DELAYS_MS"])
    observer = EventObserver(service_config["AMQP_URI"], "projects.events", "project.created")
    publisher = ConfirmingPublisher(node_list_uri)
    try:
        confirmed = publisher.publish_batch(
            [("projects.events", "project.created", "m-1", {"n": 1}, {})])
    finally:
        publisher.close()
    assert confirmed == {"m-1"}
    assert [body for body, _ in observer.collect(1)] == [{"n": 1}]
    observer.close()


def test_pika_tools_pass_over_a_dead_node(node_list_uri):
    connection = pika_connection(node_list_uri)
    assert connection.is_open
    connection.close()
    assert dead_letters.main(["list", "--amqp", node_list_uri]) == 0


def test_services_run_on_a_node_list(container_factory, service_config, node_list_uri):
    """Both services on the list: the projects relay publishes, measurement consumes."""
    config = {**service_config, "AMQP_URI": node_list_uri}
    projects = container_factory(ProjectsService, config)
    projects.start()
    measurement = container_factory(
        MeasurementService, {**config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{find_free_port()}"})
    measurement.start()
    admin = ServiceClient(config["WEB_SERVER_ADDRESS"])
    assert admin.post("/networks", {"id": "north-pcn", "name": "N"}).status_code == 201
    assert admin.post("/practices", {"ods_code": "F84001", "name": "P",
                                     "network_id": "north-pcn"}).status_code == 201
    response = practice_project(admin, "F84001", network_id="north-pcn")
    assert response.status_code == 201, response.text
    applied = open_database(config, "measurement")["applied_events"]
    assert wait_until(lambda: applied.find_one({"handler": "measurement.track_project"}),
                      timeout=10)


def test_no_password_of_a_node_list_reaches_the_log(container_factory, service_config,
                                                     node_list_uri, caplog):
    """nameko logs a failed connection with its URI, masking only the first password."""
    import logging

    container = container_factory(ProjectsService, {**service_config, "AMQP_URI": node_list_uri})
    container.start()
    secret_uri = "amqp://pcn:s3cret@node-0:5672/;amqp://pcn:s3cret@node-1:5672/"
    with caplog.at_level(logging.WARNING, logger="nameko.messaging"):
        logging.getLogger("nameko.messaging").warning(
            "Error connecting to broker at %s (refused).", secret_uri)
    assert "s3cret" not in caplog.text
    assert "amqp://pcn:********@node-0:5672/;amqp://pcn:********@node-1:5672/" in caplog.text
