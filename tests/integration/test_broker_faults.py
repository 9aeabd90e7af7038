"""Faults on a private RabbitMQ node the test starts (so restarting it disturbs nobody): the broker
app restarted and the whole node restarted while practices stream submissions, a lost
connection at each point of an event handler, and a measurement service killed mid-stream.

Each test gets a vhost of its own on the module's node. Run with ``-s`` to see the drain times.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import date, timedelta
from types import SimpleNamespace

import pika
import pytest
import requests
from nameko.testing.utils import find_free_port
from nameko.web.server import WebServer
from prometheus_client import REGISTRY

from services.measurement.domain import align_period
from services.measurement.repository import SUBMISSIONS
from services.measurement.service import MeasurementService
from services.projects.service import ProjectsService
from shared.events.catalogue import make_event
from shared.events.envelope import Trace
from shared.messaging import ATTEMPT_HEADER, declare_topology, event_handler
from shared.events.envelope import utc_now
from shared.storage import as_utc, open_database
from tests.conftest import ADMIN_KEY, OPS_KEY
from tests.helpers import ServiceClient, wait_until
from tests.integration.conftest import network_project
from tests.rabbit_nodes import RabbitNode, require_rabbitmq_server

pytestmark = [pytest.mark.faults, pytest.mark.timeout(240)]

PRACTICES = ("F84001", "F84002", "F84003", "F84004")
WEEKS = 36
SHIFT_WEEK = 28  # from this week on the SMR share jumps from about 40 % to about 85 %
SERVICES = ("projects", "measurement")


# -- the private node, a vhost per test, the two services on it --------------------------------

@pytest.fixture(scope="module")
def private_node(tmp_path_factory):
    require_rabbitmq_server()
    node = RabbitNode("faults", tmp_path_factory.mktemp("faults-rabbit"))
    try:
        started = time.monotonic()
        node.start()
        print(f"\nprivate RabbitMQ node started in {time.monotonic() - started:.1f} s")
        yield node
    finally:
        node.stop()


@pytest.fixture
def broker(private_node):
    node, vhost = private_node, f"faults-{uuid.uuid4().hex[:8]}"
    if not node.running:
        node.start()
    elif not node.accepts_amqp():  # an earlier test failed with the app stopped
        node.start_app()
    node.rabbitmqctl("add_vhost", vhost)
    node.rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    yield SimpleNamespace(node=node, vhost=vhost,
                          uri=f"amqp://guest:guest@127.0.0.1:{node.amqp_port}/{vhost}")
    if node.running and node.accepts_amqp():
        node.rabbitmqctl("delete_vhost", vhost)


def service_config(broker, storage_config):
    return {"AMQP_URI": broker.uri, "WEB_SERVER_ADDRESS": f"127.0.0.1:{find_free_port()}",
            **storage_config, "PCN_ADMIN_KEY": ADMIN_KEY, "PCN_OPS_KEY": OPS_KEY,
            "serializer": "json", "DECLARE_EVENT_EXCHANGES": False,
            "EVENT_RETRY_DELAYS_MS": [100, 200, 300], "OUTBOX_POLL_SECONDS": 0.2,
            "OUTBOX_LEASE_SECONDS": 2}


@pytest.fixture
def stack(broker, storage_config, container_factory):
    """Projects and measurement on the private node; a network of four practices, their keys,
    the SMR network project and its proportion measure."""
    projects_config = service_config(broker, storage_config)
    measurement_config = service_config(broker, storage_config)
    containers = {"projects": container_factory(ProjectsService, projects_config),
                  "measurement": container_factory(MeasurementService, measurement_config)}
    for container in containers.values():
        container.start()
    admin = ServiceClient(projects_config["WEB_SERVER_ADDRESS"])
    assert admin.post("/networks", {"id": "north-pcn", "name": "North PCN"}).status_code == 201
    keys = {}
    for code in PRACTICES:
        assert admin.post("/practices", {"ods_code": code, "name": f"Practice {code}",
                                         "network_id": "north-pcn"}).status_code == 201
        keys[code] = admin.post("/api-keys", {"role": "practice", "practice_id": code}
                                ).json()["api_key"]
    keys["lead"] = admin.post("/api-keys", {"role": "network_lead", "network_id": "north-pcn"}
                              ).json()["api_key"]
    project = network_project(admin.as_key(keys["lead"]), PRACTICES).json()
    measurement = ServiceClient(measurement_config["WEB_SERVER_ADDRESS"])
    lead = measurement.as_key(keys["lead"])
    assert wait_until(lambda: lead.get(f"/projects/{project['id']}/measures").status_code == 200)
    measure = lead.post(f"/projects/{project['id']}/measures", {
        "name": "SMRs completed to the standard template", "type": "process",
        "value_kind": "proportion", "unit": "share of SMRs", "frequency": "week",
        "operational_definition": "SMRs in the week using every section of the template",
        "improvement": "increase"})
    assert measure.status_code == 201, measure.text
    return SimpleNamespace(
        broker=broker, storage_config=storage_config, containers=containers,
        configs={"projects": projects_config, "measurement": measurement_config},
        measurement=measurement, lead=lead, keys=keys, measure_id=measure.json()["id"])


# -- streaming practices ----------------------------------------------------------------------

def weeks_back(count):
    this_week = align_period(date.today(), "week")
    return [this_week - timedelta(weeks=count - i) for i in range(count)]


def smr_counts(week_index, practice_index):
    """Completed and total SMRs: about 40 % before SHIFT_WEEK, about 85 % from it on, so the
    pooled series has exactly one special-cause episode (improvement), at its end."""
    total = 20 + practice_index * 5 + (week_index * 7 + practice_index * 3) % 4
    rate = 0.85 if week_index >= SHIFT_WEEK else 0.40
    wobble = ((week_index * 5 + practice_index * 11) % 5 - 2) / 100
    return round(total * (rate + wobble)), total


class PracticeStream:
    """One thread per practice posting its weeks in order, one row a request, ``pace`` s apart;
    a request that gets no answer or a 503 (service stopping or restarting) is sent again:
    submissions are idempotent. Every answer's status is kept; ``accepted`` holds what got a
    2xx."""

    def __init__(self, address, keys, measure_id, pace):
        self.address, self.keys, self.measure_id, self.pace = address, keys, measure_id, pace
        self.accepted = {}
        self.statuses = Counter()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._practice, args=(index, code), daemon=True)
                        for index, code in enumerate(PRACTICES)]

    def start(self):
        for thread in self.threads:
            thread.start()
        return self

    def join(self, timeout):
        for thread in self.threads:
            thread.join(timeout)
        assert not any(thread.is_alive() for thread in self.threads), "the stream did not end"

    def _practice(self, practice_index, code):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.keys[code]}"
        for week_index, week in enumerate(weeks_back(WEEKS)):
            numerator, denominator = smr_counts(week_index, practice_index)
            row = {"measure_id": self.measure_id, "period": week.isoformat(),
                   "numerator": numerator, "denominator": denominator}
            for _ in range(200):
                try:
                    response = session.post(f"http://{self.address}/submissions/batch",
                                            json={"rows": [row]}, timeout=10)
                except requests.RequestException:
                    time.sleep(0.2)
                    continue
                with self.lock:
                    self.statuses[response.status_code] += 1
                    if response.ok:
                        self.accepted[(code, week.isoformat())] = (numerator, denominator)
                if response.status_code != 503:
                    break
                time.sleep(float(response.headers.get("Retry-After", 1)))
            time.sleep(self.pace)


# -- what must hold after the faults ----------------------------------------------------------

def pending_events(stack):
    """Events waiting in the outboxes of both services (read from their storage)."""
    count = 0
    for service in SERVICES:
        database = open_database(stack.storage_config, service)
        for name in database.list_collection_names():
            for document in database[name].find({"outbox_since": {"$exists": True}},
                                                {"outbox": 1}):
                count += len(document.get("outbox") or [])
    return count


def wait_for_drain(stack, since, timeout=60):
    """Seconds from ``since`` until both outboxes are empty."""
    assert wait_until(lambda: pending_events(stack) == 0, timeout=timeout, interval=0.1), \
        f"{pending_events(stack)} events still in the outboxes"
    return time.monotonic() - since


def queues(broker):
    """{queue name: (consumers, messages)} on the test's vhost, from rabbitmqctl."""
    output = broker.node.rabbitmqctl("list_queues", "-p", broker.vhost, "name", "consumers",
                                     "messages", "--quiet", "--no-table-headers")
    table = {}
    for line in output.splitlines():
        name, consumers, messages = line.split("\t")
        table[name] = (int(consumers), int(messages))
    return table


