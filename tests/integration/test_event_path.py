"""The event path on the real broker: envelope, outbox crash safety, order, deduplication,
retries and dead letters, the alternate exchange, key revocation across services."""
import time
import uuid
from datetime import date

import eventlet
import pytest
from nameko.testing.services import entrypoint_waiter

from services.projects.service import ProjectsService
from shared import metrics
from shared.auth import ApiKeyAuth
from shared.events.catalogue import make_event, validate_envelope
from shared.events.envelope import Trace
from shared.key_replica import ApiKeyReplica
from shared.messaging import (
    ATTEMPT_HEADER, UNROUTED, BrokerTopology, dead_letter_queue_name, event_handler,
)
from shared.ops import OpsEndpoints, Readiness
from shared.outbox import OutboxRelay
from shared.storage import open_database
from tests.helpers import (EventObserver, ServiceClient, pika_connection, publish_raw,
                           queue_messages, wait_until)
from tests.integration.conftest import network_project, practice_project

CALLS = []


class RecorderService:
    """A consumer of project.created that counts what it applied in its own database."""

    name = "recorder"
    topology = BrokerTopology()

    @event_handler("projects", "project.created")
    def count_project(self, envelope):
        CALLS.append(str(envelope["event_id"]))


class FailingService:
    name = "failing"
    topology = BrokerTopology()

    @event_handler("projects", "project.created")
    def always_fails(self, envelope):
        CALLS.append(str(envelope["event_id"]))
        raise RuntimeError("this handler always fails")


class KeyCheckingService(OpsEndpoints):
    """Stands for any non-registry service: verifies keys from its own replica."""

    name = "measurement"
    topology = BrokerTopology()
    auth = ApiKeyAuth()
    readiness = Readiness()

    @event_handler("projects", "apikey.issued")
    def apply_api_key_issued(self, envelope):
        ApiKeyReplica.apply_api_key_issued(self, envelope)

    @event_handler("projects", "apikey.revoked")
    def apply_api_key_revoked(self, envelope):
        ApiKeyReplica.apply_api_key_revoked(self, envelope)


@pytest.fixture(autouse=True)
def clear_calls():
    CALLS.clear()


def project_created(project_id):
    return make_event("project.created", {
        "project_id": project_id, "title": "t", "scope": "practice", "stage": "idea",
        "aim": {"what": "w", "how_much": "h", "by_when": date(2027, 1, 1)},
        "practice_ids": ["F84001"]}, source="projects", network_id="north-pcn", trace=Trace())


def test_http_create_arrives_as_a_valid_envelope(network, service_config):
    observer = EventObserver(service_config["AMQP_URI"], "projects.events", "project.*")
    response = practice_project(network["F84001"], "F84001",
                                headers={"X-Correlation-ID": "corr-123"})
    assert response.status_code == 201, response.text
    project_id = response.json()["id"]
    messages = observer.collect(2)
    assert [m[0]["event_type"] for m in messages] == ["project.created", "project.practice_joined"]
    created, properties = messages[0]
    loaded = validate_envelope(created)
    assert loaded["data"]["project_id"] == project_id
    assert created["source"] == "projects" and created["network_id"] == "north-pcn"
    assert created["practice_id"] == "F84001" and created["correlation_id"] == "corr-123"
    assert properties.message_id == created["event_id"] and properties.delivery_mode == 2


def test_events_of_one_aggregate_keep_their_order(network, service_config):
    observer = EventObserver(service_config["AMQP_URI"], "projects.events",
                             "project.stage_changed")
    lead = network["lead"]
    project_id = network_project(lead).json()["id"]
    stages = ["planning", "testing", "implementing", "sustaining", "closed"]
    for stage in stages:
        assert lead.post(f"/projects/{project_id}/stage", {"stage": stage}).status_code == 200
    received = [m[0]["data"]["to_stage"] for m in observer.collect(len(stages))]
    assert received == stages


def test_crash_between_write_and_publish_loses_no_event(container_factory, service_config,
                                                        monkeypatch):
    """The first process stores the project but dies before its relay publishes; the next
    process publishes the event exactly once."""
    def stall_before_publishing(self):
        eventlet.sleep(3600)  # the process is killed while the relay is about to publish

    with monkeypatch.context() as patch:
        patch.setattr(OutboxRelay, "publish_pending", stall_before_publishing)
        first = container_factory(ProjectsService, service_config)
        first.start()
        admin = ServiceClient(service_config["WEB_SERVER_ADDRESS"])
        assert admin.post("/networks", {"id": "north-pcn", "name": "N"}).status_code == 201
        assert admin.post("/practices", {"ods_code": "F84001", "name": "P",
                                         "network_id": "north-pcn"}).status_code == 201
        observer = EventObserver(service_config["AMQP_URI"], "projects.events", "project.*")
        response = practice_project(admin, "F84001", network_id="north-pcn")
        assert response.status_code == 201, response.text
        first.kill()
    assert observer.collect(1, timeout=1.0) == []
    database = open_database(service_config, "projects")
    stored = database["projects"].find_one({"_id": response.json()["id"]})
    assert [e["event_type"] for e in stored["outbox"]] == ["project.created",
                                                           "project.practice_joined"]

    second = container_factory(ProjectsService, service_config)
    second.start()
    messages = observer.collect(2, timeout=10.0, settle=1.0)
    assert [m[0]["event_type"] for m in messages] == ["project.created", "project.practice_joined"]
    assert messages[0][0]["data"]["project_id"] == response.json()["id"]
    assert wait_until(lambda: "outbox" not in database["projects"].find_one(
        {"_id": response.json()["id"]}))


