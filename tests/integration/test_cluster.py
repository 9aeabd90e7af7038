"""Both services on a 3-node RabbitMQ cluster of the test's own (AMQP_URI lists every node),
practices streaming submissions, and the node holding the quorum queues' leaders stopped
mid-stream: every accepted row stored once, pooled sums exact, each measurement.recorded
applied once, outboxes drained, every consumer back on its queue on the surviving nodes,
nothing in retry or dead-letter queues."""
import time
from datetime import date, timedelta

import eventlet
import pytest
import requests
from nameko.testing.utils import find_free_port

from services.measurement.domain import align_period
from services.measurement.service import MeasurementService
from services.projects.service import ProjectsService
from shared.events.catalogue import consumer_queues
from shared.messaging import dead_letter_queue_name, retry_exchange_name
from shared.storage import open_database
from tests.helpers import ServiceClient, wait_until
from tests.rabbit_nodes import rabbit_nodes  # noqa: F401 - the fixture

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(240)]

PRACTICES = ("F84001", "F84002", "F84003")
WEEKS = 40
RECORDED_QUEUE = "evt-measurement-measurement.recorded--measurement.apply_to_network_series"
RUNNING = ("projects", "measurement")  # the services this test runs; others' queues wait unconsumed


def counts(week_index, practice_index):
    """Completed and total SMRs of one practice in one week (numerator, denominator)."""
    total = 20 + practice_index * 5 + (week_index * 7 + practice_index * 3) % 4
    return total // 2 + (week_index + practice_index) % 5, total


def queue_table(node, *columns):
    """``rabbitmqctl list_queues`` on ``node``: {queue name: {column: value}}."""
    output = node.rabbitmqctl("list_queues", "--quiet", "--no-table-headers", "name", *columns)
    table = {}
    for line in output.splitlines():
        if line.strip():
            name, *values = line.split("\t")
            table[name] = dict(zip(columns, values))
    return table


def set_up_network(projects, measurement_address):
    """A network, three practices with keys, the SMR network project and a proportion measure,
    known to the measurement service. Returns (measure id, {practice: client}, lead client)."""
    assert projects.post("/networks", {"id": "north-pcn", "name": "North PCN"}).status_code == 201
    keys = {}
    for code in PRACTICES:
        assert projects.post("/practices", {"ods_code": code, "name": f"Practice {code}",
                                            "network_id": "north-pcn"}).status_code == 201
        issued = projects.post("/api-keys", {"role": "practice", "practice_id": code})
        keys[code] = ServiceClient(measurement_address, issued.json()["api_key"])
    issued = projects.post("/api-keys", {"role": "network_lead", "network_id": "north-pcn"})
    lead = projects.as_key(issued.json()["api_key"])
    project = lead.post("/projects", {
        "title": "Standardise structured medication reviews", "scope": "network",
        "practice_ids": list(PRACTICES),
        "aim": {"what": "SMRs completed to the template", "how_much": "90%",
                "by_when": "2027-09-30"}}).json()
    lead = ServiceClient(measurement_address, lead.key)
    assert wait_until(lambda: lead.get(f"/projects/{project['id']}/measures").status_code == 200,
                      timeout=20)
    measure = lead.post(f"/projects/{project['id']}/measures", {
        "name": "SMRs completed to the standard template", "type": "process",
        "value_kind": "proportion", "unit": "share of SMRs", "frequency": "week",
        "operational_definition": "SMRs using every section of the template, over all SMRs",
        "improvement": "increase"})
    assert measure.status_code == 201, measure.text
    for client in keys.values():  # every practice key has reached the measurement service
        assert wait_until(lambda: client.get(f"/measures/{measure.json()['id']}")
                          .status_code == 200, timeout=20)
    return measure.json()["id"], keys, lead


def stream_practice(client, practice_index, measure_id, weeks, accepted):
    """Submit every week of one practice, one request per row, as a practice system would:
    a request that fails for any reason is sent again (a repeat is a no-op)."""
    for week_index, week in enumerate(weeks):
        numerator, denominator = counts(week_index, practice_index)
        row = {"measure_id": measure_id, "period": week.isoformat(),
               "numerator": numerator, "denominator": denominator}
        while True:
            try:
                response = client.post("/submissions", row)
            except requests.RequestException:
                eventlet.sleep(0.2)
                continue
            assert response.status_code in (200, 201), response.text
            break
        accepted.append((PRACTICES[practice_index], week))
        eventlet.sleep(0.1)  # a practice system's pace; the stream spans the node stop


