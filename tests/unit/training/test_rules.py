"""Every rule of the training service layer, and bad input refused naming its field with
nothing written."""
from datetime import date

import pytest

from services.training.commands import (cohorts, frameworks, overdue, project_events, registry,
                                        reports)
from services.training.domain.framework import DEFAULT_REQUIREMENTS
from services.training.domain.obligations import fall_due
from shared.domain import ConflictError, NotFoundError, NotPermitted, RuleBroken
from shared.events.catalogue import make_event, validate_envelope
from shared.events.envelope import Trace
from tests.unit.training.conftest import (ADMIN, LEAD, NETWORK, OTHER_LEAD, PRACTICES, at,
                                          cohort, offering, outbox_events, practice_key,
                                          project_envelope, register, staff_row)

NOW = at(2026, 3, 2, 9)
P1, P2 = practice_key(PRACTICES[0]), practice_key(PRACTICES[1])


def staff_count(repository):
    return repository.database["staff"].count_documents({})


def refused_fields(excinfo):
    return set(excinfo.value.fields)


# --- framework -------------------------------------------------------------------------------

def test_the_default_framework_follows_the_dosage_model(repository):
    framework = frameworks.get_framework(repository, P1, NETWORK)
    assert {(r["applies_to"], r["level"], r["within_days"]) for r in framework["requirements"]} \
        >= {("everyone", "introduction", 90), ("leaders", "improvement_leader", 365),
            ("project_leads", "foundations", 0)}
    assert framework["refresh_days"] == {"foundations": 1095}


def test_a_network_lead_changes_requirements_from_then_on_kept_with_who_and_when(repository):
    register(repository, NOW, staff_row("aa", started_on="2025-11-01"))
    assert repository.staff("aa")["next_due_on"] == "2026-01-30"
    requirements = [{**r, "within_days": 30} if r["requirement_id"] == "starter_introduction"
                    else r for r in DEFAULT_REQUIREMENTS]
    frameworks.change_framework(repository, LEAD, {"network_id": NETWORK,
                                                   "requirements": requirements}, NOW, Trace())
    framework = frameworks.get_framework(repository, ADMIN, NETWORK)
    assert framework["changes"][0]["changed_by"] == "k_lead"
    assert framework["changes"][0]["changed_at"].replace(tzinfo=None) == NOW.replace(tzinfo=None)
    assert framework["changes"][0]["before"]["requirements"][0]["within_days"] == 90
    # Pending obligations take the new terms, due no earlier than the change.
    assert repository.staff("aa")["next_due_on"] == "2026-03-02"
    # A newcomer is under the new rule; one who started long ago counts from the change.
    register(repository, NOW, staff_row("bb", started_on="2026-03-01"),
             staff_row("cc", started_on="2024-01-01"))
    assert repository.staff("bb")["next_due_on"] == "2026-03-31"
    assert repository.staff("cc")["next_due_on"] == "2026-03-02"


@pytest.mark.parametrize("principal, error", [(P1, NotPermitted), (OTHER_LEAD, NotFoundError)])
def test_only_the_networks_leads_change_its_framework(repository, principal, error):
    with pytest.raises(error):
        frameworks.change_framework(repository, principal, {
            "network_id": NETWORK, "refresh_days": {"foundations": 365}}, NOW, Trace())
    assert repository.database["frameworks"].count_documents({}) == 0


def test_a_role_requirement_names_its_role(repository):
    bad = [{"requirement_id": "x", "applies_to": "role", "role": None, "level": "coach",
            "anchor": "start", "within_days": 10}]
    with pytest.raises(RuleBroken) as excinfo:
        frameworks.change_framework(repository, LEAD, {"network_id": NETWORK,
                                                       "requirements": bad}, NOW, Trace())
    assert refused_fields(excinfo) == {"requirements.0.role"}


# --- staff registry --------------------------------------------------------------------------

