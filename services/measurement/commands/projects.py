"""The measurement service's copy of projects: who may see a project and its measures, and
what the projects service tells us (projects, their practices, PDSA cycles as annotations)."""
from shared import access
from shared.domain import NotFoundError

from services.measurement.repository import MEASURES, PROJECTS


# --- access -------------------------------------------------------------------------------

def get_project(repository, principal, project_id, practice_id=None, write=False):
    """The measurement service's copy of a project, when ``principal`` may see it (and act
    for ``practice_id``; change its measures when ``write``)."""
    project = repository.find(PROJECTS, project_id)
    # The copy has no list of practices: participation is one document per practice.
    takes_part = access.is_practice_key(principal) and bool(
        repository.participating(project_id, [principal.practice_id]))
    access.check_project_visible(principal, project, takes_part)
    access.check_own_practice(principal, practice_id)
    if write:
        # A project known only from a practice_joined event has no scope yet.
        access.check_project_write(principal, {"scope": None, **project},
                                   takes_part=takes_part)
    return project


def get_measure_and_project(repository, principal, measure_id, practice_id=None, write=False):
    measure = repository.find(MEASURES, measure_id)
    if measure is None:
        raise NotFoundError("no such measure", {"measure_id": [f"{measure_id} not found"]})
    return measure, get_project(repository, principal, measure["project_id"], practice_id,
                                write)


# --- what the projects service tells us ---------------------------------------------------

def track_project(repository, project):
    """A ``project.created`` event's data and its network: the copy this service keeps."""
    repository.track_project(project["project_id"], project["network_id"],
                             {"title": project["title"], "scope": project["scope"]},
                             project["practice_ids"])


def track_practice_joined(repository, joined):
    repository.track_project(joined["project_id"], joined["network_id"], {},
                             [joined["practice_id"]])


def annotate_cycle(repository, cycle, practice_id):
    """A PDSA cycle (started or completed event's data) as a chart annotation."""
    fields = {"project_id": cycle["project_id"], "practice_id": practice_id,
              "change_idea": cycle["change_idea"],
              "started_on": cycle["started_on"].isoformat()}
    if "completed_on" in cycle:
        fields.update(completed_on=cycle["completed_on"].isoformat(), act=cycle["act"])
    repository.annotate(cycle["cycle_id"], fields)
