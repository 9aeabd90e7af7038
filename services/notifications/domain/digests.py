"""Digests and the weekly network summary: when each goes out, what it holds, and the events
kept to count a network's week."""
from datetime import timedelta

from services.notifications.domain.events import as_aware, thin_data
from services.notifications.domain.settings import WorkingCalendar, calendar_for, parse_clock


def digest_clock(recipient, settings):
    given = recipient.get("digest_time")
    return parse_clock(given, "digest_time") if given else settings.digest_time


def next_digest_at(recipient, now, settings):
    """When ``recipient``'s next digest goes out (their local digest time, UTC)."""
    return calendar_for(recipient, settings).next_local_time(now, digest_clock(recipient,
                                                                               settings))


def digest_slot(recipient, channel, now, settings):
    """(digest id, its due time) of the latest digest time at or before ``now``: one digest
    per person, channel and local day, whoever assembles it."""
    calendar = calendar_for(recipient, settings)
    due = calendar.next_local_time(now - timedelta(days=1), digest_clock(recipient, settings))
    if due > now:
        due = calendar.next_local_time(now - timedelta(days=2), digest_clock(recipient,
                                                                            settings))
    local_day = due.astimezone(calendar.zone).date().isoformat()
    return f"dgs_{recipient['_id']}_{channel}_{local_day}", due


def new_digest(recipient, channel, digest_id, due, now, kind="digest", summary=None):
    """A digest is a notification too (the same sending, retrying and audit); its items are
    the notifications it carries, claimed by the repository."""
    return {
        "_id": digest_id, "dedupe_key": digest_id, "kind": kind,
        "event_id": digest_id, "event_type": f"notifications.{kind}", "occurred_at": due,
        "correlation_id": digest_id, "network_id": recipient["network_id"],
        "recipient_id": recipient["_id"], "channel": channel, "route": f"notifications.{kind}",
        "mode": "immediate", "critical": False, "state": "assembling", "reason": None,
        "due_at": now, "attempts": 0, "last_error": None, "claimed_until": None,
        "digest_id": None, "ladder_id": None, "summary": summary, "items": [],
        "data": {}, "created_at": now, "sent_at": None, "read_at": None,
        "archived_at": None, "version": 1,
    }


def summary_window(now, settings):
    """(week start, id suffix) of the weekly network summary due at or before ``now``."""
    calendar = WorkingCalendar(settings)
    due = calendar.next_local_time(now - timedelta(days=8), settings.digest_time,
                                   settings.summary_weekday)
    while True:
        following = calendar.next_local_time(due, settings.digest_time,
                                             settings.summary_weekday)
        if following > now:
            break
        due = following
    return due, due.astimezone(calendar.zone).date().isoformat()


# What the weekly network summary counts: the only events kept for it (a practice's every
# submission, measurement.recorded, is not).
SUMMARY_EVENT_TYPES = frozenset({
    "measurement.signal_detected", "measurement.submission_overdue", "huddle.item_escalated",
    "huddle.item_resolved", "training.target_at_risk", "training.capability_gap_identified"})


def network_summary(events):
    """The counts of a network's week from the events it saw; None when nothing happened
    (no empty digest). Counts only: no named person's gap or contact in a broadcast."""
    counts = {"signals_of_concern": 0, "signals_of_improvement": 0, "overdue_submissions": 0,
              "overdue_practices": set(), "escalations": 0, "escalations_resolved": 0,
              "training_targets_at_risk": 0, "capability_gaps": 0}
    for seen in events:
        data, kind = seen.get("data") or {}, seen["event_type"]
        if kind == "measurement.signal_detected" and data.get("kind") == "concern":
            counts["signals_of_concern"] += 1
        elif kind == "measurement.signal_detected" and data.get("kind") == "improvement":
            counts["signals_of_improvement"] += 1
        elif kind == "measurement.submission_overdue":
            counts["overdue_submissions"] += 1
            counts["overdue_practices"].add(data.get("practice_id"))
        elif kind == "huddle.item_escalated":
            counts["escalations"] += 1
        elif kind == "huddle.item_resolved" and data.get("was_escalated"):
            counts["escalations_resolved"] += 1
        elif kind == "training.target_at_risk":
            counts["training_targets_at_risk"] += 1
        elif kind == "training.capability_gap_identified":
            counts["capability_gaps"] += 1
    counts["overdue_practices"] = sorted(p for p in counts["overdue_practices"] if p)
    if not any(counts.values()):
        return None
    return counts



def seen_for_summary(envelope):
    """What the weekly summary keeps of an event it counts (thin data only), or None for an
    event it does not count."""
    if envelope["event_type"] not in SUMMARY_EVENT_TYPES:
        return None
    return {"_id": str(envelope["event_id"]), "event_type": envelope["event_type"],
            "network_id": envelope["network_id"],
            "occurred_at": as_aware(envelope["occurred_at"]),
            "data": thin_data(envelope["data"])}
