"""The training service's domain: capability levels, a network's requirements, people and
their obligations, the catalogue, enrolment, attendance, completion, assessments, practical
evidence, gaps and coverage.

Plain Python on dicts, the clock passed in. Dates are stored as ISO strings (``YYYY-MM-DD``),
which sort as the dates do, so a person's obligations can be indexed by due date and the
overdue check asks only for those that fell due (see ``TrainingRepository.falling_due``).

A person's obligations live in their staff document beside the levels they hold, so awarding
a level, closing the gaps it meets and the events of both are one write under one version.
An obligation is ``pending`` until its due date, ``gap`` once it is overdue or lapsed (the
gap event is raised at that transition, once), then ``met`` (the closing event, once) or
``cancelled`` (the person left, or the rule no longer applies to them).
"""
import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

from shared import access
from shared.domain import Change, ConflictError, EventSource, NotFoundError, NotPermitted, \
    RuleBroken, new_id

EVENTS = EventSource("training")

# The dosage model: each level includes the ones before it. The board track stands apart.
LEVELS = ("none", "introduction", "foundations", "improvement_leader", "coach")
BOARD_LEVEL = "board"
AWARDABLE_LEVELS = LEVELS[1:] + (BOARD_LEVEL,)
OFFERING_KINDS = ("course", "workshop", "webinar", "masterclass", "programme", "board_session")
REFRESHER_KINDS = ("masterclass", "webinar")
ATTENDANCE = ("present", "late", "apologies", "absent")
ATTENDED = ("present", "late")
# Who a requirement applies to: everyone, people with the leader flag, the leads of projects,
# or one role (such as ``board_member``).
APPLIES_TO = ("everyone", "leaders", "project_leads", "role")
ANCHORS = ("start", "project_leaves_planning")
LIVE_PROJECT_STAGES = ("planning", "testing", "implementing", "sustaining")
PAST_PLANNING = ("testing", "implementing", "sustaining", "closed")
REPEATED_ABSENCES = 2  # absences (not apologies) in one cohort that tell the person's leader
ACTIVE_WITHIN = timedelta(days=365)  # "activation": in a project within the last 12 months
MAX_IMPORT_ROWS = 5000

DEFAULT_REQUIREMENTS = (
    {"requirement_id": "starter_introduction", "applies_to": "everyone", "role": None,
     "level": "introduction", "anchor": "start", "within_days": 90},
    {"requirement_id": "leader_improvement_leader", "applies_to": "leaders", "role": None,
     "level": "improvement_leader", "anchor": "start", "within_days": 365},
    {"requirement_id": "project_lead_foundations", "applies_to": "project_leads", "role": None,
     "level": "foundations", "anchor": "project_leaves_planning", "within_days": 0},
    {"requirement_id": "board_development", "applies_to": "role", "role": "board_member",
     "level": BOARD_LEVEL, "anchor": "start", "within_days": 365},
)
DEFAULT_REFRESH_DAYS = {"foundations": 3 * 365}
# NHS IMPACT's defaults: introduction to 10% of staff a year, the internal programme
# (foundations) to 20% a year, every manager and leader on the leaders' programme.
DEFAULT_TARGETS = {"introduction_share_per_year": 0.10, "foundations_share_per_year": 0.20,
                   "leaders_on_programme_share": 1.0,
                   "coverage": {"level": "introduction", "share": 0.9, "by": None}}


def level_rank(level):
    return LEVELS.index(level) if level in LEVELS else None


def satisfies(held_level, required_level):
    """Whether holding ``held_level`` meets a requirement for ``required_level``."""
    if required_level == BOARD_LEVEL or held_level == BOARD_LEVEL:
        return held_level == required_level
    return level_rank(held_level) >= level_rank(required_level)


def day(moment):
    """The ISO date string of a datetime or date."""
    return (moment.date() if hasattr(moment, "date") and callable(moment.date)
            else moment).isoformat()


def add_days(iso_day, days):
    return (date.fromisoformat(iso_day) + timedelta(days=days)).isoformat()


# --- access ----------------------------------------------------------------------------------

def check_network_reader(principal, network_id):
    if not access.may_read_network(principal, network_id):
        raise NotFoundError("no such network", {"network_id": [f"{network_id} is not yours"]})


def check_network_lead(principal, network_id):
    """Only the network's leads (and admins) change its framework and catalogue."""
    check_network_reader(principal, network_id)
    if not access.may_manage_network(principal, network_id):
        raise NotPermitted("this needs the network lead's key",
                           {"network_id": ["only the network's leads may do this"]})


def check_staff_access(principal, staff):
    """A practice key sees only its own practice's staff: others' answer 404, as absent."""
    if staff is None or not access.may_act_for_practice(principal, staff["practice_id"],
                                                        staff["network_id"]):
        raise NotFoundError("no such staff member",
                            {"staff_id": [f"{(staff or {}).get('_id', '?')} not found"]})


