"""The progress score's service layer against the in-memory store: the lead sets a score,
projects answer with their suggestion, and the measurement service's events are learned
once however often they are delivered."""
from datetime import date, datetime, timedelta, timezone

import pytest

from services.projects import commands, progress_commands
from services.projects.repository import PROJECT_MEASURES, PROJECTS, ProjectsRepository
from shared.domain import NotFoundError, NotPermitted, RuleBroken
from shared.events.envelope import Trace
from shared.storage import open_database
from tests.principals import ADMIN, LEAD, OTHER_PRACTICE, PRACTICE

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
TRACE = Trace("corr-1")
PAGE = {"page": 1, "page_size": 50}
AIM = {"what": "w", "how_much": "90%", "by_when": date(2027, 6, 30)}
SIGNAL = {"measure_id": "msr-1", "series": "pooled", "rule": "shift", "kind": "improvement",
          "point_type": "special_cause_improvement", "period": date(2026, 9, 7), "value": 0.9}


@pytest.fixture
def repository(storage_config):
    database = open_database(storage_config, "projects")
    ProjectsRepository.ensure_indexes(database)
    repository = ProjectsRepository(database)
    commands.create_network(repository, ADMIN, {"id": "north-pcn", "name": "n"}, NOW, TRACE)
    for code in ("F84001", "F84002"):
        commands.create_practice(repository, ADMIN, {"ods_code": code, "name": code,
                                                     "network_id": "north-pcn"}, NOW, TRACE)
    return repository


def new_project(repository, principal=LEAD, scope="network", practice_ids=("F84001", "F84002"),
                members=()):
    return commands.create_project(repository, principal, {
        "network_id": None, "title": "SMRs", "aim": AIM, "scope": scope,
        "practice_ids": list(practice_ids), "members": list(members)}, NOW, TRACE)


def test_the_lead_sets_the_score_and_the_project_answers_it_with_its_history(repository):
    project = new_project(repository)
    answered = progress_commands.get_project(repository, LEAD, project["_id"])
    assert answered["progress_score"] is None and answered["progress_history"] == []
    progress_commands.set_progress_score(repository, LEAD, project["_id"],
                                         {"score": 1.5, "note": "planning"}, NOW)
    later = NOW + timedelta(days=7)
    answered = progress_commands.set_progress_score(repository, LEAD, project["_id"],
                                                    {"score": 2.0, "note": None}, later)
    assert answered["progress_score"] == {"score": 2.0, "note": None, "by": "k1", "at": later}
    assert [entry["score"] for entry in answered["progress_history"]] == [1.5, 2.0]


def test_only_who_may_change_the_project_sets_its_score(repository):
    network = new_project(repository)
    with pytest.raises(NotPermitted):  # a practice taking part sees it, the lead changes it
        progress_commands.set_progress_score(repository, PRACTICE, network["_id"],
                                             {"score": 1.0}, NOW)
    own = new_project(repository, PRACTICE, "practice", ["F84001"])
    progress_commands.set_progress_score(repository, PRACTICE, own["_id"], {"score": 1.0}, NOW)
    with pytest.raises(NotFoundError):  # another practice's project is not there for them
        progress_commands.set_progress_score(repository, OTHER_PRACTICE, own["_id"],
                                             {"score": 1.0}, NOW)
    with pytest.raises(RuleBroken):
        progress_commands.set_progress_score(repository, LEAD, own["_id"], {"score": 6.0}, NOW)
    assert repository.find(PROJECTS, own["_id"])["progress_score"]["score"] == 1.0


def test_the_suggestion_follows_cycles_and_signals(repository):
    project = new_project(repository, members=[{"staff_id": "lead-01", "role": "lead",
                                                "practice_id": None},
                                               {"staff_id": "nurse-01", "role": "member",
                                                "practice_id": "F84001"}])
    project_id = project["_id"]

    def suggested():
        return progress_commands.get_project(repository, LEAD, project_id)[
            "progress_suggestion"]["score"]

    assert suggested() == 1.0
    cycle = commands.start_pdsa_cycle(repository, LEAD, project_id, {
        "change_idea": "template", "plan": "p", "prediction": "more", "practice_id": "F84001"},
        NOW, TRACE)
    assert suggested() == 2.0
    progress_commands.learn_signal(repository, {**SIGNAL, "project_id": project_id})
    assert suggested() == 2.0  # not before a cycle is complete
    commands.update_pdsa_cycle(repository, LEAD, cycle["_id"], {
        "study_notes": "as predicted", "act": "adopt"}, NOW, TRACE)
    assert suggested() == 3.0
    listed = progress_commands.list_projects(repository, LEAD, PAGE)["items"]
    assert [p["progress_suggestion"]["score"] for p in listed] == [3.0]


def test_the_measurement_events_are_learned_once_however_often_delivered(repository):
    project = new_project(repository)
    recorded = {"measure_id": "msr-1", "project_id": project["_id"]}
    signal = {**SIGNAL, "project_id": project["_id"]}
    for _ in range(2):
        progress_commands.learn_signal(repository, signal)
        progress_commands.learn_measure(repository, recorded)
    progress_commands.learn_measure(repository, {**recorded, "measure_id": "msr-2"})
    stored = repository.find(PROJECT_MEASURES, "msr-1")
    assert stored["series"] == {"pooled": {"kind": "improvement", "rule": "shift",
                                           "period": "2026-09-07"}}
    # An older signal delivered late leaves the newer one in place.
    progress_commands.learn_signal(repository, {**signal, "kind": "concern",
                                                "period": date(2026, 8, 31)})
    assert repository.find(PROJECT_MEASURES, "msr-1") == stored
    evidence = progress_commands.get_project(repository, LEAD, project["_id"])[
        "progress_suggestion"]["reasons"]
    assert ("1 of 2 measures with data is in special-cause improvement on the network's "
            "pooled series") in evidence
