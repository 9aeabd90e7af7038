"""The measurement service layer against the in-memory store: no HTTP, no broker. The pooled
series handler is fed the ``measurement.recorded`` events the submissions stored."""
from datetime import date, datetime, timedelta, timezone

import pytest

from services.measurement import commands, domain
from services.measurement.repository import (
    IDEMPOTENCY, IDEMPOTENCY_SECONDS, MEASURES, OVERDUE_NOTICES, SERIES_STATE, SUBMISSIONS,
    ContributionOutOfOrder,
    MeasurementRepository,
)
from shared.auth import Principal
from shared.domain import ConflictError, NotFoundError, NotPermitted, RuleBroken
from shared.events.catalogue import validate_envelope
from shared.events.envelope import Trace
from shared.idempotency import answer_once
from shared.storage import open_database
from tests.principals import ADMIN, LEAD, OTHER_PRACTICE, PRACTICE, SOUTH_LEAD

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)  # a Thursday
WEEK = date(2026, 11, 23)
TRACE = Trace("corr-1")
OUTSIDER = Principal("k5", "practice", "north-pcn", "F84009")
PAGE = {"page": 1, "page_size": 50}
DEFINITION = {"name": "SMRs to template", "type": "process", "value_kind": "proportion",
              "unit": None, "frequency": "week", "operational_definition": "d",
              "improvement": "increase", "target": None, "fix_after_n_points": None}


@pytest.fixture
def repository(storage_config):
    database = open_database(storage_config, "measurement")
    MeasurementRepository.ensure_indexes(database)
    repository = MeasurementRepository(database)
    commands.track_project(repository, {"project_id": "prj_1", "network_id": "north-pcn",
                                        "title": "SMR", "scope": "network",
                                        "practice_ids": ["F84001", "F84002"]})
    commands.track_project(repository, {"project_id": "prj_s", "network_id": "south-pcn",
                                        "title": "S", "scope": "network",
                                        "practice_ids": ["Y00001"]})
    return repository


@pytest.fixture
def measure(repository):
    return commands.define_measure(repository, LEAD, "prj_1", DEFINITION, NOW, TRACE)


def row(measure, numerator, denominator=10, period=WEEK, **fields):
    return {"measure_id": measure["_id"], "period": period, "practice_id": None,
            "numerator": numerator, "denominator": denominator, "value": None, **fields}


def outbox_of(repository, collection, document_id):
    stored = repository.database[collection].find_one({"_id": document_id})
    return [event["event_type"] for event in stored.get("outbox", [])]


def recorded_events(repository, submission_id):
    """The ``measurement.recorded`` events of a submission, loaded as the handler gets them."""
    stored = repository.database[SUBMISSIONS].find_one({"_id": submission_id})
    return [validate_envelope(e) for e in stored["outbox"]
            if e["event_type"] == "measurement.recorded"]


def test_measures_are_defined_and_copied_within_the_network(repository, measure):
    assert measure["project_id"] == "prj_1" and repository.find(MEASURES, measure["_id"])
    copy = commands.copy_measure(repository, LEAD, "prj_1",
                                 {"from_measure_id": measure["_id"]}, NOW, TRACE)
    assert copy["_id"] != measure["_id"]
    assert domain.copy_definition(copy) == domain.copy_definition(measure)
    with pytest.raises(RuleBroken) as other_network:
        commands.copy_measure(repository, ADMIN, "prj_s", {"from_measure_id": measure["_id"]},
                              NOW, TRACE)
    assert "from_measure_id" in other_network.value.fields
    assert [m["_id"] for m in commands.list_measures(repository, PRACTICE, "prj_1")[
        "items"]] == [measure["_id"], copy["_id"]]


def test_the_copied_definition_is_what_a_measure_is_defined_with():
    from services.measurement.schemas import MeasureIn

    assert set(domain.DEFINITION_FIELDS) == set(MeasureIn().fields)


