"""The network dashboard as a Making Data Count summary-icons table, built from the measurement
service's one-call summary (``GET /networks/<id>/spc-summary``), with the open training gaps
from the training service's capability report beside it: plain functions, no I/O."""
from urllib.parse import quote

from analytics.spc import verdict as spc_words
from analytics.spc.vocabulary import (
    COMMON_CAUSE, CONSISTENT_FAIL, CONSISTENT_PASS, INCONSISTENT, SPECIAL_CAUSE_CONCERN,
    SPECIAL_CAUSE_IMPROVEMENT, SPECIAL_CAUSE_NEUTRAL_HIGH, SPECIAL_CAUSE_NEUTRAL_LOW,
)
from services.web.dates import long_date

POOLED = "pooled"
ASSURANCE_ICONS = {CONSISTENT_PASS: "assurance-pass", CONSISTENT_FAIL: "assurance-fail",
                   INCONSISTENT: "assurance-inconsistent"}


def variation_icon(variation_type, improvement):
    """The icon file of a variation: high/low follows the direction of improvement."""
    if variation_type == SPECIAL_CAUSE_IMPROVEMENT:
        return "improvement-high" if improvement != "decrease" else "improvement-low"
    if variation_type == SPECIAL_CAUSE_CONCERN:
        return "concern-low" if improvement != "decrease" else "concern-high"
    if variation_type == SPECIAL_CAUSE_NEUTRAL_HIGH:
        return "neutral-high"
    if variation_type == SPECIAL_CAUSE_NEUTRAL_LOW:
        return "neutral-low"
    return "common-cause"


def number(value, value_kind=None):
    if value is None:
        return "none"
    if value_kind == "proportion":
        return f"{value * 100:.0f}%"
    return spc_words.number_in_words(value)


def cell(summary, measure):
    """One table cell: the icons with their words for screen readers, and the latest value."""
    variation = summary.get("variation_type") or COMMON_CAUSE
    assurance = summary.get("assurance_type")
    words = spc_words.VARIATION_WORDS.get(variation, variation)
    return {"variation_icon": variation_icon(variation, measure.get("improvement")),
            "variation_words": f"Variation: {words}",
            "assurance_icon": ASSURANCE_ICONS.get(assurance),
            "assurance_words": ("Assurance: " + spc_words.ASSURANCE_WORDS.get(assurance, "")
                                if assurance else ""),
            "latest": (f"{number(summary.get('latest_value'), measure.get('value_kind'))} "
                       f"(week of {summary.get('latest_period')})"
                       if summary.get("latest_period") else "No data"),
            "concern": variation == SPECIAL_CAUSE_CONCERN or assurance == CONSISTENT_FAIL,
            "verdict": summary.get("verdict")}


def table(summary_answer):
    """(rows, practice columns, who has not submitted for the last period) of a network."""
    rows, practices, missing = [], set(), []
    for measure in summary_answer["items"]:
        practices.update(measure["practice_ids"])
        by_series = {s["series"]: s for s in measure["series"]}
        pooled = by_series.get(POOLED)
        row = {"measure_id": measure["measure_id"], "name": measure["name"],
               "target": number(measure.get("target"), measure.get("value_kind")),
               "pooled": cell(pooled, measure) if pooled else None,
               "practices": {p: cell(s, measure) for p, s in by_series.items() if p != POOLED}}
        row["concern"] = any(c and c["concern"] for c in [row["pooled"],
                                                            *row["practices"].values()])
        rows.append(row)
        last = max((s["latest_period"] for s in measure["series"]
                    if s["series"] != POOLED and s.get("latest_period")), default=None)
        for practice in measure["practice_ids"]:
            latest = by_series.get(practice, {}).get("latest_period")
            if last and (latest is None or latest < last):
                missing.append(f"{practice}: {measure['name']} (week of {last})")
    rows.sort(key=lambda r: (not r["concern"], r["name"]))
    return rows, sorted(practices), missing


GAPS_SHOWN = 10


def training_gaps(capability_report):
    """The open training gaps beside the table, from the training service's capability report
    of the network or the practice (one call): how many are open (overdue) and the earliest
    GAPS_SHOWN of them as {staff_id, href of their training record, level, due} in words."""
    overdue = [row for row in capability_report.get("next_needs") or () if row.get("overdue")]
    return {"open": (capability_report.get("gaps") or {}).get("open", len(overdue)),
            "rows": [{"staff_id": row["staff_id"],
                      "href": f"/people/{quote(row['staff_id'], safe='')}/training",
                      "level": row["level"].replace("_", " ").capitalize(),
                      "due": long_date(row["due_on"])} for row in overdue[:GAPS_SHOWN]]}
