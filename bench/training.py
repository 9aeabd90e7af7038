"""The training service's overdue check on a registry of 1,000 and of 50,000 staff, with the
same 50 people falling due in both: time per pass and documents read per pass, in one run.

    python bench/training.py [--mongo mongomock://bench-training] [--sizes 1000 50000]

The check asks only for people whose indexed ``next_due_on`` has come, so the documents it
reads are the same for both sizes. Time: MongoDB answers from the index; mongomock has no
indexes and scans the collection, so under mongomock the time still grows with the
registry (the ratio printed says by how much) while the documents read do not.
"""
import argparse
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.training.commands.overdue import overdue_check  # noqa: E402
from services.training.domain.framework import default_framework  # noqa: E402
from services.training.domain.obligations import (  # noqa: E402
    derive_obligations, with_obligations,
)
from services.training.domain.people import new_staff  # noqa: E402
from services.training.repository import STAFF, TrainingRepository  # noqa: E402
from shared import storage  # noqa: E402
from shared.events.envelope import Trace  # noqa: E402

NETWORK = "bench-pcn"
PRACTICES = [f"F{84000 + n}" for n in range(40)]
FALLING_DUE = 50
BUILT_AT = datetime(2026, 1, 10, 9, tzinfo=timezone.utc)
PASS_AT = datetime(2026, 4, 10, 2, tzinfo=timezone.utc)


def staff_documents(size):
    """``size`` people: FALLING_DUE starters of 5 January without introduction (due 5
    April), a tenth recent starters due after the pass, the rest trained long ago."""
    framework = default_framework(NETWORK)
    documents = []
    for n in range(size):
        if n < FALLING_DUE:
            started, trained = "2026-01-05", False
        elif n % 10 == 0:
            started, trained = "2026-03-01", False  # due 30 May: indexed, not yet due
        else:
            started, trained = "2024-02-01", True
        row = {"staff_id": f"s{n:06d}", "network_id": NETWORK,
               "practice_id": PRACTICES[n % len(PRACTICES)], "team": f"team{n % 7}",
               "role": "clinician", "leader": False, "lived_experience_partner": False,
               "started_on": datetime.fromisoformat(started).date(), "left_on": None}
        staff = new_staff(row, BUILT_AT)
        if trained:
            staff["levels"] = {"introduction": {"awarded_on": "2024-03-01", "offering_id": None,
                                                "cohort_id": None, "evidence": "induction",
                                                "refreshed_on": None}}
        staff.update(with_obligations(staff, derive_obligations(
            staff, framework, BUILT_AT)))
        documents.append(staff)
    return documents


def measure(uri, size):
    config = {"MONGO_URI": uri, "MONGO_DATABASE_PREFIX": f"bench{uuid.uuid4().hex[:8]}"}
    database = storage.open_database(config, "training")
    try:
        TrainingRepository.ensure_indexes(database)
        repository = TrainingRepository(database)
        documents = staff_documents(size)
        for start in range(0, size, 5000):
            repository.add_staff(documents[start:start + 5000])
        started = time.perf_counter()
        first = overdue_check(repository, PASS_AT, Trace())
        first_seconds = time.perf_counter() - started
        started = time.perf_counter()
        second = overdue_check(repository, PASS_AT, Trace())
        second_seconds = time.perf_counter() - started
        assert first["gaps"] == FALLING_DUE and second["gaps"] == 0, (first, second)
        assert database[STAFF].count_documents({}) == size
        return {"size": size, "first": first, "first_seconds": first_seconds,
                "second": second, "second_seconds": second_seconds}
    finally:
        database.client.drop_database(database.name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mongo", default="mongomock://bench-training")
    parser.add_argument("--sizes", type=int, nargs=2, default=(1000, 50000))
    args = parser.parse_args()
    results = [measure(args.mongo, size) for size in args.sizes]
    store = "mongomock (scans: no indexes)" if args.mongo.startswith(storage.MOCK_SCHEME) \
        else "MongoDB (index on next_due_on)"
    print(f"overdue check, {FALLING_DUE} people falling due, storage: {store}")
    print(f"{'staff':>8} {'pass':>6} {'docs read':>10} {'gaps':>6} {'ms':>10}")
    for result in results:
        for name in ("first", "second"):
            counts = result[name]
            print(f"{result['size']:>8} {name:>6} {counts['read']:>10} {counts['gaps']:>6} "
                  f"{result[name + '_seconds'] * 1000:>10.1f}")
    small, large = results
    same = small["first"]["read"] == large["first"]["read"] \
        and small["second"]["read"] == large["second"]["read"]
    print(f"documents read per pass equal for both sizes: {same} "
          f"({small['first']['read']} then {small['second']['read']})")
    print(f"time ratio {large['size']:,}/{small['size']:,} staff: first pass "
          f"{large['first_seconds'] / small['first_seconds']:.1f}x, quiet pass "
          f"{large['second_seconds'] / small['second_seconds']:.1f}x "
          f"(registry {large['size'] / small['size']:.0f}x)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
