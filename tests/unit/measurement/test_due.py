"""What a practice is due to submit (``commands.due_now``) and corrections with a reason,
against the in-memory store, with the day passed in."""
from datetime import date, datetime, timezone

import pytest

from services.measurement import commands
from services.measurement.repository import SUBMISSIONS
from shared.domain import NotFoundError, RuleBroken
from shared.events.catalogue import validate_envelope
from shared.events.envelope import Trace
from tests.principals import ADMIN, LEAD, OTHER_PRACTICE, PRACTICE, SOUTH_LEAD
from tests.unit.measurement.test_commands import DEFINITION, repository  # noqa: F401

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)  # a Thursday
TODAY = NOW.date()
TRACE = Trace("corr-due")


@pytest.fixture
def measures(repository):  # noqa: F811
    weekly = commands.define_measure(repository, LEAD, "prj_1", DEFINITION, NOW, TRACE)
    monthly = commands.define_measure(repository, LEAD, "prj_1", {
        **DEFINITION, "name": "Appointments saved", "value_kind": "count",
        "frequency": "month", "operational_definition": "appointments not needed"},
        NOW.replace(minute=1), TRACE)
    commands.give_feedback(repository, PRACTICE, "prj_1", {
        "source": "staff", "rating": 4, "comment": None, "period": date(2026, 11, 2),
        "practice_id": None}, NOW, TRACE)
    south = commands.define_measure(repository, SOUTH_LEAD, "prj_s", DEFINITION, NOW, TRACE)
    return weekly, monthly, south


def test_a_practice_is_due_every_measure_of_its_projects_for_the_latest_ended_period(
        repository, measures):  # noqa: F811
    weekly, monthly, _ = measures
    due = commands.due_now(repository, PRACTICE, "F84001", TODAY)
    assert due["today"] == "2026-11-26"
    # The feedback series and the other network's measure are not submitted here.
    assert [(m["_id"], m["period"], m["submission"]) for m in due["items"]] == [
        (weekly["_id"], "2026-11-16", None), (monthly["_id"], "2026-10-01", None)]
    assert due["items"][0]["operational_definition"] == "d"
    assert due["items"][0]["period_end"] == "2026-11-22"
    assert due["items"][0]["project_title"] == "SMR"


def test_what_was_submitted_shows_with_its_corrections_and_reason(repository, measures):  # noqa: F811,E501
    weekly, _, _ = measures
    row = {"measure_id": weekly["_id"], "period": date(2026, 11, 18), "practice_id": None,
           "numerator": 4, "denominator": 10, "value": None}
    commands.submit(repository, PRACTICE, [row], NOW, TRACE)
    commands.submit(repository, PRACTICE, [{**row, "numerator": 5,
                                            "reason": "one review filed late"}], NOW, TRACE)
    submission = commands.due_now(repository, PRACTICE, "F84001", TODAY)["items"][0][
        "submission"]
    assert submission["contribution"]["numerator"] == 5.0 and submission["version"] == 2
    [correction] = submission["corrections"]
    assert correction["reason"] == "one review filed late"
    assert correction["old"]["numerator"] == 4.0 and correction["by"] == PRACTICE.key_id
    stored = repository.database[SUBMISSIONS].find_one({"_id": submission["_id"]})
    corrected = [validate_envelope(e) for e in stored["outbox"]
                 if e["event_type"] == "measurement.corrected"]
    assert corrected[0]["data"]["reason"] == "one review filed late"


def test_an_earlier_period_is_asked_for_to_correct_it(repository, measures):  # noqa: F811
    weekly, monthly, _ = measures
    due = commands.due_now(repository, PRACTICE, "F84001", TODAY, date(2026, 9, 10))
    assert [m["period"] for m in due["items"]] == ["2026-09-07", "2026-09-01"]
    # This week has started: it may be submitted; next week may not.
    assert commands.due_now(repository, PRACTICE, "F84001", TODAY,
                            date(2026, 11, 24))["items"][0]["period"] == "2026-11-23"
    with pytest.raises(RuleBroken) as future:
        commands.due_now(repository, PRACTICE, "F84001", TODAY, date(2026, 11, 27))
    assert "period" in future.value.fields


def test_who_may_see_what_a_practice_is_due(repository, measures):  # noqa: F811
    weekly, monthly, south = measures
    assert len(commands.due_now(repository, LEAD, "F84002", TODAY)["items"]) == 2
    assert len(commands.due_now(repository, ADMIN, "Y00001", TODAY)["items"]) == 1
    # Another practice, even of the same network, does not exist for a practice key.
    with pytest.raises(NotFoundError):
        commands.due_now(repository, OTHER_PRACTICE, "F84001", TODAY)
    # A lead sees only its own network's projects of a practice: none of another network's.
    assert commands.due_now(repository, SOUTH_LEAD, "F84001", TODAY)["items"] == []
    assert commands.due_now(repository, LEAD, "Y00001", TODAY)["items"] == []


def test_the_document_shows_what_is_due_and_a_rows_reason():
    from services.measurement.service import MeasurementService
    document = MeasurementService.openapi_document
    due = document["paths"]["/practices/{practice_id}/due"]["get"]
    assert due["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "DueOut")
    assert [p["name"] for p in due["parameters"] if p["in"] == "query"] == ["period"]
    reason = document["components"]["schemas"]["SubmissionIn"]["properties"]["reason"]
    assert reason["maxLength"] == 500


def test_a_reason_longer_than_500_characters_or_with_an_nhs_number_is_refused():
    from marshmallow import ValidationError

    from services.measurement.schemas import BatchIn
    row = {"measure_id": "msr_1", "period": "2026-11-16", "numerator": 1, "denominator": 2}
    assert BatchIn().load({"rows": [{**row, "reason": "r" * 500}]})["rows"][0]["reason"]
    for reason in ("r" * 501, "patient 943 476 5919 was counted twice"):
        with pytest.raises(ValidationError) as refused:
            BatchIn().load({"rows": [{**row, "reason": reason}]})
        assert "reason" in refused.value.messages["rows"][0]