@pytest.mark.parametrize("change, field", [
    ({"started_on": "2026-13-01"}, "rows.1.started_on"),
    ({"started_on": "1999-12-31"}, "rows.1.started_on"),
    ({"team": "patient 943 476 5919"}, "rows.1.team"),
    ({"role": "call 020 7946 0018"}, "rows.1.role"),
    ({"team": "ask jo@practice.nhs.uk"}, "rows.1.team"),
    ({"name": "Jo Bloggs"}, "rows.1.name"),
    ({"email": "jo@example.org"}, "rows.1.email"),
    ({"practice_id": "not-ods"}, "rows.1.practice_id"),
    ({"staff_id": "x"}, "rows.1.staff_id"),
    ({"left_on": "2020-01-01"}, "rows.1.left_on"),
])
def test_an_import_with_one_bad_row_writes_nothing_and_names_it(repository, change, field):
    rows = [staff_row("ok1"), {**staff_row("ok2"), **change}, staff_row("ok3")]
    with pytest.raises(RuleBroken) as excinfo:
        registry.import_staff(repository, ADMIN, {"rows": rows}, NOW, Trace())
    assert field in refused_fields(excinfo)
    assert staff_count(repository) == 0


def test_an_import_refuses_repeats_registered_ids_and_other_practices(repository):
    register(repository, NOW, staff_row("known"))
    with pytest.raises(RuleBroken) as excinfo:
        registry.import_staff(repository, P1, {"rows": [
            staff_row("aa"), staff_row("aa"), staff_row("known"),
            staff_row("bb", practice_id=PRACTICES[1]),
            staff_row("cc", network_id="net_west")]}, NOW, Trace())
    assert refused_fields(excinfo) == {"rows.1.staff_id", "rows.2.staff_id",
                                       "rows.3.practice_id", "rows.4.practice_id"}
    assert staff_count(repository) == 1


def test_staff_are_registered_only_in_registered_networks_and_practices(repository):
    """Even an admin key (which may act anywhere) cannot register people into a network or a
    practice the projects service never announced, nor a practice into another network."""
    with pytest.raises(RuleBroken) as excinfo:
        registry.import_staff(repository, ADMIN, {"rows": [
            staff_row("aa", network_id="0"), staff_row("bb", practice_id="A00000"),
            staff_row("cc", practice_id="F84009"), staff_row("dd")]}, NOW, Trace())
    assert excinfo.value.fields == {
        "rows.0.network_id": ["0 is not a registered network (registered in the last few "
                              "seconds? send it again shortly)"],
        "rows.1.practice_id": [f"A00000 is not a registered practice of {NETWORK} (registered "
                               "in the last few seconds? send it again shortly)"],
        "rows.2.practice_id": [f"F84009 is not a registered practice of {NETWORK} (registered "
                               "in the last few seconds? send it again shortly)"]}
    assert staff_count(repository) == 0
    # Once the projects service's events arrive, the same rows are taken.
    projects = {"source": "projects", "trace": Trace()}
    project_events.on_network_registered(repository, validate_envelope(make_event(
        "network.registered", {"network_id": "0", "name": "Zero PCN"}, network_id="0",
        **projects)))
    project_events.on_practice_registered(repository, validate_envelope(make_event(
        "practice.registered", {"practice_id": "A00000", "network_id": NETWORK,
                                "name": "Practice A"}, network_id=NETWORK, **projects)))
    project_events.on_practice_registered(repository, validate_envelope(make_event(
        "practice.registered", {"practice_id": "Z00001", "network_id": "0",
                                "name": "Practice Z"}, network_id="0", **projects)))
    register(repository, NOW, staff_row("aa", network_id="0", practice_id="Z00001"),
             staff_row("bb", practice_id="A00000"))
    assert staff_count(repository) == 2


def test_an_import_holds_at_most_5000_rows(repository):
    rows = [staff_row(f"p{n:05d}") for n in range(5001)]
    with pytest.raises(RuleBroken) as excinfo:
        registry.import_staff(repository, ADMIN, {"rows": rows}, NOW, Trace())
    assert refused_fields(excinfo) == {"rows"}
    registry.import_staff(repository, ADMIN, {"rows": rows[:5000]}, NOW, Trace())
    assert staff_count(repository) == 5000