def consumer_queues_back(broker, consumed_by=SERVICES):
    """True when every consumer queue of the services ``consumed_by`` has a consumer again and
    retry, dead-letter and unrouted queues are empty."""
    table = queues(broker)
    side_queues = {n: v for n, v in table.items()
                   if n.startswith(("pcn.retry.", "pcn.unrouted")) or n.endswith(".dead-letter")}
    # nameko names a consumer queue evt-<source>-<event type>--<service>.<method>
    consumer = {n: v for n, v in table.items() if n not in side_queues
                and n.split("--")[-1].split(".")[0] in consumed_by}
    return (consumer and all(consumers >= 1 for consumers, _ in consumer.values())
            and all(messages == 0 for _, messages in side_queues.values()))


def alive(container):
    return not container._died.ready()


def signal_observer(broker):
    """A durable queue bound to pooled-signal events before the stream: it outlives a node
    restart, unlike an exclusive one."""
    name = f"observer.{uuid.uuid4().hex[:6]}"
    connection = pika.BlockingConnection(pika.URLParameters(broker.uri))
    channel = connection.channel()
    channel.queue_declare(name, durable=True)
    channel.queue_bind(name, "measurement.events", "measurement.signal_detected")
    connection.close()
    return name


def read_queue(broker, name):
    connection = pika.BlockingConnection(pika.URLParameters(broker.uri))
    try:
        channel, bodies = connection.channel(), []
        while True:
            method, _, body = channel.basic_get(name, auto_ack=True)
            if method is None:
                return bodies
            bodies.append(json.loads(body))
    finally:
        connection.close()


