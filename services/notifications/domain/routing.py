"""Routing: which event types reach whom, by which channels and in which mode.

A route is a list of rules per event type (the defaults below, or a network's stored ones);
a rule names audiences, and an audience of one event is said in plain terms (``People``,
``Watching``) that the repository alone turns into queries.
"""
from dataclasses import dataclass

from services.notifications.domain.events import as_text

CHANNELS = ("email", "webhook", "inbox")
PUSH_CHANNELS = ("email", "webhook")
MODES = ("immediate", "digest", "off")
WATCHABLE = ("measure", "project")

REASON_PREFERENCE_OFF = "preference off"
REASON_UNSUBSCRIBED = "unsubscribed"

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
    "network.registered": "a registry change; nobody must act on it",
    "practice.registered": "a registry change; nobody must act on it",
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


@dataclass(frozen=True)
class People:
    """The recipients of ``network_id`` with every trait given (None: any): a role, a scope
    (kind and id), a practice, or one person's staff id."""
    network_id: str
    role: str | None = None
    scope_kind: str | None = None
    scope_id: str | None = None
    practice_id: str | None = None
    staff_id: str | None = None


@dataclass(frozen=True)
class Watching:
    """The recipients who follow any of ``subjects`` ((kind, id) pairs) in ``network_id``."""
    network_id: str
    subjects: tuple


def routes_for(event_type, stored_route):
    """The rules in force for ``event_type``: the network's stored ones, else the defaults."""
    if stored_route is not None:
        return stored_route["rules"]
    return DEFAULT_ROUTES.get(event_type, [])


def rule_matches(rule, data):
    """True when every condition of the rule holds: the data field's value (as the event
    carried it in JSON) is one of the accepted ones."""
    return all(as_text(data.get(name)) in accepted
               for name, accepted in (rule.get("when") or {}).items())


def matching_rules(envelope, stored_route):
    """The rules in force for the event that its data matches, in their order."""
    return [rule for rule in routes_for(envelope["event_type"], stored_route)
            if rule_matches(rule, envelope["data"])]


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


def audience_of(name, envelope):
    """Who the audience ``name`` of one event is (``People`` or ``Watching``), or None when
    the event does not carry what the audience needs (no project, no named leader...)."""
    data, network_id = envelope["data"], envelope["network_id"]
    practice_id = data.get("practice_id") or envelope.get("practice_id")
    if name == "network_lead":
        return People(network_id, role="network_lead")
    if name == "project_lead" and data.get("project_id"):
        return People(network_id, role="project_lead", scope_kind="project",
                      scope_id=data["project_id"])
    if name == "project_team" and data.get("project_id"):
        return People(network_id, scope_kind="project", scope_id=data["project_id"])
    if name == "practice_lead" and practice_id:
        return People(network_id, role="practice_lead", practice_id=practice_id)
    if name == "named_leader" and data.get("escalated_to"):
        return People(network_id, staff_id=data["escalated_to"])
    if name == "team_leader" and data.get("team"):
        # A team is named within its practice (training's staff register): the leader of
        # "reception" at another practice is not this person's leader.
        return People(network_id, role="leader", scope_kind="team", scope_id=data["team"],
                      practice_id=practice_id)
    if name == "watchers" and watched_subjects(data):
        return Watching(network_id, tuple(watched_subjects(data)))
    return None


def watched_subjects(data):
    """(kind, id) of what an event is about that a person may follow."""
    return [(kind, data[f"{kind}_id"]) for kind in WATCHABLE if data.get(f"{kind}_id")]
