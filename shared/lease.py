"""Leases: at most one replica of a service does a job at a time.

A lease is one MongoDB document ``{_id: <name>, owner, expires_at}`` in the service's own
database. ``acquire`` takes it when it is free or expired, or renews it for its owner, in one
atomic ``find_one_and_update`` (upsert): when two replicas race, the unique ``_id`` lets one
insert and the other gets a duplicate-key error, so exactly one holds it. An owner that dies
without releasing loses the lease when it expires.

Used by the outbox relay (one relay publishes at a time, so the events of one aggregate are never
interleaved by two replicas) and by ``leased_timer``, a nameko ``timer`` that runs its method
only on the replica that holds the timer's lease (a daily digest is sent by one replica, not by
each of them).
"""
import logging
import uuid
from datetime import timedelta

from nameko.timer import Timer

from shared.events.envelope import utc_now
from shared.storage import DuplicateKeyError, open_database

log = logging.getLogger(__name__)

LEASES = "leases"


class Lease:
    """The lease ``name`` as seen by ``owner``, held for ``seconds`` from each ``acquire``.

    ``clock`` returns the current aware UTC datetime (tests pass their own).
    """

    def __init__(self, database, name, owner, seconds, collection=LEASES, clock=utc_now):
        self.collection = database[collection]
        self.name = name
        self.owner = owner
        self.seconds = seconds
        self.clock = clock

    def acquire(self):
        """True when ``owner`` holds the lease now, until ``seconds`` from now; False when
        another owner holds it and it has not expired. Storage errors propagate."""
        now = self.clock()
        try:
            self.collection.find_one_and_update(
                {"_id": self.name, "$or": [{"owner": self.owner}, {"expires_at": {"$lt": now}}]},
                {"$set": {"owner": self.owner,
                          "expires_at": now + timedelta(seconds=self.seconds)}},
                upsert=True)
            return True
        except DuplicateKeyError:  # held by another owner: our upsert lost to its document
            return False

    def release(self):
        """Give the lease up at once if ``owner`` holds it (another holder is left alone)."""
        self.collection.delete_one({"_id": self.name, "owner": self.owner})


def new_owner(service_name):
    """A lease owner id unique to this process and extension: ``<service>-<12 hex digits>``."""
    return f"{service_name}-{uuid.uuid4().hex[:12]}"


class LeasedTimer(Timer):
    """nameko's ``timer`` that runs its method only while this replica holds the lease.

    Each replica's timer fires every ``interval`` seconds; at each tick it tries to take or renew
    the lease ``<service>.<method>`` (or ``lease``) and runs the method only when it holds it.
    The holder renews at each tick, so with ``lease_seconds`` above ``interval`` (the default is
    1.5 × ``interval`` + 5 s) the others keep skipping; when the holder stops, it releases the
    lease and another replica runs at its next tick; when it dies, another one takes over once the
    lease expires. Keep ``lease_seconds`` longer than a run lasts, or a run that outlasts it may
    overlap with another replica's. A job that must happen once per period (a digest per day)
    should still record the period it has done: a takeover can run it earlier than the period's
    end, and a lease cannot tell two periods apart.

    ``interval_setting`` names a config setting that, when set, replaces ``interval`` (seconds)
    as the service starts, so an operator tunes the job in ``services/config.yaml``.

    A tick whose lease check fails (storage down) is skipped and logged; the timer goes on.
    """

    def __init__(self, interval, lease=None, lease_seconds=None, eager=False,
                 interval_setting=None, **kwargs):
        self.lease_name = lease
        self.given_lease_seconds = lease_seconds
        self.interval_setting = interval_setting
        self.lease = None
        super().__init__(interval, eager=eager, **kwargs)

    @property
    def lease_seconds(self):
        if self.given_lease_seconds is not None:
            return self.given_lease_seconds
        return self.interval * 1.5 + 5

    def setup(self):
        if self.interval_setting and self.container.config.get(self.interval_setting):
            self.interval = float(self.container.config[self.interval_setting])
        service_name = self.container.service_name
        self.lease = Lease(open_database(self.container.config, service_name),
                           self.lease_name or f"{service_name}.{self.method_name}",
                           new_owner(service_name), self.lease_seconds)

    def handle_timer_tick(self):
        try:
            holds = self.lease.acquire()
        except Exception as exc:  # storage down: skip this tick, the timer must not die
            log.warning("timer %s skips a tick: cannot check its lease %s (%r)",
                        self.method_name, self.lease.name, exc)
            holds = False
        if holds:
            super().handle_timer_tick()
        else:
            self.worker_complete.send()  # nothing ran; Timer._run waits for this

    def stop(self):
        super().stop()
        try:
            self.lease.release()
        except Exception as exc:  # the lease then expires by itself
            log.warning("timer %s could not release its lease %s (%r)", self.method_name,
                        self.lease.name, exc)


leased_timer = LeasedTimer.decorator