def test_a_csv_import_reads_the_same_fields(repository):
    text = ("staff_id,network_id,practice_id,team,role,leader,lived_experience_partner,"
            "started_on\n"
            f"c1,{NETWORK},{PRACTICES[0]},front desk,receptionist,false,true,2026-02-01\n"
            f"c2,{NETWORK},{PRACTICES[0]},front desk,practice_manager,true,false,2025-02-01\n")
    documents = registry.import_staff(repository, P1, {"csv": text}, NOW, Trace())
    assert [(d["_id"], d["leader"], d["lived_experience_partner"]) for d in documents] == [
        ("c1", False, True), ("c2", True, False)]
    bad = text.replace("2025-02-01", "someday")
    with pytest.raises(RuleBroken) as excinfo:
        registry.import_staff(repository, P1, {"csv": bad.replace("c1,", "c9,").replace(
            "c2,", "c8,")}, NOW, Trace())
    assert refused_fields(excinfo) == {"rows.1.started_on"}


def test_a_practice_key_sees_and_changes_only_its_own_staff(repository):
    register(repository, NOW, staff_row("mine"), staff_row("theirs", PRACTICES[1]))
    assert registry.get_person(repository, P1, "mine", NOW)["staff_id"] == "mine"
    with pytest.raises(NotFoundError):
        registry.get_person(repository, P1, "theirs", NOW)
    with pytest.raises(NotFoundError):
        registry.update_staff(repository, P1, "theirs", {"team": "x"}, NOW, Trace())
    with pytest.raises(NotFoundError):
        registry.get_person(repository, OTHER_LEAD, "mine", NOW)
    assert repository.staff("theirs")["team"] == "admin"


def test_a_person_who_leaves_has_their_gaps_closed_and_nothing_more_due(repository):
    register(repository, NOW, staff_row("goer", started_on="2025-10-01"))
    overdue.overdue_check(repository, NOW, Trace())
    assert len(outbox_events(repository, "training.capability_gap_identified")) == 1
    registry.update_staff(repository, P1, "goer", {"left_on": date(2026, 3, 1)}, NOW, Trace())
    closed = outbox_events(repository, "training.gap_closed")
    assert [e["data"]["how"] for e in closed] == ["left"]
    assert repository.staff("goer")["next_due_on"] is None


# --- enrolment -------------------------------------------------------------------------------

def enrolled_cohort(repository, capacity=2, sessions=("2026-03-10", "2026-03-17")):
    register(repository, NOW, *[staff_row(f"e{n}", PRACTICES[n % 2], started_on="2026-01-05")
                                for n in range(5)])
    course = offering(repository, NOW, capacity=capacity)
    return course, cohort(repository, NOW, course, *sessions)


def test_past_capacity_people_wait_and_move_up_first_come_first_served(repository):
    _, group = enrolled_cohort(repository)
    states = [cohorts.enrol(repository, ADMIN, group["_id"], {"staff_id": f"e{n}"}, NOW,
                            Trace())["state"] for n in range(4)]
    assert states == ["enrolled", "enrolled", "waiting", "waiting"]
    assert [e["data"]["position"] for e in outbox_events(repository, "training.waitlisted")] \
        == [1, 2]
    cohorts.withdraw(repository, ADMIN, group["_id"], {"staff_id": "e0"}, NOW, Trace())
    moved = outbox_events(repository, "training.moved_up_from_waiting_list")
    assert [e["data"]["staff_id"] for e in moved] == ["e2"]
    validate_envelope(moved[0])
    assert [(e["data"]["staff_id"], e["data"]["from_waiting_list"])
            for e in outbox_events(repository, "training.enrolled")] == [
        ("e0", False), ("e1", False), ("e2", True)]
    stored = repository.cohort(group["_id"])
    assert [e["staff_id"] for e in stored["enrolments"] if e["state"] == "enrolled"] == [
        "e1", "e2"]
    assert [w["staff_id"] for w in stored["waiting"]] == ["e3"]
    with pytest.raises(ConflictError):
        cohorts.enrol(repository, ADMIN, group["_id"], {"staff_id": "e1"}, NOW, Trace())


def test_a_practice_key_enrols_and_sees_only_its_own_people(repository):
    _, group = enrolled_cohort(repository, capacity=10)
    with pytest.raises(NotFoundError):
        cohorts.enrol(repository, P1, group["_id"], {"staff_id": "e1"}, NOW, Trace())
    cohorts.enrol(repository, P1, group["_id"], {"staff_id": "e0"}, NOW, Trace())
    cohorts.enrol(repository, P2, group["_id"], {"staff_id": "e1"}, NOW, Trace())
    seen = cohorts.get_cohort(repository, P1, group["_id"])
    assert [e["staff_id"] for e in seen["enrolments"]] == ["e0"]
    assert seen["places_left"] == 8
    with pytest.raises(NotFoundError):
        cohorts.get_cohort(repository, OTHER_LEAD, group["_id"])