def check_nothing_lost_nothing_doubled(stack, stream, answers=(200, 201)):
    assert set(stream.statuses) <= set(answers), stream.statuses  # no other 5xx, no refusal
    assert len(stream.accepted) == len(PRACTICES) * WEEKS
    stored = list(open_database(stack.storage_config, "measurement")[SUBMISSIONS].find(
        {"measure_id": stack.measure_id}))
    assert len(stored) == len(stream.accepted)  # every accepted row stored, once
    for document in stored:
        numerator, denominator = stream.accepted[(document["practice_id"], document["period"])]
        contribution = document["contribution"]
        assert (contribution["numerator"], contribution["denominator"]) == (numerator, denominator)
        assert document["version"] == 1  # no row applied twice as a correction

    def pooled_complete():
        body = stack.lead.get(f"/measures/{stack.measure_id}/pooled").json()
        periods = body.get("periods", [])
        return (len(periods) == WEEKS and all(p["practices_submitted"] == len(PRACTICES)
                                              for p in periods) and periods)

    periods = wait_until(pooled_complete, timeout=60, interval=0.2)
    assert periods, "the pooled series did not take in every accepted row"
    for week_index, period in enumerate(periods):
        rows = [stream.accepted[(code, period["period"])] for code in PRACTICES]
        assert period["numerator"] == sum(n for n, _ in rows)  # exact: each row added once
        assert period["denominator"] == sum(d for _, d in rows)
        assert period["value"] == pytest.approx(sum(n for n, _ in rows) / sum(d for _, d in rows))


def deduplicated(service, handler, event_type):
    return REGISTRY.get_sample_value("pcn_events_deduplicated_total", {
        "service": service, "handler": handler, "event_type": event_type}) or 0


def gauge(name, service):
    return REGISTRY.get_sample_value(name, {"service": service})


# -- the broker restarted twice while practices stream ------------------------------------------

