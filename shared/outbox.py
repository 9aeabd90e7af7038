"""Transactional outbox: a state change and the events it causes are one document write.

Writers put the envelopes of new events in the changed document's ``outbox`` array (and the
oldest pending time in ``outbox_since``) in the same ``insert_one``/``update_one``, so MongoDB
stores both or neither. The relay publishes pending events to ``<source>.events`` with publisher
confirms, then removes from each document only the confirmed *prefix* of its outbox, so the
events of one aggregate reach the broker in the order they happened, even across retries.
A crash anywhere loses nothing: what is not marked sent is published again (consumers
deduplicate on ``event_id``).
"""
import logging
import threading
import time
import uuid
from datetime import datetime, timedelta

from nameko.extensions import DependencyProvider

from shared import metrics
from shared.amqp_publisher import ConfirmingPublisher, PublishFailed
from shared.events.envelope import utc_now
from shared.storage import DuplicateKeyError, as_utc, open_database

log = logging.getLogger(__name__)

OUTBOX = "outbox"
OUTBOX_SINCE = "outbox_since"
LEASES = "outbox_leases"


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
        """(number of pending events, age in seconds of the oldest pending event)."""
        count, oldest = 0, None
        for name in self.collections:
            for doc in self.database[name].find({OUTBOX_SINCE: {"$exists": True}},
                                                {OUTBOX: 1, OUTBOX_SINCE: 1}):
                count += len(doc.get(OUTBOX) or [])
                since = as_utc(doc[OUTBOX_SINCE])
                oldest = since if oldest is None else min(oldest, since)
        age = (utc_now() - oldest).total_seconds() if oldest is not None else 0.0
        return count, max(age, 0.0)

    def acquire_lease(self, owner, seconds):
        """True when ``owner`` holds the relay lease: one relay per service publishes at a time,
        so two replicas never interleave the events of one aggregate."""
        now = utc_now()
        try:
            self.database[LEASES].find_one_and_update(
                {"_id": "relay", "$or": [{"owner": owner}, {"expires_at": {"$lt": now}}]},
                {"$set": {"owner": owner, "expires_at": now + timedelta(seconds=seconds)}},
                upsert=True)
            return True
        except DuplicateKeyError:
            return False

    def release_lease(self, owner):
        self.database[LEASES].delete_one({"_id": "relay", "owner": owner})


class OutboxRelay:
    """Moves pending events from an ``Outbox`` to the broker; plain Python, no nameko."""

    def __init__(self, outbox, publisher, service_name, batch_size=1000):
        self.outbox = outbox
        self.publisher = publisher
        self.service_name = service_name
        self.batch_size = batch_size

    def publish_pending(self):
        """Publish everything pending, batch by batch; returns how many events were sent."""
        total = 0
        while True:
            batch = self.outbox.pending(self.batch_size)
            if not batch:
                return total
            messages = [(f"{envelope['source']}.events", envelope["event_type"],
                         envelope["event_id"], envelope, {})
                        for _, _, _, events in batch for envelope in events]
            confirmed = self.publisher.publish_batch(messages)
            count = self.outbox.mark_sent(batch, confirmed)
            for _, _, _, events in batch:
                for envelope in events:
                    if envelope["event_id"] in confirmed:
                        metrics.EVENTS_PUBLISHED.labels(
                            self.service_name, envelope["event_type"]).inc()
            total += count
            if count < len(messages):
                raise PublishFailed(f"{len(messages) - count} events stay pending")
            if len(batch) < self.batch_size:
                return total

    def record_backlog(self):
        count, age = self.outbox.backlog()
        metrics.OUTBOX_BACKLOG.labels(self.service_name).set(count)
        metrics.OUTBOX_OLDEST_AGE.labels(self.service_name).set(age)
        return count, age


class OutboxRelayRunner(DependencyProvider):
    """Runs an ``OutboxRelay`` in the service process, woken after every worker.

    Config: ``OUTBOX_POLL_SECONDS`` (default 1.0), ``OUTBOX_LEASE_SECONDS`` (default 15),
    ``OUTBOX_BATCH_SIZE`` (default 1000).
    """

    def __init__(self, *collections):
        self.collections = collections
        self.relay = None
        self._wakeup = threading.Event()
        self._stopping = False
        self._thread = None
        self.owner = None

    def setup(self):
        config = self.container.config
        database = open_database(config, self.container.service_name)
        Outbox.ensure_indexes(database, self.collections)
        self.relay = OutboxRelay(
            Outbox(database, self.collections), ConfirmingPublisher(config["AMQP_URI"]),
            self.container.service_name, int(config.get("OUTBOX_BATCH_SIZE", 1000)))
        self.poll_seconds = float(config.get("OUTBOX_POLL_SECONDS", 1.0))
        self.lease_seconds = float(config.get("OUTBOX_LEASE_SECONDS", 15))
        self.owner = f"{self.container.service_name}-{uuid.uuid4().hex[:12]}"

    def start(self):
        self._stopping = False
        self._thread = self.container.spawn_managed_thread(self._run)

    def stop(self):
        self._stopping = True
        self._wakeup.set()
        if self._thread is not None:
            self._thread.wait()
        self.relay.publisher.close()
        self.relay.outbox.release_lease(self.owner)

    def kill(self):
        self._stopping = True
        self._wakeup.set()
        self.relay.publisher.close()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        if exc_info is None:
            self._wakeup.set()

    def _run(self):
        backoff = RelayBackoff()
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
            if self.relay.outbox.acquire_lease(self.owner, self.lease_seconds):
                self.relay.publish_pending()
        except Exception as exc:  # broker or storage down: keep the events, retry later
            if backoff.failed() == 1:
                log.warning("outbox relay of %s cannot publish (%r): events stay in the outbox; "
                            "retrying every %.1f s at most", self.container.service_name, exc,
                            backoff.max_delay)
            else:
                log.debug("outbox relay of %s still failing (%d in a row): %r",
                          self.container.service_name, backoff.failures, exc)
            return True
        outage = backoff.succeeded()
        if outage:
            log.warning("outbox relay of %s publishes again after %d failed passes in %.1f s",
                        self.container.service_name, *outage)
        return False

    def _record_backlog(self):
        try:
            self.relay.record_backlog()
        except Exception as exc:  # storage down: the gauges keep their last values
            log.debug("outbox relay of %s cannot read its backlog: %r",
                      self.container.service_name, exc)


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