# --- attendance ------------------------------------------------------------------------------

def test_attendance_for_someone_not_enrolled_or_before_they_started_is_refused(repository):
    _, group = enrolled_cohort(repository, sessions=("2026-01-02", "2026-03-01"))
    cohorts.enrol(repository, ADMIN, group["_id"], {"staff_id": "e0"}, NOW, Trace())
    before = repository.cohort(group["_id"])
    with pytest.raises(RuleBroken) as excinfo:
        cohorts.record_attendance(repository, ADMIN, group["_id"], "s2",
                                  {"staff_id": "e1", "status": "present"}, NOW, Trace())
    assert refused_fields(excinfo) == {"staff_id"}
    with pytest.raises(RuleBroken) as excinfo:
        cohorts.record_attendance(repository, ADMIN, group["_id"], "s1",
                                  {"staff_id": "e0", "status": "present"}, NOW, Trace())
    assert refused_fields(excinfo) == {"session_id"}
    with pytest.raises(NotFoundError) as excinfo:
        cohorts.record_attendance(repository, ADMIN, group["_id"], "s9",
                                  {"staff_id": "e0", "status": "present"}, NOW, Trace())
    assert refused_fields(excinfo) == {"session_id"}
    assert repository.cohort(group["_id"]) == before


def test_a_register_csv_is_checked_whole(repository):
    _, group = enrolled_cohort(repository, capacity=5, sessions=("2026-03-01",))
    for n in range(3):
        cohorts.enrol(repository, ADMIN, group["_id"], {"staff_id": f"e{n}"}, NOW, Trace())
    before = repository.cohort(group["_id"])
    for text, field in [("staff_id,status\ne0,present\ne1,asleep\n", "rows.1.status"),
                        ("staff_id,status\ne0,present\ne4,present\n", "rows.1.staff_id"),
                        ("who,status\ne0,present\n", "csv")]:
        with pytest.raises(RuleBroken) as excinfo:
            cohorts.import_register(repository, ADMIN, group["_id"], "s1", {"csv": text},
                                    NOW, Trace())
        assert field in refused_fields(excinfo)
        assert repository.cohort(group["_id"]) == before
    cohorts.import_register(repository, ADMIN, group["_id"], "s1", {
        "csv": "staff_id,status\ne0,present\ne1,apologies\ne2,late\n"}, NOW, Trace())
    marks = {e["staff_id"]: e["attendance"] for e in repository.cohort(group["_id"])["enrolments"]}
    assert marks == {"e0": {"s1": "present"}, "e1": {"s1": "apologies"}, "e2": {"s1": "late"}}


def test_repeated_absence_tells_the_team_leaders_once(repository):
    register(repository, NOW, staff_row("boss", team="admin", leader=True,
                                        role="practice_manager", started_on="2025-01-01"),
             staff_row("other_boss", team="clinical", leader=True, started_on="2025-01-01"))
    _, group = enrolled_cohort(repository, sessions=("2026-02-02", "2026-02-09", "2026-02-16"))
    cohorts.enrol(repository, ADMIN, group["_id"], {"staff_id": "e0"}, at(2026, 2, 1), Trace())
    for session, status in (("s1", "apologies"), ("s2", "absent"), ("s3", "absent")):
        cohorts.record_attendance(repository, ADMIN, group["_id"], session,
                                  {"staff_id": "e0", "status": status}, NOW, Trace())
    cohorts.record_attendance(repository, ADMIN, group["_id"], "s3",
                              {"staff_id": "e0", "status": "absent"}, NOW, Trace())
    events = outbox_events(repository, "training.repeated_absence")
    assert [(e["data"]["staff_id"], e["data"]["absences"], e["data"]["leader_staff_ids"])
            for e in events] == [("e0", 2, ["boss"])]


# --- completion ------------------------------------------------------------------------------