def test_services_ride_out_the_loss_of_the_node_holding_the_queue_leaders(
        rabbit_nodes, container_factory, service_config):
    started = time.monotonic()
    nodes = rabbit_nodes.cluster(3)
    cluster_ready = time.monotonic()
    amqp_uri = ";".join(node.amqp_uri for node in nodes)
    config = {**service_config, "AMQP_URI": amqp_uri}
    measurement_config = {**config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{find_free_port()}"}
    containers = [container_factory(ProjectsService, config),
                  container_factory(MeasurementService, measurement_config)]
    for container in containers:
        container.start()
    try:
        check_failover(nodes, config, measurement_config, started, cluster_ready)
    finally:
        # Stopped here, while the surviving nodes still run: a consumer left reconnecting to a
        # stopped cluster would hold up the fixtures' teardown.
        for container in containers:
            container.kill()


def check_failover(nodes, config, measurement_config, started, cluster_ready):
    measure_id, keys, lead = set_up_network(ServiceClient(config["WEB_SERVER_ADDRESS"]),
                                            measurement_config["WEB_SERVER_ADDRESS"])

    leaders = queue_table(nodes[0], "type", "leader", "members")
    for _, _, name in consumer_queues():
        assert leaders[name]["type"] == "quorum"
        assert len(leaders[name]["members"].split(",")) == 3, leaders[name]
    [leader] = [node for node in nodes if node.nodename == leaders[RECORDED_QUEUE]["leader"]]
    survivors = [node for node in nodes if node is not leader]
    led_there = sum(1 for row in leaders.values() if row["leader"] == leader.nodename)

    this_week = align_period(date.today(), "week")
    weeks = [this_week - timedelta(weeks=WEEKS - i) for i in range(WEEKS)]
    accepted = []
    stream_started = time.monotonic()
    clients = [eventlet.spawn(stream_practice, keys[code], index, measure_id, weeks, accepted)
               for index, code in enumerate(PRACTICES)]
    assert wait_until(lambda: len(accepted) >= len(PRACTICES) * WEEKS // 3, timeout=60)
    accepted_before_stop = len(accepted)
    stop_started = time.monotonic()
    leader.stop()
    stopped_after = time.monotonic() - stop_started
    accepted_at_stop = len(accepted)
    assert all(node.accepts_amqp() for node in survivors)
    for client in clients:
        client.wait()
    stream_done = time.monotonic()
    rows = len(PRACTICES) * WEEKS
    assert len(accepted) == rows and len(set(accepted)) == rows
    assert accepted_at_stop < rows, "the stream ended before the node was down"

    database = open_database(measurement_config, "measurement")
    applied = database["applied_events"]
    assert wait_until(lambda: applied.count_documents(
        {"handler": "measurement.apply_to_network_series"}) >= rows, timeout=60)
    drained = time.monotonic()

    # Every accepted row stored once.
    assert database["submissions"].count_documents({"measure_id": measure_id}) == rows
    # Each measurement.recorded applied once, and the pooled sums are exact.
    assert applied.count_documents({"handler": "measurement.apply_to_network_series"}) == rows
    pooled = lead.get(f"/measures/{measure_id}/pooled").json()["periods"]
    assert [p["period"] for p in pooled] == [w.isoformat() for w in weeks]
    for week_index, period in enumerate(pooled):
        expected = [counts(week_index, p) for p in range(len(PRACTICES))]
        assert period["numerator"] == sum(n for n, _ in expected), period
        assert period["denominator"] == sum(d for _, d in expected), period
        assert period["practices_submitted"] == len(PRACTICES)
    # Outboxes drained: every event the services stored reached the cluster.
    for service in ("projects", "measurement"):
        service_db = open_database(config, service)
        for collection in service_db.list_collection_names():
            assert wait_until(lambda: service_db[collection].count_documents(
                {"outbox": {"$exists": True, "$ne": []}}) == 0, timeout=20), (service, collection)
    # The services failed over: each consumer queue is led by a surviving node and consumed.
    after = wait_until(lambda: (lambda table: table if all(
        table[name]["consumers"] != "0" for _, consumer, name in consumer_queues()
        if consumer.split(".")[0] in RUNNING) else None)(
            queue_table(survivors[0], "leader", "consumers", "messages")), timeout=30)
    assert after, queue_table(survivors[0], "leader", "consumers", "messages")
    for _, consumer, name in consumer_queues():
        assert after[name]["leader"] in {node.nodename for node in survivors}
        if consumer.split(".")[0] in RUNNING:  # a handler declares its dead-letter queue
            assert after[dead_letter_queue_name(name)]["messages"] == "0"
    for delay_ms in config["EVENT_RETRY_DELAYS_MS"]:
        assert after[retry_exchange_name(delay_ms)]["messages"] == "0"

    print(f"\ncluster test: cluster of 3 started in {cluster_ready - started:.1f} s; "
          f"{rows} rows streamed by {len(PRACTICES)} practices, {accepted_before_stop} accepted "
          f"before {leader.nodename} (leader of {led_there} queues) was stopped "
          f"({stopped_after:.1f} s to stop; {rows - accepted_at_stop} rows came after it); "
          f"stream took {stream_done - stream_started:.1f} s; "
          f"every row applied {drained - stream_done:.1f} s after the last was accepted; "
          f"whole test {time.monotonic() - started:.1f} s")
