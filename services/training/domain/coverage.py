"""Coverage: the capability report of a practice, team or network (the pyramid of levels held
against those required, the dosage targets, lived-experience partners, activation, who needs
what next) and a practice's coverage trend against the network's target date."""
from datetime import date, timedelta

from services.training.domain.framework import (BOARD_LEVEL, EVENTS, LEVELS, add_days, day,
                                                highest_level, holds, satisfies)
from services.training.domain.people import is_active

ACTIVE_WITHIN = timedelta(days=365)  # "activation": in a project within the last 12 months


def is_requirement_at(obligation, level):
    """An obligation that requires ``level`` of the person (refreshers renew, not require)."""
    return (obligation["level"] == level and obligation["state"] != "cancelled"
            and obligation["reason"] != "lapsed")


def coverage(staff_list, framework, now, scope):
    """The capability report for ``staff_list`` (the people of one practice, team or
    network): the pyramid of levels held against those required, the dosage targets over
    the last 12 months, lived-experience partners, activation and who needs what next.
    A JSON-ready dict; every number is a count over the given staff."""
    today = day(now)
    year_ago = add_days(today, -365)
    refresh = framework["refresh_days"]
    targets = framework["targets"]
    people = [s for s in staff_list if is_active(s, today)]
    staff_count = len(people)
    pyramid = []
    for level in LEVELS[1:] + (BOARD_LEVEL,):
        holding = sum(1 for s in people if holds(s, level, today, refresh))
        required_of = [s for s in people if any(is_requirement_at(o, level)
                                                for o in s["obligations"])]
        required = len(required_of)
        required_met = sum(1 for s in required_of if holds(s, level, today, refresh))
        pyramid.append({"level": level, "holding": holding, "required": required,
                        "required_holding": required_met,
                        "share": round(holding / staff_count, 4) if staff_count else 0.0})

    def awarded_within_year(s, level):
        award = (s.get("levels") or {}).get(level)
        return bool(award and year_ago < award["awarded_on"] <= today)

    def share(count, of):
        return round(count / of, 4) if of else 0.0

    introduced = sum(1 for s in people if awarded_within_year(s, "introduction"))
    founded = sum(1 for s in people if awarded_within_year(s, "foundations"))
    leaders = [s for s in people if s["leader"]]
    leaders_on = sum(1 for s in leaders if holds(s, "improvement_leader", today, refresh))
    partners = [s for s in people if s["lived_experience_partner"]]
    trained = [s for s in people if highest_level(s, today, refresh) != "none"]
    active = [s for s in trained if s.get("last_active_on")
              and s["last_active_on"] > add_days(today, -ACTIVE_WITHIN.days)]
    open_rows = sorted(({"staff_id": s["_id"], "level": o["level"], "due_on": o["due_on"],
                         "overdue": o["state"] == "gap" or o["due_on"] < today,
                         "requirement_id": o["requirement_id"]}
                        for s in people for o in s["obligations"]
                        if o["state"] in ("pending", "gap")),
                       key=lambda row: (row["due_on"], row["staff_id"]))
    return {
        "scope": scope, "on": today, "staff": staff_count,
        "pyramid": pyramid,
        "dosage": {
            "introduction_last_12_months": {"trained": introduced,
                                            "share": share(introduced, staff_count),
                                            "target": targets["introduction_share_per_year"]},
            "foundations_last_12_months": {"trained": founded,
                                           "share": share(founded, staff_count),
                                           "target": targets["foundations_share_per_year"]},
            "leaders_on_programme": {"leaders": len(leaders), "on_programme": leaders_on,
                                     "share": share(leaders_on, len(leaders)),
                                     "target": targets["leaders_on_programme_share"]}},
        "lived_experience_partners": {
            "partners": len(partners),
            "trained": sum(1 for s in partners if highest_level(s, today, refresh) != "none")},
        "activation": {"trained": len(trained), "active_last_12_months": len(active),
                       "share": share(len(active), len(trained))},
        "gaps": {"open": sum(1 for row in open_rows if row["overdue"]),
                 "due": sum(1 for row in open_rows if not row["overdue"])},
        "next_needs": open_rows[:50],
    }


def target_at_risk(practice_id, staff_list, framework, now, trace, network_id):
    """The practice's coverage trend at the network's target level, extrapolated from the
    awards of the last 12 months to the target date: an event if it falls short (the caller
    raises it once per practice and target)."""
    target = framework["targets"].get("coverage") or {}
    if not target.get("by"):
        return None
    today = day(now)
    if target["by"] < today:
        return None
    refresh = framework["refresh_days"]
    people = [s for s in staff_list if is_active(s, today)]
    if not people:
        return None
    level = target["level"]
    holding = sum(1 for s in people if holds(s, level, today, refresh))
    year_ago = add_days(today, -365)
    gained = sum(1 for s in people if any(
        satisfies(held, level) and year_ago < award["awarded_on"] <= today
        for held, award in (s.get("levels") or {}).items()))
    days_left = (date.fromisoformat(target["by"]) - date.fromisoformat(today)).days
    projected = min(1.0, (holding + gained * days_left / 365) / len(people))
    current = holding / len(people)
    if projected + 1e-9 >= target["share"]:
        return None
    return EVENTS.event("training.target_at_risk", {
        "practice_id": practice_id, "level": level, "target_share": target["share"],
        "target_date": date.fromisoformat(target["by"]), "current_share": round(current, 4),
        "projected_share": round(projected, 4)}, network_id, trace, practice_id=practice_id)
