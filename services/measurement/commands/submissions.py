"""Submissions: one row, a batch checked whole, a retried request answered once
(``Idempotency-Key``), a measure's submissions, and feedback into its own series."""
from shared import access
from shared.domain import Change, RuleBroken

from services.measurement import domain
from services.measurement.repository import MEASURES, PROJECTS, SUBMISSIONS
from services.measurement.commands.projects import get_measure_and_project, get_project


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
            accepted.append((key, measure, practice_id, period, contribution,
                             row.get("reason")))
    if errors:
        raise RuleBroken(f"{len(errors)} of {len(rows)} rows are invalid; nothing was stored",
                         row_errors(errors))
    existing = repository.submissions_by_id([key for key, *_ in accepted])
    outcomes, new_documents, corrections = [], [], []
    for key, measure, practice_id, period, contribution, reason in accepted:
        outcome, recorded, events = domain.record_submission(
            existing.get(key), measure, practice_id, period, contribution,
            principal.actor, now, trace, reason)
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


def list_submissions(repository, principal, measure_id, query):
    practice_id = access.acting_practice(principal, query.get("practice_id") or None)
    get_measure_and_project(repository, principal, measure_id, practice_id)
    order = -1 if query.get("newest_first") else 1
    return repository.listing(SUBMISSIONS, repository.submissions_of(measure_id, practice_id),
                              query, sort=(("period", order), ("_id", order)))


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
                                              principal.actor, now, trace)
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
