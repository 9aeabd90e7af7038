"""The issue's done-means at the service layer: a network of 3 practices and 40 staff; gaps
raised once however often the check runs, a project lead's gap from a consumed
``project.stage_changed``, and completing the course closes it."""
from prometheus_client import REGISTRY

from services.training.commands import cohorts, overdue, project_events, registry
from shared.events.catalogue import validate_envelope
from shared.events.envelope import Trace
from tests.unit.training.conftest import (ADMIN, LEAD, PRACTICES, at, cohort, offering,
                                          outbox_events, practice_key, project_envelope,
                                          register, staff_row)

JAN_10 = at(2026, 1, 10, 9)


def gap_events(repository):
    return outbox_events(repository, "training.capability_gap_identified")


def build_network(repository):
    """34 staff trained at introduction, 4 starters of 5 January without it, a manager of
    twelve months without improvement_leader, and a project lead without foundations."""
    rows = [staff_row(f"s{n:02d}", PRACTICES[n % 3], started_on="2025-03-01")
            for n in range(34)]
    rows += [staff_row(f"new{n}", PRACTICES[n % 3], started_on="2026-01-05")
             for n in range(4)]
    rows.append(staff_row("mgr", PRACTICES[1], started_on="2025-01-20", role="practice_manager",
                          team="admin", leader=True))
    rows.append(staff_row("smr_lead", PRACTICES[0], started_on="2025-03-01", team="clinical",
                          role="pharmacist"))
    register(repository, JAN_10, *rows)
    for row in rows:
        if not row["staff_id"].startswith("new"):
            registry.award_level(repository, LEAD, {
                "staff_id": row["staff_id"], "level": "introduction",
                "evidence": "induction course 2025"}, JAN_10, Trace())
    return rows


def test_each_gap_is_raised_once_however_often_the_check_runs(repository):
    rows = build_network(repository)
    assert len(rows) == 40
    assert overdue.overdue_check(repository, at(2026, 1, 15), Trace())["gaps"] == 0

    for _ in range(3):
        overdue.overdue_check(repository, at(2026, 2, 1), Trace())
    events = gap_events(repository)
    assert [(e["data"]["staff_id"], e["data"]["level"], e["data"]["reason"])
            for e in events] == [("mgr", "improvement_leader", "overdue")]

    for day in (10, 10, 11, 30):
        overdue.overdue_check(repository, at(2026, 4, day), Trace())
    events = gap_events(repository)
    starters = sorted(e["data"]["staff_id"] for e in events if e["data"]["level"]
                      == "introduction")
    assert starters == ["new0", "new1", "new2", "new3"]
    assert len(events) == 5
    for event in events:
        validate_envelope(event)
        assert event["data"]["due_on"] in ("2026-01-20", "2026-04-05")


