"""Who a signed-in person is here, from the claims NHS CIS2 gives (``nhsid_useruid``,
``nhsid_nrbac_roles[]`` with ``org_code`` and ``role_code``), through two mappings a network
lead or an admin sets: the person's link (user id → staff id in a network) and the network's
role mapping (which org codes are the network and its practices, and what each CIS2 role code
may do: practice member, practice lead, network lead, admin).
"""
from dataclasses import asdict, dataclass

from shared import access

PEOPLE = "people"
ROLE_MAPPINGS = "role_mappings"
ROLES = access.PERSON_ROLES


@dataclass(frozen=True)
class Access:
    """What the person may do: ``role`` (one of ROLES) in ``network_id`` (for ``practice_id``
    when a practice role). ``upstream_kind`` is the principal kind the services see."""
    user_id: str
    name: str
    staff_id: str | None
    network_id: str
    role: str
    practice_id: str | None = None

    @property
    def upstream_kind(self):
        return access.principal_kind_of(self.role)

    @property
    def is_practice_lead(self):
        return access.leads_a_practice(self.role)

    @property
    def is_lead(self):
        return access.acts_for_the_network(self.role)

    def as_dict(self):
        return asdict(self)


def access_of(claims, link, mapping):
    """The ``Access`` of a person with ID-token/userinfo ``claims``, their ``link`` ({staff_id,
    network_id} or None) and their network's ``mapping`` ({org_codes: {code: "network" |
    "practice"}, role_codes: {code: role}}); None when no role of theirs is usable here."""
    if not link or not mapping:
        return None
    user_id = claims.get("nhsid_useruid") or claims.get("sub")
    best = None
    for grant in claims.get("nhsid_nrbac_roles") or ():
        if not isinstance(grant, dict):
            continue
        org_kind = mapping.get("org_codes", {}).get(grant.get("org_code"))
        role = mapping.get("role_codes", {}).get(grant.get("role_code"))
        if org_kind is None or not access.is_person_role(role):
            continue
        if (org_kind == "network") != access.acts_for_the_network(role):
            continue  # a practice role at the network's code, or the reverse: not usable
        candidate = Access(user_id, claims.get("name") or user_id, link.get("staff_id"),
                           link["network_id"], role,
                           grant["org_code"] if org_kind == "practice" else None)
        if best is None or access.person_rank(candidate.role) > access.person_rank(best.role):
            best = candidate
    return best


class PeopleDirectory:
    """The links and role mappings, in the web service's own database."""

    def __init__(self, database):
        self.database = database

    def link(self, user_id, staff_id, network_id):
        self.database[PEOPLE].replace_one(
            {"_id": user_id}, {"_id": user_id, "staff_id": staff_id, "network_id": network_id},
            upsert=True)

    def set_mapping(self, network_id, org_codes, role_codes):
        self.database[ROLE_MAPPINGS].replace_one(
            {"_id": network_id}, {"_id": network_id, "org_codes": org_codes,
                                  "role_codes": role_codes}, upsert=True)

    def access_of(self, claims):
        user_id = claims.get("nhsid_useruid") or claims.get("sub")
        link = self.database[PEOPLE].find_one({"_id": user_id})
        mapping = link and self.database[ROLE_MAPPINGS].find_one({"_id": link["network_id"]})
        return access_of(claims, link, mapping)
