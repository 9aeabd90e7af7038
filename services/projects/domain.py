"""The rules of QI projects and PDSA cycles, as plain Python on dicts (huddle items:
``huddle_board``).

Every function takes the current state and a command, checks the rules, and returns the new
document with the envelopes of the events it causes, or a ``shared.domain.Change`` that carries
them. No broker, no database and no HTTP here: the service layer stores the result and its
events in one write (the outbox), under the version guard of the change.
"""
from datetime import date

from shared import access
from shared.domain import Change, ConflictError, EventSource, RuleBroken, new_id

SOURCE = EventSource("projects")

# Forward along the Model for Improvement, one step back when a change did not hold,
# and closing from anywhere; nothing leaves "closed".
STAGE_TRANSITIONS = {
    "idea": ("planning", "closed"),
    "planning": ("testing", "idea", "closed"),
    "testing": ("implementing", "planning", "closed"),
    "implementing": ("sustaining", "testing", "closed"),
    "sustaining": ("implementing", "closed"),
    "closed": (),
}

# --- registry -----------------------------------------------------------------------------

# A network or practice whose registered event is in its outbox (see
# ProjectsRepository.announce_earlier_registrations).
ANNOUNCED = "announced"


def register_network(command, now, trace):
    """A new network and the event that announces it."""
    network = {"_id": command["id"], "name": command["name"], "created_at": now,
               ANNOUNCED: True}
    return network, [network_registered(network, trace)]


def register_practice(command, now, trace):
    """A new practice of a network and the event that announces it."""
    practice = {"_id": command["ods_code"], "name": command["name"],
                "network_id": command["network_id"], "created_at": now, ANNOUNCED: True}
    return practice, [practice_registered(practice, trace)]


def network_registered(network, trace):
    return SOURCE.event("network.registered", {"network_id": network["_id"],
                                               "name": network["name"]}, network["_id"], trace)


def practice_registered(practice, trace):
    return SOURCE.event("practice.registered", {
        "practice_id": practice["_id"], "network_id": practice["network_id"],
        "name": practice["name"]}, practice["network_id"], trace, practice["_id"])


def issue_key(key_id, key_hash, role, network_id, practice_id, label, now, trace,
              staff_id=None):
    document = {"_id": key_id, "key_hash": key_hash, "role": role, "network_id": network_id,
                "practice_id": practice_id, "staff_id": staff_id, "label": label,
                "issued_at": now, "revoked_at": None}
    issued = SOURCE.event("apikey.issued", {"key_id": key_id, "key_hash": key_hash, "role": role,
                                     "network_id": network_id, "practice_id": practice_id,
                                     "staff_id": staff_id, "issued_at": now},
                          network_id, trace, practice_id)
    return document, [issued]


def revoke_key(key, now, trace):
    if key.get("revoked_at") is not None:
        raise ConflictError("the key is already revoked", {"key_id": ["already revoked"]})
    revoked = SOURCE.event("apikey.revoked", {"key_id": key["_id"], "revoked_at": now},
                           key.get("network_id"), trace, key.get("practice_id"))
    return Change(key, set={"revoked_at": now}, events=[revoked])


# --- projects -----------------------------------------------------------------------------

def project_owner_practice(project):
    """The practice that owns a practice-scope project (None for network projects)."""
    return project["practice_ids"][0] if project["scope"] == "practice" else None


def check_project_creation(principal, command, practices):
    """``practices``: the registered practices named by the command, by ODS code."""
    network_id = command["network_id"]
    missing = [p for p in command["practice_ids"] if p not in practices]
    if missing:
        raise RuleBroken("unknown practices", {"practice_ids": [f"{p} is not registered"
                                                                 for p in missing]})
    outside = [p for p in command["practice_ids"] if practices[p]["network_id"] != network_id]
    if outside:
        raise RuleBroken("practices of another network",
                         {"practice_ids": [f"{p} is not in network {network_id}"
                                           for p in outside]})
    if command["scope"] == "practice" and len(command["practice_ids"]) != 1:
        raise RuleBroken("a practice project has exactly one practice",
                         {"practice_ids": ["give exactly one practice for scope practice"]})
    access.check_project_creation(principal, network_id, command["scope"],
                                  command["practice_ids"])


