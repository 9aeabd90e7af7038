"""The service layer of the measurement service: what its entrypoints and handlers call.

Commands take (repository, principal, [the id they act on,] command, now, trace): they read
what they need, check access (``shared.access``) and the domain's rules, store the result with
its events in one write, and return what was stored. Queries take (repository, principal, ...)
and return documents or a page. Refusals are ``shared.domain`` errors; nothing here knows HTTP
or the broker, so tests run these against the in-memory store.
"""
import hashlib
from datetime import date

from shared import access
from shared.domain import Change, ConflictError, NotFoundError, RuleBroken
from shared.events.measurement import SERIES_POOLED

from services.measurement import domain, summaries
from services.measurement.repository import (
    MEASURES, PARTICIPATIONS, POOLED_SUMS, PROJECTS, SERIES_STATE, SUBMISSIONS, series_state_id,
)

OVERDUE_LOOKBACK_PERIODS = 8


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


# --- submissions --------------------------------------------------------------------------

def row_errors(errors_by_row):
    return {f"rows.{index}.{field}": reasons
            for index, errors in errors_by_row.items() for field, reasons in errors.items()}


def submit(repository, principal, rows, now, trace):
    """Store submitted ``rows``: every row is checked first (any bad row refuses the whole
    request, naming each bad row and field, and nothing is written), then new values and
    corrections are stored with their events. Returns ``[{"id", "outcome"}]`` in row order."""
    measures = {m["_id"]: m for m in repository.find_many(
        MEASURES, {"_id": {"$in": sorted({r["measure_id"] for r in rows})}})}
    projects = {p["_id"]: p for p in repository.find_many(
        PROJECTS, {"_id": {"$in": sorted({m["project_id"] for m in measures.values()})}})}
    named = {}
    for row in rows:
        if row["measure_id"] in measures:
            named.setdefault(measures[row["measure_id"]]["project_id"], set()).add(
                row.get("practice_id") or principal.practice_id)
    participating = {project_id: repository.participating(project_id, practice_ids)
                     for project_id, practice_ids in named.items()}
    errors, accepted, seen = {}, [], {}
    for index, row in enumerate(rows):
        measure = measures.get(row["measure_id"])
        project = projects.get(measure["project_id"]) if measure else None
        if measure is None or project is None or not access.may_read_network(
                principal, project["network_id"]):
            errors[index] = {"measure_id": [f"{row['measure_id']} not found"]}
            continue
        practice_id, period, contribution, row_error = domain.check_submission(
            measure, project, principal, row, now.date(), participating[project["_id"]])
        key = domain.submission_id(measure["_id"], practice_id or "-", period)
        if not row_error and key in seen:
            row_error = {"period": [f"repeats row {seen[key]} (same measure, practice "
                                    "and period)"]}
        seen[key] = index
        if row_error:
            errors[index] = row_error
        else:
            accepted.append((key, measure, practice_id, period, contribution))
    if errors:
        raise RuleBroken(f"{len(errors)} of {len(rows)} rows are invalid; nothing was stored",
                         row_errors(errors))
    existing = repository.submissions_by_id([key for key, *_ in accepted])
    outcomes, new_documents, corrections = [], [], []
    for key, measure, practice_id, period, contribution in accepted:
        outcome, recorded, events = domain.record_submission(
            existing.get(key), measure, practice_id, period, contribution,
            principal.key_id, now, trace)
        outcomes.append({"id": key, "outcome": outcome})
        if outcome == "created":
            new_documents.append((recorded, events))
        elif outcome == "corrected":
            corrections.append(recorded)
    repository.insert_submissions(new_documents)
    for change in corrections:
        repository.apply(SUBMISSIONS, change)
    return outcomes


def submit_one(repository, principal, row, now, trace):
    """The stored submission of ``row`` with its ``outcome`` (created, corrected, unchanged)."""
    outcome = submit(repository, principal, [row], now, trace)[0]
    return {**repository.find(SUBMISSIONS, outcome["id"]), "outcome": outcome["outcome"]}


def submit_batch(repository, principal, rows, now, trace):
    """How many ``rows`` were created, corrected and unchanged, and each row's outcome."""
    outcomes = submit(repository, principal, rows, now, trace)
    counts = {name: sum(1 for o in outcomes if o["outcome"] == name)
              for name in ("created", "corrected", "unchanged")}
    return {"rows": len(rows), **counts, "results": outcomes}


def answer_once(repository, principal, idempotency_key, request_body, now, answer):
    """(status, body, replayed): ``answer()`` (which returns (status, body)) run once per
    ``Idempotency-Key`` of ``principal``; a retry with the same key and body gets the stored
    answer again, a different body with that key is refused. No key: ``answer()`` each time."""
    if not idempotency_key:
        return (*answer(), False)
    key = f"{principal.key_id}:{idempotency_key}"
    fingerprint = hashlib.sha256(request_body).hexdigest()
    remembered = repository.remembered_response(key, now)
    if remembered is not None:
        if remembered["fingerprint"] != fingerprint:
            raise ConflictError("this Idempotency-Key was used for a different request",
                                {"Idempotency-Key": ["use a new key for a new request"]})
        return remembered["status"], remembered["body"], True
    status, body = answer()
    repository.remember_response(key, fingerprint, status, body, now)
    return status, body, False


def list_submissions(repository, principal, measure_id, query):
    practice_id = access.acting_practice(principal, query.get("practice_id") or None)
    get_measure_and_project(repository, principal, measure_id, practice_id)
    return repository.listing(SUBMISSIONS, repository.submissions_of(measure_id, practice_id),
                              query, sort=(("period", 1), ("_id", 1)))


# --- feedback -----------------------------------------------------------------------------

def give_feedback(repository, principal, project_id, command, now, trace):
    """Add a feedback entry to its practice-period of the project's feedback measure (made on
    first use); returns the entry."""
    practice_id = access.acting_practice(principal, command["practice_id"])
    project = get_project(repository, principal, project_id, practice_id)
    if not repository.participating(project_id, [practice_id]):
        raise RuleBroken("say which participating practice the feedback is about",
                         {"practice_id": ["required, and must take part in the project"]})
    measure = repository.find(MEASURES, domain.feedback_measure_id(project_id,
                                                                   command["source"]))
    if measure is None:
        measure = repository.add_measure_once(
            domain.feedback_measure(project, command["source"], now))
    period = domain.align_period(command["period"], measure["frequency"])
    if period > now.date():
        raise RuleBroken("feedback is for a period that has started",
                         {"period": [f"the period starting {period} is in the future"]})
    entry = {"source": command["source"], "rating": command["rating"],
             "comment": command["comment"], "period": period.isoformat(),
             "practice_id": practice_id, "received_at": now}
    existing = repository.find(SUBMISSIONS, domain.submission_id(measure["_id"], practice_id,
                                                                 period))
    recorded, events = domain.record_feedback(existing, measure, practice_id, period, entry,
                                              principal.key_id, now, trace)
    if isinstance(recorded, Change):
        repository.apply(SUBMISSIONS, recorded)
    else:
        repository.insert(SUBMISSIONS, recorded, events)
    return entry


def list_feedback(repository, principal, project_id):
    get_project(repository, principal, project_id)
    # A practice key reads its own practice's feedback; leads the whole project's.
    entries = [entry for document in repository.feedback_of(project_id,
                                                            access.own_practice(principal))
               for entry in document["feedback"]]
    entries.sort(key=lambda e: (e["period"], e["received_at"]))
    return {"items": entries}


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
