"""What a person's record holds besides courses: their leaders' assessments (with training
needs), and practical evidence from the projects service's events (project memberships and
completed PDSA cycles), which also make "activation" and the leaders' programme's live
project."""
from services.training.domain.framework import day
from services.training.domain.obligations import lead_lacks_foundations
from shared import access
from shared.domain import Change, NotFoundError, RuleBroken

LIVE_PROJECT_STAGES = ("planning", "testing", "implementing", "sustaining")
PAST_PLANNING = ("testing", "implementing", "sustaining", "closed")


def assess(staff, command, principal, assessor, offering, now):
    access.check_may_assess(principal, staff, assessor)
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
