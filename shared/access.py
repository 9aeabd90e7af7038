"""Who may see and do what, for every service: each question is one named function here, and
nowhere else compares a caller's role. The answers are plain values (a yes or no, a
:class:`Scope` of what may be listed) or domain errors; the repositories alone turn a scope
into a query.

The kinds of caller (a principal's ``role``):
- ``admin`` sees and changes everything; ``ops`` reads the ops endpoints only;
- ``network_lead`` sees and changes its own network;
- ``practice`` sees its network's registry, its own practice's objects and the projects its
  practice takes part in, and changes them for its own practice only;
- ``person`` is one member of staff (a staff id in a network, maybe a practice): their own
  inbox, preferences and record.

What a caller may not see answers 404, never 403, so that it never learns what another
practice or network holds; 403 is for what it may see but not do.
"""
from dataclasses import dataclass

from shared.domain import NotFoundError, NotPermitted, RuleBroken

ADMIN = "admin"
OPS = "ops"
NETWORK_LEAD = "network_lead"
PRACTICE = "practice"
PERSON = "person"
ROLES = (ADMIN, OPS, NETWORK_LEAD, PRACTICE, PERSON)
# Keys only an admin issues; a network lead issues the others for its own network.
ADMIN_ISSUED_ROLES = (ADMIN, OPS, NETWORK_LEAD)


# --- kinds of caller -----------------------------------------------------------------------

def check_role(principal, roles):
    """A route open to ``roles`` (admin always passes): ``NotPermitted`` for anyone else."""
    if principal.role not in roles and not is_admin(principal):
        raise NotPermitted(f"this needs a key with role {' or '.join(roles)}; yours is "
                           f"{principal.role}")


def is_admin(principal):
    return principal.role == ADMIN


def is_practice_key(principal):
    """A caller that acts for one practice only (its ``practice_id``)."""
    return principal.role == PRACTICE


def own_practice(principal):
    """The practice a practice key is confined to; None for callers that are not."""
    return principal.practice_id if is_practice_key(principal) else None


def is_person(principal, staff_id, network_id):
    """``principal`` is the member of staff ``staff_id`` of ``network_id`` (their own key)."""
    return (principal.role == PERSON and principal.staff_id == staff_id
            and principal.network_id == network_id)


# --- networks and practices ------------------------------------------------------------------

def may_manage_network(principal, network_id):
    """Admin, or the lead of ``network_id``."""
    return is_admin(principal) or (principal.role == NETWORK_LEAD
                                   and principal.network_id == network_id)


def may_read_network(principal, network_id):
    """Admin, or any lead or practice key of ``network_id``."""
    return is_admin(principal) or (principal.role in (NETWORK_LEAD, PRACTICE)
                                   and principal.network_id == network_id)


def may_act_for_practice(principal, practice_id, network_id):
    """A practice key for its own practice; its network's lead; admin."""
    if is_practice_key(principal):
        return principal.practice_id == practice_id
    return may_manage_network(principal, network_id)


def is_practice_of(principal, practice_id, network_id):
    """A practice key of ``network_id`` acting for ``practice_id`` (not a lead or admin)."""
    return (is_practice_key(principal) and principal.network_id == network_id
            and principal.practice_id == practice_id)


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
    if is_practice_key(principal) and practice_id not in (None, principal.practice_id):
        raise NotFoundError(f"no such {what}",
                            {"practice_id": ["a practice key acts for its own practice only"]})


def check_network_readable(principal, network_id):
    """``network_id`` exists for ``principal`` only when it may read it: 404 otherwise."""
    if not may_read_network(principal, network_id):
        raise NotFoundError(f"no such network {network_id}", {"network_id": ["not found"]})


def check_may_manage_network(principal, network_id):
    """Only ``network_id``'s lead (or admin) manages its recipients and routes: 403 otherwise."""
    if not may_manage_network(principal, network_id):
        raise NotPermitted("only this network's lead (or an admin) may do this",
                           {"network_id": [f"not yours: {network_id}"]})


def check_network_lead(principal, network_id):
    """Only the network's lead (and admin) changes what the whole network shares (its training
    framework, its catalogue): 404 to outsiders, 403 to the network's practices."""
    check_network_readable(principal, network_id)
    if not may_manage_network(principal, network_id):
        raise NotPermitted("this needs the network lead's key",
                           {"network_id": ["only the network's leads may do this"]})


