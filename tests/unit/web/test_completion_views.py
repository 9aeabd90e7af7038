"""The completion pages' words, from answers shaped as the training service gives them (its
cohort view and offerings): who on a cohort may be completed and who completed when, the
success banner naming the level, the criteria, the attendance counted as the service counts it
on a day passed in, and a refusal's reasons linked to the part of the page they are about."""
from services.web.completions import (attendance_view, awarded_words, completion_error_list,
                                      completion_words, criteria_words, enrolled_rows)

COURSE = {"offering_id": "off_1", "kind": "course", "title": "Foundations of QI",
          "awards_level": "foundations", "refresher_for": None,
          "completion": {"attendance_share": 0.8, "requires_live_project": False}}
PROGRAMME = {"offering_id": "off_2", "kind": "programme", "title": "Leaders' programme",
             "awards_level": "improvement_leader",
             "completion": {"attendance_share": 1.0, "requires_live_project": True}}
REFRESHER = {"offering_id": "off_3", "kind": "webinar", "title": "Coach refresher",
             "awards_level": None, "refresher_for": "coach", "completion": {}}
COHORT = {"cohort_id": "coh 1", "offering_id": "off_1", "sessions": [
    {"session_id": "s2", "number": 2, "on": "2026-11-20"},
    {"session_id": "s1", "number": 1, "on": "2026-11-13"},
    {"session_id": "s3", "number": 3, "on": "2026-11-27"}],
    "enrolments": [
        {"staff_id": "nurse-03", "state": "enrolled", "enrolled_on": "2026-11-01",
         "attendance": {"s1": "present", "s2": "absent"}},
        {"staff_id": "nurse-04", "state": "withdrawn", "enrolled_on": "2026-11-01",
         "attendance": {}},
        {"staff_id": "nurse-05", "state": "completed", "enrolled_on": "2026-11-01",
         "completed_on": "2026-11-28", "attendance": {"s1": "late"}},
        {"staff_id": "nurse-06", "state": "enrolled", "enrolled_on": "2026-11-15",
         "attendance": {"s2": "late"}}]}


def test_each_enrolled_person_links_to_their_completion_and_the_completed_show_the_day():
    rows = enrolled_rows(COHORT)
    assert [r["staff_id"] for r in rows] == ["nurse-03", "nurse-05", "nurse-06"]
    assert rows[0] == {"staff_id": "nurse-03", "state": "enrolled",
                       "enrolled_on": "1 November 2026", "completed_on": None,
                       "complete_href": "/training/cohorts/coh%201/completion?staff_id=nurse-03"}
    assert rows[1]["completed_on"] == "28 November 2026" and rows[1]["complete_href"] is None


def test_the_banner_names_the_person_the_offering_and_the_level():
    done = {"done": "completed", "staff_id": "nurse-03"}
    assert completion_words(done, COURSE, COURSE["title"]) == (
        "nurse-03 completed Foundations of QI and now holds Foundations.")
    assert completion_words(done, REFRESHER, REFRESHER["title"]) == (
        "nurse-03 completed Coach refresher and renewed Coach.")
    assert completion_words(done, None, "off_9") == "nurse-03 completed off_9."
    assert completion_words({"done": "enrolled", "staff_id": "nurse-03"}, COURSE, "x") is None
    assert completion_words({"done": "completed"}, COURSE, "x") is None
    assert awarded_words(COURSE) == "Foundations" and awarded_words(REFRESHER) == "Renews Coach"


def test_the_criteria_in_words():
    assert criteria_words(COURSE) == [
        "Attend at least 80% of the sessions held since they enrolled",
        "The cohort's last session has been held"]
    assert criteria_words(PROGRAMME) == [
        "Attend every session, or make up a missed one in a later cohort of the programme",
        "Be a member of a live improvement project", "The cohort's last session has been held"]


def test_attendance_counts_the_sessions_held_since_they_enrolled():
    nurse_03, nurse_06 = COHORT["enrolments"][0], COHORT["enrolments"][3]
    rows, summary = attendance_view(COURSE, COHORT, nurse_03, "2026-11-27")
    assert [(r["number"], r["on"], r["mark"], r["note"]) for r in rows] == [
        (1, "13 November 2026", "Present", ""), (2, "20 November 2026", "Absent", ""),
        (3, "27 November 2026", "Not marked", "")]
    assert summary == "Attended 1 of 3 sessions held (33%)"
    rows, summary = attendance_view(COURSE, COHORT, nurse_03, "2026-11-26")  # s3 ahead
    assert rows[2]["note"] == "Not held yet" and summary == "Attended 1 of 2 sessions held (50%)"
    rows, summary = attendance_view(COURSE, COHORT, nurse_06, "2026-11-20")
    assert rows[0]["note"] == "Before they enrolled: does not count"
    assert summary == "Attended 1 of 1 session held (100%)"
    # A programme counts every session held, whenever they enrolled.
    assert attendance_view(PROGRAMME, COHORT, nurse_06, "2026-11-20")[1] == (
        "Attended 1 of 2 sessions held (50%)")
    assert attendance_view(COURSE, COHORT, nurse_06, "2026-11-10")[1] == (
        "No session that counts has been held yet")


def test_a_refusal_links_each_reason_to_what_it_is_about():
    errors = {"staff_id": ["attended 1 of 2 sessions; needs 80% (missing s2)"],
              "cohort_id": ["complete after its last session (s3 to come)"],
              "_form": ["refused"]}
    assert [(i["text"], i["href"]) for i in completion_error_list(errors)] == [
        ("Person: attended 1 of 2 sessions; needs 80% (missing s2)", "#person"),
        ("Sessions: complete after its last session (s3 to come)", "#sessions"),
        ("refused", None)]
