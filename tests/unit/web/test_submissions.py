"""The week's submissions form as plain functions: what a form sends (a measure left empty is
not sent; a value that is not a number, one its kind refuses, or a change without a reason is
an error on its field), the service's refusal of a batch row mapped back to the measure's
inputs, the words a page shows, and the banner's counts."""
from services.web import submissions
from services.web.forms import FORM_ERROR
from services.web.upstream import UpstreamRefused

RATIO = {"id": "msr_a", "name": "SMRs to template", "value_kind": "proportion",
         "frequency": "week", "period": "2026-11-23", "period_end": "2026-11-29",
         "period_label": "week of 23 November 2026", "submission": None}
COUNT = {"id": "msr_b", "name": "Appointments saved", "value_kind": "count",
         "frequency": "month", "period": "2026-10-01", "period_end": "2026-10-31",
         "period_label": "October 2026",
         "submission": {"value": 280.0, "numerator": None, "denominator": None,
                        "corrections": []}}


def test_a_measure_left_empty_is_not_sent_and_the_others_are():
    rows, of_row, errors, typed = submissions.rows_from_form(
        [RATIO, COUNT], {"msr_a.numerator": " 15 ", "msr_a.denominator": "20"}, "F84001")
    assert errors == {}
    assert rows == [{"measure_id": "msr_a", "period": "2026-11-23", "practice_id": "F84001",
                     "numerator": 15.0, "denominator": 20.0}]
    assert of_row == {0: RATIO}
    assert typed["msr_a.numerator"] == "15" and typed["msr_b.value"] == ""


def test_a_form_sent_after_the_week_turned_is_for_the_period_it_showed():
    rows, _, _, _ = submissions.rows_from_form([RATIO], {
        "msr_a.period": "2026-11-16", "msr_a.numerator": "1", "msr_a.denominator": "2"},
        "F84001")
    assert rows[0]["period"] == "2026-11-16"


def test_nothing_typed_is_one_error_on_the_first_input():
    rows, _, errors, _ = submissions.rows_from_form([RATIO, COUNT], {}, "F84001")
    assert rows == [] and list(errors) == ["msr_a.numerator"]


def test_each_wrong_value_is_an_error_on_its_own_field():
    _, _, errors, typed = submissions.rows_from_form([RATIO, COUNT], {
        "msr_a.numerator": "fifteen", "msr_a.denominator": "20", "msr_b.value": "2.5"},
        "F84001")
    assert errors["msr_a.numerator"] == ["enter the numerator as a number, like 12"]
    assert errors["msr_b.value"] == ["a count is a whole number, not negative"]
    assert typed["msr_a.numerator"] == "fifteen"
    _, _, errors, _ = submissions.rows_from_form([RATIO], {
        "msr_a.numerator": "25", "msr_a.denominator": "20"}, "F84001")
    assert "more than the denominator" in errors["msr_a.numerator"][0]
    _, _, errors, _ = submissions.rows_from_form([RATIO], {"msr_a.denominator": "20"},
                                                 "F84001")
    assert errors == {"msr_a.numerator": ["required for a proportion"]}


def test_changing_a_stored_value_needs_a_reason_and_the_same_value_does_not():
    _, _, errors, _ = submissions.rows_from_form([COUNT], {"msr_b.value": "280"}, "F84001")
    assert errors == {}
    _, _, errors, _ = submissions.rows_from_form([COUNT], {"msr_b.value": "281"}, "F84001")
    assert errors == {"msr_b.reason": ["say why the October 2026 value changes from 280"]}
    rows, _, errors, _ = submissions.rows_from_form([COUNT], {
        "msr_b.value": "281", "msr_b.reason": "a clinic was counted twice"}, "F84001")
    assert errors == {} and rows[0]["reason"] == "a clinic was counted twice"


def test_a_refused_row_goes_back_to_its_measures_inputs():
    refused = UpstreamRefused(422, {"message": "1 of 2 rows are invalid", "fields": {
        "rows.1.value": ["required for a count"],
        "rows.0.period": ["the period starting 2026-11-30 is in the future"],
        "rows.1.reason": ["Longer than maximum length 500."],
        "rows": ["submitted concurrently"]}})
    errors = submissions.refused_rows(refused, {0: RATIO, 1: COUNT})
    assert errors == {
        "msr_b.value": ["required for a count"],
        "msr_a.numerator": ["period: the period starting 2026-11-30 is in the future"],
        "msr_b.reason": ["Longer than maximum length 500."],
        FORM_ERROR: ["submitted concurrently"]}


def test_a_key_sent_before_with_other_values_is_said_in_words():
    refused = UpstreamRefused(409, {"message": "this Idempotency-Key was used for a different "
                                               "request", "fields": {
                                                   "Idempotency-Key": ["use a new key"]}})
    assert submissions.refused_rows(refused, {0: RATIO}) == {
        FORM_ERROR: [submissions.SENT_BEFORE]}


def test_the_words_of_values_periods_and_counts():
    assert submissions.value_words(RATIO, {"value": 0.75, "numerator": 15.0,
                                           "denominator": 20.0}) == "15 of 20 (75%)"
    assert submissions.value_words(COUNT, {"value": 280.0}) == "280"
    assert submissions.number_text(2.5) == "2.5" and submissions.number_text(None) == ""
    assert submissions.period_words(RATIO) == "Week of 23 November 2026 to 29 November 2026"
    assert submissions.period_words(COUNT) == "October 2026"
    query = submissions.outcome_query({"created": 2, "corrected": 1, "unchanged": 0},
                                      practice_id=None, period="2026-11-16")
    assert query == "saved=yes&created=2&corrected=1&unchanged=0&period=2026-11-16"
    assert submissions.saved_words({"saved": "yes", "created": "2", "corrected": "1",
                                    "unchanged": "0"}) == "2 new, 1 corrected and 0 unchanged."
    assert submissions.saved_words({"saved": "yes", "created": "<b>"}) is None
    assert submissions.saved_words({}) is None


def test_the_error_summary_labels_follow_the_form():
    labels = submissions.form_labels([RATIO, COUNT])
    assert list(labels) == ["msr_a.numerator", "msr_a.denominator", "msr_a.reason",
                            "msr_b.value", "msr_b.reason"]
    assert labels["msr_b.reason"] == "Appointments saved, reason for the change"


def test_the_form_shows_what_was_typed_its_errors_and_the_target_in_words():
    shown = submissions.measures_for_form([{**RATIO, "target": 0.8}, COUNT],
                                          {"msr_a.numerator": "x"},
                                          {"msr_a.numerator": ["bad", "worse"]})
    assert shown[0]["inputs"][0] == {"name": "msr_a.numerator", "id": "msr_a-numerator",
                                     "label": "Numerator", "value": "x", "error": "bad; worse"}
    assert shown[0]["inputs"][1]["error"] is None and shown[0]["target_words"] == "80%"
    assert shown[1]["target_words"] is None and shown[1]["existing"] == "280"
    assert shown[1]["reason"]["id"] == "msr_b-reason" and shown[1]["corrections"] == 0
    assert shown[1]["reason"]["value"] == ""  # nothing typed: an empty box, not "None"
