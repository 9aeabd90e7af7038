"""shared.access: what each kind of caller may list, see and do, as one table."""
import pytest

from shared import access
from shared.auth import Principal
from shared.domain import NotFoundError, NotPermitted
from shared.repository import all_of, scope_selector
from tests.principals import ADMIN, LEAD, OTHER_PRACTICE, PRACTICE, SOUTH_LEAD

OTHER_LEAD = SOUTH_LEAD
NETWORK_PROJECT = {"_id": "prj_1", "network_id": "north-pcn", "scope": "network",
                   "practice_ids": ["F84001", "F84002"]}
SOLO_PROJECT = {"_id": "prj_2", "network_id": "north-pcn", "scope": "practice",
                "practice_ids": ["F84001"]}


PERSON = Principal("k6", "person", "north-pcn", "F84001", staff_id="pm.1")
OPS = Principal("ops", "ops")
CALLERS = {"admin": ADMIN, "ops": OPS, "lead": LEAD, "south lead": SOUTH_LEAD,
           "practice": PRACTICE, "other practice": OTHER_PRACTICE, "person": PERSON}
NORTH_PRACTICE_KEY = {"role": "practice", "network_id": "north-pcn"}
NORTH_LEAD_KEY = {"role": "network_lead", "network_id": "north-pcn"}
NURSE = {"_id": "nurse-1", "network_id": "north-pcn", "practice_id": "F84001", "team": "nurses"}
TEAM_LEADER = {"_id": "lead-1", "practice_id": "F84001", "team": "nurses", "leader": True}
OTHER_TEAM_LEADER = {**TEAM_LEADER, "_id": "lead-2", "team": "reception"}


def allowed(check):
    """A check that raises (404 or 403) as a yes or no."""
    def answer(principal):
        try:
            check(principal)
            return True
        except (NotFoundError, NotPermitted):
            return False
    return answer


# Every rule, for every kind of caller: Y allowed, . refused. The columns are CALLERS in order:
#   admin, ops, north lead, south lead, practice F84001 (north), practice F84002 (north),
#   person pm.1 (north, F84001).
ACCESS_TABLE = [
    ("manage north-pcn", lambda p: access.may_manage_network(p, "north-pcn"), "Y.Y...."),
    ("read north-pcn", lambda p: access.may_read_network(p, "north-pcn"), "Y.Y.YY."),
    ("act for practice F84001", lambda p: access.may_act_for_practice(
        p, "F84001", "north-pcn"), "Y.Y.Y.."),
    ("see the north network project", allowed(
        lambda p: access.check_project_visible(p, NETWORK_PROJECT)), "Y.Y.YY."),
    ("see F84001's own project", allowed(
        lambda p: access.check_project_visible(p, SOLO_PROJECT)), "Y.Y.Y.."),
    ("change the north network project as a whole", allowed(
        lambda p: access.check_project_write(p, NETWORK_PROJECT)), "Y.Y...."),
    ("change the network project for F84001", allowed(
        lambda p: access.check_project_write(p, NETWORK_PROJECT, "F84001")), "Y.Y.Y.."),
    ("create a project of F84001 alone", allowed(lambda p: access.check_project_creation(
        p, "north-pcn", "practice", ["F84001"])), "Y.Y.Y.."),
    ("create a network project in north-pcn", allowed(lambda p: access.check_project_creation(
        p, "north-pcn", "network", ["F84001", "F84002"])), "Y.Y...."),
    ("issue a practice key for F84001", allowed(lambda p: access.key_binding(
        p, "practice", None, {"_id": "F84001", "network_id": "north-pcn"}, False)), "Y.Y...."),
    ("issue a network lead key", allowed(lambda p: access.key_binding(
        p, "network_lead", "north-pcn", None, True)), "Y......"),
    ("revoke a north practice key", lambda p: access.may_revoke_key(p, NORTH_PRACTICE_KEY),
     "Y.Y...."),
    ("revoke the north lead's key", lambda p: access.may_revoke_key(p, NORTH_LEAD_KEY),
     "Y......"),
    ("see person pm.1 of F84001", lambda p: access.may_see_person(
        p, "pm.1", "north-pcn", "F84001"), "Y.Y.Y.Y"),
    ("see person pm.2 of the network, no practice", lambda p: access.may_see_person(
        p, "pm.2", "north-pcn", None), "Y.Y...."),
    ("manage north-pcn's recipients and routes", allowed(
        lambda p: access.check_may_manage_network(p, "north-pcn")), "Y.Y...."),
    ("read north-pcn's routes", allowed(
        lambda p: access.check_network_readable(p, "north-pcn")), "Y.Y.YY."),
    ("list north-pcn's recipients", allowed(
        lambda p: access.network_listing_scope(p, "north-pcn")), "Y.Y.YY."),
    ("of a measure it may see: the pooled series", lambda p: access.may_see_series(p, None),
     "YYYYYYY"),
    ("of a measure it may see: F84002's series", lambda p: access.may_see_series(p, "F84002"),
     "YYYY.YY"),
    ("change north-pcn's training framework", allowed(
        lambda p: access.check_network_lead(p, "north-pcn")), "Y.Y...."),
    ("see the training record of nurse-1 of F84001", allowed(
        lambda p: access.check_staff_visible(p, NURSE)), "Y.Y.Y.."),
    ("assess nurse-1, naming their team's leader", allowed(
        lambda p: access.check_may_assess(p, NURSE, TEAM_LEADER)), "Y.Y.Y.."),
    ("assess nurse-1, naming no leader", allowed(
        lambda p: access.check_may_assess(p, NURSE, None)), "Y.Y...."),
    ("assess nurse-1, naming another team's leader", allowed(
        lambda p: access.check_may_assess(p, NURSE, OTHER_TEAM_LEADER)), "Y.Y...."),
    ("see the deliveries audit", access.may_see_deliveries, "Y.YY..."),
    ("retry a failed delivery", access.may_retry_delivery, "Y......"),
    ("call a route for network leads", allowed(
        lambda p: access.check_role(p, ("network_lead",))), "Y.YY..."),
    ("call a route for practice keys", allowed(
        lambda p: access.check_role(p, ("practice",))), "Y...YY."),
    ("manage F84001's wallboard links (no practice lead among these)", allowed(
        lambda p: access.check_may_manage_practice_devices(p, "F84001", "north-pcn")),
     "Y.Y...."),
]


