"""Measurement rules without a broker: periods, contributions, corrections, pooling, signals.
The pooled sums are checked against a from-scratch recomputation after random interleaved
submissions and corrections, through the repository on the storage fixture."""
import uuid
from datetime import date, datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.measurement import domain
from services.measurement.repository import (
    ContributionOutOfOrder, MeasurementRepository,
)
from shared.auth import Principal
from shared.domain import ConflictError
from shared.events.catalogue import validate_envelope
from shared.events.envelope import Trace
from shared.storage import client_for, open_database

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
TRACE = Trace("corr")
PROJECT = {"_id": "prj_1", "network_id": "north-pcn", "practice_count": 2, "scope": "network"}
PARTICIPATING = {"F84001", "F84002"}
MEASURE = {"_id": "msr_1", "project_id": "prj_1", "network_id": "north-pcn", "type": "process",
           "value_kind": "proportion", "frequency": "week", "improvement": "increase",
           "target": None, "fix_after_n_points": None, "rebase_dates": [],
           "created_at": datetime(2026, 1, 5, tzinfo=timezone.utc)}
PRACTICE = Principal("k1", "practice", "north-pcn", "F84001")


def test_periods_align_to_monday_and_first_of_month():
    assert domain.align_period(date(2026, 11, 26), "week") == date(2026, 11, 23)
    assert domain.align_period(date(2026, 11, 23), "week") == date(2026, 11, 23)
    assert domain.align_period(date(2026, 11, 26), "month") == date(2026, 11, 1)
    assert domain.period_end(date(2026, 11, 23), "week") == date(2026, 11, 29)
    assert domain.period_end(date(2026, 2, 1), "month") == date(2026, 2, 28)
    assert domain.period_end(date(2026, 12, 1), "month") == date(2026, 12, 31)
    assert domain.previous_periods(date(2026, 11, 26), "month", 2) == [date(2026, 10, 1),
                                                                       date(2026, 9, 1)]


@pytest.mark.parametrize("kind, row, field", [
    ("proportion", {"numerator": 3, "denominator": 2}, "numerator"),
    ("proportion", {"numerator": -1, "denominator": 2}, "numerator"),
    ("proportion", {"numerator": 1, "denominator": 0}, "denominator"),
    ("proportion", {"numerator": 1}, "denominator"),
    ("proportion", {"value": 0.5}, "numerator"),
    ("rate", {"numerator": 1, "denominator": -3}, "denominator"),
    ("count", {"value": -1}, "value"),
    ("count", {"value": 2.5}, "value"),
    ("count", {"numerator": 2}, "numerator"),
    ("continuous", {}, "value"),
])
def test_refused_values_name_the_field(kind, row, field):
    contribution, errors = domain.contribution_of(kind, row)
    assert contribution is None and field in errors


def test_accepted_values_become_contributions():
    assert domain.contribution_of("proportion", {"numerator": 3, "denominator": 4})[0] == {
        "value": 0.75, "numerator": 3.0, "denominator": 4.0, "weight": 1.0}
    assert domain.contribution_of("rate", {"numerator": 12, "denominator": 4})[0]["value"] == 3
    assert domain.contribution_of("continuous", {"value": -2.5})[0]["value"] == -2.5
    assert domain.contribution_of("count", {"value": 280})[0]["value"] == 280


def test_submission_checks_practice_participation_and_future_periods():
    row = {"period": date(2026, 11, 24), "numerator": 1, "denominator": 2}
    practice_id, period, contribution, errors = domain.check_submission(
        MEASURE, PROJECT, PRACTICE, row, date(2026, 11, 26), PARTICIPATING)
    assert (practice_id, period, errors) == ("F84001", date(2026, 11, 23), {})
    _, _, _, errors = domain.check_submission(
        MEASURE, PROJECT, PRACTICE, {**row, "period": date(2026, 11, 30)}, date(2026, 11, 26),
        PARTICIPATING)
    assert "period" in errors
    _, _, _, errors = domain.check_submission(
        MEASURE, PROJECT, PRACTICE, {**row, "practice_id": "F84002"}, date(2026, 11, 26),
        PARTICIPATING)
    assert "practice_id" in errors
    outsider = Principal("k2", "practice", "north-pcn", "F84009")
    _, _, _, errors = domain.check_submission(MEASURE, PROJECT, outsider, row, date(2026, 11, 26),
                                              set())
    assert "does not take part" in errors["practice_id"][0]


