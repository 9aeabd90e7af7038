"""Huddle boards and wallboard links over HTTP, on the whole network (tests/work_stack.py): a
practice member adds, moves, assigns and escalates at their board (escalation without a reason
refused with the error summary and what was typed kept); F84002's member gets "Page not found"
for F84001's board, item, devices and every form; a practice member may not manage devices
(the service's 403 shows as "Page not found"); every form without its CSRF token answers 403
and changes nothing; a wallboard link shows the board signed out, never cached, with no
referrer and a refresh, and once revoked says only that it does not work; the projects API
refuses a bad column and a practice key issuing a wallboard link (403), and reads a board by a
link's token only while the link stands. The time to unblock: with the projects service's clock
fixed by the test, an item raised, escalated and resolved 2 days 4 hours later shows so on
its page and its card, and the board says how fast its items were unblocked and how long the
escalated one still open has waited."""
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
import requests

from tests.web_stack import LEAD_UID, MEMBER_UID
from tests.work_stack import (  # noqa: F401
    OTHER_MEMBER_UID, PRACTICE_LEAD_UID, csrf_of, signed_in, work,
)

pytestmark = pytest.mark.timeout(180)
BOARD = "/huddle/F84001/reception"


class ProjectsClock:
    """The projects service's clock for the huddle routes, moved on by the test."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def projects_clock(monkeypatch):
    # Monday 2 November 2026, 09:00 UTC: nothing depends on the day the test runs.
    clock = ProjectsClock(datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc))
    monkeypatch.setattr("services.projects.huddle_routes.utc_now", clock)
    return clock


def items_of(work, team="reception"):
    return work.practice["projects"].get("/huddle-boards/F84001",
                                         params={"team": team}).json()["items"]


def test_a_member_works_the_board_and_others_are_kept_out(work):
    member, board = signed_in(work, MEMBER_UID, BOARD)
    assert board.status_code == 200 and "Huddle board: reception" in board.text
    assert board.headers["Cache-Control"] == "no-store"
    token = csrf_of(board)
    added = member.post(work.web + BOARD, data={"csrf_token": token, "description":
                                                "printer jams every morning",
                                                "raised_by": "nurse-01"},
                        allow_redirects=False)
    assert added.status_code == 303 and added.headers["Location"] == BOARD + "?done=added"
    (item,) = items_of(work)
    item_id = item["id"]
    shown = member.get(work.web + BOARD).text
    assert ('Move to Doing<span class="nhsuk-u-visually-hidden">: printer jams every morning'
            '</span>') in shown and f'id="item-{item_id}"' in shown
    assert "printer jams" not in member.get(work.web + BOARD + "?view=bottlenecks").text
    refused = member.post(work.web + BOARD, data={"csrf_token": token, "description": "",
                                                  "raised_by": "nurse 01"})
    assert refused.status_code == 422 and "<title>Error: " in refused.text
    assert 'href="#description-new"' in refused.text and 'href="#raised_by-new"' in refused.text
    assert 'value="nurse 01"' in refused.text and len(items_of(work)) == 1

    moved = member.post(f"{work.web}/huddle-items/{item_id}/move",
                        data={"csrf_token": token, "column": "doing", "back": "board"},
                        allow_redirects=False)
    assert moved.status_code == 303
    assert moved.headers["Location"] == f"{BOARD}?done=move#item-{item_id}"
    member.post(f"{work.web}/huddle-items/{item_id}/assign",
                data={"csrf_token": token, "assignee": "nurse-03", "back": "item"})
    no_reason = member.post(f"{work.web}/huddle-items/{item_id}/escalate", data={
        "csrf_token": token, "escalated_to": "lead-01", "reason": "", "back": "board"})
    assert no_reason.status_code == 422
    assert f'href="#reason-{item_id}"' in no_reason.text
    assert f'id="reason-{item_id}' in no_reason.text and 'value="lead-01"' in no_reason.text
    escalated = member.post(f"{work.web}/huddle-items/{item_id}/escalate", data={
        "csrf_token": token, "escalated_to": "lead-01", "reason": "needs a new printer",
        "back": "item"}, allow_redirects=False)
    assert escalated.headers["Location"] == f"/huddle-items/{item_id}?done=escalate"
    page = member.get(work.web + escalated.headers["Location"])
    assert "needs a new printer" in page.text and "Escalated" in page.text
    assert "nurse-03" in page.text and "Moved to Doing" in page.text
    (item,) = items_of(work)
    assert (item["column"], item["status"], item["assignee"]) == ("doing", "escalated",
                                                                  "nurse-03")

    # Without the CSRF token: 403, nothing changes.
    forms = [(BOARD, {"description": "x", "raised_by": "nurse-01"}),
             (f"/huddle-items/{item_id}/resolve", {"resolution": "x", "back": "item"}),
             (f"/huddle-items/{item_id}/move", {"column": "done", "back": "item"}),
             (f"/huddle-items/{item_id}/assign", {"assignee": "", "back": "item"}),
             (f"/huddle-items/{item_id}/escalate", {"escalated_to": "x", "reason": "x",
                                                    "back": "item"}),
             ("/huddle/F84001/devices", {"team": "reception", "label": "x"})]
    for path, data in forms:
        assert member.post(work.web + path, data=data).status_code == 403, path
    assert items_of(work)[0]["status"] == "escalated" and len(items_of(work)) == 1
    assert items_of(work)[0]["assignee"] == "nurse-03"
    unassigned = member.post(f"{work.web}/huddle-items/{item_id}/assign", data={
        "csrf_token": token, "assignee": "", "back": "item"}, allow_redirects=False)
    assert unassigned.status_code == 303 and items_of(work)[0]["assignee"] is None

    # Another practice's member: "Page not found" for the board, the item and every form.
    other, _ = signed_in(work, OTHER_MEMBER_UID, "/huddle")
    other_token = csrf_of(other.get(work.web + "/huddle"))
    for path in (BOARD, f"/huddle-items/{item_id}", "/huddle/F84001/devices"):
        assert other.get(work.web + path).status_code == 404, path
    for path, data in forms:
        answer = other.post(work.web + path, data={**data, "csrf_token": other_token})
        assert answer.status_code == 404 and "Page not found" in answer.text, path
    assert f'href="{BOARD}"' not in other.get(work.web + "/huddle").text
    assert f'href="{BOARD}"' in member.get(work.web + "/huddle").text
    # A practice member of F84001 does not manage its devices.
    assert member.get(work.web + "/huddle/F84001/devices").status_code == 404
    assert member.post(work.web + "/huddle/F84001/devices", data={
        "csrf_token": token, "team": "reception", "label": "x"}).status_code == 404
    assert items_of(work)[0]["status"] == "escalated"


def test_a_wallboard_link_shows_the_board_until_revoked(work):
    practice, lead_api = work.practice["projects"], work.lead["projects"]
    item = practice.post("/huddle-items", {"team": "reception", "description":
                                           "phones down at 8am", "raised_by": "nurse-01"})
    sideways = practice.post(f"/huddle-items/{item.json()['id']}/move", {"column": "up"})
    assert sideways.status_code == 422 and "column" in sideways.json()["fields"]
    assert practice.get("/huddle-items", params={"bottleneck": "yes"}).json()["total"] == 0
    # The API: a practice key is not its practice's lead (403); the network lead may.
    link = {"practice_id": "F84001", "team": "reception", "label": "API screen"}
    assert practice.post("/wallboards", link).status_code == 403
    issued = lead_api.post("/wallboards", link)
    assert issued.status_code == 201 and issued.json()["token"].startswith("wb_")
    board = requests.get(f"{work.stack.config['WEB_PROJECTS_URL']}/wallboard-board",
                         headers={"X-Wallboard-Token": issued.json()["token"]}, timeout=10)
    assert board.status_code == 200 and board.json()["team"] == "reception"
    assert requests.get(f"{work.stack.config['WEB_PROJECTS_URL']}/wallboard-board",
                        timeout=10).status_code == 404
    assert lead_api.post(f"/wallboards/{issued.json()['id']}/revoke", {}).status_code == 200
    lead, devices = signed_in(work, PRACTICE_LEAD_UID, "/huddle/F84001/devices")
    assert devices.status_code == 200 and "API screen" in devices.text
    token = csrf_of(devices)
    refused = lead.post(work.web + "/huddle/F84001/devices",
                        data={"csrf_token": token, "team": "reception", "label": ""})
    assert refused.status_code == 422 and 'href="#label"' in refused.text
    link_form = {"csrf_token": token, "team": "reception", "label": "Reception office"}
    issued = lead.post(work.web + "/huddle/F84001/devices", data=link_form,
                       allow_redirects=False)
    assert issued.status_code == 200 and issued.headers["Cache-Control"] == "no-store"
    link = re.search(r'id="wallboard-link" href="([^"]+)"', issued.text).group(1)
    # A reload of that answer sends the form again: told so, no second link.
    again = lead.post(work.web + "/huddle/F84001/devices", data=link_form,
                      allow_redirects=False)
    assert again.status_code == 409 and "This was sent already" in again.text
    assert 'id="wallboard-link"' not in again.text
    assert [w["label"] for w in lead_api.get("/wallboards", params={
        "practice_id": "F84001"}).json()["items"]].count("Reception office") == 1
    assert "/wallboard/wb_" in link
    listed = lead.get(work.web + "/huddle/F84001/devices")
    assert "Reception office" in listed.text and urlsplit(link).path not in listed.text
    assert 'Revoke<span class="nhsuk-u-visually-hidden"> the link of Reception office' \
        in listed.text

    screen = requests.get(work.web + urlsplit(link).path, timeout=10)
    assert screen.status_code == 200 and "phones down at 8am" in screen.text
    assert "No items were unblocked in the last 90 days." in screen.text
    assert screen.headers["Referrer-Policy"] == "no-referrer"
    assert screen.headers["Cache-Control"] == "no-store"
    assert screen.headers["Refresh"] == "60" and "<form" not in screen.text
    stopped = requests.get(work.web + urlsplit(link).path + "?refresh=off", timeout=10)
    assert "Refresh" not in stopped.headers and "phones down at 8am" in stopped.text

    link_id = next(link["id"] for link in lead_api.get("/wallboards", params={
        "practice_id": "F84001"}).json()["items"] if link["label"] == "Reception office")
    assert lead.post(f"{work.web}/huddle/F84001/devices/{link_id}/revoke",
                     data={}).status_code == 403  # no CSRF token: still works
    assert requests.get(work.web + urlsplit(link).path, timeout=10).status_code == 200
    revoked = lead.post(f"{work.web}/huddle/F84001/devices/{link_id}/revoke",
                        data={"csrf_token": token}, allow_redirects=False)
    assert revoked.headers["Location"] == "/huddle/F84001/devices?done=revoked"
    gone = requests.get(work.web + urlsplit(link).path, timeout=10)
    assert gone.status_code == 404 and "This wallboard link does not work" in gone.text
    assert "phones down" not in gone.text and gone.headers["Referrer-Policy"] == "no-referrer"
    assert requests.get(work.web + "/wallboard/wb_nothing_here",
                        timeout=10).status_code == 404


def test_the_time_to_unblock_is_shown_on_the_item_and_the_board(work, projects_clock):
    board_path = "/huddle/F84001/admin"
    member, board = signed_in(work, MEMBER_UID, board_path)
    assert "No items were unblocked in the last 90 days." in board.text
    assert "No escalated items are waiting." in board.text
    token = csrf_of(board)
    start = projects_clock.now

    def add(description):
        added = member.post(work.web + board_path, data={
            "csrf_token": token, "description": description, "raised_by": "nurse-01"},
            allow_redirects=False)
        assert added.status_code == 303
        return next(item["id"] for item in items_of(work, "admin")
                    if item["description"] == description)

    def act(item_id, action, **data):
        answer = member.post(f"{work.web}/huddle-items/{item_id}/{action}", data={
            "csrf_token": token, "back": "item", **data}, allow_redirects=False)
        assert answer.status_code == 303, answer.text

    fixed = add("the scanner is offline")
    projects_clock.now = start + timedelta(hours=1)
    act(fixed, "escalate", escalated_to="lead-01", reason="needs IT to visit")
    projects_clock.now = start + timedelta(days=1)
    waiting = add("no locum for Fridays")
    act(waiting, "escalate", escalated_to="lead-01", reason="needs the budget")
    projects_clock.now = start + timedelta(days=2, hours=4, minutes=20)
    act(fixed, "resolve", resolution="IT replaced the cable")

    projects_clock.now = start + timedelta(days=5, hours=3)
    item_page = member.get(f"{work.web}/huddle-items/{fixed}")
    assert "Unblocked in 2 days 4 hours." in item_page.text
    assert "Unblocked in" not in member.get(f"{work.web}/huddle-items/{waiting}").text
    shown = member.get(work.web + board_path).text
    assert ("In the last 90 days, 1 item was unblocked: it took 2 days 4 hours."
            in shown)
    assert "1 escalated item is waiting; it was raised 4 days 3 hours ago." in shown
    # Done is the last column: after the card's id, only its card until "Add an item".
    card = shown.split(f'id="item-{fixed}"')[1].split("<h2>Add an item")[0]
    assert "Unblocked in 2 days 4 hours" in card
    # The lead's list of boards: the network's summary and the team's row.
    _, boards = signed_in(work, LEAD_UID, "/huddle")
    assert "In the last 90 days, 1 item was unblocked: it took 2 days 4 hours." in boards.text
    assert re.search(r">admin</a>(?:(?!</tr>).)*2 days 4 hours", boards.text, re.S)
    # 90 days after it was resolved it still counts; a moment later it no longer does.
    projects_clock.now = start + timedelta(days=92, hours=4, minutes=20)
    assert "1 item was unblocked" in member.get(work.web + board_path).text
    projects_clock.now += timedelta(seconds=1)
    assert "No items were unblocked in the last 90 days." in member.get(
        work.web + board_path).text
