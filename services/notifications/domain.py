"""Who hears what, when: recipients, routes, preferences, send windows, digests and ladders.

Plain Python on dicts (see ``shared/domain.py``): functions decide, the repository stores.
Contact details (an email address, a webhook endpoint and its secret) live only in recipient
documents; everything else (notifications, events, logs, metric labels) names a person by the
pseudonymous staff id.
"""
import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.domain import EventSource, NotFoundError, NotPermitted, RuleBroken, new_id
from shared.storage import as_utc

SOURCE = EventSource("notifications")

ROLES = ("network_lead", "practice_lead", "project_lead", "leader", "ops")
SCOPES = ("network", "practice", "team", "project")
CHANNELS = ("email", "webhook", "inbox")
PUSH_CHANNELS = ("email", "webhook")
MODES = ("immediate", "digest", "off")
STATES = ("queued", "held", "sent", "failed", "suppressed")
WATCHABLE = ("measure", "project")

# Why a notification was held or not sent: the audit of each one.
REASON_PREFERENCE_OFF = "preference off"
REASON_UNSUBSCRIBED = "unsubscribed"
REASON_NO_CONTACT = "no contact"
REASON_ENDPOINT_DISABLED = "webhook endpoint disabled"
REASON_OUTSIDE_WINDOW = "outside send window"
REASON_DIGEST = "waiting for the digest"
REASON_RESOLVED = "cancelled: resolved before it was sent"

# Who a route rule reaches. Each names a rule for finding people from an event (see audience()).
AUDIENCES = {
    "network_lead": "the network leads of the event's network",
    "project_lead": "the project lead(s) of the event's project",
    "project_team": "everyone scoped to the event's project",
    "practice_lead": "the practice lead(s) of the event's practice",
    "named_leader": "the leader the event names (escalated_to)",
    "team_leader": "the leader(s) of the event's team",
    "watchers": "people who follow the event's measure or project",
}

# The default routes of every event type someone must act on. A network lead may replace the
# rules of an event type for their network (stored routes); these hold where they have not.
# A rule: when (event data field -> accepted values), audience, mode (immediate | digest),
# channels, critical (always) and critical_measure_ids (critical for those measures only:
# the measures a network marks safety-related).
DEFAULT_ROUTES = {
    "measurement.signal_detected": [
        {"name": "concern", "when": {"kind": ["concern"]},
         "audience": ["network_lead", "project_lead", "watchers"], "mode": "immediate",
         "channels": list(CHANNELS), "critical": False, "critical_measure_ids": []},
        {"name": "improvement", "when": {"kind": ["improvement"]},
         "audience": ["project_team", "watchers"], "mode": "digest",
         "channels": list(CHANNELS), "critical": False, "critical_measure_ids": []},
    ],
    "measurement.assurance_changed": [
        {"name": "assurance", "when": {}, "audience": ["project_lead", "watchers"],
         "mode": "immediate", "channels": list(CHANNELS), "critical": False,
         "critical_measure_ids": []},
    ],
    "huddle.item_escalated": [
        {"name": "escalated", "when": {}, "audience": ["named_leader"], "mode": "immediate",
         "channels": list(CHANNELS), "critical": False, "critical_measure_ids": []},
    ],
    "measurement.submission_overdue": [
        {"name": "overdue", "when": {}, "audience": ["practice_lead"], "mode": "immediate",
         "channels": list(CHANNELS), "critical": False, "critical_measure_ids": []},
    ],
    # Never broadcast a named person's gap: only their team leader hears, in the digest.
    "training.capability_gap_identified": [
        {"name": "gap", "when": {}, "audience": ["team_leader"], "mode": "digest",
         "channels": list(CHANNELS), "critical": False, "critical_measure_ids": []},
    ],
    "training.target_at_risk": [
        {"name": "target_at_risk", "when": {}, "audience": ["network_lead"],
         "mode": "immediate", "channels": list(CHANNELS), "critical": False,
         "critical_measure_ids": []},
    ],
}

