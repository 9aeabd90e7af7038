"""The shared Idempotency-Key mechanism (shared/idempotency.py) against the storage fixture,
with the clock passed in: a retry answered once, another body refused naming the header,
callers kept apart, a refusal not remembered, expiry and the purge at the exact boundary, and
the wiring both services share (the route helper, the purge timer, the index)."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from services.measurement.service import MeasurementService
from services.projects.repository import ProjectsRepository
from services.projects.service import ProjectsService
from shared.domain import ConflictError, RuleBroken
from shared.idempotency import (
    IDEMPOTENCY_KEY, REMEMBER_SECONDS, REMEMBERED_ANSWERS, AnswersRetriesOnce,
    RememberedAnswers, answer_once, located,
)
from shared.lease import LeasedTimer
from shared.repository import AggregateRepository
from shared.storage import open_database
from tests.principals import OTHER_PRACTICE, PRACTICE

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
KEPT = timedelta(seconds=REMEMBER_SECONDS)
TICK = timedelta(microseconds=1000)  # MongoDB keeps milliseconds


@pytest.fixture
def database(storage_config):
    database = open_database(storage_config, "unit")
    RememberedAnswers.ensure_indexes(database)
    return database


@pytest.fixture
def answers(database):
    return RememberedAnswers(database)


class Counter:
    """An ``answer()`` that says how many times it ran."""

    def __init__(self, status=201):
        self.calls = 0
        self.status = status

    def __call__(self):
        self.calls += 1
        return self.status, {"id": f"cycle-{self.calls}"}


def test_the_same_key_and_body_are_answered_once_and_replayed(answers, database):
    answer = Counter()
    assert answer_once(answers, PRACTICE, "k-1", b'{"a": 1}', NOW, answer) == (
        201, {"id": "cycle-1"}, False)
    assert answer_once(answers, PRACTICE, "k-1", b'{"a": 1}', NOW + TICK, answer) == (
        201, {"id": "cycle-1"}, True)
    assert answer.calls == 1
    stored = database[REMEMBERED_ANSWERS].find_one({"_id": "k2:k-1"})
    assert stored["status"] == 201 and stored["body"] == {"id": "cycle-1"}
    assert stored["expires_at"].replace(tzinfo=timezone.utc) == NOW + KEPT


def test_the_same_key_with_another_body_is_refused_naming_the_header(answers):
    answer = Counter()
    answer_once(answers, PRACTICE, "k-1", b'{"a": 1}', NOW, answer)
    with pytest.raises(ConflictError) as reused:
        answer_once(answers, PRACTICE, "k-1", b'{"a": 2}', NOW, answer)
    assert list(reused.value.fields) == [IDEMPOTENCY_KEY]
    assert "different request" in reused.value.message
    assert answer.calls == 1


def test_two_callers_keys_never_meet(answers, database):
    answer = Counter()
    mine = answer_once(answers, PRACTICE, "k-1", b"{}", NOW, answer)
    theirs = answer_once(answers, OTHER_PRACTICE, "k-1", b'{"other": true}', NOW, answer)
    assert mine == (201, {"id": "cycle-1"}, False)
    assert theirs == (201, {"id": "cycle-2"}, False)
    assert sorted(d["_id"] for d in database[REMEMBERED_ANSWERS].find()) == ["k2:k-1",
                                                                            "k3:k-1"]


def test_no_key_answers_every_time_and_remembers_nothing(answers, database):
    answer = Counter()
    for key in (None, ""):
        assert answer_once(answers, PRACTICE, key, b"{}", NOW, answer)[2] is False
    assert answer.calls == 2
    assert database[REMEMBERED_ANSWERS].count_documents({}) == 0


def test_a_refusal_is_not_remembered_so_the_corrected_request_may_use_the_key(answers):
    def refused():
        raise RuleBroken("enter a plan", {"plan": ["required"]})
    with pytest.raises(RuleBroken):
        answer_once(answers, PRACTICE, "k-1", b'{"plan": ""}', NOW, refused)
    answer = Counter()
    assert answer_once(answers, PRACTICE, "k-1", b'{"plan": "p"}', NOW, answer)[2] is False


def test_an_answer_expires_exactly_when_its_time_is_over_by_the_clock_passed_in(answers):
    answer = Counter()
    answer_once(answers, PRACTICE, "k-1", b"{}", NOW, answer)
    last_moment = NOW + KEPT - TICK
    assert answer_once(answers, PRACTICE, "k-1", b"{}", last_moment, answer)[2] is True
    assert answers.purge(last_moment) == 0
    # At its expiry the key is free again: another body runs and is remembered afresh.
    assert answer_once(answers, PRACTICE, "k-1", b"{ }", NOW + KEPT, answer) == (
        201, {"id": "cycle-2"}, False)
    assert answer_once(answers, PRACTICE, "k-1", b"{ }", NOW + KEPT, answer)[2] is True
    assert answers.purge(NOW + 2 * KEPT - TICK) == 0
    assert answers.purge(NOW + 2 * KEPT) == 1
    assert answers.remembered("k2:k-1", NOW + KEPT) is None


def test_the_time_an_answer_is_kept_is_the_storages_to_choose(database):
    answers = RememberedAnswers(database, collection="short", seconds=60)
    answers.remember("k2:k-1", "f", 200, {}, NOW)
    assert answers.remembered("k2:k-1", NOW + timedelta(seconds=59)) is not None
    assert answers.remembered("k2:k-1", NOW + timedelta(seconds=60)) is None
    assert database["short"].count_documents({}) == 1 and \
        database[REMEMBERED_ANSWERS].count_documents({}) == 0


class FakeRequest:
    def __init__(self, body, key=None):
        self.body = body
        self.headers = {IDEMPOTENCY_KEY: key} if key else {}

    def get_data(self):
        return self.body


class Routes(AnswersRetriesOnce):
    """A service's routes as the mixin sees them: ``storage`` is the repository."""

    def __init__(self, database):
        self.storage = AggregateRepository(database)


def test_a_route_answers_a_retry_with_the_first_answer_and_its_location(database):
    routes, answer = Routes(database), Counter()
    first, again = (routes.answered_once(FakeRequest(b"{}", "k-1"), PRACTICE, answer,
                                         located("/pdsa-cycles")) for _ in range(2))
    assert (first.status_code, again.status_code) == (201, 201) and answer.calls == 1
    assert json.loads(again.get_data()) == json.loads(first.get_data()) == {"id": "cycle-1"}
    assert first.headers["Location"] == again.headers["Location"] == "/pdsa-cycles/cycle-1"
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    plain = routes.answered_once(FakeRequest(b"{}"), PRACTICE, answer)
    assert plain.status_code == 201 and "Idempotent-Replayed" not in plain.headers
    assert answer.calls == 2


@pytest.mark.parametrize("service", [MeasurementService, ProjectsService])
def test_each_service_forgets_expired_answers_hourly_on_one_replica(service):
    [timer] = [e for e in service.forget_expired_responses.nameko_entrypoints]
    assert isinstance(timer, LeasedTimer) and timer.interval == 3600


def test_the_projects_database_indexes_answers_by_expiry(storage_config):
    database = open_database(storage_config, "projects")
    ProjectsRepository.ensure_indexes(database)
    assert any(index["key"] == [("expires_at", 1)] and not index.get("expireAfterSeconds")
               for index in database[REMEMBERED_ANSWERS].index_information().values())