@pytest.mark.parametrize("question, rule, answers", ACCESS_TABLE,
                         ids=[row[0] for row in ACCESS_TABLE])
def test_the_access_table(question, rule, answers):
    expected = dict(zip(CALLERS, (mark == "Y" for mark in answers)))
    assert {name: rule(principal) for name, principal in CALLERS.items()} == expected


def test_what_each_caller_may_list():
    assert access.listing_scope(ADMIN) == access.EVERYTHING
    assert access.listing_scope(LEAD) == access.Scope(network_id="north-pcn")
    assert access.listing_scope(PRACTICE) == access.Scope(network_id="north-pcn",
                                                          practice_id="F84001")
    assert access.network_listing_scope(PRACTICE, "north-pcn").practice_id == "F84001"
    assert access.network_listing_scope(LEAD, "north-pcn").practice_id is None
    assert access.deliveries_scope(ADMIN) == access.EVERYTHING
    assert access.deliveries_scope(ADMIN, "south-pcn") == access.Scope(network_id="south-pcn")
    assert access.deliveries_scope(LEAD) == access.Scope(network_id="north-pcn")
    with pytest.raises(NotFoundError):
        access.deliveries_scope(LEAD, "south-pcn")
    with pytest.raises(NotFoundError):
        access.network_listing_scope(SOUTH_LEAD, "north-pcn")


def test_only_the_repository_turns_a_scope_into_a_query():
    assert scope_selector(access.EVERYTHING, "practice_ids") == {}
    assert scope_selector(access.listing_scope(LEAD), "practice_ids") == {
        "network_id": "north-pcn"}
    assert scope_selector(access.listing_scope(PRACTICE), "practice_ids") == {
        "practice_ids": "F84001"}
    # Registry listings are per network: a practice key sees its network's.
    assert scope_selector(access.listing_scope(PRACTICE)) == {"network_id": "north-pcn"}
    assert scope_selector(access.listing_scope(PRACTICE), network_field="_id") == {
        "_id": "north-pcn"}
    assert all_of({}, stage=None) == {}
    assert all_of({"network_id": "n"}, stage=None) == {"network_id": "n"}
    assert all_of({"network_id": "n"}, stage="idea") == {
        "$and": [{"network_id": "n"}, {"stage": "idea"}]}