# Event types nobody is notified of, on purpose, and why.
UNROUTED = {
    "project.created": "a registry change; nobody must act on it",
    "project.stage_changed": "progress shows on the project; nobody must act on it",
    "project.practice_joined": "a registry change; the practice's data duties follow from it",
    "project.member_added": "a registry change; nobody must act on it",
    "pdsa.cycle_started": "the team's own work; fidelity nudges belong to the projects service",
    "pdsa.cycle_completed": "the team's own work; nobody else must act on it",
    "huddle.item_raised": "the team sees it on its board; only an escalation needs a leader",
    "huddle.item_resolved": "stops the item's escalation ladder; nothing to act on",
    "apikey.issued": "a platform event; it carries no one to notify",
    "apikey.revoked": "a platform event; it carries no one to notify",
    "measurement.recorded": "cancels the practice's overdue reminders; nothing to act on",
    "measurement.corrected": "kept in the audit trail; a signal follows if the series changes",
    "training.enrolled": "the person booked the place themself; the cohort list shows it",
    "training.waitlisted": "the person asked for the place and sees their position",
    "training.moved_up_from_waiting_list": "the training service tells the person (it holds "
                                           "no contact details we could use: staff ids only)",
    "training.completed": "progress; the level it leads to is the news, and that is recorded",
    "training.level_awarded": "recorded for the capability report; nobody must act on it",
    "training.gap_closed": "closes a gap the leader was told of; nothing left to act on",
    "training.repeated_absence": "names the team's leaders but no team: the leaders see it in "
                                 "the training service's cohort register",
    "notification.sent": "this service's own record of a delivery",
    "notification.failed": "listed at GET /deliveries?status=failed and alerted on",
}

# Escalation and reminder ladders: the events that start and stop them.
LADDER_HUDDLE = "huddle_escalation"
LADDER_OVERDUE = "submission_overdue"


@dataclass(frozen=True)
class Settings:
    """What a deployment configures (``settings_from_config``); defaults as the issue says."""
    time_zone: str = "Europe/London"
    window_days: tuple = (0, 1, 2, 3, 4)  # Monday..Friday
    window_start: time = time(8, 0)
    window_end: time = time(18, 30)
    bank_holidays: frozenset = frozenset()
    digest_time: time = time(8, 0)
    summary_weekday: int = 0  # the weekly network summary goes out on Mondays
    escalation_sla_hours: float = 24.0
    overdue_escalation_days: int = 2
    max_attempts: int = 5
    backoff_base_seconds: float = 30.0
    backoff_cap_seconds: float = 3600.0
    send_lease_seconds: float = 60.0
    base_url: str = "http://localhost:8004"
    projects_url: str = "http://localhost:8001"
    measurement_url: str = "http://localhost:8002"
    training_url: str = "http://localhost:8003"
    unsubscribe_secret: str = field(default="", repr=False)
    allow_private_endpoints: bool = False
    # After a webhook secret is rotated, the old one signs beside the new for this long.
    webhook_rotation_overlap_hours: float = 24.0

    @property
    def webhook_rotation_overlap(self):
        return timedelta(hours=self.webhook_rotation_overlap_hours)

    @property
    def working_day_hours(self):
        start = datetime.combine(date(2000, 1, 3), self.window_start)
        return (datetime.combine(date(2000, 1, 3), self.window_end) - start).total_seconds() / 3600


def signing_secrets(webhook, now):
    """The secrets a webhook call is signed with: the current one, and the one it replaced
    while their overlap lasts."""
    secrets = [webhook["secret"]]
    until = as_utc(webhook.get("previous_until"))
    if webhook.get("previous_secret") and until is not None and until > now:
        secrets.append(webhook["previous_secret"])
    return secrets


def parse_clock(text, what):
    """``"08:00"`` → ``time(8, 0)``; a ``RuleBroken`` naming ``what`` otherwise."""
    try:
        hours, minutes = (int(part) for part in str(text).split(":"))
        return time(hours, minutes)
    except (ValueError, TypeError):
        raise RuleBroken(f"{what} must be a time of day such as 08:00",
                         {what: [f"{text!r} is not HH:MM"]}) from None


def zone(name, what="time_zone"):
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise RuleBroken(f"unknown time zone {name!r}",
                         {what: [f"{name!r} is not an IANA time zone such as Europe/London"]}
                         ) from None


