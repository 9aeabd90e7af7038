"""Transactional outbox: a state change and the events it causes are one document write.

Writers put the envelopes of new events in the changed document's ``outbox`` array (and the
oldest pending time in ``outbox_since``) in the same ``insert_one``/``update_one``, so MongoDB
stores both or neither. The relay publishes pending events to ``<source>.events`` with publisher
confirms, then removes from each document only the confirmed *prefix* of its outbox, so the
events of one aggregate reach the broker in the order they happened, even across retries.
A crash anywhere loses nothing: what is not marked sent is published again (consumers
deduplicate on ``event_id``).

The relay delivers through a sink: ``BrokerSink`` (the broker, above) for events. Another kind
of delivery that must leave in order and at least once can be another sink (``name``,
``deliver``, ``close``) behind its own ``OutboxRelayRunner``, with its own lease and backoff,
over the same outbox fields (see ``OutboxRelayRunner``); no service has one yet (notifications
sends mail and webhooks with its own sender, which claims each notification). One replica per
service relays at a time: the runner holds a ``shared.lease.Lease`` while it publishes.
"""
import logging
import time
from datetime import datetime


from shared import metrics
from shared.amqp_publisher import ConfirmingPublisher, PublishFailed
from shared.background import BackgroundLoop
from shared.events.catalogue import CATALOGUE, consumer_queues, producers
from shared.events.envelope import utc_now
from shared.lease import Lease, new_owner
from shared.messaging import UNROUTED
from shared.storage import as_utc, open_database

log = logging.getLogger(__name__)

OUTBOX = "outbox"
OUTBOX_SINCE = "outbox_since"
# The relay's lease keeps the collection and name it had before leases were shared, so replicas
# of the previous release and this one still exclude each other during a rolling update.
LEASES = "outbox_leases"
RELAY = "relay"


def new_document(document, envelopes):
    """``document`` with ``envelopes`` pending in its outbox, for ``insert_one``."""
    document = dict(document)
    if envelopes:
        document[OUTBOX] = list(envelopes)
        document[OUTBOX_SINCE] = utc_now()
    return document


def with_events(update, envelopes):
    """A MongoDB update that also appends ``envelopes`` to the document's outbox."""
    update = {operator: dict(fields) for operator, fields in update.items()}
    if envelopes:
        update.setdefault("$push", {})[OUTBOX] = {"$each": list(envelopes)}
        update.setdefault("$min", {})[OUTBOX_SINCE] = utc_now()
    return update


def without_outbox(document):
    """The document as the domain sees it (no pending events)."""
    if document is None:
        return None
    return {k: v for k, v in document.items() if k not in (OUTBOX, OUTBOX_SINCE)}


