"""Who may see and change what, for every service: the scope a principal may list (a selector to
add to a query) and the checks of one object (raising ``shared.domain`` errors).

The rules: admin keys see and change everything. A network lead sees and changes its own
network. A practice key sees its network's registry, its own practice's objects and the
projects its practice takes part in, and changes them for its own practice only. What a key
may not see answers 404, never 403, so that it never learns what another practice or network
holds; 403 is for what it may see but not change.
"""
from shared.domain import NotFoundError, NotPermitted


def may_manage_network(principal, network_id):
    """Admin, or the lead of ``network_id``."""
    return principal.is_admin or (principal.role == "network_lead"
                                  and principal.network_id == network_id)


def may_read_network(principal, network_id):
    """Admin, or any lead or practice key of ``network_id``."""
    return principal.is_admin or (principal.role in ("network_lead", "practice")
                                  and principal.network_id == network_id)


def may_act_for_practice(principal, practice_id, network_id):
    """A practice key for its own practice; its network's lead; admin."""
    if principal.role == "practice":
        return principal.practice_id == practice_id
    return may_manage_network(principal, network_id)


def acting_practice(principal, practice_id):
    """The practice a write is for: the one named, else a practice key's own (None for other
    keys that name none)."""
    return practice_id if practice_id is not None else principal.practice_id


def check_practice(principal, practice_id, network_id, what="object"):
    """A ``what`` of practice ``practice_id`` (in ``network_id``): unknown to anyone who may
    not act for that practice."""
    if not may_act_for_practice(principal, practice_id, network_id):
        raise NotFoundError(f"no such {what}")


def check_own_practice(principal, practice_id, what="practice in this project"):
    """A practice key naming another practice than its own learns nothing of it."""
    if principal.role == "practice" and practice_id not in (None, principal.practice_id):
        raise NotFoundError(f"no such {what}",
                            {"practice_id": ["a practice key acts for its own practice only"]})


def check_project_visible(principal, project, takes_part=None):
    """``project`` (None when there is none) may be seen by ``principal``: its network's lead,
    or a practice key whose practice takes part. ``takes_part`` says whether it does, for
    services whose copy of the project does not list its practices."""
    if project is None:
        raise NotFoundError("no such project",
                            {"project_id": ["not found (or not known here yet)"]})
    if may_manage_network(principal, project["network_id"]):
        return
    if takes_part is None:
        takes_part = principal.practice_id in project.get("practice_ids", ())
    if principal.role == "practice" and takes_part:
        return
    raise NotFoundError("no such project", {"project_id": ["not found"]})


def check_project_write(principal, project, practice_id=None, takes_part=None):
    """May ``principal`` change ``project`` (for ``practice_id``, when the change is one
    practice's)? Unknown to them: 404; visible but not theirs to change: 403."""
    check_project_visible(principal, project, takes_part)
    if may_manage_network(principal, project["network_id"]):
        return
    if project["scope"] == "network" and practice_id is None:
        raise NotPermitted("only the network lead may change a network project")
    if practice_id is not None and practice_id != principal.practice_id:
        raise NotPermitted("a practice key acts for its own practice only")


def listable_by(principal, practice_field=None, network_field="network_id"):
    """A selector of what ``principal`` may list: everything for admin; for a practice key its
    own practice's (``practice_field``) when the listing is per practice, otherwise its
    network's (``network_field``), as for every other key."""
    if principal.is_admin:
        return {}
    if principal.role == "practice" and practice_field:
        return {practice_field: principal.practice_id}
    return {network_field: principal.network_id}


def all_of(*selectors, **field_values):
    """One selector matching every one of ``selectors`` and every given field value (a value
    of None is no condition: a filter the caller did not ask for)."""
    conditions = [s for s in selectors if s]
    conditions += [{name: value} for name, value in field_values.items() if value is not None]
    if len(conditions) <= 1:
        return conditions[0] if conditions else {}
    return {"$and": conditions}