def test_sessions_before_enrolment_do_not_count_against_a_person(repository):
    _, group = enrolled_cohort(repository, sessions=("2026-02-02", "2026-02-09", "2026-02-23",
                                                     "2026-03-01"))
    cohorts.enrol(repository, ADMIN, group["_id"], {"staff_id": "e0"}, at(2026, 2, 20),
                  Trace())
    for session in ("s3", "s4"):
        cohorts.record_attendance(repository, ADMIN, group["_id"], session,
                                  {"staff_id": "e0", "status": "present"}, NOW, Trace())
    person = cohorts.complete(repository, ADMIN, group["_id"], {"staff_id": "e0"}, NOW,
                              Trace())
    assert person["held_level"] == "introduction"
    event = outbox_events(repository, "training.completed")[0]
    assert event["data"]["attendance_share"] == 1.0


def test_completion_needs_an_enrolment_enough_attendance_and_the_last_session(repository):
    _, group = enrolled_cohort(repository, sessions=("2026-02-02", "2026-02-09"))
    cohorts.enrol(repository, ADMIN, group["_id"], {"staff_id": "e0"}, at(2026, 2, 1), Trace())
    cohorts.record_attendance(repository, ADMIN, group["_id"], "s1",
                              {"staff_id": "e0", "status": "present"}, at(2026, 2, 2), Trace())
    with pytest.raises(RuleBroken) as excinfo:
        cohorts.complete(repository, ADMIN, group["_id"], {"staff_id": "e0"}, at(2026, 2, 3),
                         Trace())
    assert refused_fields(excinfo) == {"cohort_id"}
    with pytest.raises(RuleBroken) as excinfo:
        cohorts.complete(repository, ADMIN, group["_id"], {"staff_id": "e1"}, NOW, Trace())
    assert refused_fields(excinfo) == {"staff_id"}
    cohorts.record_attendance(repository, ADMIN, group["_id"], "s1",
                              {"staff_id": "e0", "status": "present"}, NOW, Trace())
    with pytest.raises(RuleBroken) as excinfo:
        cohorts.complete(repository, ADMIN, group["_id"], {"staff_id": "e0"}, NOW, Trace())
    assert "1 of 2" in excinfo.value.fields["staff_id"][0]
    assert repository.staff("e0")["levels"] == {}
    assert outbox_events(repository, "training.completed") == []


def test_a_programme_needs_every_session_or_its_make_up_in_a_later_cohort(repository):
    register(repository, NOW, staff_row("pp", started_on="2025-01-01"))
    programme = offering(repository, NOW, kind="programme", level="foundations")
    first = cohort(repository, NOW, programme, "2026-01-12", "2026-01-19", "2026-01-26")
    later = cohort(repository, NOW, programme, "2026-02-09", "2026-02-16", "2026-02-23")
    cohorts.enrol(repository, ADMIN, first["_id"], {"staff_id": "pp"}, at(2026, 1, 5), Trace())
    for session, status in (("s1", "present"), ("s2", "absent"), ("s3", "present")):
        cohorts.record_attendance(repository, ADMIN, first["_id"], session,
                                  {"staff_id": "pp", "status": status}, NOW, Trace())
    with pytest.raises(RuleBroken) as excinfo:
        cohorts.complete(repository, ADMIN, first["_id"], {"staff_id": "pp"}, NOW, Trace())
    assert "missing s2" in excinfo.value.fields["staff_id"][0]
    cohorts.enrol(repository, ADMIN, later["_id"], {"staff_id": "pp"}, at(2026, 2, 1), Trace())
    cohorts.record_attendance(repository, ADMIN, later["_id"], "s2",
                              {"staff_id": "pp", "status": "late"}, NOW, Trace())
    person = cohorts.complete(repository, ADMIN, first["_id"], {"staff_id": "pp"}, NOW, Trace())
    assert person["held_level"] == "foundations"


