"""The service layer of the training service: what its entrypoints, event handlers and timer
call.

Commands take (repository, principal, command, now, trace), the command already loaded by its
schema, and return what the API answers. Event consumers take the checked envelope; the
periodic passes (the overdue check, targets at risk) take ``now``, so tests inject the clock.
Access: a practice key sees and writes only its own practice's staff and enrolments (others'
answer 404, as if absent); network leads their network; admins everything.
"""
from marshmallow import ValidationError
from prometheus_client import Counter, Gauge

from analytics.charts import CONTENT_TYPES
from services.training import domain, schemas
from services.training.charts import render_pyramid
from services.training.repository import COHORTS, OFFERINGS, OVERDUE_PASS, PRACTICE_TARGETS, \
    PROJECTS, STAFF
from shared import access
from shared.domain import Change, ConflictError, NotFoundError, RuleBroken
from shared.events.envelope import Trace

OVERDUE_BATCH = 1000
OVERDUE_PASS_READ = Gauge("pcn_training_overdue_pass_documents_read",
                          "Staff documents the last overdue pass read (those falling due).")
GAPS = Counter("pcn_training_gaps", "Capability gaps opened (by reason: overdue, lapsed, "
               "project_lead) and closed (level_held, left).", ["change", "reason"])
STAFF_IMPORT = schemas.StaffIn()
REGISTER_ROW = schemas.AttendanceIn()


def _count_gaps(events):
    for event in events:
        if event["event_type"] == "training.capability_gap_identified":
            GAPS.labels("opened", event["data"]["reason"]).inc()
        elif event["event_type"] == "training.gap_closed":
            GAPS.labels("closed", event["data"]["how"]).inc()


def _apply_staff(repository, change):
    """Store a change to a person, counting the gaps it opens and closes."""
    stored = repository.apply(STAFF, change)
    _count_gaps(change.events)
    return stored


def framework_of(repository, network_id):
    return repository.framework(network_id, domain.default_framework(network_id))


def refused(exc, message="the input was refused; nothing was written"):
    """A marshmallow error as a domain error naming each field."""
    return RuleBroken(message, {name: messages if isinstance(messages, list) else [messages]
                                for name, messages in _flat(exc.messages).items()})


def _flat(messages, prefix=""):
    if not isinstance(messages, dict):
        return {prefix or "_schema": messages}
    flat = {}
    for name, value in messages.items():
        key = f"{prefix}.{name}" if prefix else str(name)
        flat.update(_flat(value, key) if isinstance(value, dict) else {key: value})
    return flat


# --- framework -------------------------------------------------------------------------------

def get_framework(repository, principal, network_id):
    domain.check_network_reader(principal, network_id)
    return framework_of(repository, network_id)


def change_framework(repository, principal, command, now, trace):
    """A network lead changes requirements, refresh periods or targets; the change applies
    from ``now``: each person's obligations are derived again (gaps already raised stay)."""
    network_id = command["network_id"]
    framework = framework_of(repository, network_id)
    change = domain.change_framework(framework, {k: v for k, v in command.items()
                                                 if k != "network_id"}, principal, now)
    stored = repository.save_framework(framework, change)
    for staff in repository.staff_in(network_id):
        obligations = domain.derive_obligations(staff, stored, now)
        if obligations != staff["obligations"]:
            _apply_staff(repository, Change(
                staff, set=domain.with_obligations(staff, obligations),
                events=domain.closing_events(staff, obligations, domain.day(now), trace)))
    return stored


# --- staff -----------------------------------------------------------------------------------

def register_staff(repository, principal, command, now, trace):
    return import_staff(repository, principal, {"rows": [command]}, now, trace)[0]


