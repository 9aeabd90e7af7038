"""The rules of measures, submissions, pooled network series and signals, as plain Python.

A practice's submission for a (measure, period) is reduced to its *contribution* to the pooled
network value: counts are summed, proportions and rates pool as Σnumerator/Σdenominator, and
continuous values (and feedback ratings) as a weighted mean (Σ value·weight / Σ weight).
Keeping Σs per (measure, period) and applying each new or corrected contribution as a
difference makes a submission cost the same whatever the number of practices or periods.
"""
from datetime import date, timedelta

from analytics import spc
from analytics.submission_rules import (  # noqa: F401 (MAX_BATCH_ROWS: the schemas read it here)
    MAX_BATCH_ROWS, align_period, contribution_of,
)
from shared import access
from shared.domain import Change, ConflictError, EventSource, RuleBroken, new_id
from shared.events.measurement import SERIES_POOLED
from shared.validation import (
    MAX_SERIES_MAGNITUDE, in_date_bounds, is_readable_number,
)

SOURCE = EventSource("measurement")
MEASURE_TYPES = ("outcome", "process", "balancing")
VALUE_KINDS = ("count", "proportion", "rate", "continuous")
FREQUENCIES = ("week", "month")
FEEDBACK_SOURCES = ("staff", "lived_experience")
FEEDBACK_MEASURE_NAMES = {"staff": "Staff feedback rating (mean, 1-5)",
                          "lived_experience": "Lived experience feedback rating (mean, 1-5)"}
SIGNAL_KINDS = {spc.SPECIAL_CAUSE_IMPROVEMENT: "improvement",
                spc.SPECIAL_CAUSE_CONCERN: "concern",
                spc.SPECIAL_CAUSE_NEUTRAL_HIGH: "neutral",
                spc.SPECIAL_CAUSE_NEUTRAL_LOW: "neutral"}
# What defines a measure: a copy takes these from its source.
DEFINITION_FIELDS = ("name", "type", "value_kind", "unit", "frequency", "operational_definition",
                     "improvement", "target", "fix_after_n_points")


# --- periods ------------------------------------------------------------------------------

