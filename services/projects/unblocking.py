"""How fast a team's (or a network's) blocked huddle items get unblocked, as plain Python on
the items' dicts with the clock passed in.

Over the items resolved in the last 90 days (one resolved exactly 90 days before ``now`` is
in): how many, the median time to unblock (half took at most that long), the longest. Of the
items open now that were escalated: how many, and how long the oldest has waited since it was
raised. Nothing resolved in the window: no median and no longest (None), never a zero."""
from datetime import timedelta
from statistics import median

WINDOW = timedelta(days=90)


def window_start(now):
    """The first moment of the window ending at ``now`` (the repository reads from it)."""
    return now - WINDOW


def time_to_unblock(item):
    """Seconds from raised to resolved: as stored, or from the two moments for an item
    resolved before the time was stored; None when it cannot be known."""
    if item.get("time_to_unblock_seconds") is not None:
        return item["time_to_unblock_seconds"]
    if item.get("resolved_at") and item.get("raised_at"):
        return (item["resolved_at"] - item["raised_at"]).total_seconds()
    return None


def unblocking(resolved_items, open_items, now):
    """The unblocking summary at ``now`` of ``resolved_items`` (any resolved items; those
    outside the window are left out here too) and ``open_items`` (items not done)."""
    since = window_start(now)
    times = sorted(seconds for seconds in (
        time_to_unblock(item) for item in resolved_items
        if item.get("resolved_at") is not None and since <= item["resolved_at"] <= now)
        if seconds is not None)
    waiting = [max(0.0, (now - item["raised_at"]).total_seconds()) for item in open_items
               if item.get("status") == "escalated"]
    return {"window_days": WINDOW.days, "since": since, "unblocked": len(times),
            "median_seconds": median(times) if times else None,
            "longest_seconds": times[-1] if times else None,
            "escalated_waiting": len(waiting),
            "oldest_waiting_seconds": max(waiting) if waiting else None}


def unblocking_by_board(resolved_items, open_items, now):
    """{(practice id, team): summary} for every board with an item in either list."""
    boards = {}
    for kind, items in (("resolved", resolved_items), ("open", open_items)):
        for item in items:
            lists = boards.setdefault((item["practice_id"], item["team"]),
                                      {"resolved": [], "open": []})
            lists[kind].append(item)
    return {board: unblocking(lists["resolved"], lists["open"], now)
            for board, lists in boards.items()}
