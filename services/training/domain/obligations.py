"""A person's obligations under the framework, kept in their staff document beside the levels
they hold, and the gaps they become. An obligation is ``pending`` until its due date, ``gap``
once it is overdue or lapsed (the gap event is raised at that transition, once), then ``met``
(the closing event, once) or ``cancelled`` (the person left, or the rule no longer applies to
them). ``next_due_on``, the earliest pending due date, is the indexed field the overdue check
asks for. A project lead without the required level has a gap when the project leaves
planning."""
from datetime import date

from services.training.domain.framework import (EVENTS, add_days, day, effective_levels,
                                                highest_level, holds)
from shared.domain import Change, new_id


def applies(requirement, staff):
    kind = requirement["applies_to"]
    return (kind == "everyone" or (kind == "leaders" and staff["leader"])
            or (kind == "role" and staff["role"] == requirement["role"]))


def obligation_id(requirement_id, project_id=None):
    return f"{requirement_id}:{project_id}" if project_id else requirement_id


def new_obligation(key, requirement_id, level, due_on, reason, project_id=None):
    return {"obligation_id": key, "requirement_id": requirement_id, "level": level,
            "due_on": due_on, "reason": reason, "project_id": project_id, "state": "pending",
            "gap_id": None, "opened_on": None, "closed_on": None}


def derive_obligations(staff, framework, now):
    """The person's obligations under the framework: gaps raised and obligations met stay
    as they are; pending ones take the current terms, due no earlier than the day their
    requirement took effect, so nobody is overdue for a time before a rule applied."""
    today = day(now)
    kept = {o["obligation_id"]: o for o in staff.get("obligations") or ()}
    result = []
    for requirement in framework["requirements"]:
        if requirement["anchor"] != "start" or not applies(requirement, staff):
            continue
        key = obligation_id(requirement["requirement_id"])
        due_on = add_days(staff["started_on"], requirement["within_days"])
        if requirement.get("effective_from") and due_on < requirement["effective_from"]:
            due_on = requirement["effective_from"]
        current = kept.pop(key, None)
        if current and current["state"] in ("gap", "met"):
            result.append(current)
        elif holds(staff, requirement["level"], today, framework["refresh_days"]):
            result.append({**(current or new_obligation(key, requirement["requirement_id"],
                                                        requirement["level"], due_on, "overdue")),
                           "state": "met", "closed_on": today})
        else:
            base = current or new_obligation(key, requirement["requirement_id"],
                                             requirement["level"], due_on, "overdue")
            result.append({**base, "level": requirement["level"], "due_on": due_on,
                           "state": "pending"})
    for level, award in (staff.get("levels") or {}).items():
        period = framework["refresh_days"].get(level)
        if not period:
            continue
        # One obligation per refresh period, keyed by its due date: a refresher starts the
        # next period, and the previous one is met (its gap, if it lapsed, closes).
        due_on = add_days(award.get("refreshed_on") or award["awarded_on"], period)
        key = f"refresh_{level}:{due_on}"
        result.append(kept.pop(key, None)
                      or new_obligation(key, f"refresh_{level}", level, due_on, "lapsed"))
    for key, obligation in kept.items():
        if obligation["state"] in ("met", "cancelled"):
            result.append(obligation)
        elif obligation["reason"] == "lapsed":
            result.append({**obligation, "state": "met", "closed_on": today})
        elif obligation.get("project_id") or obligation["state"] == "gap":
            # Project leads' obligations come from project events; a raised gap stays open
            # until the level is held.
            result.append(obligation)
        else:
            result.append({**obligation, "state": "cancelled", "closed_on": today})
    if staff.get("left_on") and staff["left_on"] <= today:
        result = [{**o, "state": "cancelled", "closed_on": today}
                  if o["state"] in ("pending", "gap") else o for o in result]
    return result


def next_due_on(obligations):
    """The earliest due date of a pending obligation: the indexed field the check asks for."""
    pending = [o["due_on"] for o in obligations if o["state"] == "pending"]
    return min(pending) if pending else None


def with_obligations(staff, obligations):
    return {"obligations": obligations, "next_due_on": next_due_on(obligations)}


# --- gaps ------------------------------------------------------------------------------------


def gap_event(staff, obligation, trace):
    return EVENTS.event("training.capability_gap_identified", {
        "gap_id": obligation["gap_id"], "staff_id": staff["_id"],
        "practice_id": staff["practice_id"], "team": staff["team"],
        "level": obligation["level"], "reason": obligation["reason"],
        "requirement_id": obligation["requirement_id"],
        "due_on": date.fromisoformat(obligation["due_on"]),
        "project_id": obligation.get("project_id"),
        "held_level": obligation.get("held_level", "none")},
        staff["network_id"], trace, practice_id=staff["practice_id"])


