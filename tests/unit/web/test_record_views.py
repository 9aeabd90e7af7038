"""The training record's practical evidence, assessments and needs in words, the assessment
form's request as the training service takes it, and refusals next to the form's fields."""
import pytest

from services.web.record import (ASSESSMENT_LABELS, assessment_body, assessment_error_list,
                                 form_errors, record_view)
from services.web.upstream import UpstreamRefused

PERSON = {"staff_id": "nurse-03", "held_level": "introduction", "lapsed_levels": [],
          "levels": {"introduction": {"awarded_on": "2025-03-01"}}, "requirements": [],
          "practical_evidence": {
              "projects": [{"project_id": "prj_1", "role": "lived_experience_partner",
                            "joined_on": "2026-01-05"}],
              "pdsa_cycles": [{"cycle_id": "c2", "project_id": "prj_1", "change_idea": "B",
                               "completed_on": "2026-03-02", "act": "adopt"},
                              {"cycle_id": "c1", "project_id": "prj_1", "change_idea": "A",
                               "completed_on": "2026-02-02", "act": "adapt"}]},
          "assessments": [{"assessed_level": "introduction", "notes": None,
                           "assessed_by": "lead-9", "assessed_at": "2026-01-10T09:00:00+00:00"},
                          {"assessed_level": "foundations", "notes": "Runs huddles",
                           "assessed_by": "lead-9", "assessed_at": "2026-05-10T09:00:00+00:00"}],
          "training_needs": [{"offering_id": "off_1", "by": "2026-09-30", "set_by": "lead-9"}]}


def test_practical_evidence_assessments_and_needs_in_words():
    view = record_view(PERSON, {"off_1": "Foundations course"})
    assert view["projects"] == [{"project_id": "prj_1", "role": "Lived experience partner",
                                 "joined_on": "5 January 2026"}]
    assert [(c["change_idea"], c["completed_on"], c["act"]) for c in view["cycles"]] == [
        ("A", "2 February 2026", "Adapt"), ("B", "2 March 2026", "Adopt")]
    assert view["assessments"][0] == {"level": "Foundations", "by": "lead-9",
                                      "on": "10 May 2026", "notes": "Runs huddles"}
    assert view["needs"] == [{"offering": "Foundations course", "by": "30 September 2026",
                              "set_by": "lead-9"}]
    assert record_view(PERSON)["needs"][0]["offering"] == "off_1"  # no title known


def form(**typed):
    values = {"assessed_level": "", "notes": "", "assessor_staff_id": "",
              "need_offering_id": "", "need_by_day": "", "need_by_month": "",
              "need_by_year": ""}
    return {**values, **typed}


def test_the_assessment_leaves_out_what_was_left_empty():
    assert assessment_body(form()) == {"notes": None, "assessor_staff_id": None}
    assert assessment_body(form(assessed_level="coach", notes="Good", assessor_staff_id="l1",
                                need_offering_id="off_1", need_by_day="5", need_by_month="3",
                                need_by_year="2027")) == {
        "assessed_level": "coach", "notes": "Good", "assessor_staff_id": "l1",
        "training_need": {"offering_id": "off_1", "by": "2027-03-05"}}
    # An offering without a date: sent, for the service to name what is missing; a date
    # that is not a real one is refused here, naming the fix, before anything is sent.
    for boxes in ({"need_by_year": "2027"}, {"need_by_day": "30", "need_by_month": "2",
                                             "need_by_year": "2027"}):
        with pytest.raises(ValueError, match="Enter a real date"):
            assessment_body(form(**boxes))
    assert assessment_body(form(need_offering_id="off_1"))["training_need"] == {
        "offering_id": "off_1"}


def test_refusals_go_next_to_the_fields_the_service_named():
    refused = UpstreamRefused(422, {"message": "invalid", "fields": {
        "assessed_level": ["Missing data for required field."],
        "training_need.by": ["Not a valid date."]}})
    errors = form_errors(refused, ASSESSMENT_LABELS)
    assert errors == {"assessed_level": ["Missing data for required field."],
                      "training_need.by": ["Not a valid date."]}
    assert [(e["text"], e["href"]) for e in assessment_error_list(errors)] == [
        ("Level assessed: Missing data for required field.", "#assessed_level"),
        ("Needed by: Not a valid date.", "#training_need-by-day")]


def test_a_403_or_404_about_a_typed_field_is_a_form_error_and_any_other_the_404_page():
    not_a_leader = UpstreamRefused(403, {"message": "only the person's team leaders assess "
                                         "them", "fields": {"assessor_staff_id": ["x is not a "
                                                                                  "leader"]}})
    assert form_errors(not_a_leader, ASSESSMENT_LABELS) == {
        "assessor_staff_id": ["x is not a leader"]}
    for status, fields in ((404, {"staff_id": ["nurse-03 not found"]}), (404, {}),
                           (403, {"assessor_staff_id": ["no"], "staff_id": ["no"]})):
        with pytest.raises(UpstreamRefused):
            form_errors(UpstreamRefused(status, {"fields": fields}), ASSESSMENT_LABELS)
