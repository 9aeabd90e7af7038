"""The projects service layer against the in-memory store: no HTTP, no broker."""
from datetime import date, datetime, timezone

import pytest

from services.projects import commands, domain
from services.projects.repository import NETWORKS, PRACTICES, PROJECTS, ProjectsRepository
from shared.auth import API_KEYS
from shared.domain import ConflictError, NotFoundError, NotPermitted, RuleBroken
from shared.events.envelope import Trace
from shared.storage import open_database
from tests.principals import ADMIN, LEAD, OTHER_PRACTICE, PRACTICE, SOUTH_LEAD

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
TRACE = Trace("corr-1")
PAGE = {"page": 1, "page_size": 50}
AIM = {"what": "w", "how_much": "90%", "by_when": date(2027, 6, 30)}


@pytest.fixture
def repository(storage_config):
    database = open_database(storage_config, "projects")
    ProjectsRepository.ensure_indexes(database)
    repository = ProjectsRepository(database)
    for network_id in ("north-pcn", "south-pcn"):
        commands.create_network(repository, ADMIN, {"id": network_id, "name": network_id},
                                NOW, TRACE)
    for code, network_id in (("F84001", "north-pcn"), ("F84002", "north-pcn"),
                             ("Y00001", "south-pcn")):
        commands.create_practice(repository, ADMIN, {"ods_code": code, "name": code,
                                                     "network_id": network_id}, NOW, TRACE)
    return repository


def outbox_of(repository, collection, document_id):
    stored = repository.database[collection].find_one({"_id": document_id})
    return [event["event_type"] for event in stored.get("outbox", [])]


def test_a_registered_network_or_practice_is_announced_once(repository):
    assert outbox_of(repository, NETWORKS, "north-pcn") == ["network.registered"]
    assert outbox_of(repository, PRACTICES, "F84001") == ["practice.registered"]
    announced = repository.database[PRACTICES].find_one({"_id": "F84001"})["outbox"][0]
    assert (announced["data"], announced["practice_id"], announced["network_id"]) == (
        {"practice_id": "F84001", "network_id": "north-pcn", "name": "F84001"}, "F84001",
        "north-pcn")
    # One stored before the events existed is announced at the next start, and only once.
    repository.database[PRACTICES].insert_one({"_id": "F84077", "name": "Old",
                                               "network_id": "north-pcn"})
    for _ in range(2):
        ProjectsRepository.ensure_indexes(repository.database)
    assert outbox_of(repository, PRACTICES, "F84077") == ["practice.registered"]
    assert outbox_of(repository, PRACTICES, "F84001") == ["practice.registered"]


def new_project(repository, principal=LEAD, **overrides):
    command = {"network_id": None, "title": "SMR", "scope": "network",
               "practice_ids": ["F84001", "F84002"], "change_ideas": [], "members": [],
               "aim": AIM, **overrides}
    return commands.create_project(repository, principal, command, NOW, TRACE)


def test_registry_lists_are_scoped_to_the_callers_network(repository):
    assert commands.list_networks(repository, PRACTICE, PAGE)["total"] == 1
    assert commands.list_networks(repository, ADMIN, PAGE)["total"] == 2
    practices = commands.list_practices(repository, PRACTICE, PAGE)
    assert [p["_id"] for p in practices["items"]] == ["F84001", "F84002"]
    assert commands.list_practices(repository, LEAD, {**PAGE, "network_id": "south-pcn"})[
        "total"] == 0
    with pytest.raises(NotFoundError):  # another network's lead learns nothing of it
        commands.create_practice(repository, SOUTH_LEAD, {"ods_code": "F84009", "name": "x",
                                                          "network_id": "north-pcn"}, NOW, TRACE)
    with pytest.raises(RuleBroken) as unknown:
        commands.create_practice(repository, ADMIN, {"ods_code": "F84009", "name": "x",
                                                     "network_id": "nowhere"}, NOW, TRACE)
    assert "network_id" in unknown.value.fields


def test_keys_are_issued_with_their_event_and_revoked_once(repository):
    issued = commands.issue_api_key(repository, LEAD, {"role": "practice", "network_id": None,
                                                       "practice_id": "F84001", "label": None},
                                    NOW, TRACE)
    assert issued["api_key"].startswith(f"pcn_{issued['_id']}_")
    assert "api_key" not in repository.find(API_KEYS, issued["_id"])
    assert outbox_of(repository, API_KEYS, issued["_id"]) == ["apikey.issued"]
    assert commands.list_api_keys(repository, SOUTH_LEAD, PAGE)["total"] == 0
    with pytest.raises(NotFoundError):
        commands.revoke_api_key(repository, SOUTH_LEAD, issued["_id"], NOW, TRACE)
    revoked = commands.revoke_api_key(repository, LEAD, issued["_id"], NOW, TRACE)
    assert revoked["revoked_at"] == NOW and revoked["version"] == 1
    assert outbox_of(repository, API_KEYS, issued["_id"]) == ["apikey.issued", "apikey.revoked"]
    with pytest.raises(ConflictError):
        commands.revoke_api_key(repository, LEAD, issued["_id"], NOW, TRACE)


