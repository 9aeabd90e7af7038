"""shared.access: what each kind of key may list, see and change."""
import pytest

from shared import access
from shared.auth import Principal
from shared.domain import NotFoundError, NotPermitted
from tests.principals import ADMIN, LEAD, OTHER_PRACTICE, PRACTICE, SOUTH_LEAD

OTHER_LEAD = SOUTH_LEAD
NETWORK_PROJECT = {"_id": "prj_1", "network_id": "north-pcn", "scope": "network",
                   "practice_ids": ["F84001", "F84002"]}
SOLO_PROJECT = {"_id": "prj_2", "network_id": "north-pcn", "scope": "practice",
                "practice_ids": ["F84001"]}


def test_scope_filters_say_what_each_key_may_list():
    assert access.listable_by(ADMIN, "practice_ids") == {}
    assert access.listable_by(LEAD, "practice_ids") == {"network_id": "north-pcn"}
    assert access.listable_by(PRACTICE, "practice_ids") == {"practice_ids": "F84001"}
    # Registry listings are per network: a practice key sees its network's.
    assert access.listable_by(PRACTICE) == {"network_id": "north-pcn"}
    assert access.listable_by(PRACTICE, network_field="_id") == {"_id": "north-pcn"}


def test_all_of_joins_selectors_and_the_filters_asked_for():
    assert access.all_of({}, stage=None) == {}
    assert access.all_of({"network_id": "n"}, stage=None) == {"network_id": "n"}
    assert access.all_of({"network_id": "n"}, stage="idea") == {
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
