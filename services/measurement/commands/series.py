"""The pooled network series and its signals, SPC of a series, its chart's annotations, and
the overdue notices of practices falling behind."""
from datetime import date

from shared import access
from shared.domain import Change
from shared.events.measurement import SERIES_POOLED

from services.measurement import domain, summaries
from services.measurement.repository import (MEASURES, POOLED_SUMS, PROJECTS, SERIES_STATE,
                                             series_state_id)
from services.measurement.commands.projects import get_measure_and_project

OVERDUE_LOOKBACK_PERIODS = 8


# --- the pooled network series and its signals -------------------------------------------

def apply_to_network_series(repository, recorded, trace):
    """Add a ``measurement.recorded`` value (the event's data) to its period's pooled sums,
    exactly once and in version order (``ContributionOutOfOrder`` when an earlier version is
    still to come), then analyse the pooled and the practice's series and store their signal
    states with the events they raise. Anything raised leaves the event to be retried."""
    period = recorded["period"].isoformat()
    # A "duplicate" is a retry whose sums were applied but whose analysis failed (or a
    # redelivery): the analysis below is idempotent, so it runs again rather than being
    # skipped; only a handler that returns is recorded as applied.
    outcome = repository.apply_to_pooled(
        recorded["measure_id"], period, recorded["practice_id"], recorded["version"],
        domain.pooled_increments(recorded["contribution"], recorded["previous"]))
    measure = repository.find(MEASURES, recorded["measure_id"])
    project = repository.find(PROJECTS, measure["project_id"])
    for series, points in (
            (SERIES_POOLED, pooled_points(repository, measure, project)),
            (recorded["practice_id"], repository.practice_series(measure["_id"],
                                                                 recorded["practice_id"]))):
        analysis = domain.analyse_series(measure, points, series)
        summaries.store(repository.database, measure, series, analysis)  # the dashboard's
        state_id = series_state_id(measure["_id"], series)
        state = repository.find(SERIES_STATE, state_id)
        update, events = domain.series_state_update(state_id, state, analysis, measure,
                                                    series, trace)
        if isinstance(update, Change):
            repository.apply(SERIES_STATE, update)
        elif update is not None:
            repository.insert(SERIES_STATE, update, events,
                              conflict_message="the series was evaluated concurrently")
    return outcome


def pooled_points(repository, measure, project):
    """(period, value) of the pooled series. Signals look only at periods every
    participating practice has submitted: a half-filled period is not a shift."""
    expected = project.get("practice_count", 0) if project else 0
    return [(p["period"], domain.pooled_value(measure["value_kind"], p))
            for p in repository.pooled_periods(measure["_id"])
            if p["practices"] >= expected]


def pooled_series(repository, principal, measure_id):
    """Every period of the pooled series with its sums; per practice for the network's lead."""
    measure, project = get_measure_and_project(repository, principal, measure_id)
    show_practices = access.may_manage_network(principal, project["network_id"])
    stored = repository.pooled_periods(measure_id)
    domain.check_readable([(p["period"], *(p[name] for name in POOLED_SUMS))
                           for p in stored], SERIES_POOLED)
    periods = []
    for pooled in stored:
        entry = {"period": pooled["period"],
                 "value": domain.pooled_value(measure["value_kind"], pooled),
                 "practices_submitted": pooled["practices"],
                 "practices_expected": project.get("practice_count", 0),
                 "numerator": pooled["numerator"], "denominator": pooled["denominator"],
                 "n": pooled["weight"]}
        if show_practices:
            entry["by_practice"] = {
                s["practice_id"]: s["contribution"]["value"]
                for s in repository.period_submissions(measure_id, pooled["period"])}
        periods.append(entry)
    return {"measure_id": measure_id, "value_kind": measure["value_kind"], "periods": periods}


def coverage(repository, principal, measure_id, query):
    """Which participating practices submitted for the period holding ``query["period"]``."""
    measure, project = get_measure_and_project(repository, principal, measure_id)
    period = domain.align_period(query["period"], measure["frequency"]).isoformat()
    submitted = sorted(s["practice_id"]
                       for s in repository.period_submissions(measure_id, period))
    expected = repository.participants(project["_id"])
    return {"period": period, "expected": expected, "submitted": submitted,
            "missing": [p for p in expected if p not in submitted]}


def analyse(repository, principal, measure_id, practice_id=None):
    """(measure, series name, SPC analysis) of the pooled series, or of ``practice_id``'s."""
    measure, project = get_measure_and_project(repository, principal, measure_id, practice_id)
    if practice_id:
        points = repository.practice_series(measure_id, practice_id)
    else:
        points = pooled_points(repository, measure, project)
    series = practice_id or SERIES_POOLED
    return measure, series, domain.analyse_series(measure, points, series)


def chart_annotations(repository, measure, series, analysis, today, margin):
    """(day, label) of the project's PDSA cycles on a chart of ``series``: those from
    ``margin`` before its first point to ``margin`` after its last one (or after today, so a
    cycle just started shows); others are left out, so a cycle dated far away cannot stretch
    (or break) the axis."""
    first = (analysis.points[0].date if analysis.points else today) - margin
    last = max(analysis.points[-1].date if analysis.points else today, today) + margin
    return [
        (day, f"PDSA: {a['change_idea'][:30]}" + (f" ({a['act']})" if a.get("act") else ""))
        for a in repository.annotations(measure["project_id"])
        if series == SERIES_POOLED or a.get("practice_id") in (None, series)
        for day in [date.fromisoformat(a.get("completed_on") or a["started_on"])]
        if first <= day <= last]


# --- practices falling behind -------------------------------------------------------------

def check_overdue_submissions(repository, overdue_days, today, trace,
                              lookback=OVERDUE_LOOKBACK_PERIODS):
    """Raise ``measurement.submission_overdue`` once per practice and period that is
    ``overdue_days`` past its end with nothing submitted; returns how many were raised."""
    raised = 0
    for measure in repository.find_many(MEASURES, {"feedback_source": None}):
        project = repository.find(PROJECTS, measure["project_id"])
        if project is None:
            continue
        for period, due_by in domain.overdue_periods(today, measure, overdue_days, lookback):
            submitted = {s["practice_id"] for s in repository.period_submissions(
                measure["_id"], period.isoformat())}
            for practice_id in repository.participants(project["_id"]):
                if practice_id not in submitted:
                    document, events = domain.overdue_notice(measure, practice_id, period,
                                                             due_by, trace)
                    raised += repository.record_overdue(document, events)
    return raised