def test_the_leaders_programme_needs_a_live_project_with_the_person_as_member(repository):
    register(repository, NOW, staff_row("mm", started_on="2025-01-01", leader=True))
    programme = offering(repository, NOW, kind="programme", level="improvement_leader",
                         live_project=True)
    group = cohort(repository, NOW, programme, "2026-02-02")
    cohorts.enrol(repository, ADMIN, group["_id"], {"staff_id": "mm"}, at(2026, 2, 1), Trace())
    cohorts.record_attendance(repository, ADMIN, group["_id"], "s1",
                              {"staff_id": "mm", "status": "present"}, NOW, Trace())
    with pytest.raises(RuleBroken) as excinfo:
        cohorts.complete(repository, ADMIN, group["_id"], {"staff_id": "mm"}, NOW, Trace())
    assert "no live project" in excinfo.value.fields["staff_id"][0]
    project_events.on_member_added(repository, project_envelope("project.member_added", {
        "project_id": "prj_a", "staff_id": "mm", "role": "member"}, at(2026, 2, 3)), NOW)
    project_events.on_stage_changed(repository, project_envelope("project.stage_changed", {
        "project_id": "prj_a", "from_stage": "idea", "to_stage": "planning"},
        at(2026, 2, 4)), NOW)
    cohorts.complete(repository, ADMIN, group["_id"], {"staff_id": "mm"}, NOW, Trace())
    event = outbox_events(repository, "training.completed")[0]
    assert event["data"]["project_id"] == "prj_a"


def test_a_level_lapses_after_its_refresh_period_until_a_refresher(repository):
    register(repository, at(2026, 1, 1), staff_row("rr", started_on="2025-01-01"))
    registry.award_level(repository, LEAD, {"staff_id": "rr", "level": "introduction",
                                            "evidence": "induction"}, at(2026, 1, 1), Trace())
    registry.award_level(repository, LEAD, {"staff_id": "rr", "level": "foundations",
                                            "evidence": "external course"},
                         at(2026, 1, 1), Trace())
    for day in (2, 3):
        overdue.overdue_check(repository, at(2029, 1, day), Trace())
    gaps = outbox_events(repository, "training.capability_gap_identified")
    assert [(e["data"]["reason"], e["data"]["level"], e["data"]["due_on"]) for e in gaps] == [
        ("lapsed", "foundations", "2028-12-31")]
    person = registry.get_person(repository, ADMIN, "rr", at(2029, 1, 3))
    assert person["held_level"] == "introduction" and person["lapsed_levels"] == ["foundations"]
    refresher = offering(repository, at(2029, 1, 3), kind="masterclass",
                         refresher_for="foundations")
    group = cohort(repository, at(2029, 1, 3), refresher, "2029-01-10")
    cohorts.enrol(repository, ADMIN, group["_id"], {"staff_id": "rr"}, at(2029, 1, 3), Trace())
    cohorts.record_attendance(repository, ADMIN, group["_id"], "s1",
                              {"staff_id": "rr", "status": "present"}, at(2029, 1, 10), Trace())
    person = cohorts.complete(repository, ADMIN, group["_id"], {"staff_id": "rr"},
                              at(2029, 1, 10), Trace())
    assert person["held_level"] == "foundations" and person["lapsed_levels"] == []
    assert [r["due_on"] for r in person["requirements"]] == ["2032-01-10"]
    closed = outbox_events(repository, "training.gap_closed")
    assert [e["data"]["gap_id"] for e in closed] == [gaps[0]["data"]["gap_id"]]
    overdue.overdue_check(repository, at(2029, 2, 1), Trace())
    assert len(outbox_events(repository, "training.capability_gap_identified")) == 1


def test_an_offering_awards_a_level_and_board_sessions_the_board_level(repository):
    with pytest.raises(RuleBroken) as excinfo:
        offering(repository, NOW, kind="board_session", level="coach")
    assert refused_fields(excinfo) == {"awards_level"}
    with pytest.raises(RuleBroken) as excinfo:
        offering(repository, NOW, kind="course", refresher_for="foundations")
    assert refused_fields(excinfo) == {"refresher_for"}
    with pytest.raises(NotPermitted):
        offering(repository, NOW, principal=P1)
    assert repository.database["offerings"].count_documents({}) == 0


# --- assessments -----------------------------------------------------------------------------