def import_staff(repository, principal, command, now, trace):
    """Bulk import of up to 5,000 people as JSON rows or CSV text, checked whole: any bad
    row refuses the file, naming ``rows.<n>.<field>``, and nothing is written."""
    if command.get("csv") is not None:
        raw_rows = domain.parse_staff_csv(command["csv"])
    else:
        raw_rows = command["rows"]
    if len(raw_rows) > domain.MAX_IMPORT_ROWS:
        raise RuleBroken(f"at most {domain.MAX_IMPORT_ROWS} rows per import",
                         {"rows": [f"{len(raw_rows)} rows; split the file"]})
    try:
        rows = schemas.load_rows(STAFF_IMPORT, raw_rows)
    except ValidationError as exc:
        raise refused(exc, "rows refused; nothing was imported") from None
    domain.check_import_rows(rows, principal,
                             repository.existing_staff_ids(r["staff_id"] for r in rows))
    frameworks, documents, events_of = {}, [], {}
    projects_of = {}
    for project in repository.projects_with_members(r["staff_id"] for r in rows):
        for member in project["members"]:
            projects_of.setdefault(member["staff_id"], {})[project["_id"]] = project
    for row in rows:
        if row["network_id"] not in frameworks:
            frameworks[row["network_id"]] = framework_of(repository, row["network_id"])
        framework = frameworks[row["network_id"]]
        staff = domain.register_staff(row, framework, now)
        known = [p for p in projects_of.get(row["staff_id"], {}).values()
                 if p["network_id"] == row["network_id"]]
        if known:
            staff, events_of[staff["_id"]] = domain.with_earlier_evidence(
                staff, known, framework, now, trace)
        documents.append(staff)
    repository.add_staff(documents, events_of)
    for events in events_of.values():
        _count_gaps(events)
    return documents


def update_staff(repository, principal, staff_id, command, now, trace):
    staff = repository.staff(staff_id)
    domain.check_staff_access(principal, staff)
    change = domain.update_staff(staff, command, framework_of(repository, staff["network_id"]),
                                 now, trace)
    return _apply_staff(repository, change)


def list_staff(repository, principal, query):
    """A page of the registry: a practice key lists its own practice, others their network
    (optionally one practice or team)."""
    selector = access.all_of(access.listable_by(principal, practice_field="practice_id"),
                             network_id=query.get("network_id"),
                             practice_id=query.get("practice_id"), team=query.get("team"))
    return repository.listing(STAFF, selector, query)


def get_person(repository, principal, staff_id, now):
    """A person's record: levels held and lapsed, each requirement's due date, overdue and
    lapsed flags, practical evidence (projects and PDSA cycles), assessments and needs."""
    staff = repository.staff(staff_id)
    domain.check_staff_access(principal, staff)
    return domain.person_gaps(staff, framework_of(repository, staff["network_id"]), now)


# --- catalogue -------------------------------------------------------------------------------

def add_offering(repository, principal, command, now, trace):
    return repository.add_offering(domain.new_offering(command, principal, now))


def list_offerings(repository, principal, query):
    """The catalogue of the caller's network (every key of a network sees it)."""
    selector = access.all_of(access.listable_by(principal), network_id=query.get("network_id"),
                             kind=query.get("kind"))
    return repository.listing(OFFERINGS, selector, query)


def list_cohorts(repository, principal, query):
    """Cohorts of an offering, each as the caller may see it."""
    offering = offering_or_404(repository, principal, query["offering_id"])
    page = repository.listing(COHORTS, {"offering_id": offering["_id"]}, query)
    return {**page, "items": [cohort_view(c, principal) for c in page["items"]]}


def offering_or_404(repository, principal, offering_id, field="offering_id"):
    offering = repository.offering(offering_id)
    if offering is None or not access.may_read_network(principal, offering["network_id"]):
        raise NotFoundError("no such offering", {field: [f"{offering_id} not found"]})
    return offering


def add_cohort(repository, principal, command, now, trace):
    offering = offering_or_404(repository, principal, command["offering_id"])
    return repository.add_cohort(domain.new_cohort(offering, command, principal, now))


def cohort_or_404(repository, principal, cohort_id):
    cohort = repository.cohort(cohort_id)
    if cohort is None or not access.may_read_network(principal, cohort["network_id"]):
        raise NotFoundError("no such cohort", {"cohort_id": [f"{cohort_id} not found"]})
    return cohort