class Outbox:
    """The pending events of one service's aggregate collections."""

    def __init__(self, database, collections):
        self.database = database
        self.collections = tuple(collections)

    @staticmethod
    def ensure_indexes(database, collections):
        for name in collections:
            database[name].create_index([(OUTBOX_SINCE, 1)], sparse=True)

    def pending(self, limit):
        """Up to ``limit`` documents with pending events, oldest first:
        (collection, id, pending since, events)."""
        batch = []
        for name in self.collections:
            cursor = (self.database[name]
                      .find({OUTBOX_SINCE: {"$exists": True}}, {OUTBOX: 1, OUTBOX_SINCE: 1})
                      .sort(OUTBOX_SINCE, 1).limit(limit))
            batch += [(name, doc["_id"], as_utc(doc[OUTBOX_SINCE]), doc.get(OUTBOX) or [])
                      for doc in cursor]
        batch.sort(key=lambda row: row[2])
        return batch[:limit]

    def mark_sent(self, batch, confirmed):
        """Remove from each document of ``batch`` (rows of ``pending``) the longest prefix of
        its events that ``confirmed`` holds; returns how many events that removed.

        Event ids are unique, so one ``$pull`` of all of them per collection is exact. The
        cheap condition on ``outbox_since`` comes first in each filter (MongoDB ignores the
        order; mongomock, which scans, then skips most documents early).
        """
        removed, partial = 0, []
        by_collection = {}
        for name, doc_id, since, events in batch:
            prefix = []
            for envelope in events:
                if envelope["event_id"] not in confirmed:
                    break  # keep order: nothing after an unconfirmed event counts as sent
                prefix.append(envelope["event_id"])
            if not prefix:
                continue
            if len(prefix) < len(events):
                partial.append((name, doc_id))
            doc_ids, event_ids, latest = by_collection.get(name, ([], [], since))
            by_collection[name] = (doc_ids + [doc_id], event_ids + prefix, max(latest, since))
            removed += len(prefix)
        for name, (doc_ids, event_ids, latest) in by_collection.items():
            collection = self.database[name]
            collection.update_many({OUTBOX_SINCE: {"$lte": latest}, "_id": {"$in": doc_ids}},
                                   {"$pull": {OUTBOX: {"event_id": {"$in": event_ids}}}})
            # Only where now empty: a write racing with us keeps its events and its marker.
            collection.update_many({OUTBOX: {"$size": 0}, "_id": {"$in": doc_ids}},
                                   {"$unset": {OUTBOX_SINCE: "", OUTBOX: ""}})
        for name, doc_id in partial:
            document = self.database[name].find_one({"_id": doc_id}, {OUTBOX: 1})
            if document and document.get(OUTBOX):
                oldest = datetime.fromisoformat(document[OUTBOX][0]["occurred_at"])
                self.database[name].update_one({"_id": doc_id}, {"$set": {OUTBOX_SINCE: oldest}})
        return removed

    def backlog(self):
        """(number of pending events, age in seconds of the oldest pending event), from one
        aggregation per collection over the documents with ``outbox_since`` (indexed), cheap
        enough for every scrape of /metrics."""
        count, oldest = 0, None
        for name in self.collections:
            for row in self.database[name].aggregate([
                    {"$match": {OUTBOX_SINCE: {"$exists": True}}},
                    {"$group": {"_id": None,
                                "events": {"$sum": {"$size": {"$ifNull": [f"${OUTBOX}", []]}}},
                                "oldest": {"$min": f"${OUTBOX_SINCE}"}}}]):
                count += row["events"]
                if row.get("oldest") is not None:  # mongomock groups an empty match as well
                    since = as_utc(row["oldest"])
                    oldest = since if oldest is None else min(oldest, since)
        age = (utc_now() - oldest).total_seconds() if oldest is not None else 0.0
        return count, max(age, 0.0)


def queues_bound(exchange, routing_key, catalogue=CATALOGUE):
    """The queues the topology (``shared.messaging``) gives an event published to ``exchange``
    (``<producer>.events``) with ``routing_key`` (its event type): the catalogue's consumer
    queues of that type, or ``pcn.unrouted`` (the alternate exchange) when none consumes it."""
    queues = [queue_name for event, _, queue_name in consumer_queues(catalogue)
              if f"{event.producer}.events" == exchange and event.name == routing_key]
    if not queues and exchange in {f"{producer}.events" for producer in producers(catalogue)}:
        return [UNROUTED]
    return queues


class BrokerSink:
    """Where the relay delivers today: each envelope to ``<source>.events`` with its event type
    as routing key, persistent, ``mandatory``, with publisher confirms.

    A sink is anything with ``name``, ``deliver(envelopes)`` and ``close()``. ``deliver`` takes
    envelopes in outbox order and returns the set of ``event_id`` it delivered for certain; the
    relay keeps the others (and everything after them in the same document) pending. It raises
    when it could deliver nothing (the relay then backs off). Another sink follows the same
    contract; the relay never retries inside ``deliver``.
    """

    name = "broker"

    def __init__(self, publisher):
        self.publisher = publisher

    @classmethod
    def from_config(cls, config, catalogue=CATALOGUE):
        """A sink for ``config["AMQP_URI"]``; its warnings name the queues ``catalogue`` (the
        one the service declares) binds for a refused event."""
        return cls(ConfirmingPublisher(
            config["AMQP_URI"],
            queues_for=lambda exchange, key: queues_bound(exchange, key, catalogue)))

    def deliver(self, envelopes):
        return self.publisher.publish_batch(
            [(f"{envelope['source']}.events", envelope["event_type"], envelope["event_id"],
              envelope, {}) for envelope in envelopes])

    def close(self):
        self.publisher.close()


