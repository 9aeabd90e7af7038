"""Completion and awards: an enrolment checked against its offering's criteria (attendance,
sessions made up in a later cohort of a programme, a live project for the leaders'
programme), and a level awarded or renewed, closing the gaps it meets."""
from dataclasses import dataclass

from services.training.domain.catalogue import ATTENDED, counted_sessions
from services.training.domain.framework import EVENTS, day
from services.training.domain.obligations import (close_met_gaps, closing_events,
                                                  derive_obligations, with_obligations)
from shared.domain import Change, ConflictError, RuleBroken


@dataclass
class CompletionCheck:
    attendance_share: float
    project_id: str | None


def check_completion(offering, cohort, entry, made_up, live_project_id, today):
    """Whether an enrolment meets the offering's criteria. ``made_up``: session numbers the
    person attended in a later cohort of the same offering; ``live_project_id``: a live
    project with the person as a member, or None."""
    if entry["state"] == "completed":
        raise ConflictError("completed already", {"staff_id": [f"{entry['staff_id']} "
                                                               "completed this cohort"]})
    ahead = [s["session_id"] for s in cohort["sessions"] if s["on"] > today]
    if ahead:
        raise RuleBroken("the cohort has sessions still ahead", {"cohort_id": [
            f"complete after its last session ({', '.join(ahead)} to come)"]})
    if offering["kind"] == "programme":
        counted = cohort["sessions"]
    else:
        counted = counted_sessions(cohort, entry, today)
    attended = [s for s in counted if entry["attendance"].get(s["session_id"]) in ATTENDED
                or (offering["kind"] == "programme" and s["number"] in made_up)]
    share = len(attended) / len(counted) if counted else 0.0
    needed = offering["completion"]["attendance_share"]
    if not counted or share + 1e-9 < needed:
        missing = [s["session_id"] for s in counted if s not in attended]
        raise RuleBroken("attendance falls short of the offering's criteria", {
            "staff_id": [f"attended {len(attended)} of {len(counted)} sessions; needs "
                         f"{needed:.0%}" + (f" (missing {', '.join(missing)})" if missing
                                            else "")]})
    if offering["completion"].get("requires_live_project") and not live_project_id:
        raise RuleBroken("the leaders' programme needs a live project with the person as "
                         "a member", {"staff_id": [f"{entry['staff_id']} is in no live project"]})
    return CompletionCheck(round(share, 4), live_project_id)


def award(staff, level, framework, now, trace, offering_id=None, cohort_id=None,
          evidence=None, refresher=False):
    """Award ``level`` (or renew it, for a refresher) on ``now``: the obligations the person
    now meets close, gaps with their event. Returns (fields to set, events)."""
    today = day(now)
    levels = dict(staff.get("levels") or {})
    events = []
    if refresher:
        if level not in levels:
            raise RuleBroken("a refresher renews a level the person holds",
                             {"staff_id": [f"{staff['_id']} does not hold {level}"]})
        levels[level] = {**levels[level], "refreshed_on": today}
    else:
        levels[level] = {"awarded_on": today, "offering_id": offering_id,
                         "cohort_id": cohort_id, "evidence": evidence, "refreshed_on": None}
        events.append(EVENTS.event("training.level_awarded", {
            "staff_id": staff["_id"], "level": level, "awarded_on": now.date(),
            "offering_id": offering_id, "cohort_id": cohort_id, "evidence": evidence or ""},
            staff["network_id"], trace, practice_id=staff["practice_id"]))
    awarded = {**staff, "levels": levels}
    obligations = close_met_gaps(awarded, derive_obligations(awarded, framework, now), today,
                                 framework["refresh_days"])
    events += closing_events(staff, obligations, today, trace)
    return {"levels": levels, **with_obligations(awarded, obligations)}, events


def complete(offering, cohort, staff, check, framework, now, trace):
    """(the staff Change with the award and its events, the cohort Change)."""
    level = offering.get("awards_level") or offering.get("refresher_for")
    evidence = f"attendance {check.attendance_share:.0%}" + (
        f"; live project {check.project_id}" if check.project_id else "")
    fields, events = award(staff, level, framework, now, trace, offering["_id"],
                           cohort["_id"], evidence, refresher=not offering.get("awards_level"))
    completed = EVENTS.event("training.completed", {
        "cohort_id": cohort["_id"], "offering_id": offering["_id"], "staff_id": staff["_id"],
        "completed_on": now.date(), "attendance_share": check.attendance_share,
        "project_id": check.project_id, "level": level},
        staff["network_id"], trace, practice_id=staff["practice_id"])
    completion = {"cohort_id": cohort["_id"], "offering_id": offering["_id"],
                  "level": level, "completed_on": day(now),
                  "refresher": not offering.get("awards_level")}
    staff_change = Change(staff, set=fields, append={"completions": [completion]},
                          events=[completed] + events)
    enrolments = [{**e, "state": "completed", "completed_on": day(now)}
                  if e["staff_id"] == staff["_id"] and e["state"] == "enrolled" else e
                  for e in cohort["enrolments"]]
    return staff_change, Change(cohort, set={"enrolments": enrolments})