def test_measure_access_hides_other_networks_and_guards_network_projects(repository, measure):
    with pytest.raises(NotFoundError):
        commands.get_measure(repository, SOUTH_LEAD, measure["_id"])
    with pytest.raises(NotFoundError):
        commands.get_measure(repository, OUTSIDER, measure["_id"])
    with pytest.raises(NotFoundError):
        commands.define_measure(repository, LEAD, "prj_unknown", DEFINITION, NOW, TRACE)
    with pytest.raises(NotPermitted):  # a practice may see, not define, a network measure
        commands.define_measure(repository, PRACTICE, "prj_1", DEFINITION, NOW, TRACE)
    assert commands.get_measure(repository, PRACTICE, measure["_id"])["_id"] == measure["_id"]
    with pytest.raises(RuleBroken):
        commands.define_measure(repository, LEAD, "prj_1", {**DEFINITION, "target": 60}, NOW,
                                TRACE)


def test_a_rebase_is_stored_once_under_the_version_guard(repository, measure):
    rebased = commands.rebase_measure(repository, LEAD, measure["_id"],
                                      {"date": date(2026, 11, 26)}, NOW, TRACE)
    assert rebased["rebase_dates"] == ["2026-11-23"] and rebased["version"] == 1
    assert repository.find(MEASURES, measure["_id"])["rebase_dates"] == ["2026-11-23"]
    with pytest.raises(ConflictError):
        commands.rebase_measure(repository, LEAD, measure["_id"], {"date": WEEK}, NOW, TRACE)
    # A change decided on the measure as it was before the rebase is refused.
    with pytest.raises(ConflictError):
        repository.apply(MEASURES, domain.add_rebase(measure, date(2026, 11, 9)))


def test_submissions_are_created_corrected_or_unchanged_with_their_events(repository, measure):
    created = commands.submit_one(repository, PRACTICE, row(measure, 4), NOW, TRACE)
    assert created["outcome"] == "created" and created["version"] == 1
    assert commands.submit_one(repository, PRACTICE, row(measure, 4), NOW, TRACE)[
        "outcome"] == "unchanged"
    corrected = commands.submit_one(repository, PRACTICE, row(measure, 6), NOW, TRACE)
    assert corrected["outcome"] == "corrected" and corrected["version"] == 2
    assert corrected["corrections"][0]["old"]["numerator"] == 4.0
    assert outbox_of(repository, SUBMISSIONS, created["_id"]) == [
        "measurement.recorded", "measurement.corrected", "measurement.recorded"]
    batch = commands.submit_batch(repository, LEAD, [
        row(measure, 6, practice_id="F84001"), row(measure, 1, practice_id="F84002")],
        NOW, TRACE)
    assert (batch["rows"], batch["created"], batch["corrected"], batch["unchanged"]) == (
        2, 1, 0, 1)


def test_any_bad_row_refuses_the_whole_batch_naming_each(repository, measure):
    rows = [row(measure, 1), row(measure, 1), row(measure, 12),
            row(measure, 1, period=date(2026, 12, 7)), {**row(measure, 1), "measure_id": "x"}]
    with pytest.raises(RuleBroken) as refused:
        commands.submit(repository, PRACTICE, rows, NOW, TRACE)
    assert set(refused.value.fields) == {"rows.1.period", "rows.2.numerator", "rows.3.period",
                                         "rows.4.measure_id"}
    assert repository.database[SUBMISSIONS].count_documents({}) == 0
    with pytest.raises(RuleBroken) as other_practice:
        commands.submit(repository, PRACTICE, [row(measure, 1, practice_id="F84002")], NOW,
                        TRACE)
    assert "rows.0.practice_id" in other_practice.value.fields
    with pytest.raises(RuleBroken):  # another network's measure is unknown to its keys
        commands.submit(repository, SOUTH_LEAD, [row(measure, 1, practice_id="F84001")], NOW,
                        TRACE)


def test_a_retried_request_is_answered_once_and_a_reused_key_refused(repository):
    calls = []

    def answer():
        calls.append(1)
        return 201, {"n": len(calls)}

    first = answer_once(repository.remembered_answers, PRACTICE, "key-1", b"{}", NOW, answer)
    again = answer_once(repository.remembered_answers, PRACTICE, "key-1", b"{}", NOW, answer)
    assert first == (201, {"n": 1}, False) and again == (201, {"n": 1}, True)
    with pytest.raises(ConflictError) as reused:
        answer_once(repository.remembered_answers, PRACTICE, "key-1", b"{ }", NOW, answer)
    assert "Idempotency-Key" in reused.value.fields
    # Keys are per API key, and no key means no memory.
    assert answer_once(repository.remembered_answers, OTHER_PRACTICE, "key-1", b"{}", NOW, answer)[1] == {
        "n": 2}
    assert answer_once(repository.remembered_answers, PRACTICE, None, b"{}", NOW, answer)[1] == {"n": 3}


