"""The staff registry's people: a person's document (pseudonymous id, practice, team, role,
leader flag, started and left), registration under the network's framework, changes that
obligations follow, and the whole-import checks."""
from datetime import date

from services.training.domain.framework import day
from services.training.domain.obligations import (closing_events, derive_obligations,
                                                  with_obligations)
from shared import access
from shared.domain import Change, RuleBroken

MAX_IMPORT_ROWS = 5000


def new_staff(row, now):
    """A staff document from a checked row (schemas.StaffIn)."""
    return {"_id": row["staff_id"], "network_id": row["network_id"],
            "practice_id": row["practice_id"], "team": row["team"], "role": row["role"],
            "leader": row["leader"], "lived_experience_partner": row["lived_experience_partner"],
            "started_on": row["started_on"].isoformat(),
            "left_on": row["left_on"].isoformat() if row.get("left_on") else None,
            "levels": {}, "obligations": [], "next_due_on": None, "assessments": [],
            "training_needs": [], "projects": [], "cycles": [], "last_active_on": None,
            "registered_at": now}


def is_active(staff, on_day):
    return staff["started_on"] <= on_day and not (staff.get("left_on")
                                                  and staff["left_on"] <= on_day)


def register_staff(row, framework, now):
    staff = new_staff(row, now)
    staff.update(with_obligations(staff, derive_obligations(staff, framework, now)))
    return staff


def update_staff(staff, changes, framework, now, trace):
    """A change of team, role, leader flag or leaving date: obligations follow it."""
    updated = {**staff, **{k: (v.isoformat() if isinstance(v, date) else v)
                           for k, v in changes.items()}}
    if updated.get("left_on") and updated["left_on"] < updated["started_on"]:
        raise RuleBroken("a person leaves after they start",
                         {"left_on": [f"before started_on {updated['started_on']}"]})
    fields = {k: updated[k] for k in changes}
    obligations = derive_obligations(updated, framework, now)
    fields.update(with_obligations(updated, obligations))
    return Change(staff, set=fields, events=closing_events(staff, obligations, day(now), trace))


# The registry reaches training by events: one registered a moment ago may not be here yet.
NOT_HEARD_YET = " (registered in the last few seconds? send it again shortly)"


def check_import_rows(rows, principal, existing_ids, networks, practices):
    """A bulk import is checked whole: every row's network and practice must be registered
    (``networks``: those registered; ``practices``: each registered practice's network) and
    the caller's, and every id new and once; the first problems are named by row, nothing is
    written."""
    if not rows:
        raise RuleBroken("the import holds no rows", {"rows": ["give at least one row"]})
    if len(rows) > MAX_IMPORT_ROWS:
        raise RuleBroken(f"at most {MAX_IMPORT_ROWS} rows per import",
                         {"rows": [f"{len(rows)} rows; split the file"]})
    problems, seen = {}, set()
    for index, row in enumerate(rows):
        if not (access.may_act_for_practice(principal, row["practice_id"], row["network_id"])
                and access.may_read_network(principal, row["network_id"])):
            problems[f"rows.{index}.practice_id"] = [f"{row['practice_id']} is not yours"]
        elif row["network_id"] not in networks:
            problems[f"rows.{index}.network_id"] = [
                f"{row['network_id']} is not a registered network{NOT_HEARD_YET}"]
        elif practices.get(row["practice_id"]) != row["network_id"]:
            problems[f"rows.{index}.practice_id"] = [
                f"{row['practice_id']} is not a registered practice of {row['network_id']}"
                f"{NOT_HEARD_YET}"]
        elif row["staff_id"] in seen:
            problems[f"rows.{index}.staff_id"] = [f"{row['staff_id']} appears twice"]
        elif row["staff_id"] in existing_ids:
            problems[f"rows.{index}.staff_id"] = [f"{row['staff_id']} is registered already"]
        seen.add(row["staff_id"])
        if len(problems) >= 20:
            break
    if problems:
        raise RuleBroken(f"{len(problems)} rows refused; nothing was imported", problems)