class OutboxRelay:
    """Moves pending events from an ``Outbox`` to a sink (``BrokerSink``); plain Python."""

    def __init__(self, outbox, sink, service_name, batch_size=1000):
        self.outbox = outbox
        self.sink = sink
        self.service_name = service_name
        self.batch_size = batch_size

    def publish_pending(self):
        """Deliver everything pending, batch by batch; returns how many events were sent."""
        total = 0
        while True:
            batch = self.outbox.pending(self.batch_size)
            if not batch:
                return total
            envelopes = [envelope for _, _, _, events in batch for envelope in events]
            confirmed = self.sink.deliver(envelopes)
            count = self.outbox.mark_sent(batch, confirmed)
            for envelope in envelopes:
                if envelope["event_id"] in confirmed:
                    metrics.EVENTS_PUBLISHED.labels(self.service_name, envelope["event_type"]).inc()
            total += count
            if count < len(envelopes):
                raise PublishFailed(f"{len(envelopes) - count} events stay pending")
            if len(batch) < self.batch_size:
                return total

    def record_backlog(self):
        count, age = self.outbox.backlog()
        metrics.OUTBOX_GAUGES.record(self.service_name, count, age)
        return count, age


class OutboxRelayRunner(BackgroundLoop):
    """Runs an ``OutboxRelay`` in the service process, woken after every worker.

    ``OutboxRelayRunner("projects", "keys")`` relays the events of those collections to the
    broker. A relay to another sink is a second runner over the collections that hold those
    deliveries, with a ``name`` of its own, its sink's factory (``config -> sink``) and its own
    backoff, e.g. ``OutboxRelayRunner("deliveries", name="archive", sink=make_archive_sink,
    first_retry_seconds=30, max_retry_seconds=3600)``. Each ``name`` has its own lease (one
    replica relays it at a time) and its metrics under ``service="<service>/<name>"`` (the
    broker relay, named ``relay``, keeps ``service="<service>"``). What such a relay delivers
    is stored like an event (``new_document``/``with_events``): a dict with a unique
    ``event_id``, an ``event_type`` (the metrics label) and ``occurred_at``. Its backoff is the
    relay's: while one delivery fails, the relay retries the whole pass on that schedule.

    Config: ``OUTBOX_POLL_SECONDS`` (default 1.0), ``OUTBOX_LEASE_SECONDS`` (default 15),
    ``OUTBOX_BATCH_SIZE`` (default 1000).
    """

    def __init__(self, *collections, sink=None, name=RELAY,
                 first_retry_seconds=0.1, max_retry_seconds=5.0):
        self.collections = collections
        self.make_sink = sink
        self.name = name
        self.first_retry_seconds = first_retry_seconds
        self.max_retry_seconds = max_retry_seconds
        self.relay = None
        self.lease = None
        super().__init__()

    def setup(self):
        config = self.container.config
        service_name = self.container.service_name
        database = open_database(config, service_name)
        Outbox.ensure_indexes(database, self.collections)
        label = service_name if self.name == RELAY else f"{service_name}/{self.name}"
        if self.make_sink is None:  # the broker, with the catalogue the service declares
            catalogue = getattr(getattr(self.container, "service_cls", None), "catalogue",
                                CATALOGUE)
            sink = BrokerSink.from_config(config, catalogue)
        else:
            sink = self.make_sink(config)
        self.relay = OutboxRelay(Outbox(database, self.collections), sink,
                                 label, int(config.get("OUTBOX_BATCH_SIZE", 1000)))
        self.poll_seconds = float(config.get("OUTBOX_POLL_SECONDS", 1.0))
        self.lease = Lease(database, self.name, new_owner(service_name),
                           float(config.get("OUTBOX_LEASE_SECONDS", 15)), collection=LEASES)
        # Every scrape reads the backlog from storage: the gauges show what waits during an
        # outage even while a pass is blocked or backing off.
        metrics.OUTBOX_GAUGES.watch(label, self.relay.outbox.backlog)

    def after_stop(self):
        metrics.OUTBOX_GAUGES.forget(self.relay.service_name, self.relay.outbox.backlog)
        self.relay.sink.close()
        self.lease.release()

    def after_kill(self):
        metrics.OUTBOX_GAUGES.forget(self.relay.service_name, self.relay.outbox.backlog)
        self.relay.sink.close()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        if exc_info is None:
            self.wake()

    def _run(self):
        backoff = RelayBackoff(self.first_retry_seconds, self.max_retry_seconds)
        backlog_recorded = 0.0
        while not self._stopping:
            self._wakeup.clear()  # a write from now on wakes the next pass
            failed = self._relay_pass(backoff)
            # The gauges need not follow every wake-up (once per poll interval is enough), but a
            # failed pass records them too: during an outage they must show the events waiting.
            if failed or time.monotonic() - backlog_recorded >= self.poll_seconds:
                self._record_backlog()
                backlog_recorded = time.monotonic()
            if not backoff.failures:
                self._wakeup.wait(self.poll_seconds)
            # After a failure only stop() ends the wait early: wake-ups from workers must not
            # turn the backoff into a retry per request. What they wrote is published next pass.
            while not self._stopping and backoff.seconds_to_retry() > 0:
                self._wakeup.wait(backoff.seconds_to_retry())
                self._wakeup.clear()
            time.sleep(0)  # let other green threads run between passes

    def _relay_pass(self, backoff):
        """One pass of the relay; returns True when it failed. Logs once per outage."""
        try:
            if self.lease.acquire():
                self.relay.publish_pending()
        except Exception as exc:  # sink or storage down: keep the events, retry later
            if backoff.failed() == 1:
                log.warning("outbox relay of %s cannot publish (%r): events stay in the outbox; "
                            "retrying every %.1f s at most", self.relay.service_name, exc,
                            backoff.max_delay)
            else:
                log.debug("outbox relay of %s still failing (%d in a row): %r",
                          self.relay.service_name, backoff.failures, exc)
            return True
        outage = backoff.succeeded()
        if outage:
            log.warning("outbox relay of %s publishes again after %d failed passes in %.1f s",
                        self.relay.service_name, *outage)
        return False

    def _record_backlog(self):
        try:
            self.relay.record_backlog()
        except Exception as exc:  # storage down: the gauges keep their last values
            log.debug("outbox relay of %s cannot read its backlog: %r", self.relay.service_name,
                      exc)


class RelayBackoff:
    """When the relay may try again after failed passes: ``first_delay`` doubled per failure in
    a row, at most ``max_delay``. Plain Python with an injectable clock, so it is unit-tested."""

    def __init__(self, first_delay=0.1, max_delay=5.0, clock=time.monotonic):
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.clock = clock
        self.failures = 0
        self.retry_at = None
        self.outage_started = None

    def failed(self):
        """Record a failed pass; returns how many failed in a row."""
        now = self.clock()
        if not self.failures:
            self.outage_started = now
        self.failures += 1
        self.retry_at = now + self.delay()
        return self.failures

    def succeeded(self):
        """Record a good pass; returns (failed passes, seconds) of the outage it ends, or None."""
        if not self.failures:
            return None
        outage = (self.failures, self.clock() - self.outage_started)
        self.failures, self.retry_at, self.outage_started = 0, None, None
        return outage

    def delay(self):
        return min(self.first_delay * 2 ** (self.failures - 1), self.max_delay)

    def seconds_to_retry(self):
        """0 when a pass may run now (no failure, or the backoff has passed)."""
        if self.retry_at is None:
            return 0.0
        return max(self.retry_at - self.clock(), 0.0)
