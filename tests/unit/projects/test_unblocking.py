"""The unblocking summary with a clock passed in: the 90-day window (an item resolved exactly
90 days ago is in, a second earlier is out), the median of an odd and an even count, the
longest, nothing resolved (no median), and the escalated items waiting now."""
from datetime import datetime, timedelta, timezone

from services.projects import huddle_board as board
from services.projects.unblocking import unblocking, unblocking_by_board, window_start
from shared.events.envelope import Trace

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
TRACE = Trace("corr-1")
HOUR, DAY, SECOND = timedelta(hours=1), timedelta(days=1), timedelta(seconds=1)


def raised(at, team="reception", practice_id="F84001"):
    item, _ = board.raise_item({"practice_id": practice_id, "team": team,
                                "description": "phones down", "raised_by": "nurse-01"},
                               "north-pcn", None, at, TRACE)
    return item


def resolved(raised_at, took, **where):
    """An item raised at ``raised_at`` and resolved ``took`` later, by the board's rules."""
    return board.resolve_item(raised(raised_at, **where), "fixed", "nurse-01",
                              raised_at + took, TRACE).applied()


def escalated(raised_at, **where):
    return board.escalate_item(raised(raised_at, **where), "lead-01", "needs a new line",
                               "nurse-01", raised_at + HOUR, TRACE).applied()


def test_nothing_resolved_says_so_with_no_median():
    summary = unblocking([], [raised(NOW - DAY)], NOW)
    assert summary == {"window_days": 90, "since": NOW - 90 * DAY, "unblocked": 0,
                       "median_seconds": None, "longest_seconds": None,
                       "escalated_waiting": 0, "oldest_waiting_seconds": None}


def test_an_item_resolved_exactly_90_days_ago_is_in_and_a_second_earlier_is_out():
    assert window_start(NOW) == NOW - 90 * DAY
    edge = resolved(NOW - 90 * DAY - 2 * HOUR, 2 * HOUR)
    assert edge["resolved_at"] == NOW - 90 * DAY
    earlier = resolved(NOW - 90 * DAY - 5 * HOUR, 5 * HOUR - SECOND)
    summary = unblocking([edge, earlier], [], NOW)
    assert (summary["unblocked"], summary["median_seconds"],
            summary["longest_seconds"]) == (1, 2 * 3600, 2 * 3600)
    assert unblocking([edge], [], NOW + SECOND)["unblocked"] == 0


def test_the_median_of_an_odd_and_an_even_count_and_the_longest():
    items = [resolved(NOW - 10 * DAY, took) for took in (HOUR, 3 * HOUR, 4 * DAY)]
    odd = unblocking(items, [], NOW)
    assert (odd["unblocked"], odd["median_seconds"], odd["longest_seconds"]) == (
        3, 3 * 3600, 4 * 86400)
    even = unblocking(items + [resolved(NOW - 5 * DAY, 2 * DAY)], [], NOW)
    # Two in the middle, 3 hours and 2 days: halfway between them.
    assert even["unblocked"] == 4 and even["median_seconds"] == (3 * 3600 + 2 * 86400) / 2
    assert even["longest_seconds"] == 4 * 86400


def test_an_item_resolved_before_the_time_was_stored_counts_from_its_moments():
    old = {"_id": "hud-old", "practice_id": "F84001", "team": "reception",
           "status": "resolved", "raised_at": NOW - 3 * DAY, "resolved_at": NOW - DAY}
    assert unblocking([old], [], NOW)["median_seconds"] == 2 * 86400


def test_the_escalated_items_waiting_and_the_oldest_since_it_was_raised():
    waiting = [escalated(NOW - 3 * DAY), escalated(NOW - HOUR - 10 * 60 * SECOND)]
    not_escalated = raised(NOW - 20 * DAY)
    summary = unblocking([], waiting + [not_escalated], NOW)
    assert (summary["escalated_waiting"], summary["oldest_waiting_seconds"]) == (2, 3 * 86400)
    assert summary["unblocked"] == 0 and summary["median_seconds"] is None


def test_each_board_has_its_own_summary():
    reception = resolved(NOW - 2 * DAY, DAY)
    pharmacy = escalated(NOW - DAY, team="pharmacy")
    other = resolved(NOW - 2 * DAY, 2 * HOUR, practice_id="F84002")
    by_board = unblocking_by_board([reception, other], [pharmacy], NOW)
    assert set(by_board) == {("F84001", "reception"), ("F84001", "pharmacy"),
                             ("F84002", "reception")}
    assert by_board[("F84001", "reception")]["median_seconds"] == 86400
    assert by_board[("F84001", "pharmacy")]["unblocked"] == 0
    assert by_board[("F84001", "pharmacy")]["escalated_waiting"] == 1
    assert by_board[("F84002", "reception")]["longest_seconds"] == 2 * 3600