def test_projects_are_created_listed_and_changed_with_their_events(repository):
    with pytest.raises(RuleBroken):
        new_project(repository, ADMIN)  # an admin key names the network
    network = new_project(repository)
    solo = new_project(repository, PRACTICE, scope="practice", practice_ids=["F84001"])
    assert network["network_id"] == "north-pcn"
    listed = commands.list_projects(repository, OTHER_PRACTICE, PAGE)
    assert [p["_id"] for p in listed["items"]] == [network["_id"]]
    assert commands.list_projects(repository, LEAD, {**PAGE, "stage": "planning"})["total"] == 0
    with pytest.raises(NotFoundError):
        commands.get_project(repository, OTHER_PRACTICE, solo["_id"])
    with pytest.raises(NotPermitted):
        commands.change_stage(repository, PRACTICE, network["_id"],
                              {"stage": "planning", "reason": None}, NOW, TRACE)
    moved = commands.change_stage(repository, LEAD, network["_id"],
                                  {"stage": "planning", "reason": "go"}, NOW, TRACE)
    assert moved == repository.find(PROJECTS, network["_id"])
    assert [s["to_stage"] for s in moved["stage_history"]] == ["idea", "planning"]
    member = commands.add_member(repository, PRACTICE, network["_id"],
                                 {"staff_id": "gp-1", "role": "member", "practice_id": None},
                                 NOW, TRACE)
    assert member["members"][0]["practice_id"] == "F84001"  # the practice key's own
    with pytest.raises(ConflictError):
        commands.add_member(repository, PRACTICE, network["_id"],
                            {"staff_id": "gp-1", "role": "member", "practice_id": None},
                            NOW, TRACE)
    assert outbox_of(repository, PROJECTS, network["_id"]) == [
        "project.created", "project.practice_joined", "project.practice_joined",
        "project.stage_changed", "project.member_added"]


def test_a_change_decided_on_a_stale_project_is_refused_and_writes_nothing(repository):
    project = new_project(repository)
    stale = repository.find(PROJECTS, project["_id"])
    commands.change_stage(repository, LEAD, project["_id"], {"stage": "planning",
                                                             "reason": None}, NOW, TRACE)
    with pytest.raises(ConflictError):
        repository.apply(PROJECTS, domain.change_stage(stale, "closed", None, NOW, TRACE))
    assert repository.find(PROJECTS, project["_id"])["stage"] == "planning"


def test_practices_join_network_projects_only(repository):
    project = new_project(repository, practice_ids=["F84001"])
    with pytest.raises(RuleBroken):
        commands.join_practice(repository, LEAD, project["_id"], {"practice_id": "F84009"},
                               NOW, TRACE)
    with pytest.raises(RuleBroken):
        commands.join_practice(repository, LEAD, project["_id"], {"practice_id": "Y00001"},
                               NOW, TRACE)
    joined = commands.join_practice(repository, LEAD, project["_id"],
                                    {"practice_id": "F84002"}, NOW, TRACE)
    assert joined["practice_ids"] == ["F84001", "F84002"]


def test_pdsa_cycles_run_for_the_acting_practice(repository):
    solo = new_project(repository, PRACTICE, scope="practice", practice_ids=["F84001"])
    command = {"change_idea": "c", "plan": "p", "prediction": "fewer", "practice_id": None,
               "do_notes": None, "study_notes": None, "started_on": None}
    cycle = commands.start_pdsa_cycle(repository, LEAD, solo["_id"], command, NOW, TRACE)
    assert cycle["practice_id"] == "F84001"  # the owner of a practice project
    with pytest.raises(NotFoundError):
        commands.get_pdsa_cycle(repository, OTHER_PRACTICE, cycle["_id"])
    with pytest.raises(RuleBroken) as empty:
        commands.update_pdsa_cycle(repository, PRACTICE, cycle["_id"], {}, NOW, TRACE)
    assert "_schema" in empty.value.fields
    done = commands.update_pdsa_cycle(repository, PRACTICE, cycle["_id"],
                                      {"study_notes": "s", "act": "adopt"}, NOW, TRACE)
    assert done["status"] == "completed"
    assert commands.list_pdsa_cycles(repository, PRACTICE, solo["_id"], PAGE)["items"] == [done]
