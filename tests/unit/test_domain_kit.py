"""The domain building blocks of shared.domain: a Change stored through the repository with its
events and a version guard, and domain errors answered with their HTTP status."""
import pytest

from shared.domain import (
    Change, ConflictError, EventSource, NotFoundError, NotPermitted, RuleBroken, new_id,
)
from shared.events.envelope import Trace
from shared.repository import AggregateRepository
from shared.storage import open_database
from shared.web import api_error_of


@pytest.fixture
def repository(storage_config):
    return AggregateRepository(open_database(storage_config, "unit"))


def test_new_id_names_what_it_identifies():
    first, second = new_id("prj"), new_id("prj")
    assert first.startswith("prj_") and len(first) == 20 and first != second


def test_a_change_is_stored_with_its_events_and_bumps_the_version(repository):
    repository.insert("things", {"_id": "t1", "state": "a", "log": ["x"], "version": 1})
    thing = repository.find("things", "t1")
    source = EventSource("projects")
    event = source.event("project.stage_changed", {"project_id": "t1", "from_stage": "idea",
                                                   "to_stage": "planning", "reason": None},
                         "net_1", Trace())
    stored = repository.apply("things", Change(thing, set={"state": "b"},
                                               append={"log": ["y"]}, events=[event]))
    assert stored == {"_id": "t1", "state": "b", "log": ["x", "y"], "version": 2}
    assert repository.find("things", "t1") == stored
    raw = repository.database["things"].find_one({"_id": "t1"})
    assert [e["event_id"] for e in raw["outbox"]] == [event["event_id"]]


def test_a_change_decided_on_a_stale_version_is_refused_and_writes_nothing(repository):
    repository.insert("things", {"_id": "t1", "state": "a", "version": 1})
    stale = repository.find("things", "t1")
    repository.apply("things", Change(stale, set={"state": "b"}))
    with pytest.raises(ConflictError):
        repository.apply("things", Change(stale, set={"state": "c"}))
    assert repository.find("things", "t1")["state"] == "b"


def test_a_document_stored_before_versions_existed_takes_a_change_once(repository):
    repository.insert("things", {"_id": "t1", "state": "a"})
    old = repository.find("things", "t1")
    assert repository.apply("things", Change(old, set={"state": "b"}))["version"] == 1
    with pytest.raises(ConflictError):
        repository.apply("things", Change(old, set={"state": "c"}))


@pytest.mark.parametrize("error, status", [(NotFoundError, 404), (NotPermitted, 403),
                                           (ConflictError, 409), (RuleBroken, 422)])
def test_each_domain_refusal_has_its_http_status(error, status):
    answer = api_error_of(error("no", {"field": ["why"]}))
    assert answer.status == status
    assert answer.to_body()["fields"] == {"field": ["why"]}