def test_a_remembered_answer_lasts_a_week_by_the_clock_passed_in(repository):
    calls = []

    def answer():
        calls.append(1)
        return 201, {"n": len(calls)}

    week = timedelta(seconds=IDEMPOTENCY_SECONDS)
    answer_once(repository.remembered_answers, PRACTICE, "key-1", b"{}", NOW, answer)
    just_before = NOW + week - timedelta(seconds=1)
    assert answer_once(repository.remembered_answers, PRACTICE, "key-1", b"{}", just_before, answer) == (
        201, {"n": 1}, True)
    assert repository.remembered_answers.purge(just_before) == 0
    # A week on, the key is forgotten: the request runs again and is remembered afresh.
    assert answer_once(repository.remembered_answers, PRACTICE, "key-1", b"{ }", NOW + week, answer) == (
        201, {"n": 2}, False)
    assert answer_once(repository.remembered_answers, PRACTICE, "key-1", b"{ }", NOW + week, answer)[2]
    assert repository.remembered_answers.purge(NOW + 2 * week) == 1
    assert repository.database[IDEMPOTENCY].count_documents({}) == 0


def test_submission_lists_are_per_practice_for_practice_keys(repository, measure):
    commands.submit_batch(repository, LEAD, [row(measure, 1, practice_id="F84001"),
                                             row(measure, 2, practice_id="F84002")], NOW, TRACE)
    assert commands.list_submissions(repository, LEAD, measure["_id"], PAGE)["total"] == 2
    own = commands.list_submissions(repository, PRACTICE, measure["_id"], PAGE)
    assert [s["practice_id"] for s in own["items"]] == ["F84001"]
    with pytest.raises(NotFoundError):
        commands.list_submissions(repository, PRACTICE, measure["_id"],
                                  {**PAGE, "practice_id": "F84002"})


def test_feedback_feeds_one_measure_per_source_as_a_weighted_mean(repository):
    command = {"source": "staff", "rating": 4, "comment": None, "period": WEEK,
               "practice_id": None}
    entry = commands.give_feedback(repository, PRACTICE, "prj_1", command, NOW, TRACE)
    assert entry["period"] == "2026-11-01" and entry["practice_id"] == "F84001"
    commands.give_feedback(repository, PRACTICE, "prj_1", {**command, "rating": 2}, NOW, TRACE)
    measure_id = domain.feedback_measure_id("prj_1", "staff")
    assert repository.find(MEASURES, measure_id)["feedback_source"] == "staff"
    key = domain.submission_id(measure_id, "F84001", date(2026, 11, 1))
    stored = repository.find(SUBMISSIONS, key)
    assert (stored["rating_count"], stored["contribution"]["value"], stored["version"]) == (
        2, 3.0, 2)
    assert outbox_of(repository, SUBMISSIONS, key) == ["measurement.recorded"] * 2
    assert [e["rating"] for e in commands.list_feedback(repository, LEAD, "prj_1")[
        "items"]] == [4, 2]
    assert commands.list_feedback(repository, OTHER_PRACTICE, "prj_1")["items"] == []
    with pytest.raises(RuleBroken) as lead_names_none:
        commands.give_feedback(repository, LEAD, "prj_1", command, NOW, TRACE)
    assert "practice_id" in lead_names_none.value.fields
    with pytest.raises(RuleBroken) as future:
        commands.give_feedback(repository, PRACTICE, "prj_1",
                               {**command, "period": date(2026, 12, 2)}, NOW, TRACE)
    assert "period" in future.value.fields
    with pytest.raises(NotFoundError):
        commands.give_feedback(repository, PRACTICE, "prj_1",
                               {**command, "practice_id": "F84002"}, NOW, TRACE)


def test_a_feedback_measure_made_concurrently_is_reused(repository):
    made_first = domain.feedback_measure(repository.find("projects", "prj_1"), "staff", NOW)
    repository.add_measure_once(made_first)
    again = repository.add_measure_once({**made_first, "name": "another"})
    assert again["name"] == made_first["name"]