def test_same_value_is_a_no_op_and_a_new_one_a_correction_with_audit():
    contribution = {"value": 0.5, "numerator": 1.0, "denominator": 2.0, "weight": 1.0}
    outcome, document, events = domain.record_submission(
        None, MEASURE, "F84001", date(2026, 11, 23), contribution, "k1", NOW, TRACE)
    assert outcome == "created" and document["version"] == 1
    assert [validate_envelope(e)["event_type"] for e in events] == ["measurement.recorded"]
    assert domain.record_submission(document, MEASURE, "F84001", date(2026, 11, 23),
                                    dict(contribution), "k1", NOW, TRACE)[0] == "unchanged"
    changed = {**contribution, "numerator": 2.0, "value": 1.0}
    outcome, change, events = domain.record_submission(
        document, MEASURE, "F84001", date(2026, 11, 23), changed, "k9", NOW, TRACE)
    assert outcome == "corrected" and change.applied()["version"] == 2
    assert change.append["corrections"] == [{"at": NOW, "by": "k9", "old": contribution,
                                             "new": changed, "reason": None}]
    assert [e["event_type"] for e in events] == ["measurement.corrected", "measurement.recorded"]
    assert "reason" not in events[0]["data"]  # as version 1 of the event had it
    assert events[1]["data"]["previous"]["numerator"] == 1.0


def test_a_correction_keeps_its_reason_in_the_audit_entry_and_the_event():
    contribution = {"value": 0.5, "numerator": 1.0, "denominator": 2.0, "weight": 1.0}
    _, document, _ = domain.record_submission(
        None, MEASURE, "F84001", date(2026, 11, 23), contribution, "k1", NOW, TRACE)
    changed = {**contribution, "numerator": 2.0, "value": 1.0}
    _, change, events = domain.record_submission(
        document, MEASURE, "F84001", date(2026, 11, 23), changed, "k9", NOW, TRACE,
        "two reviews were filed late")
    assert change.append["corrections"][0]["reason"] == "two reviews were filed late"
    corrected = validate_envelope(events[0])
    assert corrected["data"]["reason"] == "two reviews were filed late"


def test_the_period_due_is_the_latest_ended_or_the_one_asked_for():
    thursday = date(2026, 11, 26)
    assert domain.due_period(thursday, "week") == date(2026, 11, 16)
    assert domain.due_period(date(2026, 11, 23), "week") == date(2026, 11, 16)  # a Monday
    assert domain.due_period(thursday, "month") == date(2026, 10, 1)
    assert domain.due_period(date(2026, 12, 1), "month") == date(2026, 11, 1)
    assert domain.due_period(thursday, "week", date(2026, 9, 10)) == date(2026, 9, 7)
    assert domain.due_period(thursday, "month", date(2026, 9, 10)) == date(2026, 9, 1)


def test_pooled_values_by_kind():
    sums = {"total": 9.0, "weight": 3.0, "numerator": 3.0, "denominator": 12.0, "practices": 3}
    assert domain.pooled_value("count", sums) == 9.0
    assert domain.pooled_value("proportion", sums) == 0.25
    assert domain.pooled_value("continuous", sums) == 3.0
    assert domain.pooled_value("proportion", {**sums, "denominator": 0}) is None


def series_analysis(values, **measure):
    dates = [date(2026, 1, 5 + 7 * i) if i < 4 else date(2026, 2, 2) + (i - 4) * (
        date(2026, 1, 12) - date(2026, 1, 5)) for i in range(len(values))]
    return domain.analyse_series({**MEASURE, **measure}, list(zip(dates, values)))


def test_a_signal_is_sent_once_per_episode():
    baseline = [0.40, 0.42, 0.38, 0.41, 0.39, 0.40, 0.43, 0.37, 0.40, 0.41, 0.39, 0.42]
    state, sent = {}, []
    for count in range(1, len(baseline) + 6):
        values = (baseline + [0.9] * 5)[:count]
        fields, events = domain.signal_changes(state, series_analysis(values), MEASURE,
                                               "pooled", TRACE)
        state = fields
        sent += events
    signals = [e for e in sent if e["event_type"] == "measurement.signal_detected"]
    assert len(signals) == 1
    assert signals[0]["data"]["kind"] == "improvement"
    assert signals[0]["data"]["rule"] == "outside_limits"
    # The measure's type goes with it: projects suggests 4.0 only when outcome measures improve.
    assert signals[0]["data"]["measure_type"] == "process"
    # Back to common cause ends the episode; a new shift signals again.
    fields, _ = domain.signal_changes(state, series_analysis(baseline), MEASURE, "pooled", TRACE)
    assert fields["episode"] is None
    _, events = domain.signal_changes(fields, series_analysis(baseline + [0.05]), MEASURE,
                                      "pooled", TRACE)
    assert [e["data"]["kind"] for e in events] == ["concern"]


