"""The projects domain rules, without broker or database."""
from datetime import date, datetime, timezone

import pytest

from services.projects import domain
from shared import access
from shared.auth import Principal
from shared.domain import ConflictError, NotFoundError, NotPermitted, RuleBroken
from shared.events.catalogue import validate_envelope
from shared.events.envelope import Trace
from tests.principals import ADMIN, LEAD, OTHER_PRACTICE, PRACTICE

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
TRACE = Trace("corr-1")
PRACTICES = {"F84001": {"_id": "F84001", "network_id": "north-pcn"},
             "F84002": {"_id": "F84002", "network_id": "north-pcn"},
             "Y00001": {"_id": "Y00001", "network_id": "south-pcn"}}


def command(**overrides):
    base = {"network_id": "north-pcn", "title": "SMR", "scope": "network",
            "practice_ids": ["F84001", "F84002"], "change_ideas": ["template"], "members": [],
            "aim": {"what": "w", "how_much": "90%", "by_when": date(2027, 6, 30)}}
    base.update(overrides)
    return base


def project(**overrides):
    document, _ = domain.create_project(command(**overrides), NOW, TRACE)
    return document


def test_create_project_emits_created_then_joined_per_practice_with_valid_envelopes():
    document, events = domain.create_project(
        command(members=[{"staff_id": "lep-1", "role": "lived_experience_partner",
                          "practice_id": None}]), NOW, TRACE)
    assert [e["event_type"] for e in events] == [
        "project.created", "project.practice_joined", "project.practice_joined",
        "project.member_added"]
    for envelope in events:
        loaded = validate_envelope(envelope)
        assert loaded["correlation_id"] == "corr-1" and loaded["source"] == "projects"
    assert document["stage"] == "idea" and document["aim"]["by_when"] == "2027-06-30"
    assert domain.lived_experience_partners(document) == 1


@pytest.mark.parametrize("from_stage, to_stage", [
    ("idea", "planning"), ("planning", "testing"), ("testing", "implementing"),
    ("implementing", "sustaining"), ("sustaining", "closed"), ("testing", "planning"),
    ("implementing", "testing"), ("idea", "closed")])
def test_sensible_stage_transitions_are_allowed(from_stage, to_stage):
    change = domain.change_stage(project(stage=from_stage) | {"stage": from_stage},
                                 to_stage, None, NOW, TRACE)
    events = change.events
    assert change.set["stage"] == to_stage
    assert events[0]["data"] == {"project_id": events[0]["data"]["project_id"],
                                 "from_stage": from_stage, "to_stage": to_stage, "reason": None}


@pytest.mark.parametrize("from_stage, to_stage", [
    ("idea", "testing"), ("idea", "sustaining"), ("planning", "implementing"),
    ("closed", "idea"), ("closed", "planning"), ("sustaining", "idea"), ("idea", "idea")])
def test_other_stage_transitions_conflict(from_stage, to_stage):
    with pytest.raises(ConflictError) as refused:
        domain.change_stage(project() | {"stage": from_stage}, to_stage, None, NOW, TRACE)
    assert "stage" in refused.value.fields


def test_project_creation_rules():
    domain.check_project_creation(LEAD, command(), PRACTICES)
    domain.check_project_creation(PRACTICE, command(scope="practice", practice_ids=["F84001"]),
                                  {"F84001": PRACTICES["F84001"]})
    with pytest.raises(NotPermitted):
        domain.check_project_creation(PRACTICE, command(), PRACTICES)
    with pytest.raises(NotPermitted):
        domain.check_project_creation(PRACTICE, command(scope="practice",
                                                        practice_ids=["F84002"]),
                                      {"F84002": PRACTICES["F84002"]})
    with pytest.raises(RuleBroken) as unknown:
        domain.check_project_creation(LEAD, command(practice_ids=["F84009"]), {})
    assert "practice_ids" in unknown.value.fields
    with pytest.raises(RuleBroken):
        domain.check_project_creation(LEAD, command(practice_ids=["Y00001"]),
                                      {"Y00001": PRACTICES["Y00001"]})
    with pytest.raises(RuleBroken):
        domain.check_project_creation(LEAD, command(scope="practice"), PRACTICES)


def test_visibility_and_write_rules():
    network_project = project()
    access.check_project_visible(PRACTICE, network_project)
    access.check_project_write(LEAD, network_project)
    with pytest.raises(NotPermitted):
        access.check_project_write(PRACTICE, network_project)
    access.check_project_write(PRACTICE, network_project, "F84001")
    with pytest.raises(NotPermitted):
        access.check_project_write(PRACTICE, network_project, "F84002")
    solo = project(scope="practice", practice_ids=["F84001"])
    with pytest.raises(NotFoundError):
        access.check_project_visible(OTHER_PRACTICE, solo)
    with pytest.raises(NotFoundError):
        access.check_project_visible(Principal("k9", "network_lead", "south-pcn"), solo)