def test_a_stream_survives_an_app_restart_and_a_node_restart(stack, tmp_path):
    broker, node = stack.broker, stack.broker.node
    observer = signal_observer(broker)
    stream = PracticeStream(stack.configs["measurement"]["WEB_SERVER_ADDRESS"], stack.keys,
                            stack.measure_id, pace=0.8).start()
    drains, back = {}, {}  # seconds from the start command: to AMQP accepted, to outboxes empty

    time.sleep(2)
    node.stop_app()
    time.sleep(2)  # requests keep coming: they are stored, their events wait in the outbox
    assert pending_events(stack) > 0
    restarted = time.monotonic()
    node.start_app()
    back["app restart (stop_app/start_app)"] = time.monotonic() - restarted
    drains["app restart (stop_app/start_app)"] = wait_for_drain(stack, restarted)

    outage_started = time.monotonic()
    node.stop()
    samples = []  # (seconds into the outage, backlog gauge, oldest-age gauge, really pending)
    while time.monotonic() - outage_started < 8:
        time.sleep(0.5)
        samples.append((time.monotonic() - outage_started,
                        gauge("pcn_outbox_backlog", "measurement"),
                        gauge("pcn_outbox_oldest_age_seconds", "measurement"),
                        pending_events(stack)))
    assert samples[-1][3] > 0, "the stream ended before the node outage"
    readiness = stack.measurement.get("/ready")  # answers, and says what is missing
    assert readiness.status_code == 503
    assert readiness.json()["checks"] == {"broker": False, "storage": True}
    restarted = time.monotonic()
    node.start()
    back["node restart (stop/start)"] = time.monotonic() - restarted
    drains["node restart (stop/start)"] = wait_for_drain(stack, restarted)

    stream.join(timeout=60)
    assert wait_until(lambda: consumer_queues_back(broker), timeout=60, interval=0.5), \
        queues(broker)
    check_nothing_lost_nothing_doubled(stack, stream)
    assert wait_until(lambda: pending_events(stack) == 0, timeout=30)
    assert consumer_queues_back(broker), queues(broker)

    signals = [s for s in read_queue(broker, observer) if s["data"]["series"] == "pooled"]
    assert len(signals) == 1, signals
    assert signals[0]["data"]["kind"] == "improvement"
    assert all(alive(container) for container in stack.containers.values())
    assert stack.measurement.get("/ready").status_code == 200

    for what, seconds in drains.items():
        print(f"\n{what}: AMQP back after {back[what]:.2f} s, outboxes drained after "
              f"{seconds:.2f} s (from the start command)")
    print(f"rows streamed: {len(stream.accepted)}; answers: {dict(stream.statuses)}")
    check_gauges_in_outage(samples, tmp_path)


def check_gauges_in_outage(samples, tmp_path):
    """During the node outage the gauges show the real backlog and an age growing with the
    clock; then the alert PcnOutboxEventStuck fires for an outage that lasts, at that rate."""
    print("outage samples (s, backlog gauge, oldest age gauge, pending):")
    for sample in samples:
        print("  %.1f %s %s %s" % sample)
    # Each reading comes from storage (shared.metrics.OutboxGauges), whatever the relay does.
    late = [s for s in samples if s[0] > 5.5]
    assert all(s[1] > 0 for s in late), "the backlog gauge read 0 while events waited"
    assert all(s[1] <= s[3] for s in late)  # never more than what is really pending
    ages = [s[2] for s in samples]
    assert ages == sorted(ages)
    # Between two of its moves the gauge aged as the clock did.
    moves = [s for before, s in zip(samples, samples[1:]) if s[2] != before[2]]
    assert len(moves) >= 2, samples
    rate = (moves[-1][2] - moves[0][2]) / (moves[-1][0] - moves[0][0])
    assert samples[-1][2] > 4 and 0.6 < rate < 1.4, (rate, samples)  # sampled every 0.5 s
    promtool_fires_for(rate, tmp_path)