def settings_from_config(config):
    """Settings from a nameko config dict (``NOTIFICATIONS_*`` keys), checked once at start."""
    prefix = "NOTIFICATIONS_"
    given = {key[len(prefix):].lower(): value for key, value in config.items()
             if key.startswith(prefix)}
    values = {}
    for name in ("window_start", "window_end", "digest_time"):
        if name in given:
            values[name] = parse_clock(given.pop(name), prefix + name.upper())
    if "bank_holidays" in given:
        values["bank_holidays"] = frozenset(date.fromisoformat(str(day))
                                            for day in given.pop("bank_holidays") or ())
    if "window_days" in given:
        values["window_days"] = tuple(int(day) for day in given.pop("window_days"))
    known = set(Settings.__dataclass_fields__)
    unknown = sorted(set(given) - known)
    if unknown:
        names = ", ".join(prefix + name.upper() for name in unknown)
        raise ValueError(f"unknown notifications settings: {names}")
    settings = Settings(**values, **given)
    zone(settings.time_zone, prefix + "TIME_ZONE")
    return settings


# --- send windows and working time ------------------------------------------------------------

class WorkingCalendar:
    """Working hours in one time zone: the send window, and the clock SLAs are counted in."""

    def __init__(self, settings, time_zone=None):
        self.settings = settings
        self.zone = zone(time_zone or settings.time_zone)

    def _window_on(self, day):
        """(opens, closes) as aware datetimes on local ``day``, or None on a day off."""
        if day.weekday() not in self.settings.window_days or day in self.settings.bank_holidays:
            return None
        return (datetime.combine(day, self.settings.window_start, self.zone),
                datetime.combine(day, self.settings.window_end, self.zone))

    def is_open(self, moment):
        window = self._window_on(moment.astimezone(self.zone).date())
        return window is not None and window[0] <= moment < window[1]

    def next_opening(self, moment):
        """``moment`` if the window is open then, else when it next opens (UTC)."""
        day = moment.astimezone(self.zone).date()
        for offset in range(0, 400):
            window = self._window_on(day + timedelta(days=offset))
            if window is None:
                continue
            if moment < window[1]:
                return max(moment, window[0]).astimezone(timezone.utc)
        raise RuleBroken("the send window never opens: check the working days and holidays")

    def add_working_hours(self, moment, hours):
        """The moment ``hours`` of working time after ``moment`` (UTC): the clock runs only
        inside the window, so 24 working hours from Friday 17:00 land mid-week."""
        remaining = timedelta(hours=hours)
        current = self.next_opening(moment)
        while True:
            closes = self._window_on(current.astimezone(self.zone).date())[1]
            if current + remaining <= closes:
                return (current + remaining).astimezone(timezone.utc)
            remaining -= closes - current
            current = self.next_opening(closes + timedelta(microseconds=1))

    def add_working_days(self, moment, days):
        return self.add_working_hours(moment, days * self.settings.working_day_hours)

    def next_local_time(self, after, clock, weekday=None):
        """The first moment strictly after ``after`` at local ``clock`` (on ``weekday``)."""
        day = after.astimezone(self.zone).date()
        for offset in range(0, 15):
            candidate = datetime.combine(day + timedelta(days=offset), clock, self.zone)
            if candidate > after and (weekday is None or candidate.weekday() == weekday):
                return candidate.astimezone(timezone.utc)
        raise AssertionError("unreachable: a weekday recurs within a fortnight")


def calendar_for(recipient, settings):
    return WorkingCalendar(settings, recipient.get("time_zone") or settings.time_zone)


# --- recipients and watchers -------------------------------------------------------------------

def new_recipient(command, now):
    """A recipient document from a loaded ``RecipientSchema`` command."""
    webhook = None
    if command.get("webhook_url"):
        webhook = {"url": command["webhook_url"], "secret": None, "disabled_at": None}
    return {
        "_id": command["staff_id"],
        "network_id": command["network_id"],
        "practice_id": command.get("practice_id"),
        "role": command["role"],
        "scope": command["scope"],
        "contacts": {"email": command.get("email"), "webhook": webhook},
        "time_zone": command.get("time_zone"),
        "digest_time": command.get("digest_time"),
        "preferences": {"by_event": {}, "by_channel": {}},
        "unsubscribed": [],
        "created_at": now,
        "version": 1,
    }