def cohort_view(cohort, principal):
    """A cohort as the caller may see it: a practice key sees its own people only."""
    if principal.role != "practice":
        return cohort
    mine = [e for e in cohort["enrolments"] if e["practice_id"] == principal.practice_id]
    waiting = [{**w, "position": n} for n, w in enumerate(cohort["waiting"], start=1)
               if w["practice_id"] == principal.practice_id]
    taken = sum(1 for e in cohort["enrolments"] if e["state"] != "withdrawn")
    return {**cohort, "enrolments": mine, "waiting": waiting,
            "places_left": max(0, cohort["capacity"] - taken)}


def get_cohort(repository, principal, cohort_id):
    return cohort_view(cohort_or_404(repository, principal, cohort_id), principal)


def _staff_in_cohort_network(repository, principal, cohort, staff_id):
    staff = repository.staff(staff_id)
    domain.check_staff_access(principal, staff)
    if staff["network_id"] != cohort["network_id"]:
        raise NotFoundError("no such staff member in this network",
                            {"staff_id": [f"{staff_id} not found"]})
    return staff


def enrol(repository, principal, cohort_id, command, now, trace):
    """Enrol a person; past capacity they join the waiting list. Answers the state."""
    cohort = cohort_or_404(repository, principal, cohort_id)
    staff = _staff_in_cohort_network(repository, principal, cohort, command["staff_id"])
    change, state = domain.enrol(cohort, staff, now, trace)
    stored = repository.apply(COHORTS, change)
    return {"staff_id": staff["_id"], "state": state,
            "cohort": cohort_view(stored, principal)}


def withdraw(repository, principal, cohort_id, command, now, trace):
    cohort = cohort_or_404(repository, principal, cohort_id)
    _staff_in_cohort_network(repository, principal, cohort, command["staff_id"])
    stored = repository.apply(COHORTS, domain.withdraw(cohort, command["staff_id"], now, trace))
    return cohort_view(stored, principal)


def _record(repository, principal, cohort, marks, now, trace):
    staff_by_id = {}
    for _, staff_id, _status in marks:
        if staff_id not in staff_by_id:
            staff_by_id[staff_id] = _staff_in_cohort_network(repository, principal, cohort,
                                                             staff_id)
    change = domain.record_attendance(cohort, marks, staff_by_id, now, trace,
                                      repository.team_leaders)
    return cohort_view(repository.apply(COHORTS, change), principal)


def record_attendance(repository, principal, cohort_id, session_id, command, now, trace):
    cohort = cohort_or_404(repository, principal, cohort_id)
    return _record(repository, principal, cohort,
                   [(session_id, command["staff_id"], command["status"])], now, trace)


def import_register(repository, principal, cohort_id, session_id, command, now, trace):
    """A session's register as CSV (``staff_id,status``), checked whole."""
    cohort = cohort_or_404(repository, principal, cohort_id)
    domain.session_of(cohort, session_id)
    raw_rows = domain.parse_register_csv(command["csv"])
    if not raw_rows:
        raise RuleBroken("the register holds no rows", {"csv": ["give at least one row"]})
    try:
        rows = schemas.load_rows(REGISTER_ROW, raw_rows)
    except ValidationError as exc:
        raise refused(exc, "register refused; nothing was recorded") from None
    return _record(repository, principal, cohort,
                   [(session_id, row["staff_id"], row["status"]) for row in rows], now, trace)


