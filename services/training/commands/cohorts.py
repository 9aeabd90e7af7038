"""The catalogue and its cohorts: offerings, cohorts, enrolment and withdrawal, attendance (one
mark, or a session's register as CSV), completion. A practice key sees and changes its own
practice's people only (others' answer 404, as absent)."""
from services.training import schemas
from services.training.commands.overdue import store_staff_change
from services.training.domain import catalogue, completion
from services.training.domain.catalogue import new_cohort, new_offering
from services.training.domain.completion import check_completion
from services.training.domain.csv_files import parse_register_csv
from services.training.domain.evidence import live_project_of
from services.training.domain.framework import day
from services.training.domain.obligations import person_gaps
from services.training.repository import COHORTS, OFFERINGS
from shared import access
from shared.domain import NotFoundError, RuleBroken

REGISTER_ROW = schemas.AttendanceIn()


def add_offering(repository, principal, command, now, trace):
    return repository.add_offering(new_offering(command, principal, now))


def list_offerings(repository, principal, query):
    """The catalogue of the caller's network (every key of a network sees it)."""
    selector = repository.scoped(access.listing_scope(principal),
                                 network_id=query.get("network_id"), kind=query.get("kind"))
    return repository.listing(OFFERINGS, selector, query)


def list_cohorts(repository, principal, query):
    """Cohorts of an offering, or of a network (by offering, then as opened), each as the
    caller may see it."""
    if query.get("offering_id"):
        offering = offering_or_404(repository, principal, query["offering_id"])
        page = repository.listing(COHORTS, {"offering_id": offering["_id"]}, query)
    else:
        network_id = query["network_id"]
        if not access.may_read_network(principal, network_id):
            raise NotFoundError("no such network", {"network_id": [f"{network_id} not found"]})
        page = repository.listing(COHORTS, {"network_id": network_id}, query,
                                  sort=(("offering_id", 1), ("_id", 1)))
    return {**page, "items": [cohort_view(c, principal) for c in page["items"]]}


def offering_or_404(repository, principal, offering_id, field="offering_id"):
    offering = repository.offering(offering_id)
    if offering is None or not access.may_read_network(principal, offering["network_id"]):
        raise NotFoundError("no such offering", {field: [f"{offering_id} not found"]})
    return offering


def add_cohort(repository, principal, command, now, trace):
    offering = offering_or_404(repository, principal, command["offering_id"])
    return repository.add_cohort(new_cohort(offering, command, principal, now))


def cohort_or_404(repository, principal, cohort_id):
    cohort = repository.cohort(cohort_id)
    if cohort is None or not access.may_read_network(principal, cohort["network_id"]):
        raise NotFoundError("no such cohort", {"cohort_id": [f"{cohort_id} not found"]})
    return cohort


def cohort_view(cohort, principal):
    """A cohort as the caller may see it: a practice key sees its own people only."""
    practice_id = access.own_practice(principal)
    if practice_id is None:
        return cohort
    mine = [e for e in cohort["enrolments"] if e["practice_id"] == practice_id]
    waiting = [{**w, "position": n} for n, w in enumerate(cohort["waiting"], start=1)
               if w["practice_id"] == practice_id]
    taken = sum(1 for e in cohort["enrolments"] if e["state"] != "withdrawn")
    return {**cohort, "enrolments": mine, "waiting": waiting,
            "places_left": max(0, cohort["capacity"] - taken)}


def get_cohort(repository, principal, cohort_id):
    return cohort_view(cohort_or_404(repository, principal, cohort_id), principal)


def _staff_in_cohort_network(repository, principal, cohort, staff_id):
    staff = repository.staff(staff_id)
    access.check_staff_visible(principal, staff)
    if staff["network_id"] != cohort["network_id"]:
        raise NotFoundError("no such staff member in this network",
                            {"staff_id": [f"{staff_id} not found"]})
    return staff


def enrol(repository, principal, cohort_id, command, now, trace):
    """Enrol a person; past capacity they join the waiting list. Answers the state."""
    cohort = cohort_or_404(repository, principal, cohort_id)
    staff = _staff_in_cohort_network(repository, principal, cohort, command["staff_id"])
    change, state = catalogue.enrol(cohort, staff, now, trace)
    stored = repository.apply(COHORTS, change)
    return {"staff_id": staff["_id"], "state": state,
            "cohort": cohort_view(stored, principal)}


def withdraw(repository, principal, cohort_id, command, now, trace):
    cohort = cohort_or_404(repository, principal, cohort_id)
    _staff_in_cohort_network(repository, principal, cohort, command["staff_id"])
    stored = repository.apply(COHORTS, catalogue.withdraw(cohort, command["staff_id"], now, trace))
    return cohort_view(stored, principal)


def _record(repository, principal, cohort, marks, now, trace):
    staff_by_id = {}
    for _, staff_id, _status in marks:
        if staff_id not in staff_by_id:
            staff_by_id[staff_id] = _staff_in_cohort_network(repository, principal, cohort,
                                                             staff_id)
    change = catalogue.record_attendance(cohort, marks, staff_by_id, now, trace,
                                         repository.team_leaders)
    return cohort_view(repository.apply(COHORTS, change), principal)


def record_attendance(repository, principal, cohort_id, session_id, command, now, trace):
    cohort = cohort_or_404(repository, principal, cohort_id)
    return _record(repository, principal, cohort,
                   [(session_id, command["staff_id"], command["status"])], now, trace)


def import_register(repository, principal, cohort_id, session_id, command, now, trace):
    """A session's register as CSV (``staff_id,status``), checked whole."""
    cohort = cohort_or_404(repository, principal, cohort_id)
    catalogue.session_of(cohort, session_id)
    raw_rows = parse_register_csv(command["csv"])
    if not raw_rows:
        raise RuleBroken("the register holds no rows", {"csv": ["give at least one row"]})
    rows = schemas.load_rows(REGISTER_ROW, raw_rows, "register refused; nothing was recorded")
    return _record(repository, principal, cohort,
                   [(session_id, row["staff_id"], row["status"]) for row in rows], now, trace)


def complete(repository, principal, cohort_id, command, now, trace):
    """Check the enrolment against the offering's criteria and award the level (or renew it,
    for a refresher): gaps it meets close."""
    cohort = cohort_or_404(repository, principal, cohort_id)
    staff = _staff_in_cohort_network(repository, principal, cohort, command["staff_id"])
    entry = catalogue.enrolment_of(cohort, staff["_id"])
    if entry is None:
        raise RuleBroken("the person is not enrolled on this cohort",
                         {"staff_id": [f"{staff['_id']} is not enrolled on {cohort_id}"]})
    offering = repository.offering(cohort["offering_id"])
    today = day(now)
    made_up = {s["number"] for other in repository.other_cohorts_of(
        offering["_id"], staff["_id"], cohort_id) for e in other["enrolments"]
        if e["staff_id"] == staff["_id"]
        for s in other["sessions"] if s["on"] > min(x["on"] for x in cohort["sessions"])
        and e["attendance"].get(s["session_id"]) in catalogue.ATTENDED}
    projects = repository.projects(p["project_id"] for p in staff.get("projects") or ())
    check = check_completion(offering, cohort, entry, made_up,
                             live_project_of(staff, projects), today)
    framework = repository.framework(staff["network_id"])
    staff_change, cohort_change = completion.complete(offering, cohort, staff, check, framework,
                                                      now, trace)
    stored = store_staff_change(repository, staff_change)
    repository.apply(COHORTS, cohort_change)
    return person_gaps(stored, framework, now)
