"""The latest SPC state of every series, one small document each: the read model of a network's
Making Data Count summary table (the web dashboard reads a whole network in one call instead of
analysing 200 series per page view).

It is written where each series is analysed (``commands.apply_to_network_series``) and when a
measure is rebased, so it follows the same analysis as /spc and the charts.
"""
from analytics.spc import verdict as spc_words
from shared import access
from shared.events.measurement import SERIES_POOLED

SERIES_SUMMARY = "series_summary"


def summary_of(measure, series, analysis):
    """The summary document of ``series`` of ``measure`` after ``analysis``."""
    latest = analysis.points[-1] if analysis.points else None
    return {"_id": f"{measure['_id']}|{series}", "measure_id": measure["_id"],
            "project_id": measure["project_id"], "network_id": measure["network_id"],
            "series": series,
            "latest_period": latest.date.isoformat() if latest else None,
            "latest_value": latest.value if latest else None,
            "points": len(analysis.points),
            "variation_type": analysis.variation_type,
            "assurance_type": analysis.assurance_type,
            "verdict": spc_words.verdict(analysis, measure.get("target"))}


def visible_series(principal, series):
    """Whether ``principal`` may see ``series`` (the pooled series or a practice's code)."""
    return access.may_see_series(principal, None if series == SERIES_POOLED else series)


def network_table(measures, summaries, participants, principal):
    """The answer of GET /networks/<id>/spc-summary: each measure (name, target, direction,
    its project's practices) with the summaries of the series ``principal`` may see."""
    by_measure = {}
    for summary in summaries:
        if visible_series(principal, summary["series"]):
            by_measure.setdefault(summary["measure_id"], []).append(summary)
    return {"items": [{
        "measure_id": measure["_id"], "name": measure["name"],
        "project_id": measure["project_id"], "unit": measure.get("unit"),
        "value_kind": measure.get("value_kind"), "frequency": measure.get("frequency"),
        "improvement": measure.get("improvement"), "target": measure.get("target"),
        "rebase_dates": list(measure.get("rebase_dates", ())),
        "practice_ids": sorted(p for p in participants.get(measure["project_id"], ())
                               if visible_series(principal, p)),
        "series": sorted(by_measure.get(measure["_id"], ()),
                         key=lambda s: (s["series"] != SERIES_POOLED, s["series"]))}
        for measure in measures]}


def store(database, measure, series, analysis):
    """Keep ``series``' summary after ``analysis`` (the latest analysis wins)."""
    document = summary_of(measure, series, analysis)
    database[SERIES_SUMMARY].replace_one({"_id": document["_id"]}, document, upsert=True)


def of_measures(database, measure_ids):
    """The stored summaries of every series of ``measure_ids``, in one query."""
    return list(database[SERIES_SUMMARY].find({"measure_id": {"$in": list(measure_ids)}}))
