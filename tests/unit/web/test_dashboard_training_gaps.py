"""The dashboard's open training gaps, from a capability report as the training service
answers it (services/training/domain/coverage.py): overdue rows only, in words, at most
GAPS_SHOWN, with the report's own count of open gaps."""
from services.web.dashboard import GAPS_SHOWN, training_gaps


def need(staff_id, level, due_on, overdue):
    return {"staff_id": staff_id, "level": level, "due_on": due_on, "overdue": overdue,
            "requirement_id": f"req-{level}"}


def test_only_overdue_needs_are_open_gaps_in_words():
    report = {"gaps": {"open": 2, "due": 1}, "next_needs": [
        need("s01", "introduction", "2020-04-05", True),
        need("s02", "improvement_leader", "2020-12-31", True),
        need("s03", "foundations", "2030-01-01", False)]}
    assert training_gaps(report) == {"open": 2, "rows": [
        {"staff_id": "s01", "href": "/people/s01/training", "level": "Introduction",
         "due": "5 April 2020"},
        {"staff_id": "s02", "href": "/people/s02/training", "level": "Improvement leader",
         "due": "31 December 2020"}]}


def test_many_gaps_show_the_earliest_few_and_count_them_all():
    needs = [need(f"s{n:02d}", "introduction", "2020-04-05", True) for n in range(60)]
    gaps = training_gaps({"gaps": {"open": 75, "due": 0}, "next_needs": needs[:50]})
    assert gaps["open"] == 75 and len(gaps["rows"]) == GAPS_SHOWN
    assert gaps["rows"][0]["staff_id"] == "s00"


def test_no_gaps():
    assert training_gaps({"gaps": {"open": 0, "due": 0}, "next_needs": []}) == {
        "open": 0, "rows": []}