# --- projects --------------------------------------------------------------------------------

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
    if is_practice_key(principal) and takes_part:
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


def may_see_series(principal, practice_id):
    """A measure's series of ``practice_id`` (None: the pooled network series), for a caller
    who may see the measure: a practice key sees the pooled series and its own practice's,
    anyone else every series."""
    return not is_practice_key(principal) or practice_id in (None, principal.practice_id)


def check_project_creation(principal, network_id, scope, practice_ids):
    """A practice key creates projects of its own practice only; a lead in its own network."""
    if is_practice_key(principal):
        if scope != "practice" or practice_ids != [principal.practice_id]:
            raise NotPermitted("a practice key may create projects of its own practice only; "
                               "network projects are created by the network lead")
    elif not may_manage_network(principal, network_id):
        raise NotPermitted("you may only create projects in your own network")


# --- API keys ----------------------------------------------------------------------------------

def key_binding(principal, role, network_id, practice, network_exists, staff_id=None):
    """What a new key of ``role`` is bound to, (network_id, practice_id), when ``principal``
    may issue it. Admin, ops and lead keys are the admin's to issue; practice and person keys
    their network's lead's. A person key (and only it) names its holder's staff id; it is
    bound to their practice (``practice``, the registered one named) when one is given, else
    to ``network_id`` (which must exist: ``network_exists``)."""
    if (role == PERSON) != (staff_id is not None):
        raise RuleBroken("a staff id belongs on a person key and only there",
                         {"staff_id": ["required for role person" if role == PERSON
                                       else f"not allowed for role {role}"]})
    if role == PERSON and practice is None:
        if not network_id or not network_exists:
            raise RuleBroken("a person key needs its network or a registered practice",
                             {"network_id": ["required for role person without a practice "
                                             "and must exist"]})
        if not may_manage_network(principal, network_id):
            raise NotPermitted("you may only issue keys for people of your own network")
        return network_id, None
    if role in ADMIN_ISSUED_ROLES and not is_admin(principal):
        raise NotPermitted(f"this needs a key with role admin; yours is {principal.role}")
    if role in (ADMIN, OPS):
        return None, None
    if role == NETWORK_LEAD:
        if not network_id:
            raise RuleBroken("a network_lead key needs its network",
                             {"network_id": ["required for role network_lead"]})
        if not network_exists:
            raise RuleBroken("no such network", {"network_id": [f"{network_id} is unknown"]})
        return network_id, None
    if practice is None:
        raise RuleBroken("a practice key needs a registered practice",
                         {"practice_id": ["required for role practice and must exist"]})
    if not may_manage_network(principal, practice["network_id"]):
        raise NotPermitted("you may only issue keys for practices of your own network")
    return practice["network_id"], practice["_id"]


def may_revoke_key(principal, key):
    """A lead revokes its network's practice and person keys; every other key is the
    admin's to revoke."""
    return is_admin(principal) or (key["role"] not in ADMIN_ISSUED_ROLES
                                   and may_manage_network(principal, key["network_id"]))


# --- people ------------------------------------------------------------------------------------

def may_see_person(principal, staff_id, network_id, practice_id):
    """A person sees themself; their network's lead and admin see them; a practice key sees
    its own practice's people only (never another practice's, nor the network's own)."""
    if may_manage_network(principal, network_id) or is_person(principal, staff_id, network_id):
        return True
    return practice_id is not None and is_practice_of(principal, practice_id, network_id)


def check_staff_visible(principal, staff):
    """A member of staff's training record (None: there is none): their practice's key, their
    network's lead and admin see it; to anyone else it does not exist."""
    if staff is None or not may_act_for_practice(principal, staff["practice_id"],
                                                 staff["network_id"]):
        raise NotFoundError("no such staff member",
                            {"staff_id": [f"{(staff or {}).get('_id', '?')} not found"]})


def check_may_assess(principal, staff, assessor):
    """A member of staff is assessed by a leader of their own team (``assessor``, whom their
    practice's key names), by their network's lead or by admin; to anyone who may not see
    their record they do not exist."""
    check_staff_visible(principal, staff)
    if may_manage_network(principal, staff["network_id"]):
        return
    if assessor is None:
        raise NotPermitted("a practice's assessment names its leader",
                           {"assessor_staff_id": ["give the assessing leader's staff id"]})
    if not (assessor["leader"] and assessor["practice_id"] == staff["practice_id"]
            and assessor["team"] == staff["team"]):
        raise NotPermitted("only the person's team leaders assess them", {
            "assessor_staff_id": [f"{assessor['_id']} is not a leader of team "
                                  f"{staff['team']} at {staff['practice_id']}"]})
    if assessor.get("left_on"):
        raise NotPermitted("the assessor has left", {"assessor_staff_id": ["left"]})