# --- the framework ---------------------------------------------------------------------------

def default_framework(network_id):
    return {"_id": network_id, "network_id": network_id,
            "requirements": [dict(r) for r in DEFAULT_REQUIREMENTS],
            "refresh_days": dict(DEFAULT_REFRESH_DAYS), "targets": dict(DEFAULT_TARGETS),
            "changes": []}


def check_requirement(requirement, index):
    where = f"requirements.{index}"
    if requirement["applies_to"] == "role" and not requirement.get("role"):
        raise RuleBroken("a requirement for a role names the role",
                         {f"{where}.role": ["required when applies_to is role"]})
    if requirement["anchor"] == "project_leaves_planning" \
            and requirement["applies_to"] != "project_leads":
        raise RuleBroken("only project leads are bound to their project's stage",
                         {f"{where}.anchor": ["project_leaves_planning is for project_leads"]})
    if requirement["applies_to"] == "project_leads" \
            and requirement["anchor"] != "project_leaves_planning":
        raise RuleBroken("a project lead's requirement is due when the project leaves planning",
                         {f"{where}.anchor": ["use project_leaves_planning"]})


def _same_terms(old, new):
    return old is not None and all(old.get(k) == new.get(k) for k in new)


def change_framework(framework, command, principal, now):
    """A network lead's change to requirements, refresh periods or targets: it applies from
    ``now`` on and is kept with who and when. Returns the :class:`Change`."""
    check_network_lead(principal, framework["network_id"])
    changed = {}
    if command.get("requirements") is not None:
        ids = [r["requirement_id"] for r in command["requirements"]]
        if len(set(ids)) != len(ids):
            raise RuleBroken("each requirement has its own id",
                             {"requirements": ["requirement_id repeated"]})
        for index, requirement in enumerate(command["requirements"]):
            check_requirement(requirement, index)
        # A requirement left as it was keeps its date; a new or changed one starts now.
        before = {r["requirement_id"]: r for r in framework["requirements"]}
        changed["requirements"] = [
            before[r["requirement_id"]] if _same_terms(before.get(r["requirement_id"]), r)
            else {**r, "effective_from": day(now)} for r in command["requirements"]]
    if command.get("refresh_days") is not None:
        changed["refresh_days"] = dict(command["refresh_days"])
    if command.get("targets") is not None:
        targets = {**framework["targets"], **command["targets"]}
        if targets.get("coverage") and isinstance(targets["coverage"].get("by"), date):
            targets["coverage"] = {**targets["coverage"],
                                   "by": targets["coverage"]["by"].isoformat()}
        changed["targets"] = targets
    if not changed:
        raise RuleBroken("nothing to change", {"requirements": ["give requirements, "
                                                                "refresh_days or targets"]})
    record = {"changed_at": now, "changed_by": principal.key_id,
              "fields": sorted(changed), "before": {k: framework.get(k) for k in changed}}
    return Change(framework, set=changed, append={"changes": [record]})


# --- staff -----------------------------------------------------------------------------------

def new_staff(row, now):
    """A staff document from a checked row (schemas.StaffIn)."""
    return {"_id": row["staff_id"], "network_id": row["network_id"],
            "practice_id": row["practice_id"], "team": row["team"], "role": row["role"],
            "leader": row["leader"], "lived_experience_partner": row["lived_experience_partner"],
            "started_on": row["started_on"].isoformat(),
            "left_on": row["left_on"].isoformat() if row.get("left_on") else None,
            "levels": {}, "obligations": [], "next_due_on": None, "assessments": [],
            "training_needs": [], "projects": [], "cycles": [], "last_active_on": None,
            "registered_at": now}


def is_active(staff, on_day):
    return staff["started_on"] <= on_day and not (staff.get("left_on")
                                                  and staff["left_on"] <= on_day)


def effective_levels(staff, on_day, refresh_days):
    """The levels a person holds on ``on_day``: a level past its refresh period without a
    refresher counts as lapsed, not held."""
    held = []
    for level, award in (staff.get("levels") or {}).items():
        if award["awarded_on"] > on_day:
            continue
        period = refresh_days.get(level)
        if period and add_days(award.get("refreshed_on") or award["awarded_on"],
                               period) <= on_day:
            continue
        held.append(level)
    return held


def holds(staff, level, on_day, refresh_days):
    return any(satisfies(held, level) for held in effective_levels(staff, on_day, refresh_days))


def highest_level(staff, on_day, refresh_days):
    ranked = [level for level in effective_levels(staff, on_day, refresh_days)
              if level in LEVELS]
    return max(ranked, key=level_rank) if ranked else "none"


def applies(requirement, staff):
    kind = requirement["applies_to"]
    return (kind == "everyone" or (kind == "leaders" and staff["leader"])
            or (kind == "role" and staff["role"] == requirement["role"]))


