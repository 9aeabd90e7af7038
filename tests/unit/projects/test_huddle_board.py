"""The huddle board's rules with a clock passed in: columns, assignment, escalation with a
reason, resolution, and the 7-day and 30-day bottleneck boundaries; wallboard links."""
from datetime import datetime, timedelta, timezone

import pytest

from services.projects import huddle_board as board
from services.projects import wallboards
from shared.domain import ConflictError, NotFoundError, RuleBroken
from shared.events.envelope import Trace

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
TRACE = Trace("corr-1")
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


def new_item(at=NOW):
    item, events = board.raise_item({"practice_id": "F84001", "team": "reception",
                                     "description": "phones down at 8am",
                                     "raised_by": "nurse-01"}, "north-pcn", None, at, TRACE)
    return item, events


def test_a_raised_item_is_in_to_do_unassigned_with_its_history():
    item, events = new_item()
    assert events[0]["event_type"] == "huddle.item_raised"
    assert (item["column"], item["status"], item["assignee"]) == ("to_do", "open", None)
    assert item["history"] == [{"at": NOW, "by": "nurse-01", "action": "raised",
                                "detail": None}]


def test_moves_between_columns_and_done_resolves():
    item, _ = new_item()
    doing = board.move_item(item, "doing", "nurse-01", NOW + DAY, TRACE).applied()
    assert (doing["column"], doing["status"], doing["touched_at"]) == ("doing", "open",
                                                                       NOW + DAY)
    assert doing["history"][-1]["detail"] == "to Doing"
    with pytest.raises(RuleBroken) as same:
        board.move_item(doing, "doing", "nurse-01", NOW, TRACE)
    assert "column" in same.value.fields
    done = board.move_item(doing, "done", "nurse-01", NOW + 2 * DAY, TRACE)
    assert done.events[0]["event_type"] == "huddle.item_resolved"
    done = done.applied()
    assert (done["column"], done["status"], done["resolution"]) == ("done", "resolved", None)
    assert done["time_to_unblock_seconds"] == 2 * 86400
    for attempt in (lambda: board.move_item(done, "to_do", "n", NOW, TRACE),
                    lambda: board.assign_item(done, "n", "n", NOW, TRACE),
                    lambda: board.resolve_item(done, "again", "n", NOW, TRACE)):
        with pytest.raises(ConflictError):
            attempt()


def test_assign_and_unassign():
    item, _ = new_item()
    assigned = board.assign_item(item, "nurse-02", "nurse-01", NOW + DAY, TRACE).applied()
    assert (assigned["assignee"], assigned["assigned_at"], assigned["unassigned_since"]) == (
        "nurse-02", NOW + DAY, None)
    with pytest.raises(RuleBroken) as same:
        board.assign_item(assigned, "nurse-02", "nurse-01", NOW, TRACE)
    assert "assignee" in same.value.fields
    unassigned = board.assign_item(assigned, None, "nurse-01", NOW + 2 * DAY, TRACE).applied()
    assert (unassigned["assignee"], unassigned["unassigned_since"]) == (None, NOW + 2 * DAY)
    assert [line["action"] for line in unassigned["history"]] == ["raised", "assigned",
                                                                   "unassigned"]


def test_escalation_needs_a_reason_and_happens_once():
    item, _ = new_item()
    for reason in (None, "", "   "):
        with pytest.raises(RuleBroken) as refused:
            board.escalate_item(item, "lead-01", reason, "nurse-01", NOW, TRACE)
        assert "reason" in refused.value.fields
    change = board.escalate_item(item, "lead-01", "needs a second phone line", "nurse-01",
                                 NOW + DAY, TRACE)
    assert change.events[0]["event_type"] == "huddle.item_escalated"
    assert "reason" not in change.events[0]["data"]  # free text stays out of events
    escalated = change.applied()
    assert (escalated["status"], escalated["column"], escalated["escalation_reason"]) == (
        "escalated", "to_do", "needs a second phone line")
    with pytest.raises(ConflictError):
        board.escalate_item(escalated, "lead-02", "again", "nurse-01", NOW, TRACE)
    resolved = board.resolve_item(escalated, "new line", "lead-01", NOW + 3 * DAY, TRACE)
    assert resolved.events[0]["data"]["was_escalated"] is True
    assert resolved.applied()["column"] == "done"