def complete(repository, principal, cohort_id, command, now, trace):
    """Check the enrolment against the offering's criteria and award the level (or renew it,
    for a refresher): gaps it meets close."""
    cohort = cohort_or_404(repository, principal, cohort_id)
    staff = _staff_in_cohort_network(repository, principal, cohort, command["staff_id"])
    entry = domain.enrolment_of(cohort, staff["_id"])
    if entry is None:
        raise RuleBroken("the person is not enrolled on this cohort",
                         {"staff_id": [f"{staff['_id']} is not enrolled on {cohort_id}"]})
    offering = repository.offering(cohort["offering_id"])
    today = domain.day(now)
    made_up = {s["number"] for other in repository.other_cohorts_of(
        offering["_id"], staff["_id"], cohort_id) for e in other["enrolments"]
        if e["staff_id"] == staff["_id"]
        for s in other["sessions"] if s["on"] > min(x["on"] for x in cohort["sessions"])
        and e["attendance"].get(s["session_id"]) in domain.ATTENDED}
    projects = repository.projects(p["project_id"] for p in staff.get("projects") or ())
    check = domain.check_completion(offering, cohort, entry, made_up,
                                    domain.live_project_of(staff, projects), today)
    framework = framework_of(repository, staff["network_id"])
    staff_change, cohort_change = domain.complete(offering, cohort, staff, check, framework,
                                                  now, trace)
    stored = _apply_staff(repository, staff_change)
    repository.apply(COHORTS, cohort_change)
    return domain.person_gaps(stored, framework, now)


def award_level(repository, principal, command, now, trace):
    """A level recorded from outside the catalogue (prior training), by the network's leads."""
    staff = repository.staff(command["staff_id"])
    domain.check_staff_access(principal, staff)
    domain.check_network_lead(principal, staff["network_id"])
    framework = framework_of(repository, staff["network_id"])
    fields, events = domain.award(staff, command["level"], framework, now, trace,
                                  evidence=command["evidence"])
    stored = _apply_staff(repository, Change(staff, set=fields, events=events))
    return domain.person_gaps(stored, framework, now)


def assess(repository, principal, staff_id, command, now, trace):
    """A leader's assessment of a member of their team, with an optional training need."""
    staff = repository.staff(staff_id)
    domain.check_staff_access(principal, staff)
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
    change = domain.assess(staff, command, principal, assessor, offering, now)
    stored = _apply_staff(repository, change)
    return domain.person_gaps(stored, framework_of(repository, staff["network_id"]), now)


# --- consumed project events -----------------------------------------------------------------

def on_member_added(repository, envelope, now):
    """``project.member_added``: practical evidence on the person's record; a lead added to
    a project already past planning is checked for ``foundations`` at once."""
    data, trace = envelope["data"], Trace.after(envelope)
    occurred_on = domain.day(envelope["occurred_at"])
    project = repository.project(data["project_id"], envelope["network_id"])
    change = domain.member_added(project, data, occurred_on)
    if change:
        project = repository.apply(PROJECTS, change)
    staff = repository.staff(data["staff_id"])
    if staff is None:
        return  # not in the registry (yet): the record follows from the project's events
    change = domain.staff_joined_project(staff, project, data, occurred_on)
    if change:
        staff = _apply_staff(repository, change)
    if data["role"] == "lead" and project["stage"] in domain.PAST_PLANNING:
        _check_lead(repository, staff, project, now, trace)


def on_stage_changed(repository, envelope, now):
    """``project.stage_changed``: when a project leaves planning, each lead lacking the
    required level has a gap (raised once per lead and project)."""
    data, trace = envelope["data"], Trace.after(envelope)
    repository.project(data["project_id"], envelope["network_id"])
    repository.move_stage(data["project_id"], data["from_stage"], data["to_stage"])
    project = repository.project(data["project_id"], envelope["network_id"])
    if not domain.left_planning(data["from_stage"], data["to_stage"]):
        return
    for member in project["members"]:
        if member["role"] == "lead":
            staff = repository.staff(member["staff_id"])
            if staff is not None:
                _check_lead(repository, staff, project, now, trace)


def _check_lead(repository, staff, project, now, trace):
    framework = framework_of(repository, staff["network_id"])
    change = domain.lead_lacks_foundations(staff, project, framework, now, trace)
    if change:
        _apply_staff(repository, change)


