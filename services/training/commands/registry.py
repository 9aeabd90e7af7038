"""The staff registry: registration and bulk import (JSON rows or CSV, checked whole), changes,
listing, a person's record, levels held from outside the catalogue, leaders' assessments."""
from services.training import schemas
from services.training.commands.overdue import count_gaps, store_staff_change
from services.training.domain import evidence, people
from services.training.domain.completion import award
from services.training.domain.csv_files import parse_staff_csv
from services.training.domain.evidence import with_earlier_evidence
from services.training.domain.obligations import person_gaps
from services.training.domain.people import MAX_IMPORT_ROWS, check_import_rows
from services.training.repository import STAFF
from shared import access
from shared.domain import Change, NotFoundError, RuleBroken

STAFF_IMPORT = schemas.StaffIn()


def register_staff(repository, principal, command, now, trace):
    return import_staff(repository, principal, {"rows": [command]}, now, trace)[0]


def import_staff(repository, principal, command, now, trace):
    """Bulk import of up to 5,000 people as JSON rows or CSV text, checked whole: any bad
    row refuses the file, naming ``rows.<n>.<field>``, and nothing is written."""
    if command.get("csv") is not None:
        raw_rows = parse_staff_csv(command["csv"])
    else:
        raw_rows = command["rows"]
    if len(raw_rows) > MAX_IMPORT_ROWS:
        raise RuleBroken(f"at most {MAX_IMPORT_ROWS} rows per import",
                         {"rows": [f"{len(raw_rows)} rows; split the file"]})
    rows = schemas.load_rows(STAFF_IMPORT, raw_rows, "rows refused; nothing was imported")
    networks, practices = repository.registered((r["network_id"] for r in rows),
                                                (r["practice_id"] for r in rows))
    check_import_rows(rows, principal, repository.existing_staff_ids(r["staff_id"] for r in rows),
                      networks, practices)
    frameworks, documents, events_of = {}, [], {}
    projects_of = {}
    for project in repository.projects_with_members(r["staff_id"] for r in rows):
        for member in project["members"]:
            projects_of.setdefault(member["staff_id"], {})[project["_id"]] = project
    for row in rows:
        if row["network_id"] not in frameworks:
            frameworks[row["network_id"]] = repository.framework(row["network_id"])
        framework = frameworks[row["network_id"]]
        staff = people.register_staff(row, framework, now)
        known = [p for p in projects_of.get(row["staff_id"], {}).values()
                 if p["network_id"] == row["network_id"]]
        if known:
            staff, events_of[staff["_id"]] = with_earlier_evidence(
                staff, known, framework, now, trace)
        documents.append(staff)
    repository.add_staff(documents, events_of)
    for events in events_of.values():
        count_gaps(events)
    return documents


def update_staff(repository, principal, staff_id, command, now, trace):
    staff = repository.staff(staff_id)
    access.check_staff_visible(principal, staff)
    change = people.update_staff(staff, command, repository.framework(staff["network_id"]),
                                 now, trace)
    return store_staff_change(repository, change)


def list_staff(repository, principal, query):
    """A page of the registry: a practice key lists its own practice, others their network
    (optionally one practice or team)."""
    selector = repository.scoped(access.listing_scope(principal), practice_field="practice_id",
                                 network_id=query.get("network_id"),
                                 practice_id=query.get("practice_id"), team=query.get("team"))
    return repository.listing(STAFF, selector, query)


def get_person(repository, principal, staff_id, now):
    """A person's record: levels held and lapsed, each requirement's due date, overdue and
    lapsed flags, practical evidence (projects and PDSA cycles), assessments and needs."""
    staff = repository.staff(staff_id)
    access.check_staff_visible(principal, staff)
    return person_gaps(staff, repository.framework(staff["network_id"]), now)


def award_level(repository, principal, command, now, trace):
    """A level recorded from outside the catalogue (prior training), by the network's leads."""
    staff = repository.staff(command["staff_id"])
    access.check_staff_visible(principal, staff)
    access.check_network_lead(principal, staff["network_id"])
    framework = repository.framework(staff["network_id"])
    fields, events = award(staff, command["level"], framework, now, trace,
                           evidence=command["evidence"])
    stored = store_staff_change(repository, Change(staff, set=fields, events=events))
    return person_gaps(stored, framework, now)


def assess(repository, principal, staff_id, command, now, trace):
    """A leader's assessment of a member of their team, with an optional training need."""
    staff = repository.staff(staff_id)
    access.check_staff_visible(principal, staff)  # before anything of their network is read
    assessor = None
    if command.get("assessor_staff_id"):
        assessor = repository.staff(command["assessor_staff_id"])
        if assessor is None or assessor["network_id"] != staff["network_id"]:
            raise NotFoundError("no such assessor", {"assessor_staff_id": [
                f"{command['assessor_staff_id']} not found"]})
    offering = None
    if command.get("training_need"):
        offering = repository.offering(command["training_need"]["offering_id"])
        if offering and offering["network_id"] != staff["network_id"]:
            offering = None
    change = evidence.assess(staff, command, principal, assessor, offering, now)
    stored = store_staff_change(repository, change)
    return person_gaps(stored, repository.framework(staff["network_id"]), now)