def promtool_fires_for(rate, tmp_path):
    """``promtool test rules`` on deploy/prometheus/rules.yml with the oldest-age gauge growing
    at the measured ``rate`` (s per s) for ten minutes, scraped every 15 s."""
    if shutil.which("promtool") is None:
        print("promtool is not installed: the alert check against the measured rate is skipped")
        return
    step = round(15 * rate, 3)
    rules = os.path.abspath("deploy/prometheus/rules.yml")

    def described(seconds):  # Prometheus's humanizeDuration for 1 min to 1 h
        seconds = int(seconds)
        return f"{seconds // 60}m {seconds % 60}s"

    fires_at = 7 * 60  # evaluated every 15 s: the value there is step * 28
    test = {
        "rule_files": [rules], "evaluation_interval": "15s",
        "tests": [{
            "interval": "15s",
            "input_series": [{"series": 'pcn_outbox_oldest_age_seconds{service="measurement"}',
                              "values": f"0+{step}x40"}],
            "alert_rule_test": [
                {"eval_time": "2m", "alertname": "PcnOutboxEventStuck", "exp_alerts": []},
                {"eval_time": "7m", "alertname": "PcnOutboxEventStuck", "exp_alerts": [{
                    "exp_labels": {"severity": "warning", "service": "measurement"},
                    "exp_annotations": {
                        "summary": "Outbox of measurement is not draining",
                        "description": (
                            "The oldest pending outbox event of measurement is "
                            f"{described(step * fires_at / 15)} old (threshold 60s) and has "
                            "stayed above the threshold for 5 minutes. Events are not reaching "
                            "RabbitMQ: check the broker and the outbox relay.")}}]}]}]}
    path = tmp_path / "outage.test.yml"
    path.write_text(json.dumps(test))  # JSON is YAML
    result = subprocess.run(["promtool", "test", "rules", str(path)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"promtool: PcnOutboxEventStuck fires for an outage ageing at {rate:.2f} s/s")


# -- the backlog gauges while the broker is away ------------------------------------------------

def scraped_gauges(ops, service):
    """(pcn_outbox_backlog, pcn_outbox_oldest_age_seconds) of ``service`` in one GET /metrics."""
    response = ops.get("/metrics")
    assert response.status_code == 200
    values = {}
    for line in response.text.splitlines():
        for name in ("pcn_outbox_backlog", "pcn_outbox_oldest_age_seconds"):
            if line.startswith(f'{name}{{service="{service}"}} '):
                values[name] = float(line.split()[-1])
    return values["pcn_outbox_backlog"], values["pcn_outbox_oldest_age_seconds"]


def outbox_in_storage(database):
    """(events pending, age in seconds of the oldest) read from the service's own storage."""
    count, oldest = 0, None
    for name in database.list_collection_names():
        for document in database[name].find({"outbox_since": {"$exists": True}}):
            count += len(document.get("outbox") or [])
            since = as_utc(document["outbox_since"])
            oldest = since if oldest is None else min(oldest, since)
    return count, (utc_now() - oldest).total_seconds() if oldest else 0.0


def test_events_written_while_the_broker_is_away_show_in_the_next_scrape(
        broker, storage_config, container_factory):
    config = service_config(broker, storage_config)
    container = container_factory(ProjectsService, config)
    container.start()
    admin = ServiceClient(config["WEB_SERVER_ADDRESS"])
    ops = admin.as_key(OPS_KEY)
    database = open_database(config, "projects")
    assert admin.post("/networks", {"id": "north-pcn", "name": "North PCN"}).status_code == 201
    assert admin.post("/practices", {"ods_code": "F84001", "name": "Practice F84001",
                                     "network_id": "north-pcn"}).status_code == 201
    assert admin.post("/api-keys", {"role": "practice", "practice_id": "F84001"}
                      ).status_code == 201
    assert wait_until(lambda: outbox_in_storage(database)[0] == 0, timeout=20)
    assert scraped_gauges(ops, "projects") == (0, 0)

    broker.node.stop_app()
    samples = []  # (seconds into the outage, backlog gauge, really pending, oldest-age gauge, real)
    outage_started = time.monotonic()
    try:
        for _ in range(12):  # writes go on (each key issued is an apikey.issued event)
            assert admin.post("/api-keys", {"role": "practice", "practice_id": "F84001"}
                              ).status_code == 201
            pending, oldest_age = outbox_in_storage(database)
            backlog_gauge, age_gauge = scraped_gauges(ops, "projects")
            samples.append((time.monotonic() - outage_started, backlog_gauge, pending, age_gauge,
                            oldest_age))
            time.sleep(0.25)
    finally:
        broker.node.start_app()
    print("\noutage samples (s, backlog gauge, really pending, oldest-age gauge, real age):")
    for sample in samples:
        print("  %.2f %d %d %.2f %.2f" % sample)
    # Each scrape shows every event written before it: the relay, backing off, published none.
    assert all(gauge == pending for _, gauge, pending, _, _ in samples), samples
    assert [pending for _, _, pending, _, _ in samples] == sorted(
        pending for _, _, pending, _, _ in samples) and samples[-1][2] >= 12
    assert all(abs(age_gauge - age) < 0.5 for *_, age_gauge, age in samples), samples
    assert samples[-1][3] > 2  # the oldest event aged through the outage
    # Back: the relay publishes everything and the next scrape says so.
    assert wait_until(lambda: scraped_gauges(ops, "projects") == (0, 0), timeout=30)
    assert outbox_in_storage(database)[0] == 0


# -- a lost connection at each point of a handler ------------------------------------------------

FAULT = {}  # what the next on_project call does; the test sets it


class FaultyConsumer:
    """Stops the broker app from inside its handler, once, at the point a test picks: then the
    ack ("ack"), the retry publish and requeue ("retry") or the dead-letter publish and requeue
    ("dead-letter") meet a dead connection."""

    name = "faulty"

    @event_handler("projects", "project.created")
    def on_project(self, envelope):
        FAULT["calls"].append(str(envelope["event_id"]))
        mode = FAULT.pop("mode", None)
        if mode is not None:
            FAULT["node"].stop_app()
            if mode != "ack":
                raise RuntimeError(f"handler failed ({mode}) while the broker went away")


def publish_project_created(uri, headers=None):
    envelope = make_event("project.created", {
        "project_id": f"prj_{uuid.uuid4().hex[:8]}", "title": "t", "scope": "practice",
        "stage": "idea", "aim": {"what": "w", "how_much": "h", "by_when": date(2027, 1, 1)},
        "practice_ids": ["F84001"]}, source="projects", network_id="north-pcn",
        trace=Trace("faults"))
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    try:
        connection.channel().basic_publish(
            "projects.events", "project.created", json.dumps(envelope),
            pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                 headers=headers or {}))
    finally:
        connection.close()
    return envelope["event_id"]