def test_a_project_lead_without_foundations_has_a_gap_when_the_project_leaves_planning(
        repository):
    build_network(repository)
    project_events.on_member_added(repository, project_envelope("project.member_added", {
        "project_id": "prj_smr", "staff_id": "smr_lead", "role": "lead",
        "practice_id": PRACTICES[0]}, at(2026, 1, 12)), at(2026, 1, 12))
    project_events.on_stage_changed(repository, project_envelope("project.stage_changed", {
        "project_id": "prj_smr", "from_stage": "idea", "to_stage": "planning"},
        at(2026, 1, 13)), at(2026, 1, 13))
    assert gap_events(repository) == []

    moved = project_envelope("project.stage_changed", {
        "project_id": "prj_smr", "from_stage": "planning", "to_stage": "testing"},
        at(2026, 2, 2))
    for _ in range(2):  # redelivered: still one gap
        project_events.on_stage_changed(repository, moved, at(2026, 2, 2))
    overdue.overdue_check(repository, at(2026, 2, 3), Trace())
    lead_gaps = [e for e in gap_events(repository) if e["data"]["staff_id"] == "smr_lead"]
    assert len(lead_gaps) == 1
    assert lead_gaps[0]["data"]["reason"] == "project_lead"
    assert lead_gaps[0]["data"]["project_id"] == "prj_smr"
    assert lead_gaps[0]["data"]["held_level"] == "introduction"
    assert lead_gaps[0]["causation_id"] == str(moved["event_id"])

    # The lead enrols on the foundations course, attends, completes: the gap closes, once.
    course = offering(repository, at(2026, 2, 2), kind="course", level="foundations")
    group = cohort(repository, at(2026, 2, 2), course, "2026-02-10", "2026-02-17")
    key = practice_key(PRACTICES[0])
    cohorts.enrol(repository, key, group["_id"], {"staff_id": "smr_lead"}, at(2026, 2, 3),
                  Trace())
    for session in ("s1", "s2"):
        cohorts.record_attendance(repository, key, group["_id"], session,
                                  {"staff_id": "smr_lead", "status": "present"},
                                  at(2026, 2, 18), Trace())
    person = cohorts.complete(repository, key, group["_id"], {"staff_id": "smr_lead"},
                              at(2026, 2, 18), Trace())
    assert person["held_level"] == "foundations"
    assert [(r["requirement_id"], r["due_on"], r["overdue"]) for r in person["requirements"]] \
        == [("refresh_foundations", "2029-02-17", False)]
    closed = outbox_events(repository, "training.gap_closed")
    assert [(e["data"]["gap_id"], e["data"]["how"]) for e in closed] == [
        (lead_gaps[0]["data"]["gap_id"], "level_held")]
    assert [e["data"]["level"] for e in outbox_events(repository, "training.level_awarded")
            if e["data"]["staff_id"] == "smr_lead"] == ["introduction", "foundations"]
    assert len(outbox_events(repository, "training.completed")) == 1
    for day in (19, 20):
        overdue.overdue_check(repository, at(2026, 2, day), Trace())
    assert len(outbox_events(repository, "training.gap_closed")) == 1
    assert len([e for e in gap_events(repository) if e["data"]["staff_id"] == "smr_lead"]) == 1


def test_the_check_reads_only_the_people_falling_due(repository):
    build_network(repository)
    quiet = overdue.overdue_check(repository, at(2026, 1, 15), Trace())
    assert quiet["read"] == 0
    assert overdue.overdue_check(repository, at(2026, 2, 1), Trace())["read"] == 1
    assert overdue.overdue_check(repository, at(2026, 2, 1), Trace())["read"] == 0
    # The 34 trained at introduction hold no pending obligation: never read.
    assert overdue.overdue_check(repository, at(2026, 4, 6), Trace())["read"] == 4
    assert repository.last_pass("overdue")["read"] == 4


def test_a_starter_who_completes_the_introduction_closes_the_gap(repository):
    build_network(repository)
    overdue.overdue_check(repository, at(2026, 4, 6), Trace())
    person = registry.get_person(repository, ADMIN, "new1", at(2026, 4, 6))
    assert [(g["required_level"], g["due_on"], g["overdue"]) for g in person["requirements"]] == [
        ("introduction", "2026-04-05", True)]
    intro = offering(repository, at(2026, 4, 6), kind="webinar", level="introduction")
    group = cohort(repository, at(2026, 4, 6), intro, "2026-04-08")
    cohorts.enrol(repository, ADMIN, group["_id"], {"staff_id": "new1"}, at(2026, 4, 6),
                  Trace())
    cohorts.record_attendance(repository, ADMIN, group["_id"], "s1",
                              {"staff_id": "new1", "status": "late"}, at(2026, 4, 8), Trace())
    person = cohorts.complete(repository, ADMIN, group["_id"], {"staff_id": "new1"},
                              at(2026, 4, 8), Trace())
    assert person["requirements"] == []
    assert [e["data"]["staff_id"] for e in outbox_events(repository, "training.gap_closed")] \
        == ["new1"]


def test_the_pass_and_the_gaps_are_measured(repository):
    build_network(repository)

    def opened():
        return REGISTRY.get_sample_value("pcn_training_gaps_total",
                                         {"change": "opened", "reason": "overdue"}) or 0

    before = opened()
    overdue.overdue_check(repository, at(2026, 4, 6), Trace())
    assert opened() - before == 5
    assert REGISTRY.get_sample_value("pcn_training_overdue_pass_documents_read") == 5