def check_may_manage_network(principal, network_id):
    """Network leads manage their own network's recipients and routes; admin everything."""
    if not principal.may_act_for_network(network_id):
        raise NotPermitted("only this network's lead (or an admin) may do this",
                           {"network_id": [f"not yours: {network_id}"]})


def may_see_person(principal, recipient):
    """A person sees themself (their own key: its staff id, in their network); their network's
    lead and admin see them; a practice key sees only its own practice's people (never another
    practice's)."""
    if principal.is_admin or principal.may_act_for_network(recipient["network_id"]):
        return True
    if (principal.role == "person" and principal.staff_id == recipient["_id"]
            and principal.network_id == recipient["network_id"]):
        return True
    return (principal.role == "practice" and principal.network_id == recipient["network_id"]
            and recipient.get("practice_id") is not None
            and principal.practice_id == recipient.get("practice_id"))


def own_staff_id(principal):
    """The caller's own staff id, for the routes of one's own inbox and preferences: only a
    person key has one."""
    if principal.staff_id is None:
        raise NotPermitted("this is a person's own: call it with their person key, or use "
                           "/recipients/<staff_id>/...", {"role": [f"{principal.role} keys "
                                                                   "carry no staff id"]})
    return principal.staff_id


def check_person(principal, recipient, staff_id):
    """404 for a person the principal may not see (it does not learn they exist)."""
    if recipient is None or not may_see_person(principal, recipient):
        raise NotFoundError(f"no such recipient {staff_id}", {"staff_id": ["not found"]})
    return recipient


def watcher_id(staff_id, subject_kind, subject_id):
    return f"{staff_id}:{subject_kind}:{subject_id}"


# --- routes and preferences --------------------------------------------------------------------

def routes_for(event_type, stored_route):
    """The rules in force for ``event_type``: the network's stored ones, else the defaults."""
    if stored_route is not None:
        return stored_route["rules"]
    return DEFAULT_ROUTES.get(event_type, [])


def rule_matches(rule, data):
    return all(data.get(name) in accepted for name, accepted in (rule.get("when") or {}).items())


def is_critical(rule, data):
    return bool(rule.get("critical")) or (
        data.get("measure_id") is not None
        and data.get("measure_id") in (rule.get("critical_measure_ids") or ()))


def preferred_mode(recipient, event_type, channel, route_mode):
    """The mode for one person, event type and channel: the most specific layer that says
    something wins: per event type and channel, then per channel, then the route's default.
    ``unsubscribed`` is reported apart from ``off`` so that the audit says which it was."""
    if channel == "email" and event_type in (recipient.get("unsubscribed") or ()):
        return "off", REASON_UNSUBSCRIBED
    preferences = recipient.get("preferences") or {}
    by_event = (preferences.get("by_event") or {}).get(event_type) or {}
    mode = by_event.get(channel) or (preferences.get("by_channel") or {}).get(channel)
    mode = mode or route_mode
    return mode, (REASON_PREFERENCE_OFF if mode == "off" else None)


def audience_selectors(selector, envelope):
    """The recipient filter (a MongoDB selector) for one audience of one event, or None when
    the event does not carry what the audience needs (no project, no named leader...)."""
    data = envelope["data"]
    network = {"network_id": envelope["network_id"]}
    if selector == "network_lead":
        return {**network, "role": "network_lead"}
    if selector == "project_lead" and data.get("project_id"):
        return {**network, "role": "project_lead", "scope.kind": "project",
                "scope.id": data["project_id"]}
    if selector == "project_team" and data.get("project_id"):
        return {**network, "scope.kind": "project", "scope.id": data["project_id"]}
    practice_id = data.get("practice_id") or envelope.get("practice_id")
    if selector == "practice_lead" and practice_id:
        return {**network, "role": "practice_lead", "practice_id": practice_id}
    if selector == "named_leader" and data.get("escalated_to"):
        return {**network, "_id": data["escalated_to"]}
    if selector == "team_leader" and data.get("team"):
        # A team is named within its practice (training's staff register): the leader of
        # "reception" at another practice is not this person's leader.
        team = {**network, "role": "leader", "scope.kind": "team", "scope.id": data["team"]}
        return {**team, "practice_id": practice_id} if practice_id else team
    return None


