"""Reports: the capability report of a practice, team or network, and the daily check of each
practice's coverage trend against its network's target."""
from services.training.domain.coverage import coverage, target_at_risk
from services.training.repository import PRACTICE_TARGETS, STAFF
from shared import access
from shared.domain import Change, NotFoundError


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
    return coverage(staff, repository.framework(network_id), now, scope)


def targets_check(repository, now, trace):
    """Per practice: an event when its coverage trend will miss the network's target date,
    raised once per practice and target (daily; it reads the registry, unlike the overdue
    pass)."""
    raised = 0
    for network_id, practice_id in repository.practices_in():
        framework = repository.framework(network_id)
        staff = repository.staff_in(network_id, practice_id)
        event = target_at_risk(practice_id, staff, framework, now, trace, network_id)
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