def on_cycle_completed(repository, envelope, now):
    """``pdsa.cycle_completed``: each member of the project has the cycle as evidence."""
    data = envelope["data"]
    project = repository.project(data["project_id"], envelope["network_id"])
    change = domain.project_cycle_completed(project, data)
    if change:
        repository.apply(PROJECTS, change)
    for staff_id in sorted({m["staff_id"] for m in project["members"]}):
        staff = repository.staff(staff_id)
        if staff is None:
            continue
        change = domain.staff_cycle_completed(staff, data)
        if change:
            _apply_staff(repository, change)


# --- periodic passes -------------------------------------------------------------------------

def overdue_check(repository, now, trace, batch=OVERDUE_BATCH):
    """The overdue pass: reads only the people with an obligation falling due (the indexed
    ``next_due_on``), turns each into met or a gap (its event raised once), and answers
    {"read": documents read, "gaps": gaps raised, "changed": people changed}. Runs until
    nothing is left due, ``batch`` people at a time."""
    today = domain.day(now)
    read_before = repository.documents_read
    gaps = changed = 0
    frameworks = {}
    while True:
        due = repository.falling_due(today, batch)
        progressed = 0
        for staff in due:
            network_id = staff["network_id"]
            if network_id not in frameworks:
                frameworks[network_id] = framework_of(repository, network_id)
            change = domain.fall_due(staff, frameworks[network_id], now, trace)
            if change is None:
                continue
            try:
                _apply_staff(repository, change)
            except ConflictError:
                continue  # changed meanwhile (another replica, an award): the next pass sees it
            progressed += 1
            changed += 1
            gaps += len(change.events)

        if len(due) < batch or not progressed:
            break
    counts = {"read": repository.documents_read - read_before, "gaps": gaps,
              "changed": changed}
    OVERDUE_PASS_READ.set(counts["read"])
    repository.record_pass(OVERDUE_PASS, now, counts)
    return counts


def targets_check(repository, now, trace):
    """Per practice: an event when its coverage trend will miss the network's target date,
    raised once per practice and target (daily; it reads the registry, unlike the overdue
    pass)."""
    raised = 0
    for network_id, practice_id in repository.practices_in():
        framework = framework_of(repository, network_id)
        staff = repository.staff_in(network_id, practice_id)
        event = domain.target_at_risk(practice_id, staff, framework, now, trace, network_id)
        if event is None:
            continue
        target = framework["targets"]["coverage"]
        key = f"{target['level']}:{target['share']}:{target['by']}"
        record = repository.practice_target(practice_id, network_id)
        if key in record["raised_for"]:
            continue
        repository.apply(PRACTICE_TARGETS, Change(record, append={"raised_for": [key]},
                                                  events=[event]))
        raised += 1
    return raised


# --- reports ---------------------------------------------------------------------------------

def capability_report(repository, principal, query, now):
    """The capability report of a practice (optionally one team) or a network, as data."""
    if query.get("practice_id"):
        staff = repository.find_many(STAFF, {"practice_id": query["practice_id"]})
        network_id = staff[0]["network_id"] if staff else principal.network_id
        if not access.may_act_for_practice(principal, query["practice_id"], network_id) or (
                query.get("network_id") and query["network_id"] != network_id):
            raise NotFoundError("no such practice", {"practice_id": [
                f"{query['practice_id']} not found"]})
        if query.get("team"):
            staff = [s for s in staff if s["team"] == query["team"]]
        scope = {"network_id": network_id, "practice_id": query["practice_id"],
                 "team": query.get("team")}
    else:
        network_id = query["network_id"]
        if not access.may_manage_network(principal, network_id):
            raise NotFoundError("no such network", {"network_id": [f"{network_id} not found"]})
        staff = repository.staff_in(network_id)
        scope = {"network_id": network_id, "practice_id": None, "team": None}
    return domain.coverage(staff, framework_of(repository, network_id), now, scope)


def capability_chart(repository, principal, query, now):
    """(bytes, content type) of the report's pyramid as ``query["format"]`` (svg or png)."""
    report = capability_report(repository, principal, query, now)
    return render_pyramid(report, query["format"]), CONTENT_TYPES[query["format"]]