def test_recorded_values_pool_once_in_order_and_signal_states_are_kept(repository, measure):
    for week, (first, second) in enumerate([(4, 5), (5, 4), (4, 4)]):
        period = date(2026, 11, 2 + 7 * week)
        commands.submit_batch(repository, LEAD, [
            row(measure, first, period=period, practice_id="F84001"),
            row(measure, second, period=period, practice_id="F84002")], NOW, TRACE)
    ids = [s["_id"] for s in repository.find_many(SUBMISSIONS, {})]
    for submission_id in ids:
        for event in recorded_events(repository, submission_id):
            commands.apply_to_network_series(repository, event["data"], TRACE)
    pooled = commands.pooled_series(repository, LEAD, measure["_id"])
    assert [(p["numerator"], p["denominator"], p["practices_submitted"])
            for p in pooled["periods"]] == [(9, 20, 2), (9, 20, 2), (8, 20, 2)]
    assert set(pooled["periods"][0]["by_practice"]) == {"F84001", "F84002"}
    assert "by_practice" not in commands.pooled_series(repository, PRACTICE, measure["_id"])[
        "periods"][0]
    states = {s["_id"] for s in repository.find_many(SERIES_STATE, {})}
    assert states == {f"{measure['_id']}|pooled", f"{measure['_id']}|F84001",
                      f"{measure['_id']}|F84002"}
    # A redelivery adds nothing; a correction arriving before its first version waits.
    event = recorded_events(repository, ids[0])[0]
    assert commands.apply_to_network_series(repository, event["data"], TRACE) == "duplicate"
    corrected = commands.submit_one(repository, LEAD, row(measure, 9, period=date(2026, 11, 2),
                                                          practice_id="F84001"), NOW, TRACE)
    correction = recorded_events(repository, corrected["_id"])[-1]["data"]
    with pytest.raises(ContributionOutOfOrder):
        commands.apply_to_network_series(repository, {**correction, "version": 3}, TRACE)
    assert commands.apply_to_network_series(repository, correction, TRACE) == "applied"
    assert commands.pooled_series(repository, LEAD, measure["_id"])["periods"][0][
        "numerator"] == 14


def test_a_failed_analysis_raises_and_its_retry_completes_it(repository, measure, monkeypatch):
    created = commands.submit_one(repository, LEAD, row(measure, 4, practice_id="F84001"),
                                  NOW, TRACE)
    event = recorded_events(repository, created["_id"])[0]
    analyse = domain.analyse_series

    def fails(*args, **kwargs):
        raise RuntimeError("analysis failed")

    monkeypatch.setattr(domain, "analyse_series", fails)
    with pytest.raises(RuntimeError):
        commands.apply_to_network_series(repository, event["data"], TRACE)
    assert repository.find_many(SERIES_STATE, {}) == []
    monkeypatch.setattr(domain, "analyse_series", analyse)
    # The sums were applied: the retry is a "duplicate" for them, but analyses again.
    assert commands.apply_to_network_series(repository, event["data"], TRACE) == "duplicate"
    assert len(repository.find_many(SERIES_STATE, {})) == 2


def test_coverage_names_the_missing_practices(repository, measure):
    commands.submit_one(repository, PRACTICE, row(measure, 1), NOW, TRACE)
    assert commands.coverage(repository, LEAD, measure["_id"], {"period": NOW.date()}) == {
        "period": "2026-11-23", "expected": ["F84001", "F84002"], "submitted": ["F84001"],
        "missing": ["F84002"]}


def test_overdue_submissions_are_raised_once_per_practice_and_period(repository, measure):
    commands.submit_one(repository, PRACTICE, row(measure, 1, period=WEEK), NOW, TRACE)
    # On 9 December the week of 23 November is due (by 6 December); F84002 sent nothing.
    today = date(2026, 12, 9)
    assert commands.check_overdue_submissions(repository, 7, today, TRACE) == 1
    assert commands.check_overdue_submissions(repository, 7, today, TRACE) == 0
    notice = repository.find_many(OVERDUE_NOTICES, {})[0]
    assert (notice["practice_id"], notice["period"]) == ("F84002", "2026-11-23")
