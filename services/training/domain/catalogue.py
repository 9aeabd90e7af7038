"""The catalogue: a network's offerings, their cohorts with session dates, enrolment (past
capacity, the waiting list, first come first served), withdrawal (the first waiting moves up)
and attendance (repeated absence tells the person's team leaders)."""
from datetime import date

from services.training.domain.framework import BOARD_LEVEL, EVENTS, day
from shared import access
from shared.domain import Change, ConflictError, NotFoundError, RuleBroken, new_id

OFFERING_KINDS = ("course", "workshop", "webinar", "masterclass", "programme", "board_session")
REFRESHER_KINDS = ("masterclass", "webinar")
ATTENDANCE = ("present", "late", "apologies", "absent")
ATTENDED = ("present", "late")
REPEATED_ABSENCES = 2  # absences (not apologies) in one cohort that tell the person's leader


def new_offering(command, principal, now):
    access.check_network_lead(principal, command["network_id"])
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
    access.check_network_lead(principal, offering["network_id"])
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