def test_only_the_teams_leaders_network_leads_and_admins_assess(repository):
    register(repository, NOW, staff_row("lead_a", team="clinical", leader=True),
             staff_row("lead_b", team="admin", leader=True), staff_row("nurse", team="clinical"),
             staff_row("peer", team="clinical"))
    course = offering(repository, NOW)
    good = {"assessed_level": "introduction", "notes": "runs huddles",
            "assessor_staff_id": "lead_a",
            "training_need": {"offering_id": course["_id"], "by": date(2026, 6, 1)}}
    person = registry.assess(repository, P1, "nurse", good, NOW, Trace())
    assert person["assessments"][0]["assessed_by"] == "lead_a"
    assert person["training_needs"][0]["offering_id"] == course["_id"]
    before = repository.staff("nurse")
    for assessor in ("lead_b", "peer", None):
        with pytest.raises(NotPermitted) as excinfo:
            registry.assess(repository, P1, "nurse", {**good, "assessor_staff_id": assessor},
                            NOW, Trace())
        assert refused_fields(excinfo) == {"assessor_staff_id"}
    with pytest.raises(NotFoundError) as excinfo:
        registry.assess(repository, LEAD, "nurse", {**good, "training_need": {
            "offering_id": "off_nope", "by": date(2026, 6, 1)}}, NOW, Trace())
    assert refused_fields(excinfo) == {"training_need.offering_id"}
    assert repository.staff("nurse") == before
    registry.assess(repository, LEAD, "nurse", {"assessed_level": "foundations"}, NOW, Trace())
    with pytest.raises(NotFoundError):
        registry.assess(repository, P2, "nurse", good, NOW, Trace())


# --- practical evidence ----------------------------------------------------------------------

def test_project_events_are_practical_evidence_on_the_persons_record(repository):
    register(repository, NOW, staff_row("tt", started_on="2025-01-01"))
    added = project_envelope("project.member_added", {
        "project_id": "prj_smr", "staff_id": "tt", "role": "member"}, at(2026, 2, 1))
    cycle = project_envelope("pdsa.cycle_completed", {
        "cycle_id": "cyc_1", "project_id": "prj_smr", "change_idea": "pharmacist reviews",
        "started_on": "2026-02-02", "completed_on": "2026-02-20", "act": "adapt",
        "has_prediction": True}, at(2026, 2, 20))
    for envelope in (added, added):
        project_events.on_member_added(repository, envelope, NOW)
    for envelope in (cycle, cycle):
        project_events.on_cycle_completed(repository, envelope, NOW)
    evidence = registry.get_person(repository, ADMIN, "tt", NOW)["practical_evidence"]
    assert [p["project_id"] for p in evidence["projects"]] == ["prj_smr"]
    assert [(c["cycle_id"], c["act"]) for c in evidence["pdsa_cycles"]] == [("cyc_1", "adapt")]
    assert repository.staff("tt")["last_active_on"] == "2026-02-20"


def test_a_late_stage_event_never_moves_a_project_back(repository):
    for from_stage, to_stage, day in (("testing", "implementing", 3), ("planning", "testing", 2)):
        project_events.on_stage_changed(repository, project_envelope("project.stage_changed", {
            "project_id": "prj_d", "from_stage": from_stage, "to_stage": to_stage},
            at(2026, 2, day)), NOW)
    assert repository.project("prj_d", NETWORK)["stage"] == "implementing"


def test_a_lead_added_after_planning_is_checked_at_once(repository):
    register(repository, NOW, staff_row("late_lead", started_on="2025-01-01"))
    project_events.on_stage_changed(repository, project_envelope("project.stage_changed", {
        "project_id": "prj_b", "from_stage": "planning", "to_stage": "testing"},
        at(2026, 2, 1)), NOW)
    project_events.on_member_added(repository, project_envelope("project.member_added", {
        "project_id": "prj_b", "staff_id": "late_lead", "role": "lead"}, at(2026, 2, 2)), NOW)
    gaps = outbox_events(repository, "training.capability_gap_identified")
    assert [(e["data"]["staff_id"], e["data"]["reason"]) for e in gaps] == [
        ("late_lead", "project_lead")]


# --- targets ---------------------------------------------------------------------------------

