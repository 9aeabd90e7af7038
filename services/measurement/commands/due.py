"""What a practice is due to submit: every measure of every project it takes part in, each
with the period due and what the practice already submitted for it, in one answer, so that a
form for all of them costs one call whatever the number of measures."""
from shared import access
from shared.domain import RuleBroken

from services.measurement import domain
from services.measurement.repository import MEASURES


def due_now(repository, principal, practice_id, today, asked=None):
    """``{"practice_id", "today", "items"}``: the measures ``practice_id`` submits to (not the
    series fed by feedback), in project and definition order, each with its ``period`` due
    (the latest one ended by ``today``, or the one holding ``asked``) and the practice's
    ``submission`` for it (None when there is none). A practice key sees its own practice
    only, a lead its network's projects; to anyone else the practice does not exist."""
    access.check_practice(principal, practice_id, principal.network_id, "practice")
    if asked is not None and asked > today:
        raise RuleBroken("a period that has started can be submitted",
                         {"period": [f"{asked} is in the future"]})
    projects = {p["_id"]: p for p in repository.projects_of_practice(
        practice_id, access.listing_scope(principal))}
    measures = sorted(repository.find_many(MEASURES, {"project_id": {"$in": sorted(projects)},
                                                      "feedback_source": None}),
                      key=lambda m: (projects[m["project_id"]].get("title") or "",
                                     m["created_at"], m["_id"]))
    periods = {m["_id"]: domain.due_period(today, m["frequency"], asked) for m in measures}
    submitted = repository.submissions_by_id(
        [domain.submission_id(m["_id"], practice_id, periods[m["_id"]]) for m in measures])
    items = []
    for measure in measures:
        period = periods[measure["_id"]]
        items.append({
            **measure, "project_title": projects[measure["project_id"]].get("title"),
            "period": period.isoformat(),
            "period_end": domain.period_end(period, measure["frequency"]).isoformat(),
            "submission": submitted.get(domain.submission_id(measure["_id"], practice_id,
                                                             period))})
    return {"practice_id": practice_id, "today": today.isoformat(), "items": items}