@pytest.mark.parametrize("point", ["ack", "retry", "dead-letter"])
def test_a_lost_connection_at_each_point_of_a_handler_does_not_kill_the_service(
        point, broker, storage_config, container_factory):
    config = service_config(broker, storage_config)
    declare_topology(broker.uri, config["EVENT_RETRY_DELAYS_MS"])
    container = container_factory(FaultyConsumer, config)
    container.start()
    FAULT.clear()
    FAULT.update(calls=[], node=broker.node, mode=point)
    # A message on its last attempt goes to the dead-letter queue when the handler fails.
    headers = {ATTEMPT_HEADER: len(config["EVENT_RETRY_DELAYS_MS"])} if point == "dead-letter" \
        else None
    faulted = publish_project_created(broker.uri, headers)

    assert wait_until(lambda: FAULT["calls"] and not container._worker_threads, timeout=60)
    assert not broker.node.accepts_amqp() and alive(container)
    deduplicated_before = deduplicated("faulty", "faulty.on_project", "project.created")
    broker.node.start_app()
    # The message was never settled: the broker gives it back once the consumer reconnects.
    if point == "ack":  # applied and recorded before the lost ack: the redelivery is skipped
        assert wait_until(lambda: deduplicated("faulty", "faulty.on_project", "project.created")
                          == deduplicated_before + 1, timeout=60)
        assert FAULT["calls"] == [faulted]
    else:  # not applied: the redelivery runs the handler again, which now succeeds
        assert wait_until(lambda: FAULT["calls"] == [faulted, faulted], timeout=60), \
            FAULT["calls"]
    following = publish_project_created(broker.uri)
    assert wait_until(lambda: following in FAULT["calls"], timeout=30)
    applied = open_database(config, "faulty")["applied_events"]
    assert wait_until(lambda: applied.count_documents({}) == 2)
    assert alive(container)
    assert wait_until(lambda: consumer_queues_back(broker, consumed_by=("faulty",)), timeout=30), \
        queues(broker)