def obligation_id(requirement_id, project_id=None):
    return f"{requirement_id}:{project_id}" if project_id else requirement_id


def _obligation(key, requirement_id, level, due_on, reason, project_id=None):
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
            result.append({**(current or _obligation(key, requirement["requirement_id"],
                                                     requirement["level"], due_on, "overdue")),
                           "state": "met", "closed_on": today})
        else:
            base = current or _obligation(key, requirement["requirement_id"],
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
                      or _obligation(key, f"refresh_{level}", level, due_on, "lapsed"))
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


def register_staff(row, framework, now):
    staff = new_staff(row, now)
    staff.update(with_obligations(staff, derive_obligations(staff, framework, now)))
    return staff


def update_staff(staff, changes, framework, now, trace):
    """A change of team, role, leader flag or leaving date: obligations follow it."""
    updated = {**staff, **{k: (v.isoformat() if isinstance(v, date) else v)
                           for k, v in changes.items()}}
    if updated.get("left_on") and updated["left_on"] < updated["started_on"]:
        raise RuleBroken("a person leaves after they start",
                         {"left_on": [f"before started_on {updated['started_on']}"]})
    fields = {k: updated[k] for k in changes}
    obligations = derive_obligations(updated, framework, now)
    fields.update(with_obligations(updated, obligations))
    return Change(staff, set=fields, events=closing_events(staff, obligations, day(now), trace))