def test_network_and_practice_rules():
    assert access.may_manage_network(LEAD, "north-pcn")
    assert not access.may_manage_network(LEAD, "south-pcn")
    assert not access.may_manage_network(PRACTICE, "north-pcn")
    assert access.may_manage_network(ADMIN, "anywhere")
    assert access.may_read_network(PRACTICE, "north-pcn")
    assert not access.may_read_network(PRACTICE, "south-pcn")
    assert not access.may_read_network(Principal("ops", "ops"), "north-pcn")
    access.check_practice(PRACTICE, "F84001", "north-pcn", "huddle item")
    access.check_practice(LEAD, "F84002", "north-pcn", "huddle item")
    for principal, practice_id in ((OTHER_PRACTICE, "F84001"), (OTHER_LEAD, "F84001")):
        with pytest.raises(NotFoundError) as hidden:
            access.check_practice(principal, practice_id, "north-pcn", "huddle item")
        assert hidden.value.message == "no such huddle item"
    access.check_own_practice(PRACTICE, None)
    access.check_own_practice(LEAD, "F84002")
    with pytest.raises(NotFoundError) as other:
        access.check_own_practice(PRACTICE, "F84002")
    assert "practice_id" in other.value.fields


def test_what_may_not_be_seen_is_not_found_and_what_may_not_be_changed_is_not_permitted():
    access.check_project_visible(OTHER_PRACTICE, NETWORK_PROJECT)
    with pytest.raises(NotFoundError):
        access.check_project_visible(OTHER_PRACTICE, SOLO_PROJECT)
    with pytest.raises(NotFoundError):
        access.check_project_visible(OTHER_LEAD, SOLO_PROJECT)
    with pytest.raises(NotFoundError):
        access.check_project_visible(LEAD, None)
    # A copy of the project without its practices: the caller says whether it takes part.
    replica = {"_id": "prj_1", "network_id": "north-pcn", "scope": "network"}
    access.check_project_visible(PRACTICE, replica, takes_part=True)
    with pytest.raises(NotFoundError):
        access.check_project_visible(PRACTICE, replica, takes_part=False)
    access.check_project_write(LEAD, NETWORK_PROJECT)
    access.check_project_write(PRACTICE, NETWORK_PROJECT, "F84001")
    access.check_project_write(PRACTICE, SOLO_PROJECT)
    with pytest.raises(NotPermitted):
        access.check_project_write(PRACTICE, NETWORK_PROJECT)
    with pytest.raises(NotPermitted):
        access.check_project_write(PRACTICE, NETWORK_PROJECT, "F84002")


def test_a_write_is_for_the_named_practice_else_the_practice_keys_own():
    assert access.acting_practice(PRACTICE, None) == "F84001"
    assert access.acting_practice(PRACTICE, "F84002") == "F84002"
    assert access.acting_practice(LEAD, None) is None


def test_a_person_of_the_web_front_end_acts_upstream_as_a_lead_or_a_practice():
    assert [access.principal_kind_of(role) for role in access.PERSON_ROLES] == [
        "practice", "practice", "network_lead", "network_lead"]
    assert [access.acts_for_the_network(role) for role in access.PERSON_ROLES] == [
        False, False, True, True]
    assert sorted(access.PERSON_ROLES, key=access.person_rank) == list(access.PERSON_ROLES)
    assert not access.is_person_role("ops") and access.is_person_role("practice_lead")


def test_a_practice_lead_manages_its_own_practice_devices_and_a_member_learns_why_not():
    lead = Principal("web", "practice", "north-pcn", "F84001", "plead-01", practice_lead=True)
    access.check_may_manage_practice_devices(lead, "F84001", "north-pcn")
    with pytest.raises(NotPermitted):  # their own practice: they may know it, not do it
        access.check_may_manage_practice_devices(PRACTICE, "F84001", "north-pcn")
    for principal in (lead, PRACTICE):  # another practice's devices do not exist for them
        with pytest.raises(NotFoundError):
            access.check_may_manage_practice_devices(principal, "F84002", "north-pcn")