def period_end(period, frequency):
    """The last day of the period that starts on ``period``."""
    if frequency == "week":
        return period + timedelta(days=6)
    following = (period.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def previous_periods(today, frequency, count):
    """The ``count`` periods before the one holding ``today``, newest first."""
    periods, current = [], align_period(today, frequency)
    for _ in range(count):
        current = align_period(current - timedelta(days=1), frequency)
        periods.append(current)
    return periods


def due_period(today, frequency, asked=None):
    """The period a practice submits for now: the latest one that has ended by ``today``, or
    the period holding ``asked`` (an earlier one, to correct it)."""
    if asked is None:
        return previous_periods(today, frequency, 1)[0]
    return align_period(asked, frequency)


def overdue_periods(today, measure, overdue_days, lookback):
    """(period, due by) of the last ``lookback`` periods already ``overdue_days`` past their
    end, leaving out periods that ended before the measure was defined."""
    defined_on = measure["created_at"].date()
    found = []
    for period in previous_periods(today, measure["frequency"], lookback):
        end = period_end(period, measure["frequency"])
        due_by = end + timedelta(days=overdue_days)
        if due_by < today and end >= defined_on:
            found.append((period, due_by))
    return found


# --- measures ------------------------------------------------------------------------------

def define_measure(project, definition, now):
    """A new measure of ``project`` from its ``definition`` (``DEFINITION_FIELDS``, and a
    ``feedback_source`` for a series fed by feedback)."""
    if definition["value_kind"] == "proportion" and definition.get("target") is not None \
            and not 0 <= definition["target"] <= 1:
        raise RuleBroken("a proportion's target is a fraction",
                         {"target": ["give a number from 0 to 1"]})
    return {
        "_id": new_id("msr"), "project_id": project["_id"], "network_id": project["network_id"],
        "name": definition["name"], "type": definition["type"],
        "value_kind": definition["value_kind"], "unit": definition.get("unit"),
        "frequency": definition["frequency"],
        "operational_definition": definition["operational_definition"],
        "improvement": definition["improvement"], "target": definition.get("target"),
        "fix_after_n_points": definition.get("fix_after_n_points"),
        "rebase_dates": [], "feedback_source": definition.get("feedback_source"),
        "created_at": now,
    }


def copy_definition(source):
    """The definition of measure ``source``, to define the same measure in another project."""
    return {name: source[name] for name in DEFINITION_FIELDS}


def feedback_measure(project, source, now):
    """The measure a project's ``source`` feedback feeds (one per project and source)."""
    return define_measure(project, {
        "name": FEEDBACK_MEASURE_NAMES[source], "type": "outcome",
        "value_kind": "continuous", "unit": "rating", "frequency": "month",
        "operational_definition": f"Mean of the 1-5 ratings given by {source.replace('_', ' ')} "
                                  "feedback in the month, per practice and pooled.",
        "improvement": "increase", "feedback_source": source}, now) | {
            "_id": feedback_measure_id(project["_id"], source)}


def feedback_measure_id(project_id, source):
    return f"msr_{project_id}_{source}"


def add_rebase(measure, rebase_on):
    """A new baseline from the period holding ``rebase_on``: a ``Change`` of the measure."""
    aligned = align_period(rebase_on, measure["frequency"])
    if aligned.isoformat() in measure["rebase_dates"]:
        raise ConflictError("the measure is already rebased there",
                            {"date": [f"{aligned} is already a rebase date"]})
    return Change(measure, append={"rebase_dates": [aligned.isoformat()]})


# --- submissions ---------------------------------------------------------------------------

def check_submission(measure, project, principal, row, today, participating):
    """(practice_id, period, contribution, errors) for one submitted row; nothing raised, so
    that a batch can name every bad row. ``participating``: the practices, among those the
    request names, that take part in the measure's project."""
    errors = {}
    practice_id = row.get("practice_id") or principal.practice_id
    if practice_id is None:
        errors["practice_id"] = ["say which practice the value is for"]
    elif access.own_practice(principal) not in (None, practice_id):
        errors["practice_id"] = ["a practice key submits for its own practice only"]
    elif practice_id not in participating:
        errors["practice_id"] = [f"{practice_id} does not take part in this measure's project"]
    elif not access.may_act_for_practice(principal, practice_id, project["network_id"]):
        errors["practice_id"] = ["not yours to submit for"]
    period = align_period(row["period"], measure["frequency"])
    if period > today:
        errors["period"] = [f"the period starting {period} is in the future"]
    if measure.get("feedback_source"):
        errors["measure_id"] = ["this series is fed by feedback: POST /projects/{id}/feedback"]
    contribution, value_errors = contribution_of(measure["value_kind"], row)
    errors.update(value_errors)
    return practice_id, period, contribution, errors


def submission_id(measure_id, practice_id, period):
    return f"{measure_id}|{practice_id}|{period.isoformat()}"


def record_submission(existing, measure, practice_id, period, contribution, who, now, trace,
                      reason=None):
    """Decide what a submission does: ("created", new document, events), ("unchanged", None,
    []) or ("corrected", ``Change`` of ``existing``, its events). The same value again is a
    harmless no-op; a different one a correction with an audit entry (with ``reason``, why it
    changed, when one is given)."""
    recorded = {"measure_id": measure["_id"], "project_id": measure["project_id"],
                "practice_id": practice_id, "period": period}
    if existing is None:
        document = {"_id": submission_id(measure["_id"], practice_id, period),
                    "measure_id": measure["_id"], "project_id": measure["project_id"],
                    "network_id": measure["network_id"], "practice_id": practice_id,
                    "period": period.isoformat(), "contribution": contribution, "version": 1,
                    "submitted_at": now, "submitted_by": who, "corrections": []}
        events = [SOURCE.event("measurement.recorded",
                               {**recorded, "version": 1, "contribution": contribution,
                                "previous": None},
                               measure["network_id"], trace, practice_id)]
        return "created", document, events
    if existing["contribution"] == contribution:
        return "unchanged", None, []
    version = existing["version"] + 1
    # The event carries a reason only when there is one, as version 1 consumers expect.
    events = [
        SOURCE.event("measurement.corrected",
                     {**recorded, "old": existing["contribution"], "new": contribution,
                      "corrected_by": who, "corrected_at": now,
                      **({"reason": reason} if reason else {})},
                     measure["network_id"], trace, practice_id),
        SOURCE.event("measurement.recorded",
                     {**recorded, "version": version, "contribution": contribution,
                      "previous": existing["contribution"]},
                     measure["network_id"], trace, practice_id),
    ]
    change = Change(existing, set={"contribution": contribution, "submitted_at": now,
                                   "submitted_by": who},
                    append={"corrections": [{"at": now, "by": who,
                                             "old": existing["contribution"],
                                             "new": contribution, "reason": reason}]},
                    events=events)
    return "corrected", change, events


def feedback_contribution(tally):
    """A practice-period's feedback as a contribution: the mean rating, weighted by count."""
    return {"value": tally["rating_sum"] / tally["rating_count"], "numerator": None,
            "denominator": None, "weight": float(tally["rating_count"])}


def record_feedback(existing, measure, practice_id, period, entry, who, now, trace):
    """A feedback ``entry`` (with its ``rating``) added to its practice-period's submission of
    the feedback measure: a new document, or a ``Change`` of ``existing``. Each entry moves the
    mean rating (weighted by count), so it is always a new value: only its
    ``measurement.recorded`` event is sent, never a correction."""
    tally = {"rating_sum": (existing or {}).get("rating_sum", 0) + entry["rating"],
             "rating_count": (existing or {}).get("rating_count", 0) + 1}
    outcome, recorded, events = record_submission(
        existing, measure, practice_id, period, feedback_contribution(tally), who, now, trace)
    events = [e for e in events if e["event_type"] == "measurement.recorded"]
    if outcome == "created":
        return {**recorded, **tally, "feedback": [entry]}, events
    return Change(existing, set={**recorded.set, **tally},
                  append={"feedback": [entry]}, events=events), events


# --- the pooled network series ---------------------------------------------------------------

def pooled_increments(contribution, previous):
    """What to add to a period's sums when ``previous`` (or nothing) becomes ``contribution``."""
    def parts(c):
        if c is None:
            return 0.0, 0.0, 0.0, 0.0, 0
        return ((c["value"] or 0.0) * c["weight"], c["weight"], c["numerator"] or 0.0,
                c["denominator"] or 0.0, 1)

    new, old = parts(contribution), parts(previous)
    names = ("total", "weight", "numerator", "denominator", "practices")
    return {name: n - o for name, n, o in zip(names, new, old)}


def pooled_value(value_kind, sums):
    """The network value of one period from its sums (None while undefined)."""
    if value_kind in ("proportion", "rate"):
        return sums["numerator"] / sums["denominator"] if sums["denominator"] else None
    if value_kind == "count":
        return sums["total"]
    return sums["total"] / sums["weight"] if sums["weight"] else None


def unreadable_periods(points):
    """The periods of (period, value, ...) rows holding a value or date no analysis can take:
    not finite, beyond ±MAX_SERIES_MAGNITUDE, or a date out of bounds (stored before the
    bounds were checked, or damaged)."""
    bad = []
    for period, *numbers in points:
        day = date.fromisoformat(period) if isinstance(period, str) else period
        if not in_date_bounds(day) or not all(is_readable_number(n) for n in numbers):
            bad.append(day.isoformat())
    return bad


def check_readable(points, series):
    """``points`` unchanged, or 409 naming the periods that would break SPC, JSON or charts:
    a read answers a clear refusal, never a 500 or a non-finite number."""
    bad = unreadable_periods(points)
    if bad:
        shown = ", ".join(bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        raise ConflictError(f"the stored {series} series holds values out of range "
                       f"(not finite, beyond ±{MAX_SERIES_MAGNITUDE:g}, or dated out of bounds); "
                       "correct the submissions of those periods",
                            {"period": [f"out of range: {shown}"]}, code="series_out_of_range")
    return points


def analyse_series(measure, points, series=SERIES_POOLED):
    """SPC of (period, value) points with the measure's options; 409 when a stored value or
    the measure's target is out of range (see ``check_readable``)."""
    check_readable(points, series)
    if not is_readable_number(measure.get("target")):
        raise ConflictError("the measure's target is out of range; define the measure again",
                            {"target": [f"beyond ±{MAX_SERIES_MAGNITUDE:g}"]},
                            code="series_out_of_range")
    points = [(date.fromisoformat(p) if isinstance(p, str) else p, v) for p, v in points]
    return spc.analyse([p for p, _ in points], [v for _, v in points],
                       improvement=measure["improvement"], target=measure.get("target"),
                       fix_after_n_points=measure.get("fix_after_n_points"),
                       rebase_dates=[date.fromisoformat(d) for d in measure["rebase_dates"]])


def signal_changes(state, analysis, measure, series, trace):
    """Compare a series' latest SPC with its stored state: (new state fields, events).

    A signal is sent when the latest point becomes special cause and no episode is open; the
    episode closes when the latest point is common cause again, so a long shift signals once.
    """
    events, new_state = [], {"episode": state.get("episode"), "assurance": state.get("assurance")}
    network_id = measure["network_id"]
    practice_id = None if series == SERIES_POOLED else series
    if analysis.points:
        latest = analysis.points[-1]
        kind = SIGNAL_KINDS.get(latest.point_type)
        if kind is None:
            new_state["episode"] = None
        elif state.get("episode") is None:
            new_state["episode"] = {"period": latest.date.isoformat(), "kind": kind,
                                    "rule": spc.decisive_rule(latest)}
            events.append(SOURCE.event("measurement.signal_detected", {
                "measure_id": measure["_id"], "project_id": measure["project_id"],
                "series": series, "rule": spc.decisive_rule(latest), "kind": kind,
                "point_type": latest.point_type, "period": latest.date, "value": latest.value,
                "measure_type": measure.get("type")},
                network_id, trace, practice_id))
        new_state["assurance"] = analysis.assurance_type
        if (analysis.assurance_type != state.get("assurance")
                and measure.get("target") is not None):
            events.append(SOURCE.event("measurement.assurance_changed", {
                "measure_id": measure["_id"], "project_id": measure["project_id"],
                "series": series, "previous": state.get("assurance"),
                "current": analysis.assurance_type, "target": measure["target"]},
                network_id, trace, practice_id))
    return new_state, events


def series_state_update(state_id, state, analysis, measure, series, trace):
    """The stored state of a series after its latest analysis: a new document (``state`` is
    None), a ``Change`` of ``state``, or None when nothing changed."""
    fields, events = signal_changes(state or {}, analysis, measure, series, trace)
    if state is None:
        return {"_id": state_id, **fields}, events
    if events or fields != {k: state.get(k) for k in fields}:
        return Change(state, set=fields, events=events), events
    return None, []


def overdue_notice(measure, practice_id, period, due_by, trace):
    document = {"_id": submission_id(measure["_id"], practice_id, period),
                "measure_id": measure["_id"], "practice_id": practice_id,
                "period": period.isoformat(), "due_by": due_by.isoformat()}
    overdue = SOURCE.event("measurement.submission_overdue", {
        "measure_id": measure["_id"], "project_id": measure["project_id"],
        "practice_id": practice_id, "period": period, "due_by": due_by},
        measure["network_id"], trace, practice_id)
    return document, [overdue]
