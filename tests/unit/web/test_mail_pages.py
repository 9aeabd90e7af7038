"""The pages a mail's links open, as plain functions: what a training record shows of the
training service's answer, and the words for what an unsubscribe link stops."""
from services.web.dates import long_date
from services.web.record import record_view
from services.web.unsubscribe import what_stops


def test_a_record_shows_levels_in_order_and_counts_overdue_and_lapsed_as_gaps():
    view = record_view({
        "staff_id": "nurse-01", "held_level": "introduction", "lapsed_levels": ["foundations"],
        "levels": {"foundations": {"awarded_on": "2023-01-09"},
                   "introduction": {"awarded_on": "2022-05-03", "refreshed_on": "2025-05-01"}},
        "requirements": [
            {"required_level": "improvement_leader", "due_on": "2027-03-31", "overdue": False,
             "lapsed": False},
            {"required_level": "foundations", "due_on": "2026-01-09", "overdue": True,
             "lapsed": True},
            {"required_level": "coach", "due_on": "2026-06-30", "overdue": True,
             "lapsed": False}]})
    assert view["held_level"] == "Introduction" and view["lapsed_levels"] == "Foundations"
    assert [(r["level"], r["awarded_on"], r["refreshed_on"], r["lapsed"])
            for r in view["levels"]] == [
        ("Introduction", "3 May 2022", "1 May 2025", False),
        ("Foundations", "9 January 2023", "Not yet", True)]
    assert [(r["level"], r["due_on"], r["status"]) for r in view["requirements"]] == [
        ("Foundations", "9 January 2026", "Lapsed"), ("Coach", "30 June 2026", "Overdue"),
        ("Improvement leader", "31 March 2027", "Due")]
    assert view["gaps"] == 2


def test_an_empty_record_and_odd_dates_still_show():
    view = record_view({"staff_id": "new-01", "held_level": "none"})
    assert (view["held_level"], view["lapsed_levels"], view["levels"], view["gaps"]) == (
        "None", "None", [], 0)
    assert long_date("not a date") == "not a date" and long_date(None) == ""


def test_what_an_unsubscribe_link_stops_in_words():
    assert what_stops({"event_type": "huddle.item_escalated"}) == (
        "emails about huddle items escalated to you")
    assert what_stops({"event_type": "*"}).startswith("every email")
    assert what_stops({"event_type": "project.new_thing", "description": None}) == (
        "emails about project.new_thing")
