"""Fixtures of the training tests: a repository on the one storage fixture, principals, the
clock, and helpers that make staff, offerings, cohorts and project envelopes."""
from datetime import datetime, timezone

import pytest

from services.training.commands import cohorts, registry
from services.training.repository import TrainingRepository
from shared import storage
from shared.auth import Principal
from shared.events.catalogue import event_type as event_type_named
from shared.events.catalogue import make_event, validate_envelope
from shared.events.envelope import Trace, isoformat

NETWORK = "net_east"
OTHER_NETWORK = "net_west"
PRACTICES = ("F84001", "F84002", "F84003")
ADMIN = Principal("admin", "admin")
LEAD = Principal("k_lead", "network_lead", network_id=NETWORK)
OTHER_LEAD = Principal("k_west", "network_lead", network_id=OTHER_NETWORK)


def practice_key(practice_id, network_id=NETWORK):
    return Principal(f"k_{practice_id}", "practice", network_id=network_id,
                     practice_id=practice_id)


def at(*args):
    return datetime(*args, tzinfo=timezone.utc)


# The registry as the projects service announced it to training.
REGISTERED_PRACTICES = {**{code: NETWORK for code in PRACTICES}, "F84009": OTHER_NETWORK}


def repository_of(config):
    """A training repository on ``config``'s storage that has heard of the networks and
    practices these tests use."""
    database = storage.open_database(config, "training")
    TrainingRepository.ensure_indexes(database)
    repository = TrainingRepository(database)
    for network_id in (NETWORK, OTHER_NETWORK):
        repository.record_network(network_id, network_id)
    for practice_id, network_id in REGISTERED_PRACTICES.items():
        repository.record_practice(practice_id, network_id, f"Practice {practice_id}")
    return repository


@pytest.fixture
def repository(storage_config):
    return repository_of(storage_config)


def staff_row(staff_id, practice_id=PRACTICES[0], started_on="2026-01-05", team="admin",
              role="receptionist", leader=False, partner=False, network_id=NETWORK,
              left_on=None):
    row = {"staff_id": staff_id, "network_id": network_id, "practice_id": practice_id,
           "team": team, "role": role, "leader": leader, "lived_experience_partner": partner,
           "started_on": started_on}
    if left_on:
        row["left_on"] = left_on
    return row


def register(repository, now, *rows, principal=ADMIN):
    return registry.import_staff(repository, principal, {"rows": list(rows)}, now, Trace())


def offering(repository, now, kind="course", level="introduction", capacity=20,
             share=0.8, live_project=False, refresher_for=None, principal=LEAD):
    command = {"network_id": NETWORK, "kind": kind, "title": f"{kind} {level}",
               "awards_level": None if refresher_for else level,
               "refresher_for": refresher_for, "duration_hours": 3.0, "capacity": capacity,
               "completion": {"attendance_share": share, "requires_live_project": live_project}}
    return cohorts.add_offering(repository, principal, command, now, Trace())


def cohort(repository, now, offering_document, *session_dates, capacity=None):
    from datetime import date
    return cohorts.add_cohort(repository, LEAD, {
        "offering_id": offering_document["_id"],
        "session_dates": [date.fromisoformat(d) for d in session_dates],
        "capacity": capacity}, now, Trace())


def project_envelope(event_type, data, occurred_at, network_id=NETWORK):
    """A consumed envelope as the event handler gives it: made, then checked and loaded."""
    loaded = event_type_named(event_type).schema().load(data)
    made = make_event(event_type, loaded, source="projects", network_id=network_id,
                      trace=Trace())
    return validate_envelope({**made, "occurred_at": isoformat(occurred_at)})


def outbox_events(repository, event_type=None):
    """Every event stored in the outbox of the training collections, oldest first."""
    found = []
    for name in ("staff", "cohorts", "practice_targets"):
        for document in repository.database[name].find({"outbox": {"$exists": True}}):
            found += [e for e in document.get("outbox") or ()]
    found = [e for e in found if event_type is None or e["event_type"] == event_type]
    return sorted(found, key=lambda e: e["occurred_at"])