def test_a_practice_off_its_coverage_trend_raises_target_at_risk_once(repository):
    register(repository, NOW, *[staff_row(f"q{n}", started_on="2025-01-01") for n in range(10)])
    frameworks.change_framework(repository, LEAD, {"network_id": NETWORK, "targets": {
        "coverage": {"level": "introduction", "share": 0.9, "by": date(2026, 9, 1)}}},
        NOW, Trace())
    for n in range(2):
        registry.award_level(repository, LEAD, {"staff_id": f"q{n}", "level": "introduction",
                                                "evidence": "course"}, NOW, Trace())
    assert reports.targets_check(repository, NOW, Trace()) == 1
    assert reports.targets_check(repository, NOW, Trace()) == 0
    events = outbox_events(repository, "training.target_at_risk")
    assert [(e["data"]["practice_id"], e["data"]["current_share"]) for e in events] == [
        (PRACTICES[0], 0.2)]
    assert events[0]["data"]["projected_share"] < 0.9


def test_a_person_registered_after_their_projects_events_has_that_evidence(repository):
    project_events.on_member_added(repository, project_envelope("project.member_added", {
        "project_id": "prj_c", "staff_id": "newlead", "role": "lead"}, at(2026, 1, 5)), NOW)
    project_events.on_cycle_completed(repository, project_envelope("pdsa.cycle_completed", {
        "cycle_id": "cyc_9", "project_id": "prj_c", "change_idea": "text reminders",
        "started_on": "2026-01-06", "completed_on": "2026-01-20", "act": "adopt",
        "has_prediction": False}, at(2026, 1, 20)), NOW)
    project_events.on_stage_changed(repository, project_envelope("project.stage_changed", {
        "project_id": "prj_c", "from_stage": "planning", "to_stage": "testing"},
        at(2026, 1, 21)), NOW)
    assert outbox_events(repository, "training.capability_gap_identified") == []
    register(repository, NOW, staff_row("newlead", started_on="2025-06-01"))
    person = registry.get_person(repository, ADMIN, "newlead", NOW)
    assert [p["project_id"] for p in person["practical_evidence"]["projects"]] == ["prj_c"]
    assert [c["cycle_id"] for c in person["practical_evidence"]["pdsa_cycles"]] == ["cyc_9"]
    gaps = outbox_events(repository, "training.capability_gap_identified")
    assert [(e["data"]["staff_id"], e["data"]["reason"]) for e in gaps] == [
        ("newlead", "project_lead")]


def test_two_replicas_checking_at_once_raise_a_gap_once(repository):
    register(repository, NOW, staff_row("racer", started_on="2025-10-01"))
    seen_by_other_replica = repository.falling_due("2026-03-02", 10)
    assert overdue.overdue_check(repository, NOW, Trace())["gaps"] == 1
    framework = frameworks.get_framework(repository, ADMIN, NETWORK)
    late = fall_due(seen_by_other_replica[0], framework, NOW, Trace())
    with pytest.raises(ConflictError):
        repository.apply("staff", late)
    assert len(outbox_events(repository, "training.capability_gap_identified")) == 1


def test_board_members_are_on_their_own_track(repository):
    register(repository, at(2025, 1, 2), staff_row("chair", role="board_member",
                                                   started_on="2025-01-02"))
    registry.award_level(repository, LEAD, {"staff_id": "chair", "level": "coach",
                                            "evidence": "external"}, at(2025, 1, 2), Trace())
    overdue.overdue_check(repository, at(2026, 1, 3), Trace())
    gaps = outbox_events(repository, "training.capability_gap_identified")
    assert [(e["data"]["level"], e["data"]["held_level"]) for e in gaps] == [("board", "coach")]
    board = offering(repository, at(2026, 1, 3), kind="board_session", level="board")
    group = cohort(repository, at(2026, 1, 3), board, "2026-01-08")
    cohorts.enrol(repository, ADMIN, group["_id"], {"staff_id": "chair"}, at(2026, 1, 3),
                  Trace())
    cohorts.record_attendance(repository, ADMIN, group["_id"], "s1",
                              {"staff_id": "chair", "status": "present"}, at(2026, 1, 8),
                              Trace())
    person = cohorts.complete(repository, ADMIN, group["_id"], {"staff_id": "chair"},
                              at(2026, 1, 8), Trace())
    assert person["held_level"] == "coach" and "board" in person["levels"]
    assert [e["data"]["level"] for e in outbox_events(repository, "training.gap_closed")] == [
        "board"]