# -- a service killed mid-stream ---------------------------------------------------------------

def test_a_measurement_service_killed_mid_stream_loses_nothing_it_acknowledged(
        stack, container_factory):
    """In process: the container is killed (no graceful stop, workers and consumers dropped)
    and a new one starts on the same storage, as a restarted process would on MongoDB. The
    in-memory default keeps the data here only because the test process lives on."""
    observer = signal_observer(stack.broker)
    stream = PracticeStream(stack.configs["measurement"]["WEB_SERVER_ADDRESS"], stack.keys,
                            stack.measure_id, pace=0.25).start()
    time.sleep(4)
    killed = stack.containers["measurement"]
    killed.kill()
    # What the OS does when a process dies: its listening socket closes. nameko's kill() leaves
    # it open, and with SO_REUSEPORT the replacement would share the port with a dead listener.
    servers = [e for e in killed.subextensions if isinstance(e, WebServer)]
    assert servers
    for server in servers:
        server._sock.close()
    time.sleep(1)  # requests in this gap get no answer and are sent again
    replacement = container_factory(MeasurementService, stack.configs["measurement"])
    replacement.start()
    stream.join(timeout=90)
    # 503: refused while the container was being killed, before any worker ran; sent again.
    check_nothing_lost_nothing_doubled(stack, stream, answers=(200, 201, 503))
    print(f"\nkilled mid-stream: rows streamed {len(stream.accepted)}, answers "
          f"{dict(stream.statuses)}")
    assert wait_until(lambda: pending_events(stack) == 0, timeout=30)
    assert wait_until(lambda: consumer_queues_back(stack.broker), timeout=30), queues(stack.broker)
    signals = [s for s in read_queue(stack.broker, observer) if s["data"]["series"] == "pooled"]
    assert len(signals) == 1, signals
    assert alive(replacement)


def start_measurement_process(config, path):
    """``nameko run`` of the measurement service with ``config`` (written to ``path``);
    returns the process once it answers /health."""
    path.write_text(json.dumps({**config, "max_workers": 10}))  # JSON is YAML
    nameko = os.path.join(os.path.dirname(sys.executable), "nameko")
    log = open(path.with_suffix(".log"), "ab")
    process = subprocess.Popen(
        [nameko, "run", "--config", str(path), "services.measurement.service:MeasurementService"],
        stdout=log, stderr=subprocess.STDOUT, cwd=os.path.dirname(os.path.dirname(
            os.path.dirname(os.path.abspath(__file__)))))
    log.close()
    health = f"http://{config['WEB_SERVER_ADDRESS']}/health"

    def answers():
        assert process.poll() is None, path.with_suffix(".log").read_text()[-3000:]
        try:
            return requests.get(health, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    assert wait_until(answers, timeout=60, interval=0.2)
    return process


@pytest.mark.skipif(not os.environ.get("MONGO_URI", "").startswith("mongodb"),
                    reason="a SIGKILLed process keeps its data only in a real MongoDB "
                           "(set MONGO_URI=mongodb://...); the in-memory default loses it all")
def test_a_measurement_process_killed_with_sigkill_loses_nothing_it_acknowledged(stack, tmp_path):
    observer = signal_observer(stack.broker)
    config = stack.configs["measurement"]
    stack.containers["measurement"].stop()  # from here the service is a process of its own
    process = start_measurement_process(config, tmp_path / "measurement.yaml")
    try:
        stream = PracticeStream(config["WEB_SERVER_ADDRESS"], stack.keys, stack.measure_id,
                                pace=0.25).start()
        time.sleep(4)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        process = start_measurement_process(config, tmp_path / "measurement.yaml")
        stream.join(timeout=90)
        check_nothing_lost_nothing_doubled(stack, stream, answers=(200, 201, 503))
        assert wait_until(lambda: pending_events(stack) == 0, timeout=30)
        assert wait_until(lambda: consumer_queues_back(stack.broker), timeout=30), \
            queues(stack.broker)
        signals = [s for s in read_queue(stack.broker, observer)
                   if s["data"]["series"] == "pooled"]
        assert len(signals) == 1, signals
        assert process.poll() is None
    finally:
        process.kill()
        process.wait(10)
