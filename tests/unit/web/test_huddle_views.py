"""What the huddle pages say of the projects service's unblocking summary and of a resolved
item's time to unblock, in plain words."""
from services.web.huddle import item_view, unblocking_words

HOUR, DAY = 3600, 86400


def summary(**fields):
    return {"window_days": 90, "since": "2026-08-04T09:00:00+00:00", "unblocked": 0,
            "median_seconds": None, "longest_seconds": None, "escalated_waiting": 0,
            "oldest_waiting_seconds": None, **fields}


def test_many_unblocked_and_many_waiting():
    assert unblocking_words(summary(
        unblocked=6, median_seconds=DAY + 2 * HOUR, longest_seconds=4 * DAY,
        escalated_waiting=2, oldest_waiting_seconds=3 * DAY + 5 * 60)) == [
        "In the last 90 days, 6 items were unblocked: half within 1 day 2 hours, "
        "the longest took 4 days.",
        "2 escalated items are waiting; the oldest was raised 3 days ago."]


def test_one_unblocked_and_one_waiting():
    assert unblocking_words(summary(
        unblocked=1, median_seconds=2 * HOUR, longest_seconds=2 * HOUR,
        escalated_waiting=1, oldest_waiting_seconds=45 * 60)) == [
        "In the last 90 days, 1 item was unblocked: it took 2 hours.",
        "1 escalated item is waiting; it was raised 45 minutes ago."]


def test_nothing_unblocked_says_so():
    assert unblocking_words(summary()) == ["No items were unblocked in the last 90 days.",
                                           "No escalated items are waiting."]
    assert unblocking_words(None) == []


def test_a_resolved_item_says_how_long_it_took():
    resolved = item_view({"status": "resolved", "column": "done",
                          "time_to_unblock_seconds": 2 * DAY + 4 * HOUR + 30})
    assert resolved["unblocked_in"] == "Unblocked in 2 days 4 hours"
    assert item_view({"status": "escalated", "column": "doing",
                      "time_to_unblock_seconds": None})["unblocked_in"] is None