def check_import_rows(rows, principal, existing_ids):
    """A bulk import is checked whole: every row's network and practice must be the caller's
    and every id new and once; the first problems are named by row, nothing is written."""
    if not rows:
        raise RuleBroken("the import holds no rows", {"rows": ["give at least one row"]})
    if len(rows) > MAX_IMPORT_ROWS:
        raise RuleBroken(f"at most {MAX_IMPORT_ROWS} rows per import",
                         {"rows": [f"{len(rows)} rows; split the file"]})
    problems, seen = {}, set()
    for index, row in enumerate(rows):
        if not (access.may_act_for_practice(principal, row["practice_id"], row["network_id"])
                and access.may_read_network(principal, row["network_id"])):
            problems[f"rows.{index}.practice_id"] = [f"{row['practice_id']} is not yours"]
        elif row["staff_id"] in seen:
            problems[f"rows.{index}.staff_id"] = [f"{row['staff_id']} appears twice"]
        elif row["staff_id"] in existing_ids:
            problems[f"rows.{index}.staff_id"] = [f"{row['staff_id']} is registered already"]
        seen.add(row["staff_id"])
        if len(problems) >= 20:
            break
    if problems:
        raise RuleBroken(f"{len(problems)} rows refused; nothing was imported", problems)


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
    obligation = _obligation(key, requirement["requirement_id"], requirement["level"],
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


# --- catalogue, cohorts, enrolment -----------------------------------------------------------

def new_offering(command, principal, now):
    check_network_lead(principal, command["network_id"])
    if command["kind"] == "board_session" and command.get("awards_level") not in (None,
                                                                                  BOARD_LEVEL):
        raise RuleBroken("board sessions award the board level",
                         {"awards_level": [f"use {BOARD_LEVEL}"]})
    if command.get("refresher_for") and command["kind"] not in REFRESHER_KINDS:
        raise RuleBroken("refreshers are masterclasses or webinars",
                         {"refresher_for": [f"a {command['kind']} cannot be a refresher"]})
    if not command.get("awards_level") and not command.get("refresher_for"):
        raise RuleBroken("an offering awards a level or refreshes one",
                         {"awards_level": ["give awards_level or refresher_for"]})
    completion = dict(command["completion"])
    if command["kind"] == "programme":
        completion["attendance_share"] = 1.0  # every session, or made up in a later cohort
    return {"_id": new_id("off"), **{k: v for k, v in command.items() if k != "completion"},
            "completion": completion, "created_at": now, "created_by": principal.key_id}


def new_cohort(offering, command, principal, now):
    check_network_lead(principal, offering["network_id"])
    dates = sorted(command["session_dates"])
    sessions = [{"session_id": f"s{number}", "number": number, "on": on.isoformat()}
                for number, on in enumerate(dates, start=1)]
    return {"_id": new_id("coh"), "offering_id": offering["_id"],
            "network_id": offering["network_id"], "kind": offering["kind"],
            "capacity": command.get("capacity") or offering["capacity"], "sessions": sessions,
            "enrolments": [], "waiting": [], "created_at": now}


def enrolment_of(cohort, staff_id):
    return next((e for e in cohort["enrolments"] if e["staff_id"] == staff_id
                 and e["state"] != "withdrawn"), None)


def enrol(cohort, staff, now, trace):
    """Enrol while places remain; past capacity the person joins the waiting list (first
    come, first served) instead."""
    today = day(now)
    if staff.get("left_on") and staff["left_on"] <= today:
        raise RuleBroken("the person has left", {"staff_id": [f"{staff['_id']} left on "
                                                              f"{staff['left_on']}"]})
    if enrolment_of(cohort, staff["_id"]) or any(w["staff_id"] == staff["_id"]
                                                 for w in cohort["waiting"]):
        raise ConflictError("already enrolled or waiting",
                            {"staff_id": [f"{staff['_id']} is on this cohort already"]})
    entry = {"staff_id": staff["_id"], "practice_id": staff["practice_id"],
             "enrolled_on": today, "state": "enrolled", "attendance": {},
             "absence_reported": False}
    taken = sum(1 for e in cohort["enrolments"] if e["state"] != "withdrawn")
    if taken < cohort["capacity"]:
        event = EVENTS.event("training.enrolled", {
            "cohort_id": cohort["_id"], "offering_id": cohort["offering_id"],
            "staff_id": staff["_id"], "enrolled_on": now.date(), "from_waiting_list": False},
            cohort["network_id"], trace, practice_id=staff["practice_id"])
        return Change(cohort, append={"enrolments": [entry]}, events=[event]), "enrolled"
    waiting = {"staff_id": staff["_id"], "practice_id": staff["practice_id"],
               "joined_on": today}
    event = EVENTS.event("training.waitlisted", {
        "cohort_id": cohort["_id"], "offering_id": cohort["offering_id"],
        "staff_id": staff["_id"], "position": len(cohort["waiting"]) + 1},
        cohort["network_id"], trace, practice_id=staff["practice_id"])
    return Change(cohort, append={"waiting": [waiting]}, events=[event]), "waiting"


def withdraw(cohort, staff_id, now, trace):
    """Withdraw an enrolment or leave the waiting list; a freed place goes to the first on
    the waiting list, who is told (an event)."""
    today = day(now)
    if any(w["staff_id"] == staff_id for w in cohort["waiting"]):
        return Change(cohort, set={"waiting": [w for w in cohort["waiting"]
                                               if w["staff_id"] != staff_id]})
    entry = enrolment_of(cohort, staff_id)
    if entry is None:
        raise RuleBroken("not enrolled", {"staff_id": [f"{staff_id} is not on this cohort"]})
    if entry["state"] == "completed":
        raise ConflictError("a completed enrolment stays",
                            {"staff_id": [f"{staff_id} completed this cohort"]})
    enrolments = [{**e, "state": "withdrawn", "withdrawn_on": today} if e is entry else e
                  for e in cohort["enrolments"]]
    waiting, events = list(cohort["waiting"]), []
    if waiting:
        first = waiting.pop(0)
        enrolments.append({"staff_id": first["staff_id"], "practice_id": first["practice_id"],
                           "enrolled_on": today, "state": "enrolled", "attendance": {},
                           "absence_reported": False})
        events.append(EVENTS.event("training.moved_up_from_waiting_list", {
            "cohort_id": cohort["_id"], "offering_id": cohort["offering_id"],
            "staff_id": first["staff_id"], "waited_since": date.fromisoformat(
                first["joined_on"]), "enrolled_on": now.date()},
            cohort["network_id"], trace, practice_id=first["practice_id"]))
        events.append(EVENTS.event("training.enrolled", {
            "cohort_id": cohort["_id"], "offering_id": cohort["offering_id"],
            "staff_id": first["staff_id"], "enrolled_on": now.date(),
            "from_waiting_list": True}, cohort["network_id"], trace,
            practice_id=first["practice_id"]))
    return Change(cohort, set={"enrolments": enrolments, "waiting": waiting}, events=events)


def session_of(cohort, session_id):
    session = next((s for s in cohort["sessions"] if s["session_id"] == session_id), None)
    if session is None:
        raise NotFoundError("no such session", {"session_id": [
            f"{session_id} is not a session of {cohort['_id']}"]})
    return session


def counted_sessions(cohort, entry, today):
    """The sessions held that count for a person: none before they enrolled."""
    return [s for s in cohort["sessions"] if entry["enrolled_on"] <= s["on"] <= today]


def _row_field_namer(index):
    """Names a field of row ``index`` of a register (``rows.<n>.<field>``), or of a single
    mark (just the field)."""
    return (lambda field: field) if index is None else (lambda field: f"rows.{index}.{field}")


def record_attendance(cohort, marks, staff_by_id, now, trace, leaders_of):
    """Marks ``[(session_id, staff_id, status)]`` of one or more sessions, checked whole:
    each person enrolled, the session not before they started. Repeated absence (not
    apologies) raises an event for the person's leaders, once per enrolment.
    ``leaders_of(staff)`` answers the staff ids of their team's leaders."""
    today = day(now)
    problems = {}
    for index, (session_id, staff_id, status) in enumerate(marks):
        session = session_of(cohort, session_id)
        name = _row_field_namer(index if len(marks) > 1 else None)
        if status not in ATTENDANCE:
            problems[name("status")] = [f"one of {', '.join(ATTENDANCE)}"]
        elif enrolment_of(cohort, staff_id) is None:
            problems[name("staff_id")] = [f"{staff_id} is not enrolled on {cohort['_id']}"]
        elif session["on"] > today:
            problems[name("session_id")] = [f"{session_id} is on {session['on']}, still ahead"]
        elif session["on"] < staff_by_id[staff_id]["started_on"]:
            problems[name("session_id")] = [
                f"{session_id} ({session['on']}) is before {staff_id} started "
                f"({staff_by_id[staff_id]['started_on']})"]
    if problems:
        raise RuleBroken("attendance refused; nothing was recorded", problems)
    marked = {}
    for session_id, staff_id, status in marks:
        marked.setdefault(staff_id, {})[session_id] = status
    enrolments, events = [], []
    for entry in cohort["enrolments"]:
        if entry["state"] == "withdrawn" or entry["staff_id"] not in marked:
            enrolments.append(entry)
            continue
        entry = {**entry, "attendance": {**entry["attendance"], **marked[entry["staff_id"]]}}
        counted = {s["session_id"] for s in counted_sessions(cohort, entry, today)}
        absences = sum(1 for session_id, status in entry["attendance"].items()
                       if status == "absent" and session_id in counted)
        if absences >= REPEATED_ABSENCES and not entry["absence_reported"]:
            staff = staff_by_id[entry["staff_id"]]
            entry["absence_reported"] = True
            events.append(EVENTS.event("training.repeated_absence", {
                "cohort_id": cohort["_id"], "offering_id": cohort["offering_id"],
                "staff_id": staff["_id"], "absences": absences,
                "leader_staff_ids": leaders_of(staff)},
                cohort["network_id"], trace, practice_id=staff["practice_id"]))
        enrolments.append(entry)
    return Change(cohort, set={"enrolments": enrolments}, events=events)


BYTE_ORDER_MARK = "\ufeff"


def csv_records(text):
    """(line number, values) of each record of CSV ``text``, whichever line ending a
    spreadsheet wrote (``\\r\\n``, ``\\n`` or a bare ``\\r``), with or without a byte-order mark;
    a quoted field may hold line breaks (the number is the line its record starts on). A
    record that cannot be read refuses the file, naming ``csv`` and the line."""
    # newline="": the csv module splits the lines itself, so every line ending reads.
    reader = csv.reader(io.StringIO(text.removeprefix(BYTE_ORDER_MARK), newline=""))
    line = 1
    try:
        for values in reader:
            yield line, values
            line = reader.line_num + 1
    except csv.Error as exc:
        raise RuleBroken("the CSV cannot be read; nothing was written",
                         {"csv": [f"line {line}: {exc}"]}) from None


def csv_rows(text):
    """(the header's column names, or None for no header; an iterator of the rows as dicts
    by column, a value missing at a row's end as None). Blank lines are skipped; a row with
    more values than the header has columns refuses the file, naming its line."""
    records = csv_records(text)
    _, header = next(records, (1, None))

    def rows():
        for line, values in records:
            if not values:
                continue
            if len(values) > len(header):
                raise RuleBroken("a row has more values than the header has columns", {
                    "csv": [f"line {line}: {len(values)} values for {len(header)} columns"]})
            yield dict(zip(header, values + [None] * (len(header) - len(values))))
    return header, rows()


def parse_register_csv(text):
    """A session's register as CSV with a header ``staff_id,status``: the rows as dicts."""
    header, rows = csv_rows(text)
    if not header or {"staff_id", "status"} - set(header):
        raise RuleBroken("the register needs the columns staff_id and status",
                         {"csv": [f"header is {header}"]})
    rows = list(rows)
    if len(rows) > MAX_IMPORT_ROWS:
        raise RuleBroken(f"at most {MAX_IMPORT_ROWS} rows", {"csv": [f"{len(rows)} rows"]})
    return rows


def parse_staff_csv(text):
    """A staff import as CSV with a header row of StaffIn's fields: the rows as dicts, empty
    values left out."""
    header, found = csv_rows(text)
    if not header:
        raise RuleBroken("the file is empty", {"csv": ["give a header row and rows"]})
    rows = []
    for row in found:
        if len(rows) >= MAX_IMPORT_ROWS:
            raise RuleBroken(f"at most {MAX_IMPORT_ROWS} rows per import",
                             {"csv": ["too many rows; split the file"]})
        rows.append({k: v for k, v in row.items() if v not in (None, "")})
    return rows


@dataclass
class CompletionCheck:
    attendance_share: float
    project_id: str | None


def check_completion(offering, cohort, entry, made_up, live_project_id, today):
    """Whether an enrolment meets the offering's criteria. ``made_up``: session numbers the
    person attended in a later cohort of the same offering; ``live_project_id``: a live
    project with the person as a member, or None."""
    if entry["state"] == "completed":
        raise ConflictError("completed already", {"staff_id": [f"{entry['staff_id']} "
                                                               "completed this cohort"]})
    ahead = [s["session_id"] for s in cohort["sessions"] if s["on"] > today]
    if ahead:
        raise RuleBroken("the cohort has sessions still ahead", {"cohort_id": [
            f"complete after its last session ({', '.join(ahead)} to come)"]})
    if offering["kind"] == "programme":
        counted = cohort["sessions"]
    else:
        counted = counted_sessions(cohort, entry, today)
    attended = [s for s in counted if entry["attendance"].get(s["session_id"]) in ATTENDED
                or (offering["kind"] == "programme" and s["number"] in made_up)]
    share = len(attended) / len(counted) if counted else 0.0
    needed = offering["completion"]["attendance_share"]
    if not counted or share + 1e-9 < needed:
        missing = [s["session_id"] for s in counted if s not in attended]
        raise RuleBroken("attendance falls short of the offering's criteria", {
            "staff_id": [f"attended {len(attended)} of {len(counted)} sessions; needs "
                         f"{needed:.0%}" + (f" (missing {', '.join(missing)})" if missing
                                            else "")]})
    if offering["completion"].get("requires_live_project") and not live_project_id:
        raise RuleBroken("the leaders' programme needs a live project with the person as "
                         "a member", {"staff_id": [f"{entry['staff_id']} is in no live project"]})
    return CompletionCheck(round(share, 4), live_project_id)


def award(staff, level, framework, now, trace, offering_id=None, cohort_id=None,
          evidence=None, refresher=False):
    """Award ``level`` (or renew it, for a refresher) on ``now``: the obligations the person
    now meets close, gaps with their event. Returns (fields to set, events)."""
    today = day(now)
    levels = dict(staff.get("levels") or {})
    events = []
    if refresher:
        if level not in levels:
            raise RuleBroken("a refresher renews a level the person holds",
                             {"staff_id": [f"{staff['_id']} does not hold {level}"]})
        levels[level] = {**levels[level], "refreshed_on": today}
    else:
        levels[level] = {"awarded_on": today, "offering_id": offering_id,
                         "cohort_id": cohort_id, "evidence": evidence, "refreshed_on": None}
        events.append(EVENTS.event("training.level_awarded", {
            "staff_id": staff["_id"], "level": level, "awarded_on": now.date(),
            "offering_id": offering_id, "cohort_id": cohort_id, "evidence": evidence or ""},
            staff["network_id"], trace, practice_id=staff["practice_id"]))
    awarded = {**staff, "levels": levels}
    obligations = close_met_gaps(awarded, derive_obligations(awarded, framework, now), today,
                                 framework["refresh_days"])
    events += closing_events(staff, obligations, today, trace)
    return {"levels": levels, **with_obligations(awarded, obligations)}, events


def complete(offering, cohort, staff, check, framework, now, trace):
    """(the staff Change with the award and its events, the cohort Change)."""
    level = offering.get("awards_level") or offering.get("refresher_for")
    evidence = f"attendance {check.attendance_share:.0%}" + (
        f"; live project {check.project_id}" if check.project_id else "")
    fields, events = award(staff, level, framework, now, trace, offering["_id"],
                           cohort["_id"], evidence, refresher=not offering.get("awards_level"))
    completed = EVENTS.event("training.completed", {
        "cohort_id": cohort["_id"], "offering_id": offering["_id"], "staff_id": staff["_id"],
        "completed_on": now.date(), "attendance_share": check.attendance_share,
        "project_id": check.project_id, "level": level},
        staff["network_id"], trace, practice_id=staff["practice_id"])
    completion = {"cohort_id": cohort["_id"], "offering_id": offering["_id"],
                  "level": level, "completed_on": day(now),
                  "refresher": not offering.get("awards_level")}
    staff_change = Change(staff, set=fields, append={"completions": [completion]},
                          events=[completed] + events)
    enrolments = [{**e, "state": "completed", "completed_on": day(now)}
                  if e["staff_id"] == staff["_id"] and e["state"] == "enrolled" else e
                  for e in cohort["enrolments"]]
    return staff_change, Change(cohort, set={"enrolments": enrolments})


# --- assessments -----------------------------------------------------------------------------

def check_may_assess(principal, staff, assessor):
    """Only the person's team leaders, the network's leads and admins assess."""
    if access.may_manage_network(principal, staff["network_id"]):
        return
    if assessor is None:
        raise NotPermitted("a practice's assessment names its leader",
                           {"assessor_staff_id": ["give the assessing leader's staff id"]})
    if not (assessor["leader"] and assessor["practice_id"] == staff["practice_id"]
            and assessor["team"] == staff["team"]):
        raise NotPermitted("only the person's team leaders assess them", {
            "assessor_staff_id": [f"{assessor['_id']} is not a leader of team "
                                  f"{staff['team']} at {staff['practice_id']}"]})
    if assessor.get("left_on"):
        raise NotPermitted("the assessor has left", {"assessor_staff_id": ["left"]})


def assess(staff, command, principal, assessor, offering, now):
    check_may_assess(principal, staff, assessor)
    record = {"assessed_level": command["assessed_level"], "notes": command.get("notes"),
              "assessed_by": assessor["_id"] if assessor else principal.key_id,
              "assessed_at": now}
    append = {"assessments": [record]}
    if command.get("training_need"):
        need = command["training_need"]
        if offering is None:
            raise NotFoundError("no such offering", {"training_need.offering_id": [
                f"{need['offering_id']} not in the network's catalogue"]})
        if need["by"].isoformat() < day(now):
            raise RuleBroken("a need is set for a date ahead",
                             {"training_need.by": ["give a date from today on"]})
        append["training_needs"] = [{"offering_id": need["offering_id"],
                                     "by": need["by"].isoformat(), "set_by": record["assessed_by"],
                                     "set_at": now}]
    return Change(staff, append=append)


# --- practical evidence from the projects service --------------------------------------------

def member_added(project, data, occurred_on):
    """The project's members as the training service knows them; ``None`` when seen."""
    member = {"staff_id": data["staff_id"], "role": data["role"], "joined_on": occurred_on}
    if any(m["staff_id"] == member["staff_id"] and m["role"] == member["role"]
           for m in project["members"]):
        return None
    return Change(project, append={"members": [member]})


def staff_joined_project(staff, project, data, occurred_on):
    if any(p["project_id"] == project["_id"] and p["role"] == data["role"]
           for p in staff.get("projects") or ()):
        return None
    entry = {"project_id": project["_id"], "role": data["role"], "joined_on": occurred_on}
    return Change(staff, append={"projects": [entry]},
                  set={"last_active_on": max(staff.get("last_active_on") or "", occurred_on)})


def cycle_entry(data):
    return {"cycle_id": data["cycle_id"], "project_id": data["project_id"],
            "change_idea": data["change_idea"], "completed_on": data["completed_on"].isoformat(),
            "act": data["act"]}


def project_cycle_completed(project, data):
    """The project keeps its completed cycles, for people registered after them."""
    if any(c["cycle_id"] == data["cycle_id"] for c in project.get("cycles") or ()):
        return None
    return Change(project, append={"cycles": [cycle_entry(data)]})


def staff_cycle_completed(staff, data):
    if any(c["cycle_id"] == data["cycle_id"] for c in staff.get("cycles") or ()):
        return None
    entry = cycle_entry(data)
    return Change(staff, append={"cycles": [entry]}, set={
        "last_active_on": max(staff.get("last_active_on") or "", entry["completed_on"])})


def with_earlier_evidence(staff, projects, framework, now, trace):
    """A person registered after their projects' events: the memberships and cycles already
    known become their practical evidence, and a lead of a project past planning is checked
    for the required level. Returns (the staff document, its events)."""
    events = []
    for project in projects:
        for member in project["members"]:
            if member["staff_id"] == staff["_id"]:
                change = staff_joined_project(staff, project, member, member["joined_on"])
                staff = {**change.applied(), "version": None} if change else staff
        for cycle in project.get("cycles") or ():
            if not any(c["cycle_id"] == cycle["cycle_id"] for c in staff["cycles"]):
                staff = {**staff, "cycles": staff["cycles"] + [cycle],
                         "last_active_on": max(staff["last_active_on"] or "",
                                               cycle["completed_on"])}
        if project["stage"] in PAST_PLANNING and any(
                m["staff_id"] == staff["_id"] and m["role"] == "lead"
                for m in project["members"]):
            change = lead_lacks_foundations(staff, project, framework, now, trace)
            if change:
                staff = {**staff, **change.set}
                events += change.events
    return {k: v for k, v in staff.items() if k != "version"}, events


def live_project_of(staff, projects_by_id):
    """A live project (planning to sustaining) with the person as a member, or None."""
    for entry in staff.get("projects") or ():
        project = projects_by_id.get(entry["project_id"])
        if project and project["stage"] in LIVE_PROJECT_STAGES:
            return project["_id"]
    return None


def left_planning(from_stage, to_stage):
    return from_stage in ("idea", "planning") and to_stage in PAST_PLANNING


# --- coverage --------------------------------------------------------------------------------

def is_requirement_at(obligation, level):
    """An obligation that requires ``level`` of the person (refreshers renew, not require)."""
    return (obligation["level"] == level and obligation["state"] != "cancelled"
            and obligation["reason"] != "lapsed")


def coverage(staff_list, framework, now, scope):
    """The capability report for ``staff_list`` (the people of one practice, team or
    network): the pyramid of levels held against those required, the dosage targets over
    the last 12 months, lived-experience partners, activation and who needs what next.
    A JSON-ready dict; every number is a count over the given staff."""
    today = day(now)
    year_ago = add_days(today, -365)
    refresh = framework["refresh_days"]
    targets = framework["targets"]
    people = [s for s in staff_list if is_active(s, today)]
    staff_count = len(people)
    pyramid = []
    for level in LEVELS[1:] + (BOARD_LEVEL,):
        holding = sum(1 for s in people if holds(s, level, today, refresh))
        required_of = [s for s in people if any(is_requirement_at(o, level)
                                                for o in s["obligations"])]
        required = len(required_of)
        required_met = sum(1 for s in required_of if holds(s, level, today, refresh))
        pyramid.append({"level": level, "holding": holding, "required": required,
                        "required_holding": required_met,
                        "share": round(holding / staff_count, 4) if staff_count else 0.0})

    def awarded_within_year(s, level):
        award = (s.get("levels") or {}).get(level)
        return bool(award and year_ago < award["awarded_on"] <= today)

    def share(count, of):
        return round(count / of, 4) if of else 0.0

    introduced = sum(1 for s in people if awarded_within_year(s, "introduction"))
    founded = sum(1 for s in people if awarded_within_year(s, "foundations"))
    leaders = [s for s in people if s["leader"]]
    leaders_on = sum(1 for s in leaders if holds(s, "improvement_leader", today, refresh))
    partners = [s for s in people if s["lived_experience_partner"]]
    trained = [s for s in people if highest_level(s, today, refresh) != "none"]
    active = [s for s in trained if s.get("last_active_on")
              and s["last_active_on"] > add_days(today, -ACTIVE_WITHIN.days)]
    open_rows = sorted(({"staff_id": s["_id"], "level": o["level"], "due_on": o["due_on"],
                         "overdue": o["state"] == "gap" or o["due_on"] < today,
                         "requirement_id": o["requirement_id"]}
                        for s in people for o in s["obligations"]
                        if o["state"] in ("pending", "gap")),
                       key=lambda row: (row["due_on"], row["staff_id"]))
    return {
        "scope": scope, "on": today, "staff": staff_count,
        "pyramid": pyramid,
        "dosage": {
            "introduction_last_12_months": {"trained": introduced,
                                            "share": share(introduced, staff_count),
                                            "target": targets["introduction_share_per_year"]},
            "foundations_last_12_months": {"trained": founded,
                                           "share": share(founded, staff_count),
                                           "target": targets["foundations_share_per_year"]},
            "leaders_on_programme": {"leaders": len(leaders), "on_programme": leaders_on,
                                     "share": share(leaders_on, len(leaders)),
                                     "target": targets["leaders_on_programme_share"]}},
        "lived_experience_partners": {
            "partners": len(partners),
            "trained": sum(1 for s in partners if highest_level(s, today, refresh) != "none")},
        "activation": {"trained": len(trained), "active_last_12_months": len(active),
                       "share": share(len(active), len(trained))},
        "gaps": {"open": sum(1 for row in open_rows if row["overdue"]),
                 "due": sum(1 for row in open_rows if not row["overdue"])},
        "next_needs": open_rows[:50],
    }


def target_at_risk(practice_id, staff_list, framework, now, trace, network_id):
    """The practice's coverage trend at the network's target level, extrapolated from the
    awards of the last 12 months to the target date: an event if it falls short (the caller
    raises it once per practice and target)."""
    target = framework["targets"].get("coverage") or {}
    if not target.get("by"):
        return None
    today = day(now)
    if target["by"] < today:
        return None
    refresh = framework["refresh_days"]
    people = [s for s in staff_list if is_active(s, today)]
    if not people:
        return None
    level = target["level"]
    holding = sum(1 for s in people if holds(s, level, today, refresh))
    year_ago = add_days(today, -365)
    gained = sum(1 for s in people if any(
        satisfies(held, level) and year_ago < award["awarded_on"] <= today
        for held, award in (s.get("levels") or {}).items()))
    days_left = (date.fromisoformat(target["by"]) - date.fromisoformat(today)).days
    projected = min(1.0, (holding + gained * days_left / 365) / len(people))
    current = holding / len(people)
    if projected + 1e-9 >= target["share"]:
        return None
    return EVENTS.event("training.target_at_risk", {
        "practice_id": practice_id, "level": level, "target_share": target["share"],
        "target_date": date.fromisoformat(target["by"]), "current_share": round(current, 4),
        "projected_share": round(projected, 4)}, network_id, trace, practice_id=practice_id)
