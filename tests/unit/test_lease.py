"""The shared lease against the storage fixture: two holders racing, expiry, release, and the
leased timer that runs a job on one replica only."""
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import eventlet
import pytest
from eventlet.event import Event

from shared.lease import Lease, LeasedTimer, leased_timer
from shared.storage import open_database

START = datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = START

    def __call__(self):
        return self.now


@pytest.fixture
def database(storage_config):
    return open_database(storage_config, "unit")


def test_one_of_two_holders_gets_a_free_lease_and_keeps_it_by_renewing(database):
    clock = Clock()
    first, second = (Lease(database, "digest", owner, 60, clock=clock) for owner in ("a", "b"))
    assert first.acquire()
    assert not second.acquire()
    clock.now += timedelta(seconds=50)
    assert first.acquire()  # renewed: now held until 50 + 60 s
    clock.now += timedelta(seconds=50)
    assert not second.acquire()
    assert database["leases"].find_one({"_id": "digest"})["owner"] == "a"


def test_an_expired_lease_passes_to_the_other_holder(database):
    clock = Clock()
    first, second = (Lease(database, "digest", owner, 60, clock=clock) for owner in ("a", "b"))
    assert first.acquire()
    clock.now += timedelta(seconds=61)
    assert second.acquire()
    assert not first.acquire()


def test_only_the_holder_releases_a_lease(database):
    first, second = (Lease(database, "digest", owner, 60) for owner in ("a", "b"))
    assert first.acquire()
    second.release()
    assert not second.acquire()
    first.release()
    assert second.acquire()


def test_leases_of_other_names_are_independent(database):
    assert Lease(database, "digest", "a", 60).acquire()
    assert Lease(database, "reminders", "b", 60).acquire()


def test_of_many_holders_racing_for_a_free_lease_exactly_one_wins(database):
    start = Event()
    holders = [Lease(database, "digest", f"replica-{n}", 60) for n in range(8)]

    def race(lease):
        start.wait()
        return lease.acquire()

    threads = [eventlet.spawn(race, lease) for lease in holders]
    eventlet.sleep(0)
    start.send()
    results = [thread.wait() for thread in threads]
    assert results.count(True) == 1
    winner = holders[results.index(True)].owner
    assert database["leases"].find_one({"_id": "digest"})["owner"] == winner


def timer_of(database, owner, calls):
    """A ``LeasedTimer`` wired as its container would wire it, running ``calls.append(owner)``."""
    timer = LeasedTimer(0.01)
    timer.lease = Lease(database, "unit.send_digest", owner, 60)

    def spawn_worker(entrypoint, args, kwargs, handle_result):
        calls.append(owner)
        handle_result(None, None, None)

    timer.container = SimpleNamespace(spawn_worker=spawn_worker)
    return timer


def test_a_leased_timer_runs_its_job_on_the_lease_holder_only(database):
    calls = []
    timers = [timer_of(database, owner, calls) for owner in ("a", "b")]
    for _ in range(3):
        for timer in timers:
            timer.handle_timer_tick()
            assert timer.worker_complete.ready()  # Timer._run goes on to its next tick
            timer.worker_complete.reset()
    assert calls == ["a", "a", "a"]
    timers[0].lease.release()  # what stop() does
    timers[1].handle_timer_tick()
    assert calls[-1] == "b"


def test_a_leased_timer_skips_a_tick_when_storage_is_down(database, caplog):
    calls = []
    timer = timer_of(database, "a", calls)

    def storage_down():
        raise ConnectionError("storage unreachable")

    timer.lease.acquire = storage_down
    timer.method_name = "send_digest"
    timer.handle_timer_tick()
    assert calls == [] and timer.worker_complete.ready()
    assert "skips a tick" in caplog.text


DIGESTS = []


class DigestService:
    name = "digest"

    @leased_timer(0.02)
    def send_digest(self):
        DIGESTS.append(self.replica)


def test_two_replicas_with_a_leased_timer_run_it_on_one_until_it_stops(
        storage_config, container_factory):
    DIGESTS.clear()
    replicas = []
    for name in ("replica-1", "replica-2"):
        service = type(f"Digest{name[-1]}", (DigestService,), {"replica": name})
        replicas.append(container_factory(service, storage_config))
    for container in replicas:
        container.start()
    eventlet.sleep(0.3)
    assert len(DIGESTS) >= 5 and len(set(DIGESTS)) == 1
    holder = DIGESTS[0]
    replicas[int(holder[-1]) - 1].stop()  # releases the lease
    ran_before = len(DIGESTS)
    eventlet.sleep(0.3)
    assert DIGESTS[ran_before:] and set(DIGESTS[ran_before:]) == {
        "replica-2" if holder == "replica-1" else "replica-1"}


def test_a_leased_timer_takes_its_interval_from_a_setting_when_one_is_given(storage_config):
    for setting, interval in ((7, 7.0), (None, 60.0)):
        timer = LeasedTimer(60, interval_setting="JOB_SECONDS")
        timer.method_name = "job"
        timer.container = SimpleNamespace(config={**storage_config, "JOB_SECONDS": setting},
                                          service_name="unit")
        timer.setup()
        assert (timer.interval, timer.lease_seconds) == (interval, interval * 1.5 + 5)
    fixed = LeasedTimer(60, lease_seconds=300, interval_setting="JOB_SECONDS")
    assert fixed.lease_seconds == 300
