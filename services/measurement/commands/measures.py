"""Measures: defined, copied, listed, read and rebased, and the network's SPC summary table
(one row per measure and series, kept as each series is analysed)."""
from shared import access
from shared.domain import RuleBroken
from shared.events.measurement import SERIES_POOLED

from services.measurement import domain, summaries
from services.measurement.repository import MEASURES, PARTICIPATIONS, PROJECTS
from services.measurement.commands.projects import get_measure_and_project, get_project
from services.measurement.commands.series import pooled_points


# --- measures -----------------------------------------------------------------------------

def define_measure(repository, principal, project_id, definition, now, trace):
    project = get_project(repository, principal, project_id, write=True)
    return repository.insert(MEASURES, domain.define_measure(project, definition, now))


def copy_measure(repository, principal, project_id, command, now, trace):
    """Define in ``project_id`` the measure ``command["from_measure_id"]`` of its network."""
    project = get_project(repository, principal, project_id, write=True)
    source = repository.find(MEASURES, command["from_measure_id"])
    if source is None or source["network_id"] != project["network_id"]:
        raise RuleBroken("no such measure in this network",
                         {"from_measure_id": [f"{command['from_measure_id']} not found"]})
    return repository.insert(MEASURES, domain.define_measure(
        project, domain.copy_definition(source), now))


def list_measures(repository, principal, project_id):
    get_project(repository, principal, project_id)
    return {"items": repository.find_many(MEASURES, {"project_id": project_id})}


def get_measure(repository, principal, measure_id):
    return get_measure_and_project(repository, principal, measure_id)[0]


def rebase_measure(repository, principal, measure_id, command, now, trace):
    measure, _ = get_measure_and_project(repository, principal, measure_id, write=True)
    rebased = repository.apply(MEASURES, domain.add_rebase(measure, command["date"]))
    refresh_summaries(repository, rebased)
    return rebased


def refresh_summaries(repository, measure):
    """Analyse every series of ``measure`` again for the summary table (after a rebase)."""
    project = repository.find(PROJECTS, measure["project_id"])
    summaries.store(repository.database, measure, SERIES_POOLED, domain.analyse_series(
        measure, pooled_points(repository, measure, project), SERIES_POOLED))
    for practice_id in repository.participants(measure["project_id"]):
        points = repository.practice_series(measure["_id"], practice_id)
        if points:
            summaries.store(repository.database, measure, practice_id,
                            domain.analyse_series(measure, points, practice_id))


def network_summary(repository, principal, network_id):
    """The latest SPC state of every series of the network's measures that ``principal`` may
    see (a practice key: the measures of projects its practice takes part in, their pooled
    series and its own), in three queries whatever the size of the network."""
    access.check_network_readable(principal, network_id)
    measures = repository.find_many(MEASURES, {"network_id": network_id})
    participants = {}
    for document in repository.database[PARTICIPATIONS].find(
            {"project_id": {"$in": sorted({m["project_id"] for m in measures})}},
            {"project_id": 1, "practice_id": 1}):
        participants.setdefault(document["project_id"], set()).add(document["practice_id"])
    if access.is_practice_key(principal):
        measures = [m for m in measures
                    if principal.practice_id in participants.get(m["project_id"], ())]
    measures.sort(key=lambda m: (m["name"], m["_id"]))
    return summaries.network_table(measures, summaries.of_measures(
        repository.database, [m["_id"] for m in measures]), participants, principal)
