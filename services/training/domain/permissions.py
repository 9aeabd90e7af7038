"""Who may read and change what in the training service: a network's readers and leads, and a
practice key's own staff. (Kept here, not inline in commands, until every role check moves to
``shared.access``.)"""
from shared import access
from shared.domain import NotFoundError, NotPermitted


def check_network_reader(principal, network_id):
    if not access.may_read_network(principal, network_id):
        raise NotFoundError("no such network", {"network_id": [f"{network_id} is not yours"]})


def check_network_lead(principal, network_id):
    """Only the network's leads (and admins) change its framework and catalogue."""
    check_network_reader(principal, network_id)
    if not access.may_manage_network(principal, network_id):
        raise NotPermitted("this needs the network lead's key",
                           {"network_id": ["only the network's leads may do this"]})


def check_staff_access(principal, staff):
    """A practice key sees only its own practice's staff: others' answer 404, as absent."""
    if staff is None or not access.may_act_for_practice(principal, staff["practice_id"],
                                                        staff["network_id"]):
        raise NotFoundError("no such staff member",
                            {"staff_id": [f"{(staff or {}).get('_id', '?')} not found"]})