def test_members_must_belong_to_a_participating_practice_and_not_repeat():
    document = project()
    member = {"staff_id": "gp-1", "role": "member", "practice_id": "F84001"}
    change = domain.add_member(document, member, NOW, TRACE)
    events = change.events
    assert events[0]["event_type"] == "project.member_added"
    with pytest.raises(ConflictError):
        domain.add_member(change.applied(), member, NOW, TRACE)
    with pytest.raises(RuleBroken):
        domain.add_member(document, {**member, "practice_id": "Y00001"}, NOW, TRACE)


def test_only_network_projects_take_more_practices():
    solo = project(scope="practice", practice_ids=["F84001"])
    with pytest.raises(ConflictError):
        domain.join_practice(solo, PRACTICES["F84002"], NOW, TRACE)
    with pytest.raises(ConflictError):
        domain.join_practice(project(), PRACTICES["F84001"], NOW, TRACE)
    with pytest.raises(RuleBroken):
        domain.join_practice(project(practice_ids=["F84001"]), PRACTICES["Y00001"], NOW, TRACE)


def test_pdsa_cycle_flags_missing_prediction_and_needs_study_before_act():
    cycle, events = domain.start_cycle(project(), {"change_idea": "c", "plan": "p",
                                                   "prediction": "  "}, "F84001", NOW, TRACE)
    assert cycle["flags"] == ["no_prediction"]
    assert events[0]["data"]["has_prediction"] is False
    with pytest.raises(RuleBroken) as refused:
        domain.update_cycle(cycle, {"act": "adopt"}, NOW, TRACE)
    assert "study_notes" in refused.value.fields
    with pytest.raises(RuleBroken):
        domain.update_cycle(cycle, {"completed_on": date(2026, 11, 3)}, NOW, TRACE)
    with pytest.raises(RuleBroken):
        domain.update_cycle(cycle, {"act": "adopt", "study_notes": "s",
                                    "completed_on": date(2026, 1, 1)}, NOW, TRACE)
    change = domain.update_cycle(cycle, {"study_notes": "s", "prediction": "p",
                                         "act": "abandon"}, NOW, TRACE)
    events = change.events
    assert change.set["status"] == "completed" and change.set["flags"] == []
    assert events[0]["event_type"] == "pdsa.cycle_completed"
    assert events[0]["data"]["act"] == "abandon" and events[0]["data"]["has_prediction"] is True
    with pytest.raises(ConflictError):
        domain.update_cycle(cycle | {"status": "completed"}, {"do_notes": "x"}, NOW, TRACE)


def test_closed_projects_take_no_cycles():
    with pytest.raises(ConflictError):
        domain.start_cycle(project() | {"stage": "closed"}, {"change_idea": "c", "plan": "p"},
                           None, NOW, TRACE)


def test_a_person_key_names_its_holder_and_is_the_network_leads_to_issue():
    assert access.key_binding(LEAD, "person", "north-pcn", None, True, "pm.1") == (
        "north-pcn", None)
    assert access.key_binding(LEAD, "person", None, PRACTICES["F84001"], False, "pm.1") == (
        "north-pcn", "F84001")
    with pytest.raises(NotPermitted):
        access.key_binding(LEAD, "person", None, PRACTICES["Y00001"], False, "pm.1")
    for role, staff_id, network_id in (("person", None, "north-pcn"),
                                       ("practice", "pm.1", None),
                                       ("person", "pm.1", "nowhere")):
        with pytest.raises(RuleBroken) as refused:
            access.key_binding(ADMIN, role, network_id, None, network_id == "north-pcn",
                             staff_id)
        assert set(refused.value.fields) & {"staff_id", "network_id"}
    key, (issued,) = domain.issue_key("abc", "0" * 64, "person", "north-pcn", None, None, NOW,
                                      TRACE, "pm.1")
    assert key["staff_id"] == issued["data"]["staff_id"] == "pm.1"


def test_who_may_issue_which_key():
    assert access.key_binding(ADMIN, "ops", None, None, False) == (None, None)
    assert access.key_binding(ADMIN, "network_lead", "north-pcn", None, True) == ("north-pcn", None)
    assert access.key_binding(LEAD, "practice", None, PRACTICES["F84001"], False) == (
        "north-pcn", "F84001")
    with pytest.raises(NotPermitted):
        access.key_binding(LEAD, "practice", None, PRACTICES["Y00001"], False)
    with pytest.raises(NotPermitted):
        access.key_binding(LEAD, "network_lead", "north-pcn", None, True)
    with pytest.raises(RuleBroken):
        access.key_binding(ADMIN, "network_lead", "nowhere", None, False)
    with pytest.raises(RuleBroken):
        access.key_binding(ADMIN, "practice", None, None, False)
    key, events = domain.issue_key("abc", "0" * 64, "ops", None, None, None, NOW, TRACE)
    with pytest.raises(ConflictError):
        domain.revoke_key(key | {"revoked_at": NOW}, NOW, TRACE)
