"""From one event to one plan: who hears of it by which channel, in what state, and the
escalation or reminder ladder it starts or stops.

The service layer loads what the decision needs once (the event's rules, then its audiences
and ladder: ``EventNeeds`` → ``EventContext``), ``plan_event`` decides, and the repository
stores the ``EventPlan`` once. A notification is queued, held (digest, send window) or
suppressed, with why: the audit of each one. A ladder's steps are due in working time of the
network's calendar; each step notifies an audience, as if the starting event had happened
again under the step's own id.
"""
from dataclasses import dataclass, field

from services.notifications.domain.digests import next_digest_at, seen_for_summary
from services.notifications.domain.events import as_aware, thin_data, thin_envelope
from services.notifications.domain.recipients import has_contact
from services.notifications.domain.routing import (AUDIENCES, CHANNELS, audience_of,
                                                   is_critical, preferred_mode)
from services.notifications.domain.sending import sent_event, trace_of
from services.notifications.domain.settings import WorkingCalendar, calendar_for, quiet_until
from shared.domain import new_id

STATES = ("queued", "held", "sent", "failed", "suppressed")

# Why a notification was held or not sent (beside routing's preference off and unsubscribed).
REASON_NO_CONTACT = "no contact"
REASON_ENDPOINT_DISABLED = "webhook endpoint disabled"
REASON_OUTSIDE_WINDOW = "outside send window"
REASON_QUIET_HOURS = "quiet hours"
REASON_DIGEST = "waiting for the digest"
REASON_RESOLVED = "cancelled: resolved before it was sent"


@dataclass(frozen=True)
class EventNeeds:
    """What deciding on one event needs loaded: the people of each audience its rules name
    (``People`` or ``Watching``, by audience name) and the ladder it would start."""
    audiences: dict
    ladder_id: str | None = None


@dataclass(frozen=True)
class EventContext:
    """What was loaded for ``EventNeeds``: the recipients of each audience, and the stored
    ladder (None when there is none)."""
    people: dict
    ladder: dict | None = None


@dataclass
class EventPlan:
    """Everything one event changes, stored at once: the event kept for the weekly summary,
    the ladder it cancels (``{ladder_id, cancelled_by, cancelled_at}``) or starts, and its
    notifications as (document, events) pairs in the order they were decided."""
    seen: dict | None = None
    cancel_ladder: dict | None = None
    start_ladder: dict | None = None
    notifications: list = field(default_factory=list)


def needs_of(envelope, rules, settings):
    """What deciding on ``envelope`` under its matching ``rules`` needs loaded."""
    names = [name for name in AUDIENCES if any(name in rule["audience"] for rule in rules)]
    audiences = {name: audience_of(name, envelope) for name in names}
    ladder = ladder_for(envelope, settings)
    return EventNeeds({name: who for name, who in audiences.items() if who is not None},
                      ladder["_id"] if ladder is not None else None)


def plan_event(envelope, rules, context, now, settings, summary):
    """The plan of one event: its matching ``rules`` applied to the people ``context`` holds.
    A ladder already cancelled (resolved before the escalation arrived) is not chased: the
    event's notices are sent but join no ladder."""
    ladder = ladder_for(envelope, settings)
    ladder_id = None
    if ladder is not None and (context.ladder or {}).get("state") != "cancelled":
        ladder_id = ladder["_id"]
    stopped = ladder_stopped_by(envelope)
    plan = EventPlan(
        seen=seen_for_summary(envelope),
        cancel_ladder={"ladder_id": stopped, "cancelled_by": str(envelope["event_id"]),
                       "cancelled_at": now} if stopped else None,
        start_ladder=ladder if ladder is not None and context.ladder is None else None)
    for rule in rules:
        people = _reached(rule["audience"], context.people)
        plan.notifications += notifications_for(envelope, rule, people, now, settings, summary,
                                                ladder_id)
    return plan


def _reached(audience_names, people):
    """The recipients of the named audiences, each once, by staff id."""
    reached = {}
    for name in audience_names:
        for person in people.get(name) or ():
            reached.setdefault(person["_id"], person)
    return [reached[key] for key in sorted(reached)]


def notifications_for(envelope, rule, people, now, settings, summary, ladder_id=None,
                      critical=None):
    """(notification, events) for each of ``people`` by each of the rule's channels. The
    inbox is this service's own store: a queued inbox notice is delivered by being written
    (sent, with its ``notification.sent`` event)."""
    planned = []
    for person in people:
        for channel in rule.get("channels") or CHANNELS:
            notification = plan_notification(person, envelope, rule, channel, now, settings,
                                             summary, ladder_id, critical)
            events = ()
            if channel == "inbox" and notification["state"] == "queued":
                notification.update(state="sent", sent_at=now, attempts=1, unread=True,
                                    due_at=None)
                events = (sent_event(notification, now, trace_of(notification)),)
            planned.append((notification, events))
    return planned


def dedupe_key(event_id, recipient_id, channel):
    """Exactly one notification per (event, recipient, channel): the repository's unique key."""
    return f"{event_id}:{recipient_id}:{channel}"


def next_sending_time(recipient, now, settings):
    """(when a non-critical push may go, why it waits or None): the send window must be
    open and the person's quiet hours over (whichever holds it last is the reason)."""
    calendar, due, reason = calendar_for(recipient, settings), now, None
    for _ in range(4):  # a quiet end outside the window, a window opening inside quiet hours
        opening = calendar.next_opening(due)
        if opening > due:
            due, reason = opening, REASON_OUTSIDE_WINDOW
        quiet = quiet_until(recipient, due, settings)
        if quiet is None:
            return due, reason
        due, reason = quiet, REASON_QUIET_HOURS
    return calendar.next_opening(due), reason