def may_see_deliveries(principal):
    """The audit of deliveries: network leads (their network) and admins (every network)."""
    return is_admin(principal) or principal.role == NETWORK_LEAD


def may_retry_delivery(principal):
    return is_admin(principal)


# --- the people of the web front end ----------------------------------------------------------

# What a signed-in person may do, as their network's role mapping names it from their CIS2 roles
# (narrowest first); the web service acts for them upstream as the principal kind each maps to.
PRACTICE_MEMBER = "practice_member"
PRACTICE_LEAD = "practice_lead"
PERSON_ROLES = (PRACTICE_MEMBER, PRACTICE_LEAD, NETWORK_LEAD, ADMIN)


def is_person_role(role):
    return role in PERSON_ROLES


def person_rank(role):
    """How wide a person role's view is (of several usable roles, the widest counts)."""
    return PERSON_ROLES.index(role)


def acts_for_the_network(person_role):
    """A person role held at the network's own org code, not a practice's."""
    return person_role in (NETWORK_LEAD, ADMIN)


def leads_a_practice(person_role):
    """A practice's lead: acts upstream as their practice, and manages its devices."""
    return person_role == PRACTICE_LEAD


def may_manage_practice_devices(principal, practice_id, network_id):
    """The devices of a practice (a wallboard's link): its lead signed in to the web, its
    network's lead, admin; not a practice member nor a practice API key."""
    if may_manage_network(principal, network_id):
        return True
    return is_practice_of(principal, practice_id, network_id) and principal.practice_lead


def check_may_manage_practice_devices(principal, practice_id, network_id):
    """The wallboard links of a practice: unknown (404) to anyone who may not act for the
    practice; a practice member of it may see the practice but not its devices (403)."""
    if not may_act_for_practice(principal, practice_id, network_id):
        raise NotFoundError("no such practice", {"practice_id": [f"{practice_id} not found"]})
    if not may_manage_practice_devices(principal, practice_id, network_id):
        raise NotPermitted("only the practice's lead or the network lead manages its "
                           "wallboard links", {"practice_id": ["not a practice lead here"]})


def principal_kind_of(person_role):
    """The principal kind the services see when the web service acts for such a person (never
    admin: an admin person acts as their network's lead)."""
    return NETWORK_LEAD if acts_for_the_network(person_role) else PRACTICE


# --- what may be listed ------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """What a caller may list: everything, one network's, or one practice's (of a network).
    A practice scope narrows listings that are per practice; listings that are per network
    (the registry) show a practice key its network's."""
    everything: bool = False
    network_id: str | None = None
    practice_id: str | None = None


EVERYTHING = Scope(everything=True)


def listing_scope(principal):
    """The :class:`Scope` of what ``principal`` may list."""
    if is_admin(principal):
        return EVERYTHING
    if is_practice_key(principal):
        return Scope(network_id=principal.network_id, practice_id=principal.practice_id)
    return Scope(network_id=principal.network_id)


def network_listing_scope(principal, network_id):
    """The scope of one network's list (recipients, say): the lead and admin see it all, a
    practice key of that network its own practice's; anyone else learns nothing (404)."""
    if may_manage_network(principal, network_id):
        return Scope(network_id=network_id)
    if is_practice_key(principal) and principal.network_id == network_id:
        return Scope(network_id=network_id, practice_id=principal.practice_id)
    raise NotFoundError(f"no such network {network_id}", {"network_id": ["not found"]})


def deliveries_scope(principal, network_id=None):
    """The scope of the deliveries audit, narrowed to ``network_id`` when one is asked for."""
    if not may_see_deliveries(principal):
        raise NotPermitted("deliveries are for network leads and admins",
                           {"role": [f"{principal.role} may not list deliveries"]})
    if is_admin(principal):
        return Scope(network_id=network_id) if network_id else EVERYTHING
    if network_id not in (None, principal.network_id):
        raise NotFoundError("no such network", {"network_id": ["not found"]})
    return Scope(network_id=principal.network_id)