def closed_event(staff, obligation, closed_on, trace):
    return EVENTS.event("training.gap_closed", {
        "gap_id": obligation["gap_id"], "staff_id": staff["_id"],
        "practice_id": staff["practice_id"], "level": obligation["level"],
        "requirement_id": obligation["requirement_id"],
        "closed_on": date.fromisoformat(closed_on),
        "how": "left" if obligation["state"] == "cancelled" else "level_held"},
        staff["network_id"], trace, practice_id=staff["practice_id"])


def open_gap(obligation, staff, today, refresh_days):
    return {**obligation, "state": "gap", "gap_id": new_id("gap"), "opened_on": today,
            "held_level": highest_level(staff, today, refresh_days)}


def fall_due(staff, framework, now, trace):
    """The overdue pass for one person: every pending obligation whose due date has come is
    met (the level is held) or becomes a gap, raising its event once. ``None`` if nothing
    changes (another replica got there first, or the level was awarded meanwhile)."""
    today = day(now)
    refresh = framework["refresh_days"]
    obligations, events = [], []
    for obligation in staff["obligations"]:
        if obligation["state"] != "pending" or obligation["due_on"] > today:
            obligations.append(obligation)
        elif obligation["reason"] != "lapsed" and holds(staff, obligation["level"], today,
                                                        refresh):
            obligations.append({**obligation, "state": "met", "closed_on": today})
        else:
            opened = open_gap(obligation, staff, today, refresh)
            obligations.append(opened)
            events.append(gap_event(staff, opened, trace))
    if obligations == staff["obligations"]:
        return None
    return Change(staff, set=with_obligations(staff, obligations), events=events)


def close_met_gaps(staff, obligations, today, refresh_days):
    """Obligations the person's levels now meet become ``met`` (a lapse closes only by its
    refresher, which starts a new period)."""
    return [{**o, "state": "met", "closed_on": today}
            if o["state"] in ("pending", "gap") and o["reason"] != "lapsed"
            and holds(staff, o["level"], today, refresh_days) else o for o in obligations]


def closing_events(staff, obligations, today, trace):
    """``training.gap_closed`` for each gap of ``staff`` that ``obligations`` no longer
    hold open: raised once, as a gap closes once."""
    before = {o["obligation_id"]: o["state"] for o in staff["obligations"]}
    return [closed_event(staff, o, today, trace) for o in obligations
            if before.get(o["obligation_id"]) == "gap" and o["state"] in ("met", "cancelled")]


def lead_lacks_foundations(staff, project, framework, now, trace):
    """A project lead without the required level when the project leaves planning: one
    obligation per (requirement, project), opened as a gap with its event; ``None`` when the
    person holds the level or the gap was raised already."""
    today = day(now)
    requirement = next((r for r in framework["requirements"]
                        if r["applies_to"] == "project_leads"), None)
    if requirement is None or staff.get("left_on") and staff["left_on"] <= today:
        return None
    key = obligation_id(requirement["requirement_id"], project["_id"])
    if any(o["obligation_id"] == key for o in staff["obligations"]):
        return None
    obligation = new_obligation(key, requirement["requirement_id"], requirement["level"],
                                add_days(today, requirement["within_days"]), "project_lead",
                                project["_id"])
    if holds(staff, requirement["level"], today, framework["refresh_days"]):
        return None
    if requirement["within_days"] > 0:
        obligations = staff["obligations"] + [obligation]
        return Change(staff, set=with_obligations(staff, obligations))
    opened = open_gap(obligation, staff, today, framework["refresh_days"])
    obligations = staff["obligations"] + [opened]
    return Change(staff, set=with_obligations(staff, obligations),
                  events=[gap_event(staff, opened, trace)])


def person_gaps(staff, framework, now):
    """Per person: each open requirement's level (met ones drop out), the level held, due
    date, overdue, lapsed."""
    today = day(now)
    refresh = framework["refresh_days"]
    held = highest_level(staff, today, refresh)
    lapsed = sorted(level for level in (staff.get("levels") or {})
                    if level not in effective_levels(staff, today, refresh))
    rows = []
    for o in staff["obligations"]:
        if o["state"] in ("met", "cancelled"):
            continue
        rows.append({"requirement_id": o["requirement_id"], "required_level": o["level"],
                     "held_level": held, "due_on": o["due_on"], "project_id": o["project_id"],
                     "overdue": o["due_on"] < today or o["state"] == "gap",
                     "lapsed": o["reason"] == "lapsed" and o["due_on"] <= today,
                     "gap_id": o["gap_id"]})
    return {"staff_id": staff["_id"], "held_level": held, "lapsed_levels": lapsed,
            "levels": staff.get("levels") or {}, "requirements": rows,
            "practical_evidence": {"projects": staff.get("projects") or [],
                                   "pdsa_cycles": staff.get("cycles") or []},
            "assessments": staff.get("assessments") or [],
            "training_needs": staff.get("training_needs") or []}