def create_project(command, now, trace):
    project_id = new_id("prj")
    practice_ids = list(dict.fromkeys(command["practice_ids"]))
    document = {
        "_id": project_id, "network_id": command["network_id"], "title": command["title"],
        "aim": {**command["aim"], "by_when": command["aim"]["by_when"].isoformat()},
        "scope": command["scope"], "practice_ids": practice_ids,
        "members": [], "change_ideas": [], "stage": "idea",
        "stage_history": [{"from_stage": None, "to_stage": "idea", "at": now, "reason": None}],
        "created_at": now, "updated_at": now,
    }
    for idea in command.get("change_ideas", []):
        document["change_ideas"].append({"change_idea_id": new_id("idea"), "description": idea})
    owner = project_owner_practice(document)
    events = [SOURCE.event("project.created", {
        "project_id": project_id, "title": document["title"], "scope": document["scope"],
        "stage": "idea", "aim": command["aim"], "practice_ids": practice_ids},
        document["network_id"], trace, owner)]
    events += [SOURCE.event("project.practice_joined", {"project_id": project_id,
                                                        "practice_id": p},
                            document["network_id"], trace, p) for p in practice_ids]
    for member in command.get("members", []):
        added = add_member(document, member, now, trace)
        document["members"] = document["members"] + added.append["members"]
        events += added.events
    return document, events


def change_stage(project, to_stage, reason, now, trace):
    from_stage = project["stage"]
    if to_stage not in STAGE_TRANSITIONS[from_stage]:
        allowed = ", ".join(STAGE_TRANSITIONS[from_stage]) or "none (the project is closed)"
        raise ConflictError(f"a project cannot move from {from_stage} to {to_stage}",
                            {"stage": [f"from {from_stage} the next stage may be: {allowed}"]})
    changed = SOURCE.event("project.stage_changed", {
        "project_id": project["_id"], "from_stage": from_stage, "to_stage": to_stage,
        "reason": reason}, project["network_id"], trace, project_owner_practice(project))
    return Change(project, set={"stage": to_stage, "updated_at": now},
                  append={"stage_history": [{"from_stage": from_stage, "to_stage": to_stage,
                                             "at": now, "reason": reason}]},
                  events=[changed])


def join_practice(project, practice, now, trace):
    if project["scope"] != "network":
        raise ConflictError("only network projects take more practices",
                            {"practice_id": ["this project has scope practice"]})
    if practice["_id"] in project["practice_ids"]:
        raise ConflictError("the practice already takes part",
                            {"practice_id": [f"{practice['_id']} already takes part"]})
    if practice["network_id"] != project["network_id"]:
        raise RuleBroken("the practice is in another network",
                         {"practice_id": [f"{practice['_id']} is not in this network"]})
    joined = SOURCE.event("project.practice_joined", {"project_id": project["_id"],
                                                      "practice_id": practice["_id"]},
                          project["network_id"], trace, practice["_id"])
    return Change(project, set={"updated_at": now}, append={"practice_ids": [practice["_id"]]},
                  events=[joined])


def add_member(project, member, now, trace):
    practice_id = member.get("practice_id")
    if practice_id is not None and practice_id not in project["practice_ids"]:
        raise RuleBroken("the member's practice does not take part in the project",
                         {"practice_id": [f"{practice_id} does not take part"]})
    if any(m["staff_id"] == member["staff_id"] and m["role"] == member["role"]
           for m in project["members"]):
        raise ConflictError("this staff member already has this role in the project",
                            {"staff_id": [f"{member['staff_id']} is already {member['role']}"]})
    entry = {"staff_id": member["staff_id"], "role": member["role"],
             "practice_id": practice_id, "added_at": now}
    added = SOURCE.event("project.member_added", {
        "project_id": project["_id"], "staff_id": member["staff_id"], "role": member["role"],
        "practice_id": practice_id}, project["network_id"], trace, practice_id)
    return Change(project, set={"updated_at": now}, append={"members": [entry]}, events=[added])