def test_assurance_changes_are_sent_only_with_a_target():
    values = [0.8, 0.82, 0.79, 0.81, 0.8, 0.83]
    _, events = domain.signal_changes({}, series_analysis(values, target=0.5),
                                      {**MEASURE, "target": 0.5}, "pooled", TRACE)
    assert [(e["data"]["previous"], e["data"]["current"]) for e in events] == [
        (None, "consistent_pass")]
    _, events = domain.signal_changes({}, series_analysis(values), MEASURE, "pooled", TRACE)
    assert events == []


def test_overdue_periods_skip_the_current_and_undue_ones():
    found = domain.overdue_periods(date(2026, 1, 28), MEASURE, 7, 8)
    # The week of 19 Jan ends 25 Jan, due by 1 Feb: not yet. Weeks before 5 Jan predate the
    # measure.
    assert found == [(date(2026, 1, 12), date(2026, 1, 25)), (date(2026, 1, 5), date(2026, 1, 18))]


def test_contributions_apply_once_and_in_version_order(storage_config):
    repository = MeasurementRepository(open_database(storage_config, "measurement"))
    first = domain.pooled_increments({"value": 0.5, "numerator": 1, "denominator": 2,
                                      "weight": 1}, None)
    assert repository.apply_to_pooled("m", "2026-11-23", "F84001", 1, first) == "applied"
    assert repository.apply_to_pooled("m", "2026-11-23", "F84001", 1, first) == "duplicate"
    with pytest.raises(ContributionOutOfOrder):
        repository.apply_to_pooled("m", "2026-11-23", "F84001", 3, first)
    assert repository.pooled_periods("m")[0]["numerator"] == 1


PRACTICE_IDS = ("F84001", "F84002", "F84003")
PERIODS = ("2026-10-05", "2026-10-12", "2026-10-19")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(PRACTICE_IDS), st.sampled_from(PERIODS),
                          st.integers(0, 50), st.integers(1, 50)), min_size=1, max_size=40),
       st.randoms(use_true_random=False))
def test_pooled_sums_equal_a_recomputation_from_scratch(storage_config, submissions, shuffle):
    """Random submissions and corrections, applied with their versions in a random (but per
    practice-period ordered, as the relay delivers them) interleaving, with redeliveries."""
    # Each example gets databases of its own (the fixture is made once for all examples).
    database = open_database({**storage_config,
                              "MONGO_DATABASE_PREFIX": f"p{uuid.uuid4().hex[:10]}"}, "m")
    repository = MeasurementRepository(database)
    latest, deliveries = {}, []
    for practice_id, period, numerator, extra in submissions:
        contribution, _ = domain.contribution_of(
            "proportion", {"numerator": numerator, "denominator": numerator + extra})
        key = (practice_id, period)
        version, previous = (latest[key][0] + 1, latest[key][1]) if key in latest else (1, None)
        if previous == contribution:
            continue  # the same value again is a no-op
        latest[key] = (version, contribution)
        deliveries.append((practice_id, period, version,
                           domain.pooled_increments(contribution, previous)))
    pending = {}
    for delivery in deliveries:
        pending.setdefault(delivery[:2], []).append(delivery)
    queues = list(pending.values())
    while queues:
        queue = shuffle.choice(queues)
        practice_id, period, version, increments = queue.pop(0)
        assert repository.apply_to_pooled("m", period, practice_id, version,
                                          increments) == "applied"
        if shuffle.random() < 0.3:  # a redelivery changes nothing
            assert repository.apply_to_pooled("m", period, practice_id, version,
                                              increments) == "duplicate"
        queues = [q for q in queues if q]
    pooled = {p["period"]: p for p in repository.pooled_periods("m")}
    for period in PERIODS:
        current = [c for (p, per), (_, c) in latest.items() if per == period]
        if not current:
            assert period not in pooled
            continue
        assert pooled[period]["numerator"] == pytest.approx(sum(c["numerator"] for c in current))
        assert pooled[period]["denominator"] == pytest.approx(
            sum(c["denominator"] for c in current))
        assert pooled[period]["practices"] == len(current)
        assert domain.pooled_value("proportion", pooled[period]) == pytest.approx(
            sum(c["numerator"] for c in current) / sum(c["denominator"] for c in current))
    client_for(storage_config["MONGO_URI"]).drop_database(database.name)


def test_a_concurrent_insert_of_the_same_row_is_a_conflict(storage_config):
    repository = MeasurementRepository(open_database(storage_config, "measurement"))
    document = {"_id": "m|F84001|2026-11-23", "version": 1}
    repository.insert_submissions([(document, [])])
    with pytest.raises(ConflictError):
        repository.insert_submissions([({**document, "_id": "m|F84002|2026-11-23"}, []),
                                       (document, [])])
