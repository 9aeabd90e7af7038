"""The capability framework: the levels of the dosage model, the levels a person holds on a day
(a level past its refresh period lapses), and each network's requirements, refresh periods and
targets, changed by its leads. Dates are ISO strings (``YYYY-MM-DD``), which sort as the dates
do; ``day`` and ``add_days`` make them."""
from datetime import date, timedelta

from shared import access
from shared.domain import Change, EventSource, RuleBroken

EVENTS = EventSource("training")

# The dosage model: each level includes the ones before it. The board track stands apart.
LEVELS = ("none", "introduction", "foundations", "improvement_leader", "coach")
BOARD_LEVEL = "board"
AWARDABLE_LEVELS = LEVELS[1:] + (BOARD_LEVEL,)
# Who a requirement applies to: everyone, people with the leader flag, the leads of projects,
# or one role (such as ``board_member``).
APPLIES_TO = ("everyone", "leaders", "project_leads", "role")
ANCHORS = ("start", "project_leaves_planning")
DEFAULT_REQUIREMENTS = (
    {"requirement_id": "starter_introduction", "applies_to": "everyone", "role": None,
     "level": "introduction", "anchor": "start", "within_days": 90},
    {"requirement_id": "leader_improvement_leader", "applies_to": "leaders", "role": None,
     "level": "improvement_leader", "anchor": "start", "within_days": 365},
    {"requirement_id": "project_lead_foundations", "applies_to": "project_leads", "role": None,
     "level": "foundations", "anchor": "project_leaves_planning", "within_days": 0},
    {"requirement_id": "board_development", "applies_to": "role", "role": "board_member",
     "level": BOARD_LEVEL, "anchor": "start", "within_days": 365},
)
DEFAULT_REFRESH_DAYS = {"foundations": 3 * 365}
# NHS IMPACT's defaults: introduction to 10% of staff a year, the internal programme
# (foundations) to 20% a year, every manager and leader on the leaders' programme.
DEFAULT_TARGETS = {"introduction_share_per_year": 0.10, "foundations_share_per_year": 0.20,
                   "leaders_on_programme_share": 1.0,
                   "coverage": {"level": "introduction", "share": 0.9, "by": None}}


def level_rank(level):
    return LEVELS.index(level) if level in LEVELS else None


def satisfies(held_level, required_level):
    """Whether holding ``held_level`` meets a requirement for ``required_level``."""
    if required_level == BOARD_LEVEL or held_level == BOARD_LEVEL:
        return held_level == required_level
    return level_rank(held_level) >= level_rank(required_level)


def day(moment):
    """The ISO date string of a datetime or date."""
    return (moment.date() if hasattr(moment, "date") and callable(moment.date)
            else moment).isoformat()


def add_days(iso_day, days):
    return (date.fromisoformat(iso_day) + timedelta(days=days)).isoformat()


def effective_levels(staff, on_day, refresh_days):
    """The levels a person holds on ``on_day``: a level past its refresh period without a
    refresher counts as lapsed, not held."""
    held = []
    for level, award in (staff.get("levels") or {}).items():
        if award["awarded_on"] > on_day:
            continue
        period = refresh_days.get(level)
        if period and add_days(award.get("refreshed_on") or award["awarded_on"],
                               period) <= on_day:
            continue
        held.append(level)
    return held


def holds(staff, level, on_day, refresh_days):
    return any(satisfies(held, level) for held in effective_levels(staff, on_day, refresh_days))


def highest_level(staff, on_day, refresh_days):
    ranked = [level for level in effective_levels(staff, on_day, refresh_days)
              if level in LEVELS]
    return max(ranked, key=level_rank) if ranked else "none"


def default_framework(network_id):
    return {"_id": network_id, "network_id": network_id,
            "requirements": [dict(r) for r in DEFAULT_REQUIREMENTS],
            "refresh_days": dict(DEFAULT_REFRESH_DAYS), "targets": dict(DEFAULT_TARGETS),
            "changes": []}


def check_requirement(requirement, index):
    where = f"requirements.{index}"
    if requirement["applies_to"] == "role" and not requirement.get("role"):
        raise RuleBroken("a requirement for a role names the role",
                         {f"{where}.role": ["required when applies_to is role"]})
    if requirement["anchor"] == "project_leaves_planning" \
            and requirement["applies_to"] != "project_leads":
        raise RuleBroken("only project leads are bound to their project's stage",
                         {f"{where}.anchor": ["project_leaves_planning is for project_leads"]})
    if requirement["applies_to"] == "project_leads" \
            and requirement["anchor"] != "project_leaves_planning":
        raise RuleBroken("a project lead's requirement is due when the project leaves planning",
                         {f"{where}.anchor": ["use project_leaves_planning"]})


def _same_terms(old, new):
    return old is not None and all(old.get(k) == new.get(k) for k in new)


def change_framework(framework, command, principal, now):
    """A network lead's change to requirements, refresh periods or targets: it applies from
    ``now`` on and is kept with who and when. Returns the :class:`Change`."""
    access.check_network_lead(principal, framework["network_id"])
    changed = {}
    if command.get("requirements") is not None:
        ids = [r["requirement_id"] for r in command["requirements"]]
        if len(set(ids)) != len(ids):
            raise RuleBroken("each requirement has its own id",
                             {"requirements": ["requirement_id repeated"]})
        for index, requirement in enumerate(command["requirements"]):
            check_requirement(requirement, index)
        # A requirement left as it was keeps its date; a new or changed one starts now.
        before = {r["requirement_id"]: r for r in framework["requirements"]}
        changed["requirements"] = [
            before[r["requirement_id"]] if _same_terms(before.get(r["requirement_id"]), r)
            else {**r, "effective_from": day(now)} for r in command["requirements"]]
    if command.get("refresh_days") is not None:
        changed["refresh_days"] = dict(command["refresh_days"])
    if command.get("targets") is not None:
        targets = {**framework["targets"], **command["targets"]}
        if targets.get("coverage") and isinstance(targets["coverage"].get("by"), date):
            targets["coverage"] = {**targets["coverage"],
                                   "by": targets["coverage"]["by"].isoformat()}
        changed["targets"] = targets
    if not changed:
        raise RuleBroken("nothing to change", {"requirements": ["give requirements, "
                                                                "refresh_days or targets"]})
    record = {"changed_at": now, "changed_by": principal.key_id,
              "fields": sorted(changed), "before": {k: framework.get(k) for k in changed}}
    return Change(framework, set=changed, append={"changes": [record]})
