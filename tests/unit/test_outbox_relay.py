"""What the outbox relay says and shows when the broker does not take its events: the queues a
refused event was bound for, and the backlog read from storage whenever /metrics is scraped."""
from shared.amqp_publisher import describe_routes
from shared.messaging import UNROUTED
from shared.outbox import queues_bound

RECORDED = "measurement.recorded"


def test_an_event_is_bound_for_its_consumers_queues_or_else_the_unrouted_queue():
    queues = queues_bound("measurement.events", RECORDED)
    assert "evt-measurement-measurement.recorded--measurement.apply_to_network_series" in queues
    assert queues_bound("measurement.events", "measurement.nobody_listens") == [UNROUTED]
    assert queues_bound("elsewhere", RECORDED) == []


def test_refused_messages_are_described_by_route_with_their_queues():
    routes = [("measurement.events", RECORDED)] * 3 + [("", "probe", "NO_ROUTE")]
    described = describe_routes(routes, lambda exchange, key: [key] if exchange else [])
    assert described == ("1 to (default)/probe (NO_ROUTE) [queues: none bound]; "
                         "3 to measurement.events/measurement.recorded "
                         "[queues: measurement.recorded]")
    assert describe_routes(routes[:1]) == "1 to measurement.events/measurement.recorded"
