"""The projects service's events: the registry (networks and practices, so that staff are
registered only where they exist), and practical evidence: memberships and completed PDSA
cycles on each person's record, and a project lead's gap when their project leaves planning."""
from services.training.commands.overdue import store_staff_change
from services.training.domain.evidence import (PAST_PLANNING, left_planning, member_added,
                                               project_cycle_completed, staff_cycle_completed,
                                               staff_joined_project)
from services.training.domain.framework import day
from services.training.domain.obligations import lead_lacks_foundations
from services.training.repository import PROJECTS
from shared.events.envelope import Trace


def on_network_registered(repository, envelope):
    repository.record_network(envelope["data"]["network_id"], envelope["data"]["name"])


def on_practice_registered(repository, envelope):
    data = envelope["data"]
    repository.record_practice(data["practice_id"], data["network_id"], data["name"])


def on_member_added(repository, envelope, now):
    """``project.member_added``: practical evidence on the person's record; a lead added to
    a project already past planning is checked for ``foundations`` at once."""
    data, trace = envelope["data"], Trace.after(envelope)
    occurred_on = day(envelope["occurred_at"])
    project = repository.project(data["project_id"], envelope["network_id"])
    change = member_added(project, data, occurred_on)
    if change:
        project = repository.apply(PROJECTS, change)
    staff = repository.staff(data["staff_id"])
    if staff is None:
        return  # not in the registry (yet): the record follows from the project's events
    change = staff_joined_project(staff, project, data, occurred_on)
    if change:
        staff = store_staff_change(repository, change)
    if data["role"] == "lead" and project["stage"] in PAST_PLANNING:
        _check_lead(repository, staff, project, now, trace)


def on_stage_changed(repository, envelope, now):
    """``project.stage_changed``: when a project leaves planning, each lead lacking the
    required level has a gap (raised once per lead and project)."""
    data, trace = envelope["data"], Trace.after(envelope)
    repository.project(data["project_id"], envelope["network_id"])
    repository.move_stage(data["project_id"], data["from_stage"], data["to_stage"])
    project = repository.project(data["project_id"], envelope["network_id"])
    if not left_planning(data["from_stage"], data["to_stage"]):
        return
    for member in project["members"]:
        if member["role"] == "lead":
            staff = repository.staff(member["staff_id"])
            if staff is not None:
                _check_lead(repository, staff, project, now, trace)


def _check_lead(repository, staff, project, now, trace):
    framework = repository.framework(staff["network_id"])
    change = lead_lacks_foundations(staff, project, framework, now, trace)
    if change:
        store_staff_change(repository, change)


def on_cycle_completed(repository, envelope, now):
    """``pdsa.cycle_completed``: each member of the project has the cycle as evidence."""
    data = envelope["data"]
    project = repository.project(data["project_id"], envelope["network_id"])
    change = project_cycle_completed(project, data)
    if change:
        repository.apply(PROJECTS, change)
    for staff_id in sorted({m["staff_id"] for m in project["members"]}):
        staff = repository.staff(staff_id)
        if staff is None:
            continue
        change = staff_cycle_completed(staff, data)
        if change:
            store_staff_change(repository, change)
