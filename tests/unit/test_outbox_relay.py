"""What the outbox relay says and shows when the broker does not take its events: the queues a
refused event was bound for, and the backlog read from storage whenever /metrics is scraped."""
from types import SimpleNamespace

from prometheus_client import REGISTRY, CollectorRegistry

from services.registry import DEPLOYED_CATALOGUE
from shared.amqp_publisher import describe_routes
from shared.messaging import UNROUTED
from shared.metrics import OutboxGauges
from shared.outbox import OutboxRelayRunner, new_document, queues_bound
from shared.storage import open_database
from tests.unit.test_platform import created

RECORDED = "measurement.recorded"


def test_an_event_is_bound_for_its_consumers_queues_or_else_the_unrouted_queue():
    queues = queues_bound("measurement.events", RECORDED)
    assert "evt-measurement-measurement.recorded--measurement.apply_to_network_series" in queues
    assert queues_bound("measurement.events", "measurement.nobody_listens") == [UNROUTED]
    assert queues_bound("elsewhere", RECORDED) == []
    # A key owner declares every service's key replica: its relay names those queues.
    replicas = queues_bound("projects.events", "apikey.issued", DEPLOYED_CATALOGUE)
    assert replicas and UNROUTED not in replicas


def test_a_relay_to_the_broker_names_the_queues_of_the_catalogue_its_service_declares(
        storage_config):
    runner = OutboxRelayRunner("things")
    runner.container = SimpleNamespace(config={**storage_config, "AMQP_URI": "amqp://x"},
                                       service_name="unit-keys",
                                       service_cls=SimpleNamespace(catalogue=DEPLOYED_CATALOGUE))
    runner.setup()
    queues_for = runner.relay.sink.publisher.queues_for
    assert queues_for("projects.events", "apikey.issued") == queues_bound(
        "projects.events", "apikey.issued", DEPLOYED_CATALOGUE)


def test_refused_messages_are_described_by_route_with_their_queues():
    routes = [("measurement.events", RECORDED)] * 3 + [("", "probe", "NO_ROUTE")]
    described = describe_routes(routes, lambda exchange, key: [key] if exchange else [])
    assert described == ("1 to (default)/probe (NO_ROUTE) [queues: none bound]; "
                         "3 to measurement.events/measurement.recorded "
                         "[queues: measurement.recorded]")
    assert describe_routes(routes[:1]) == "1 to measurement.events/measurement.recorded"


def backlog_gauges(service):
    return (REGISTRY.get_sample_value("pcn_outbox_backlog", {"service": service}),
            REGISTRY.get_sample_value("pcn_outbox_oldest_age_seconds", {"service": service}))


def test_the_backlog_gauges_read_storage_at_every_scrape_and_keep_the_last_reading():
    readings = [(4, 12.5)]

    def read_backlog():
        if isinstance(readings[-1], Exception):
            raise readings[-1]
        return readings[-1]

    gauges = OutboxGauges()
    gauges.watch("unit-scrape", read_backlog)
    registry = CollectorRegistry()
    registry.register(gauges)
    assert registry.get_sample_value("pcn_outbox_backlog", {"service": "unit-scrape"}) == 4
    readings.append((9, 13.0))  # written since: the next scrape shows it, no relay pass needed
    assert registry.get_sample_value("pcn_outbox_backlog", {"service": "unit-scrape"}) == 9
    readings.append(ConnectionError("storage down"))
    assert registry.get_sample_value("pcn_outbox_oldest_age_seconds",
                                     {"service": "unit-scrape"}) == 13.0
    gauges.forget("unit-scrape", lambda: (0, 0.0))  # not its reader: still watched
    readings.append((1, 0.5))
    assert registry.get_sample_value("pcn_outbox_backlog", {"service": "unit-scrape"}) == 1
    gauges.forget("unit-scrape", read_backlog)
    readings.append((7, 1.0))
    assert registry.get_sample_value("pcn_outbox_backlog", {"service": "unit-scrape"}) == 1


def test_a_running_relay_shows_events_written_in_an_outage_at_the_next_scrape(storage_config):
    database = open_database(storage_config, "unit-outage")
    runner = OutboxRelayRunner("things")
    runner.container = SimpleNamespace(config=storage_config, service_name="unit-outage")
    runner.make_sink = lambda config: SimpleNamespace(close=lambda: None)
    runner.setup()  # no pass runs: only storage can tell the gauges
    assert backlog_gauges("unit-outage") == (0, 0.0)
    database["things"].insert_one(new_document({"_id": 1}, [created("a"), created("b")]))
    database["things"].insert_one(new_document({"_id": 2}, [created("c")]))
    pending, oldest_age = backlog_gauges("unit-outage")
    assert pending == 3 and 0 <= oldest_age < 5
    runner._thread = None
    runner.stop()  # a stopped relay's gauges keep their last reading
    database["things"].insert_one(new_document({"_id": 3}, [created("d")]))
    assert backlog_gauges("unit-outage")[0] == 3