def plan_notification(recipient, envelope, rule, channel, now, settings, summary,
                      ladder_id=None, critical=None):
    """One notification document for ``recipient`` about ``envelope`` by ``channel``: its
    state (queued, held, suppressed) and why, and when it is due. Critical rules ignore
    ``off``, digests, the send window and quiet hours; nothing ignores a missing contact."""
    event_type = envelope["event_type"]
    critical = is_critical(rule, envelope["data"]) if critical is None else critical
    mode, reason = preferred_mode(recipient, event_type, channel, rule["mode"])
    if critical:
        mode, reason = "immediate", None
    if channel == "inbox" and mode == "digest":
        mode = "immediate"  # the inbox is read, never pushed: nothing to batch
    state, due_at = "queued", now
    webhook = (recipient.get("contacts") or {}).get("webhook") or {}
    if mode == "off":
        state = "suppressed"
    elif not has_contact(recipient, channel):
        state, reason = "suppressed", REASON_NO_CONTACT
    elif channel == "webhook" and webhook.get("disabled_at"):
        state, reason = "suppressed", REASON_ENDPOINT_DISABLED
    elif mode == "digest":
        state, reason = "held", REASON_DIGEST
        due_at = next_digest_at(recipient, now, settings)
    elif channel != "inbox" and not critical:
        due_at, reason = next_sending_time(recipient, now, settings)
        state = "held" if due_at > now else state
    return {
        "_id": new_id("ntf"),
        "dedupe_key": dedupe_key(str(envelope["event_id"]), recipient["_id"], channel),
        "kind": "notice",
        "event_id": str(envelope["event_id"]),
        "event_type": event_type,
        "occurred_at": as_aware(envelope["occurred_at"]),
        "correlation_id": envelope.get("correlation_id"),
        "network_id": envelope["network_id"],
        "recipient_id": recipient["_id"],
        "channel": channel,
        "route": f"{event_type}/{rule['name']}",
        "mode": mode,
        "critical": critical,
        "state": state,
        "reason": reason,
        "due_at": due_at,
        "attempts": 0,
        "last_error": None,
        "claimed_until": None,
        "digest_id": None,
        "ladder_id": ladder_id,
        "summary": summary,
        "data": thin_data(envelope["data"]),
        "created_at": now,
        "sent_at": None,
        "read_at": None,
        "archived_at": None,
        "version": 1,
    }


# --- escalation and reminder ladders -----------------------------------------------------------

LADDER_HUDDLE = "huddle_escalation"
LADDER_OVERDUE = "submission_overdue"


def ladder_for(envelope, settings):
    """The ladder an event starts, as a document, or None. Steps are due in working time
    of the network's calendar; each step notifies an audience with a critical notice."""
    data, event_type = envelope["data"], envelope["event_type"]
    calendar = WorkingCalendar(settings)
    if event_type == "huddle.item_escalated":
        start = as_aware(data["escalated_at"])
        return _ladder(LADDER_HUDDLE, data["item_id"], envelope, [
            {"due_at": calendar.add_working_hours(start, settings.escalation_sla_hours),
             "audience": "network_lead", "name": "escalation_past_sla", "critical": True}])
    if event_type == "measurement.submission_overdue":
        start = as_aware(envelope["occurred_at"])
        return _ladder(LADDER_OVERDUE, overdue_subject(data), envelope, [
            {"due_at": calendar.add_working_days(start, settings.overdue_escalation_days),
             "audience": "network_lead", "name": "overdue_to_network_lead", "critical": False}])
    return None


def overdue_subject(data):
    period = data["period"]
    period = period.isoformat() if hasattr(period, "isoformat") else str(period)
    return f"{data['measure_id']}:{data['practice_id']}:{period}"


def _ladder(kind, subject, envelope, steps):
    return {"_id": f"{kind}:{envelope['network_id']}:{subject}", "kind": kind,
            "subject": subject, "network_id": envelope["network_id"],
            "practice_id": envelope.get("practice_id") or envelope["data"].get("practice_id"),
            "started_by": thin_envelope(envelope), "state": "active",
            "next_due_at": min(step["due_at"] for step in steps),
            "steps": [{**step, "done_at": None} for step in steps],
            "cancelled_by": None, "version": 1}


def ladder_stopped_by(envelope):
    """(ladder id) that ``envelope`` cancels, or None: a huddle item's resolution, or the
    practice's submission for the overdue period."""
    data, event_type = envelope["data"], envelope["event_type"]
    if event_type == "huddle.item_resolved":
        return f"{LADDER_HUDDLE}:{envelope['network_id']}:{data['item_id']}"
    if event_type == "measurement.recorded":
        return f"{LADDER_OVERDUE}:{envelope['network_id']}:{overdue_subject(data)}"
    return None


def ladder_step_envelope(ladder, index):
    """The envelope a ladder step notifies about: the starting event's, with its own id, so
    that the step dedupes per (step, recipient, channel) like any event."""
    started = ladder["started_by"]
    step = ladder["steps"][index]
    return {**started, "event_id": f"{ladder['_id']}:step{index}",
            "event_type": started["event_type"], "step": step["name"]}


def step_rule(step):
    """The rule a ladder step notifies by: immediately, on every channel."""
    return {"name": step["name"], "mode": "immediate", "channels": list(CHANNELS),
            "critical": step["critical"]}