def watched_subjects(data):
    """(kind, id) of what an event is about that a person may follow."""
    return [(kind, data[f"{kind}_id"]) for kind in WATCHABLE if data.get(f"{kind}_id")]


# --- notifications -----------------------------------------------------------------------------

def dedupe_key(event_id, recipient_id, channel):
    """Exactly one notification per (event, recipient, channel): the repository's unique key."""
    return f"{event_id}:{recipient_id}:{channel}"


def has_contact(recipient, channel):
    contacts = recipient.get("contacts") or {}
    if channel == "email":
        return bool(contacts.get("email"))
    if channel == "webhook":
        return bool((contacts.get("webhook") or {}).get("url"))
    return True


def plan_notification(recipient, envelope, rule, channel, now, settings, summary,
                      ladder_id=None, critical=None):
    """One notification document for ``recipient`` about ``envelope`` by ``channel``: its
    state (queued, held, suppressed) and why, and when it is due. Critical rules ignore
    ``off``, digests and the send window; nothing ignores a missing contact."""
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
        opening = calendar_for(recipient, settings).next_opening(now)
        if opening > now:
            state, reason, due_at = "held", REASON_OUTSIDE_WINDOW, opening
    return {
        "_id": new_id("ntf"),
        "dedupe_key": dedupe_key(envelope["event_id"], recipient["_id"], channel),
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


THIN_FIELDS = ("kind", "period", "series", "rule", "current", "previous", "team",
               "was_escalated")


def thin_data(data):
    """What may leave the service about an event: ids and a few descriptive words, never a
    contact or free text (webhook bodies and stored notices carry only this)."""
    return {name: value for name, value in data.items()
            if (name.endswith("_id") or name in THIN_FIELDS)
            and (value is None or isinstance(value, (str, int, float, bool)))}


def backoff_seconds(attempts, settings, rng=random):
    """Exponential backoff with full jitter after ``attempts`` failures, capped."""
    ceiling = min(settings.backoff_cap_seconds,
                  settings.backoff_base_seconds * math.pow(2, max(attempts - 1, 0)))
    return settings.backoff_base_seconds / 2 + rng.uniform(0, ceiling)


def after_failure(notification, error, now, settings, rng=random):
    """The fields to set after a failed send: retry later (backoff, or what the receiver
    asked with Retry-After), or ``failed`` when the error is final or attempts ran out."""
    attempts = notification["attempts"] + 1
    final = not error.retryable or attempts >= settings.max_attempts
    fields = {"attempts": attempts, "last_error": error.reason, "claimed_until": None}
    if final:
        return {**fields, "state": "failed", "reason": error.reason, "failed_at": now}
    wait = backoff_seconds(attempts, settings, rng)
    if error.retry_after is not None:
        wait = max(wait, error.retry_after)
    return {**fields, "state": "queued", "due_at": now + timedelta(seconds=wait)}


def sent_event(notification, now, trace):
    occurred = as_aware(notification["occurred_at"])
    return SOURCE.event("notification.sent", {
        "notification_id": notification["_id"], "event_id": notification["event_id"],
        "event_type": notification["event_type"], "recipient_id": notification["recipient_id"],
        "channel": notification["channel"], "route": notification["route"],
        "attempts": max(notification["attempts"], 1), "sent_at": now,
        "latency_seconds": max((now - occurred).total_seconds(), 0.0),
    }, notification["network_id"], trace)


def failed_event(notification, fields, trace):
    return SOURCE.event("notification.failed", {
        "notification_id": notification["_id"], "event_id": notification["event_id"],
        "event_type": notification["event_type"], "recipient_id": notification["recipient_id"],
        "channel": notification["channel"], "route": notification["route"],
        "attempts": fields["attempts"], "reason": fields["reason"],
        "failed_at": fields["failed_at"],
    }, notification["network_id"], trace)


def as_aware(moment):
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# --- digests and the weekly summary -----------------------------------------------------------

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


# --- escalation and reminder ladders -----------------------------------------------------------

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
            "started_by": envelope, "state": "active",
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
