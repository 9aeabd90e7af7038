"""A project's IHI progress score: the one the lead sets, and the one this service suggests
from what it has learned (PDSA cycles, the stage, the team, measures in special-cause
improvement). The suggestion is only ever shown; a score changes when the lead sets it.

Plain Python on dicts: no broker, no database, no HTTP.
"""
from dataclasses import dataclass

from shared.domain import Change, RuleBroken

# The IHI scale, in half steps, with what each score means here.
MEANINGS = {
    0.5: "Intent: the project is registered with its aim",
    1.0: "Team formed: a lead and a team, the aim as its charter",
    1.5: "Planning has begun",
    2.0: "Changes are being tested",
    2.5: "Cycles completed, no improvement yet",
    3.0: "Modest improvement: a measure in special-cause improvement",
    3.5: "Improvement in most measures",
    4.0: "Significant improvement: every outcome measure improving",
    4.5: "Sustainable improvement: sustaining, with the improvement held",
    5.0: "Outstanding sustainable results: the lead's judgement alone",
}
SCORES = tuple(MEANINGS)
PAST_IDEA = ("planning", "testing", "implementing", "sustaining")
IMPROVEMENT = "improvement"
POOLED = "pooled"
OUTCOME = "outcome"


# --- the score the lead sets --------------------------------------------------------------

def set_score(project, score, note, by, now):
    """The ``Change`` that makes ``score`` (one of ``SCORES``) the project's current score,
    kept in its history with the note, who set it and when."""
    if score not in SCORES:
        raise RuleBroken("not a score of the IHI scale", {"score": [
            "choose one of " + ", ".join(f"{s:.1f}" for s in SCORES)]})
    entry = {"score": score, "note": note, "by": by, "at": now}
    return Change(project, set={"progress_score": entry, "updated_at": now},
                  append={"progress_history": [entry]})


# --- what the measurement service tells us ------------------------------------------------

def measure_heard_of(known, measure_id, project_id):
    """A measure of the project has data (``known``: what is stored of it, or None): the
    document to store when it is new, else None (redelivered or already known)."""
    if known is not None:
        return None
    return {"_id": measure_id, "project_id": project_id, "measure_type": None, "series": {}}


def signal_update(known, signal):
    """The latest signal of one series of a measure, from a ``measurement.signal_detected``
    event's data: (measure document to store, or None when ``signal`` is not newer than the
    one stored for its series, so a late redelivery never replaces a newer signal)."""
    document = known or {"_id": signal["measure_id"], "project_id": signal["project_id"],
                         "measure_type": None, "series": {}}
    stored = document["series"].get(signal["series"])
    period = signal["period"].isoformat()
    if stored is not None and stored["period"] >= period:
        return None
    series = {**document["series"], signal["series"]: {
        "kind": signal["kind"], "rule": signal["rule"], "period": period}}
    return {**document, "series": series,
            "measure_type": signal.get("measure_type") or document.get("measure_type")}


def is_improving(measure):
    """In special-cause improvement: the latest signal of the network's pooled series."""
    latest = measure["series"].get(POOLED)
    return latest is not None and latest["kind"] == IMPROVEMENT


# --- the suggestion -----------------------------------------------------------------------

@dataclass(frozen=True)
class Evidence:
    """What the suggestion is derived from, for one project."""
    stage: str
    has_lead: bool
    team_size: int
    cycles_running: int
    cycles_completed: int
    measures: int  # measures with data
    improving: int  # of them, in special-cause improvement on the pooled series
    outcome_measures: int  # measures known to be outcome measures
    outcome_improving: int


def evidence_of(project, cycle_counts, measures):
    """``cycle_counts``: {"running": n, "completed": n} of the project's PDSA cycles;
    ``measures``: the stored measure documents of the project."""
    outcomes = [m for m in measures if m.get("measure_type") == OUTCOME]
    return Evidence(
        stage=project["stage"],
        has_lead=any(m["role"] == "lead" for m in project.get("members", [])),
        team_size=len({m["staff_id"] for m in project.get("members", [])}),
        cycles_running=cycle_counts.get("running", 0),
        cycles_completed=cycle_counts.get("completed", 0),
        measures=len(measures), improving=sum(1 for m in measures if is_improving(m)),
        outcome_measures=len(outcomes),
        outcome_improving=sum(1 for m in outcomes if is_improving(m)))


def _plural(count, word):
    return f"{count} {word}" + ("" if count == 1 else "s")


def suggest(evidence):
    """``{"score", "meaning", "reasons"}``: the score the evidence supports, each step of the
    reasoning in plain English, and what the next score up would need."""
    e = evidence
    tested = e.cycles_running + e.cycles_completed >= 1
    completed = e.cycles_completed >= 1
    modest = completed and e.improving >= 1
    most = modest and e.improving >= 2 and 2 * e.improving > e.measures
    outcome = modest and e.outcome_measures >= 1 and e.outcome_improving == e.outcome_measures
    sustained = outcome and e.stage == "sustaining"
    team = e.has_lead and e.team_size >= 2
    planning = e.stage in PAST_IDEA
    score = next(s for s, met in ((4.5, sustained), (4.0, outcome), (3.5, most), (3.0, modest),
                                  (2.5, completed), (2.0, tested), (1.5, planning),
                                  (1.0, team), (0.5, True)) if met)
    reasons = [
        f"the team has a lead and {_plural(e.team_size - 1, 'other member')}" if team
        else "no team yet: a lead and at least one more member form one",
        f"the project is at the {e.stage} stage",
    ]
    if tested:
        reasons.append(f"{_plural(e.cycles_completed, 'PDSA cycle')} completed and "
                       f"{e.cycles_running} running")
    else:
        reasons.append("no PDSA cycle has started, so no change is being tested")
    if e.measures == 0:
        reasons.append("no measure has data yet")
    else:
        reasons.append(f"{e.improving} of {_plural(e.measures, 'measure')} with data "
                       f"{'is' if e.improving == 1 else 'are'} in special-cause improvement "
                       "on the network's pooled series")
    if e.improving and not completed:
        reasons.append("improvement counts once a PDSA cycle is completed: until then it is "
                       "not linked to a tested change")
    reasons.append(_next_step(score, e))
    return {"score": score, "meaning": MEANINGS[score], "reasons": reasons}


def _next_step(score, e):
    """What the score above ``score`` would need, in words."""
    if score >= 4.5:
        return "5.0 is the lead's judgement alone, never suggested"
    if score == 4.0:
        return "4.5 needs the project at the sustaining stage with the improvement held"
    if score >= 3.0:
        if e.outcome_measures == 0:
            return ("4.0 needs every outcome measure improving, and no outcome measure is "
                    "known here yet")
        return (f"4.0 needs every outcome measure improving: {e.outcome_improving} of "
                f"{e.outcome_measures} are")
    if score == 2.5:
        return "3.0 needs a measure in special-cause improvement"
    if score == 2.0:
        return "2.5 needs a completed PDSA cycle"
    return "2.0 needs a PDSA cycle testing a change"

