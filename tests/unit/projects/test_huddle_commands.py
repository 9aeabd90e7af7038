"""The huddle board's and wallboard links' service layer against the in-memory store."""
from dataclasses import replace
from datetime import timedelta

import pytest

from services.projects import huddle_commands as commands
from shared.domain import ConflictError, NotFoundError, NotPermitted, RuleBroken
from tests.principals import LEAD, OTHER_PRACTICE, PRACTICE, SOUTH_LEAD
from tests.unit.projects.test_commands import NOW, PAGE, TRACE, repository  # noqa: F401

DAY = timedelta(days=1)
PRACTICE_LEAD = replace(PRACTICE, staff_id="plead-01", practice_lead=True)
MEMBER = replace(PRACTICE, staff_id="nurse-01")


def raise_item(repository, principal=PRACTICE, team="reception", at=NOW):
    return commands.raise_huddle_item(repository, principal, {
        "practice_id": None, "team": team, "description": "phones down",
        "raised_by": "nurse-01"}, at, TRACE)


def test_huddle_items_are_seen_by_their_practice_and_lead_only(repository):
    with pytest.raises(RuleBroken):
        commands.raise_huddle_item(repository, LEAD, {"practice_id": None, "team": "t",
                                                      "description": "d", "raised_by": "n-1"},
                                   NOW, TRACE)
    item = raise_item(repository)
    assert item["practice_id"] == "F84001" and item["bottlenecks"] == []
    with pytest.raises(NotFoundError):
        commands.get_huddle_item(repository, OTHER_PRACTICE, item["_id"], NOW)
    with pytest.raises(NotFoundError):
        commands.move_huddle_item(repository, OTHER_PRACTICE, item["_id"], {"column": "doing"},
                                  NOW, TRACE)
    assert commands.list_huddle_items(repository, OTHER_PRACTICE, PAGE, NOW)["total"] == 0
    assert commands.list_huddle_items(repository, LEAD, {**PAGE, "status": "open"},
                                      NOW)["total"] == 1
    later = NOW + timedelta(hours=2)
    commands.escalate_huddle_item(repository, LEAD, item["_id"],
                                  {"escalated_to": "pm-1", "reason": "needs a new line"},
                                  NOW, TRACE)
    resolved = commands.resolve_huddle_item(repository, PRACTICE, item["_id"],
                                            {"resolution": "fixed"}, later, TRACE)
    assert resolved["time_to_unblock_seconds"] == 2 * 3600 and resolved["column"] == "done"
    with pytest.raises(ConflictError):
        commands.resolve_huddle_item(repository, PRACTICE, item["_id"],
                                     {"resolution": "again"}, later, TRACE)


def test_each_change_is_stored_once_with_who_did_it(repository):
    item = raise_item(repository, MEMBER)
    commands.move_huddle_item(repository, MEMBER, item["_id"], {"column": "doing"},
                              NOW + DAY, TRACE)
    commands.assign_huddle_item(repository, MEMBER, item["_id"], {"assignee": "nurse-02"},
                                NOW + DAY, TRACE)
    with pytest.raises(RuleBroken) as refused:
        commands.escalate_huddle_item(repository, MEMBER, item["_id"],
                                      {"escalated_to": "lead-01"}, NOW + DAY, TRACE)
    assert "reason" in refused.value.fields
    stored = commands.get_huddle_item(repository, LEAD, item["_id"], NOW + DAY)
    assert (stored["column"], stored["assignee"], stored["status"]) == ("doing", "nurse-02",
                                                                        "open")
    assert [(line["action"], line["by"]) for line in stored["history"]] == [
        ("raised", "nurse-01"), ("moved", "nurse-01"), ("assigned", "nurse-01")]


def test_the_bottleneck_listing_and_a_team_board(repository):
    stale = raise_item(repository, at=NOW - 8 * DAY)
    fresh = raise_item(repository)
    raise_item(repository, team="pharmacy", at=NOW - 40 * DAY)
    marked = commands.list_huddle_items(repository, PRACTICE,
                                        {**PAGE, "bottleneck": "yes", "team": "reception"},
                                        NOW)
    assert [item["_id"] for item in marked["items"]] == [stale["_id"]]
    assert marked["items"][0]["bottlenecks"] == ["unassigned"]
    assert commands.list_huddle_items(repository, LEAD, {**PAGE, "bottleneck": "yes"},
                                      NOW)["total"] == 2
    board = commands.huddle_board(repository, PRACTICE, "F84001",
                                  {"team": "reception", "view": "all"}, NOW)
    assert [item["_id"] for item in board["items"]] == [fresh["_id"], stale["_id"]]
    only = commands.huddle_board(repository, LEAD, "F84001",
                                 {"team": "reception", "view": "bottlenecks"}, NOW)
    assert [item["_id"] for item in only["items"]] == [stale["_id"]]
    assert commands.huddle_board(repository, PRACTICE, "F84001",
                                 {"team": "nobody yet", "view": "all"}, NOW)["items"] == []
    for principal, practice_id in ((OTHER_PRACTICE, "F84001"), (SOUTH_LEAD, "F84001"),
                                   (LEAD, "F89999")):
        with pytest.raises(NotFoundError):
            commands.huddle_board(repository, principal, practice_id,
                                  {"team": "reception", "view": "all"}, NOW)
    boards = [{name: board[name] for name in ("practice_id", "team", "open_items",
                                              "bottlenecks")}
              for board in commands.huddle_boards(repository, LEAD, {}, NOW)["items"]]
    assert boards == [
        {"practice_id": "F84001", "team": "pharmacy", "open_items": 1, "bottlenecks": 1},
        {"practice_id": "F84001", "team": "reception", "open_items": 2, "bottlenecks": 1}]
    assert commands.huddle_boards(repository, OTHER_PRACTICE, {}, NOW)["items"] == []