def test_unassigned_for_seven_days_is_a_bottleneck_from_the_day_it_was_raised():
    item, _ = new_item()
    assert board.bottlenecks(item, NOW + 7 * DAY - SECOND) == []
    assert board.bottlenecks(item, NOW + 7 * DAY) == ["unassigned"]
    assigned = board.assign_item(item, "nurse-02", "n", NOW + DAY, TRACE).applied()
    assert board.bottlenecks(assigned, NOW + 20 * DAY) == []
    # Unassigned again: the seven days count from then.
    unassigned = board.assign_item(assigned, None, "n", NOW + 20 * DAY, TRACE).applied()
    assert board.bottlenecks(unassigned, NOW + 27 * DAY - SECOND) == []
    assert board.bottlenecks(unassigned, NOW + 27 * DAY) == ["unassigned"]


def test_untouched_for_thirty_days_is_a_bottleneck_and_done_never_is():
    item, _ = new_item()
    assigned = board.assign_item(item, "nurse-02", "n", NOW, TRACE).applied()
    assert board.bottlenecks(assigned, NOW + 30 * DAY - SECOND) == []
    assert board.bottlenecks(assigned, NOW + 30 * DAY) == ["untouched"]
    assert board.bottlenecks(item, NOW + 30 * DAY) == ["unassigned", "untouched"]
    touched = board.move_item(assigned, "doing", "n", NOW + 29 * DAY, TRACE).applied()
    assert board.bottlenecks(touched, NOW + 58 * DAY) == []
    done = board.resolve_item(item, "fixed", "n", NOW, TRACE).applied()
    assert board.bottlenecks(done, NOW + 365 * DAY) == []


def test_an_item_stored_before_columns_reads_as_one_and_changes_like_one():
    legacy = {"_id": "hud_1", "network_id": "north-pcn", "practice_id": "F84001", "team": "t",
              "description": "d", "raised_by": "n-1", "status": "escalated", "raised_at": NOW,
              "escalated_to": "pm-1", "escalated_at": NOW + DAY, "resolved_at": None,
              "resolution": None, "time_to_unblock_seconds": None}
    current = board.current(legacy)
    assert (current["column"], current["assignee"], current["touched_at"]) == (
        "to_do", None, NOW + DAY)
    assert [line["action"] for line in current["history"]] == ["raised", "escalated"]
    assert board.with_marks(legacy, NOW + 8 * DAY)["bottlenecks"] == ["unassigned"]
    change = board.move_item(legacy, "doing", "n-1", NOW + 2 * DAY, TRACE)
    assert change.set["column"] == "doing" and len(change.set["history"]) == 3
    assert board.current({**legacy, "status": "resolved", "resolved_at": NOW})[
        "column"] == "done"


def test_a_wallboard_link_is_shown_once_stored_as_a_hash_and_revocable():
    link_id, token, token_hash = wallboards.new_token()
    assert wallboards.link_id_of(token) == link_id and token_hash != token
    for malformed in ("", "wb__x", "pcn_1_2", "wb_1_", None):
        assert wallboards.link_id_of(malformed) is None
    practice = {"_id": "F84001", "network_id": "north-pcn"}
    link = wallboards.issue_link(link_id, token_hash, practice, "reception", "Office screen",
                                 "plead-01", NOW)
    assert "token" not in link and link["revoked_at"] is None
    assert wallboards.board_of(link, token) == ("F84001", "reception")
    with pytest.raises(NotFoundError):
        wallboards.board_of(link, token + "x")
    with pytest.raises(NotFoundError):
        wallboards.board_of(None, token)
    revoked = wallboards.revoke_link(link, "plead-01", NOW + DAY).applied()
    with pytest.raises(NotFoundError):
        wallboards.board_of(revoked, token)
    with pytest.raises(ConflictError):
        wallboards.revoke_link(revoked, "plead-01", NOW)
    with pytest.raises(RuleBroken):
        wallboards.issue_link(link_id, token_hash, practice, " ", "x", "plead-01", NOW)
