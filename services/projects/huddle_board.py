"""The rules of a team's huddle board, as plain Python on dicts.

An item sits in one column (To do, Doing, Done), may have an assignee, and may be escalated to
a named leader with a reason; resolving it puts it in Done. ``status`` (open, escalated,
resolved) stays what the other services read: Done and resolved are one and the same, so an
item never leaves Done (a problem that comes back is a new item). Every change touches the item
and adds a line to its history. Bottlenecks are marked with the clock passed in: an item no
one has taken for 7 days, or one nobody has touched for 30.
"""
from datetime import timedelta

from shared.domain import Change, ConflictError, RuleBroken, new_id

from services.projects.domain import SOURCE

TO_DO, DOING, DONE = "to_do", "doing", "done"
COLUMNS = (TO_DO, DOING, DONE)
COLUMN_WORDS = {TO_DO: "To do", DOING: "Doing", DONE: "Done"}
STATUSES = ("open", "escalated", "resolved")
UNASSIGNED = "unassigned"
UNTOUCHED = "untouched"
BOTTLENECKS = {UNASSIGNED: timedelta(days=7), UNTOUCHED: timedelta(days=30)}


def raise_item(command, network_id, actor, now, trace):
    """A new item in To do of the board (practice, team), and its ``huddle.item_raised``."""
    item = {
        "_id": new_id("hud"), "network_id": network_id, "practice_id": command["practice_id"],
        "team": command["team"], "description": command["description"],
        "raised_by": command["raised_by"], "status": "open", "raised_at": now,
        "escalated_to": None, "escalated_at": None, "escalation_reason": None,
        "resolved_at": None, "resolution": None, "time_to_unblock_seconds": None,
        "column": TO_DO, "assignee": None, "assigned_at": None, "unassigned_since": now,
        "touched_at": now,
        "history": [_line(now, actor or command["raised_by"], "raised", None)],
    }
    raised = SOURCE.event("huddle.item_raised", {"item_id": item["_id"], "team": item["team"],
                                                 "raised_by": item["raised_by"],
                                                 "raised_at": now},
                          network_id, trace, item["practice_id"])
    return item, [raised]


def current(item):
    """``item`` with the board's fields filled in for an item stored before the board had
    columns, assignees and history (its column follows from its status)."""
    if "column" in item:
        return item
    moments = [m for m in (item.get("raised_at"), item.get("escalated_at"),
                           item.get("resolved_at")) if m is not None]
    history = [_line(item["raised_at"], item.get("raised_by"), "raised", None)]
    if item.get("escalated_at"):
        history.append(_line(item["escalated_at"], None, "escalated",
                             f"to {item.get('escalated_to')}"))
    if item.get("resolved_at"):
        history.append(_line(item["resolved_at"], None, "resolved", item.get("resolution")))
    return {"escalation_reason": None, "assignee": None, "assigned_at": None,
            **item, "column": DONE if item.get("status") == "resolved" else TO_DO,
            "unassigned_since": item.get("raised_at"), "touched_at": max(moments),
            "history": history}


def bottlenecks(item, now):
    """The bottleneck marks of ``item`` at ``now``: ``unassigned`` when it is not done and
    has had no assignee for 7 days (since it was raised or last unassigned), ``untouched``
    when it is not done and nothing changed it for 30 days."""
    item = current(item)
    if item["column"] == DONE:
        return []
    marks = []
    if item["assignee"] is None and now - item["unassigned_since"] >= BOTTLENECKS[UNASSIGNED]:
        marks.append(UNASSIGNED)
    if now - item["touched_at"] >= BOTTLENECKS[UNTOUCHED]:
        marks.append(UNTOUCHED)
    return marks


def with_marks(item, now):
    """The item as the API answers it: current fields and its bottleneck marks."""
    return {**current(item), "bottlenecks": bottlenecks(item, now)}


def move_item(item, column, actor, now, trace):
    """Move to another column; to Done is resolving it (with no resolution written)."""
    item = current(item)
    _not_done(item, "column")
    if column == item["column"]:
        raise RuleBroken(f"the item is already in {COLUMN_WORDS[column]}",
                         {"column": [f"choose a column other than {COLUMN_WORDS[column]}"]})
    if column == DONE:
        return resolve_item(item, None, actor, now, trace)
    return _touch(item, actor, now, "moved", f"to {COLUMN_WORDS[column]}", column=column)


def assign_item(item, assignee, actor, now, trace):
    """Give the item to ``assignee`` (a staff id), or to nobody (None)."""
    item = current(item)
    _not_done(item, "assignee")
    if assignee == item["assignee"]:
        raise RuleBroken("nothing changes", {"assignee": [
            f"the item is already assigned to {assignee}" if assignee
            else "the item has no assignee already"]})
    if assignee is None:
        return _touch(item, actor, now, "unassigned", None, assignee=None, assigned_at=None,
                      unassigned_since=now)
    return _touch(item, actor, now, "assigned", f"to {assignee}", assignee=assignee,
                  assigned_at=now, unassigned_since=None)


def escalate_item(item, escalated_to, reason, actor, now, trace):
    """Escalate to the leader ``escalated_to``, saying what they must unblock (``reason``)."""
    item = current(item)
    if not (reason or "").strip():
        raise RuleBroken("say why the item is escalated",
                         {"reason": ["required: say what the leader must unblock"]})
    _not_done(item, "escalated_to")
    if item["status"] == "escalated":
        raise ConflictError(f"the item is already escalated to {item['escalated_to']}",
                            {"status": ["the item is escalated"]})
    escalated = SOURCE.event("huddle.item_escalated", {
        "item_id": item["_id"], "team": item["team"], "escalated_to": escalated_to,
        "escalated_at": now}, item["network_id"], trace, item["practice_id"])
    return _touch(item, actor, now, "escalated", f"to {escalated_to}: {reason}",
                  events=[escalated], status="escalated", escalated_to=escalated_to,
                  escalated_at=now, escalation_reason=reason)


def resolve_item(item, resolution, actor, now, trace):
    """Resolve (unblock) it: to Done, with the time it took since it was raised."""
    item = current(item)
    _not_done(item, "status")
    time_to_unblock = (now - item["raised_at"]).total_seconds()
    resolved = SOURCE.event("huddle.item_resolved", {
        "item_id": item["_id"], "team": item["team"], "resolved_at": now,
        "was_escalated": item["status"] == "escalated",
        "time_to_unblock_seconds": time_to_unblock}, item["network_id"], trace,
        item["practice_id"])
    return _touch(item, actor, now, "resolved", resolution, events=[resolved],
                  status="resolved", column=DONE, resolution=resolution, resolved_at=now,
                  time_to_unblock_seconds=time_to_unblock)


def _not_done(item, field):
    if item["column"] == DONE:
        raise ConflictError("the item is done; raise a new item if the problem is back",
                            {field: ["the item is done"]})


def _line(at, by, action, detail):
    return {"at": at, "by": by, "action": action, "detail": detail}


def _touch(item, actor, now, action, detail, events=(), **fields):
    """The change that sets ``fields``, touches the item and adds a line to its history.
    An item stored before the board had columns gets its filled-in fields stored too."""
    stored = {name: item[name] for name in ("column", "assignee", "assigned_at",
                                            "unassigned_since", "escalation_reason")}
    history = item["history"] + [_line(now, actor, action, detail)]
    return Change(item, set={**stored, **fields, "touched_at": now, "history": history},
                  events=list(events))