def test_redelivered_event_is_applied_once(container_factory, service_config):
    container = container_factory(RecorderService, service_config)
    container.start()
    envelope = project_created("prj_1")
    with entrypoint_waiter(container, "count_project"):
        publish_raw(service_config["AMQP_URI"], envelope)
    publish_raw(service_config["AMQP_URI"], envelope, times=3)
    time.sleep(1.0)  # give the redeliveries time to arrive
    assert CALLS == [envelope["event_id"]]
    labels = ("recorder", "recorder.count_project", "project.created")
    assert metrics.EVENTS_DEDUPLICATED.labels(*labels)._value.get() >= 3
    applied = open_database(service_config, "recorder")["applied_events"]
    assert applied.count_documents({"event_id": envelope["event_id"]}) == 1


def test_failing_handler_ends_in_dead_letter_queue_after_bounded_retries(container_factory,
                                                                        service_config):
    container = container_factory(FailingService, service_config)
    container.start()
    envelope = project_created("prj_2")
    publish_raw(service_config["AMQP_URI"], envelope)
    queue = "evt-projects-project.created--failing.always_fails"
    dead = wait_until(lambda: queue_messages(service_config["AMQP_URI"],
                                             dead_letter_queue_name(queue)), timeout=15)
    assert len(dead) == 1
    body, headers = dead[0]
    assert body == envelope
    assert headers[ATTEMPT_HEADER] == 3
    assert "always fails" in headers["x-pcn-dead-letter-reason"]
    assert len(CALLS) == 4  # the first try and three delayed retries, then no more
    time.sleep(1.0)  # no fifth try comes
    assert len(CALLS) == 4
    labels = ("failing", "failing.always_fails", "project.created")
    assert metrics.EVENTS_RETRIED.labels(*labels)._value.get() >= 3
    assert metrics.EVENTS_DEAD_LETTERED.labels(*labels)._value.get() >= 1


def test_dead_letters_can_be_inspected_and_replayed(container_factory, service_config,
                                                     monkeypatch):
    from tools import dead_letters

    container = container_factory(FailingService, service_config)
    container.start()
    envelope = project_created("prj_3")
    publish_raw(service_config["AMQP_URI"], envelope)
    queue = "evt-projects-project.created--failing.always_fails"
    connection = pika_connection(service_config["AMQP_URI"])
    channel = connection.channel()
    summary = []

    def dead_lettered():
        summary[:] = dead_letters.dead_letter_summary(connection, [queue])
        return summary
    assert wait_until(dead_lettered, timeout=15)
    [(_, count, reasons)] = summary
    assert count == 1 and reasons[0][1] == envelope["event_id"] and "always fails" in reasons[0][2]
    # Inspecting read the message unacked; the broker puts it back as that channel closes,
    # which a quorum queue does a moment later: wait for it, as an operator's next command would.
    dead_queue = dead_letter_queue_name(queue)
    assert wait_until(lambda: channel.queue_declare(
        dead_queue, passive=True).method.message_count == 1, timeout=10)
    # Fixed: the handler now succeeds, and the replayed event is applied.
    monkeypatch.setattr(FailingService, "always_fails", RecorderService.count_project)
    container.stop()
    fixed = container_factory(FailingService, service_config)
    fixed.start()
    CALLS.clear()
    assert dead_letters.replay(channel, queue) == 1
    assert wait_until(lambda: CALLS == [envelope["event_id"]])
    assert dead_letters.dead_letter_summary(connection, [queue]) == []
    connection.close()


def test_invalid_envelope_goes_straight_to_dead_letters(container_factory, service_config):
    container = container_factory(RecorderService, service_config)
    container.start()
    bad = {"event_type": "project.created", "source": "projects", "data": {}}
    publish_raw(service_config["AMQP_URI"], bad)
    queue = "evt-projects-project.created--recorder.count_project"
    dead = wait_until(lambda: queue_messages(service_config["AMQP_URI"],
                                             dead_letter_queue_name(queue)), timeout=10)
    assert len(dead) == 1 and "invalid envelope" in dead[0][1]["x-pcn-dead-letter-reason"]
    assert CALLS == []


def test_event_without_a_bound_queue_is_kept_by_the_alternate_exchange(projects_service,
                                                                       service_config):
    envelope = {"event_type": "nobody.listens", "source": "projects", "event_id": str(uuid.uuid4())}
    publish_raw(service_config["AMQP_URI"], envelope)
    kept = wait_until(lambda: queue_messages(service_config["AMQP_URI"], UNROUTED))
    assert [body["event_id"] for body, _ in kept] == [envelope["event_id"]]


def test_revoked_key_is_refused_by_every_service(container_factory, service_config, network,
                                                 rabbit_config, web_config_port):
    other_config = {**service_config, "WEB_SERVER_ADDRESS": "127.0.0.1:0"}
    from nameko.testing.utils import find_free_port

    other_config["WEB_SERVER_ADDRESS"] = f"127.0.0.1:{find_free_port()}"
    other = container_factory(KeyCheckingService, other_config)
    other.start()
    admin = ServiceClient(service_config["WEB_SERVER_ADDRESS"])
    issued = admin.post("/api-keys", {"role": "ops"}).json()
    ops_at_other = ServiceClient(other_config["WEB_SERVER_ADDRESS"], issued["api_key"])
    assert wait_until(lambda: ops_at_other.get("/metrics").status_code == 200)

    practice_key = network["F84001"]
    assert practice_key.get("/projects").status_code == 200
    revoked = admin.post(f"/api-keys/{issued['key_id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert admin.as_key(issued["api_key"]).get("/metrics").status_code == 401
    assert wait_until(lambda: ops_at_other.get("/metrics").status_code == 401, timeout=5)
    assert admin.post(f"/api-keys/{issued['key_id']}/revoke").status_code == 409