def test_wallboard_links_are_the_practice_leads_and_open_one_board(repository):
    raise_item(repository)
    raise_item(repository, team="pharmacy")
    command = {"practice_id": "F84001", "team": "reception", "label": "Office screen"}
    with pytest.raises(NotPermitted):
        commands.issue_wallboard(repository, MEMBER, command, NOW)
    with pytest.raises(NotFoundError):
        commands.issue_wallboard(repository, OTHER_PRACTICE, command, NOW)
    with pytest.raises(NotFoundError):
        commands.list_wallboards(repository, SOUTH_LEAD, {**PAGE, "practice_id": "F84001"})
    issued = commands.issue_wallboard(repository, PRACTICE_LEAD, command, NOW)
    token = issued["token"]
    stored = repository.database["wallboards"].find_one({"_id": issued["_id"]})
    assert token not in str(stored) and stored["issued_by"] == "plead-01"
    listed = commands.list_wallboards(repository, LEAD, {**PAGE, "practice_id": "F84001"})
    assert [link["_id"] for link in listed["items"]] == [issued["_id"]]
    assert "token" not in listed["items"][0]
    shown = commands.wallboard_board(repository, token, NOW)
    assert (shown["team"], len(shown["items"])) == ("reception", 1)
    with pytest.raises(NotPermitted):
        commands.revoke_wallboard(repository, MEMBER, issued["_id"], NOW)
    commands.revoke_wallboard(repository, PRACTICE_LEAD, issued["_id"], NOW + DAY)
    for refused in (token, "", "wb_nope_x", "pcn_1_2"):
        with pytest.raises(NotFoundError):
            commands.wallboard_board(repository, refused, NOW)


def test_a_board_and_the_boards_say_how_fast_items_are_unblocked(repository):
    def resolved(raised_at, took, team="reception"):
        item = raise_item(repository, team=team, at=raised_at)
        commands.resolve_huddle_item(repository, PRACTICE, item["_id"], {"resolution": "ok"},
                                     raised_at + took, TRACE)
        return item
    resolved(NOW - 91 * DAY, DAY)  # resolved exactly 90 days ago: counted
    resolved(NOW - 100 * DAY, 2 * DAY)  # resolved 98 days ago: not
    resolved(NOW - 5 * DAY, 2 * DAY)
    resolved(NOW - 3 * DAY, timedelta(hours=2), team="pharmacy")
    waiting = raise_item(repository, at=NOW - 4 * DAY)
    commands.escalate_huddle_item(repository, PRACTICE, waiting["_id"], {
        "escalated_to": "lead-01", "reason": "needs a new line"}, NOW - 3 * DAY, TRACE)
    raise_item(repository, at=NOW - 10 * DAY)  # open, never escalated
    expected = {"window_days": 90, "since": NOW - 90 * DAY, "unblocked": 2,
                "median_seconds": 1.5 * 86400, "longest_seconds": 2 * 86400,
                "escalated_waiting": 1, "oldest_waiting_seconds": 4 * 86400}
    for view in ("all", "bottlenecks"):  # the view filters the items, not the summary
        board = commands.huddle_board(repository, PRACTICE, "F84001",
                                      {"team": "reception", "view": view}, NOW)
        assert board["unblocking"] == expected
    boards = commands.huddle_boards(repository, LEAD, {}, NOW)
    by_team = {board["team"]: board["unblocking"] for board in boards["items"]}
    assert by_team["reception"] == expected
    assert (by_team["pharmacy"]["unblocked"], by_team["pharmacy"]["median_seconds"]) == (
        1, 2 * 3600)
    assert (boards["unblocking"]["unblocked"], boards["unblocking"]["median_seconds"],
            boards["unblocking"]["escalated_waiting"]) == (3, 86400, 1)
    assert commands.huddle_boards(repository, OTHER_PRACTICE, {}, NOW)["unblocking"][
        "unblocked"] == 0
    empty = commands.huddle_board(repository, PRACTICE, "F84001",
                                  {"team": "nobody yet", "view": "all"}, NOW)["unblocking"]
    assert (empty["unblocked"], empty["median_seconds"], empty["escalated_waiting"]) == (
        0, None, 0)
