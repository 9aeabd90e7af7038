"""The overdue pass, and the gap counter that every stored change to a person feeds: gaps open
when obligations fall due (here), when a project lead lacks the level (``project_events``),
and close when a level is awarded or a person leaves (``registry``, ``cohorts``)."""
from prometheus_client import Counter, Gauge

from services.training.domain.framework import day
from services.training.domain.obligations import fall_due
from services.training.repository import OVERDUE_PASS, STAFF
from shared.domain import ConflictError

OVERDUE_BATCH = 1000
OVERDUE_PASS_READ = Gauge("pcn_training_overdue_pass_documents_read",
                          "Staff documents the last overdue pass read (those falling due).")
GAPS = Counter("pcn_training_gaps", "Capability gaps opened (by reason: overdue, lapsed, "
               "project_lead) and closed (level_held, left).", ["change", "reason"])


def count_gaps(events):
    for event in events:
        if event["event_type"] == "training.capability_gap_identified":
            GAPS.labels("opened", event["data"]["reason"]).inc()
        elif event["event_type"] == "training.gap_closed":
            GAPS.labels("closed", event["data"]["how"]).inc()


def store_staff_change(repository, change):
    """Store a change to a person, counting the gaps it opens and closes."""
    stored = repository.apply(STAFF, change)
    count_gaps(change.events)
    return stored


def overdue_check(repository, now, trace, batch=OVERDUE_BATCH):
    """The overdue pass: reads only the people with an obligation falling due (the indexed
    ``next_due_on``), turns each into met or a gap (its event raised once), and answers
    {"read": documents read, "gaps": gaps raised, "changed": people changed}. Runs until
    nothing is left due, ``batch`` people at a time."""
    today = day(now)
    read_before = repository.documents_read
    gaps = changed = 0
    frameworks = {}
    while True:
        due = repository.falling_due(today, batch)
        progressed = 0
        for staff in due:
            network_id = staff["network_id"]
            if network_id not in frameworks:
                frameworks[network_id] = repository.framework(network_id)
            change = fall_due(staff, frameworks[network_id], now, trace)
            if change is None:
                continue
            try:
                store_staff_change(repository, change)
            except ConflictError:
                continue  # changed meanwhile (another replica, an award): the next pass sees it
            progressed += 1
            changed += 1
            gaps += len(change.events)

        if len(due) < batch or not progressed:
            break
    counts = {"read": repository.documents_read - read_before, "gaps": gaps,
              "changed": changed}
    OVERDUE_PASS_READ.set(counts["read"])
    repository.record_pass(OVERDUE_PASS, now, counts)
    return counts