def lived_experience_partners(project):
    return sum(1 for m in project["members"] if m["role"] == "lived_experience_partner")


# --- PDSA cycles --------------------------------------------------------------------------

def pdsa_flags(cycle):
    """Fidelity nudges: a cycle without a prediction is PDSA in name only."""
    return ["no_prediction"] if not (cycle.get("prediction") or "").strip() else []


def cycle_practice(project, practice_id):
    """The practice a new cycle is run by: ``practice_id`` (the one the caller acts for), else
    the owner of a practice project (None: the network's)."""
    if project["scope"] == "practice":
        practice_id = practice_id or project_owner_practice(project)
    return practice_id


def start_cycle(project, command, practice_id, now, trace):
    if project["stage"] == "closed":
        raise ConflictError("the project is closed", {"project_id": ["closed projects take no "
                                                                     "new PDSA cycles"]})
    if practice_id is not None and practice_id not in project["practice_ids"]:
        raise RuleBroken("the practice does not take part in the project",
                         {"practice_id": [f"{practice_id} does not take part"]})
    started_on = command.get("started_on") or now.date()
    cycle = {
        "_id": new_id("pdsa"), "project_id": project["_id"], "network_id": project["network_id"],
        "practice_id": practice_id, "change_idea": command["change_idea"],
        "plan": command["plan"], "prediction": command.get("prediction"),
        "do_notes": command.get("do_notes"), "study_notes": command.get("study_notes"),
        "act": None, "started_on": started_on.isoformat(), "completed_on": None,
        "status": "running", "created_at": now, "updated_at": now,
    }
    cycle["flags"] = pdsa_flags(cycle)
    started = SOURCE.event("pdsa.cycle_started", {
        "cycle_id": cycle["_id"], "project_id": project["_id"],
        "change_idea": cycle["change_idea"], "started_on": started_on,
        "has_prediction": not cycle["flags"]}, project["network_id"], trace, practice_id)
    return cycle, [started]


def update_cycle(cycle, changes, now, trace):
    """Record do/study notes; an ``act`` decision completes the cycle (needs study notes)."""
    if cycle["status"] == "completed":
        raise ConflictError("the PDSA cycle is completed", {"act": [
            "a completed cycle is final; start a new cycle to adapt"]})
    merged = {**cycle, **{k: v for k, v in changes.items() if k != "completed_on"}}
    started_on = date.fromisoformat(cycle["started_on"])
    fields_set = {k: v for k, v in changes.items() if k != "completed_on"}
    events = []
    if changes.get("act"):
        if not (merged.get("study_notes") or "").strip():
            raise RuleBroken("study before you act", {"study_notes": [
                "required to complete a cycle: what did you learn against the prediction?"]})
        completed_on = changes.get("completed_on") or now.date()
        if completed_on < started_on:
            raise RuleBroken("a cycle cannot end before it starts",
                             {"completed_on": [f"must be on or after {started_on}"]})
        fields_set.update(status="completed", completed_on=completed_on.isoformat())
        merged.update(fields_set)
        events.append(SOURCE.event("pdsa.cycle_completed", {
            "cycle_id": cycle["_id"], "project_id": cycle["project_id"],
            "change_idea": merged["change_idea"], "started_on": started_on,
            "completed_on": completed_on, "act": changes["act"],
            "has_prediction": not pdsa_flags(merged)},
            cycle["network_id"], trace, cycle.get("practice_id")))
    elif "completed_on" in changes:
        raise RuleBroken("a cycle completes with its act decision",
                         {"act": ["required when completed_on is given"]})
    fields_set["flags"] = pdsa_flags(merged)
    fields_set["updated_at"] = now
    return Change(cycle, set=fields_set, events=events)
