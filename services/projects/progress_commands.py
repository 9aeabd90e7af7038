"""The service layer of the IHI progress score: the lead sets a score; projects are answered
with their score, its history and the suggestion derived from what this service has learned;
the measurement service's events tell it of measures and their signals.

Each function loads what it needs, lets ``progress`` decide and stores once.
"""
from shared import access

from services.projects import commands, progress
from services.projects.repository import PROJECT_MEASURES, PROJECTS


def with_progress(project, cycle_counts, measures):
    """The project as ``ProjectOut`` answers it: its score (or None), history, suggestion."""
    return {**project, "progress_score": project.get("progress_score"),
            "progress_history": project.get("progress_history", []),
            "progress_suggestion": progress.suggest(
                progress.evidence_of(project, cycle_counts, measures))}


def get_project(repository, principal, project_id):
    project = commands.get_project(repository, principal, project_id)
    return with_progress(project, repository.cycle_counts([project_id])[project_id],
                         repository.measures_of([project_id])[project_id])


def list_projects(repository, principal, query):
    """A page of projects, each with its progress: three queries whatever the page size."""
    listed = commands.list_projects(repository, principal, query)
    ids = [project["_id"] for project in listed["items"]]
    counts, measures = repository.cycle_counts(ids), repository.measures_of(ids)
    return {**listed, "items": [with_progress(p, counts[p["_id"]], measures[p["_id"]])
                                for p in listed["items"]]}


def set_progress_score(repository, principal, project_id, command, now):
    """Whoever may change the project sets its score; answers the project with its progress."""
    project = commands.get_project(repository, principal, project_id)
    access.check_project_write(principal, project)
    by = principal.staff_id or principal.key_id
    repository.apply(PROJECTS, progress.set_score(project, command["score"],
                                                  command.get("note"), by, now))
    return get_project(repository, principal, project_id)


# --- what the measurement service tells us ------------------------------------------------

def learn_measure(repository, recorded):
    """A ``measurement.recorded`` event's data: the measure has data."""
    measure = progress.measure_heard_of(_stored(repository, recorded["measure_id"]),
                                        recorded["measure_id"], recorded["project_id"])
    if measure is not None:
        repository.add_measure(measure)


def learn_signal(repository, signal):
    """A ``measurement.signal_detected`` event's data: the latest signal of its series."""
    measure = progress.signal_update(_stored(repository, signal["measure_id"]), signal)
    if measure is not None:
        repository.store_signal(measure, signal["series"])


def _stored(repository, measure_id):
    return repository.find(PROJECT_MEASURES, measure_id)
