"""Person tokens (shared/person_token.py) and their check in shared.auth: the web service
acts upstream with the signed-in person's rights, the same principal kinds as API keys."""
import base64
import json

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from shared import access, person_token
from shared.auth import Authentication
from shared.errors import Unauthorized
from shared.person_token import InvalidPersonToken, PersonTokens

SECRET = b"north-pcn-deployment-secret-0123456789"
NOW = 1_800_000_000  # a fixed clock: nothing here depends on the day it runs


def tokens(at=NOW, secret=SECRET):
    return PersonTokens(secret, clock=lambda: at)


def request_with(token):
    return Request(EnvironBuilder(headers={"Authorization": f"Bearer {token}"}).get_environ())


def authentication(verifier):
    auth = Authentication(store=None, admin_key_hash="0" * 64)
    auth.person_tokens = verifier
    return auth


def test_a_lead_token_becomes_a_network_lead_principal_of_its_network():
    token = tokens().sign("uid-lead", "network_lead", "north-pcn")
    principal = authentication(tokens()).principal(request_with(token))
    assert (principal.role, principal.network_id, principal.practice_id) == (
        "network_lead", "north-pcn", None)
    assert principal.key_id == "person:uid-lead"
    assert access.may_manage_network(principal, "north-pcn")
    assert not access.may_read_network(principal, "south-pcn")  # another network: nothing


def test_practice_and_person_tokens_carry_their_practice_and_staff_id():
    practice = person_token.principal_of(tokens().verify(
        tokens().sign("uid-1", "practice", "north-pcn", practice_id="F84001", staff_id="s-1")))
    assert (practice.role, practice.practice_id, practice.staff_id) == ("practice", "F84001",
                                                                        "s-1")
    assert not access.may_act_for_practice(practice, "F84002", "north-pcn")
    person = person_token.principal_of(tokens().verify(
        tokens().sign("uid-1", "person", "north-pcn", staff_id="s-1")))
    assert (person.role, person.staff_id) == ("person", "s-1")


def test_only_a_practice_token_of_a_practice_lead_manages_the_practices_devices():
    lead_token = tokens().sign("uid-pl", "practice", "north-pcn", practice_id="F84001",
                               practice_lead=True)
    member_token = tokens().sign("uid-pm", "practice", "north-pcn", practice_id="F84001")
    network_token = tokens().sign("uid-nl", "network_lead", "north-pcn", practice_lead=True)
    lead, member, network = (authentication(tokens()).principal(request_with(token))
                             for token in (lead_token, member_token, network_token))
    assert lead.practice_lead and not member.practice_lead
    assert not network.practice_lead  # the claim means nothing outside a practice token
    assert access.may_manage_practice_devices(lead, "F84001", "north-pcn")
    assert not access.may_manage_practice_devices(lead, "F84002", "north-pcn")
    assert not access.may_manage_practice_devices(member, "F84001", "north-pcn")
    assert access.may_manage_practice_devices(network, "F84002", "north-pcn")


def test_admin_and_ops_are_never_minted():
    for kind in ("admin", "ops"):
        with pytest.raises(ValueError):
            tokens().sign("uid", kind, "north-pcn")


def test_an_expired_token_is_refused():
    token = tokens().sign("uid", "network_lead", "north-pcn", lifetime=60)
    assert tokens(NOW + 60 + 29).verify(token)  # within the clock skew
    with pytest.raises(InvalidPersonToken, match="expired"):
        tokens(NOW + 60 + 30).verify(token)


def test_a_token_signed_with_another_deployments_secret_is_refused():
    other = PersonTokens(b"south-pcn-deployment-secret-987654321", clock=lambda: NOW)
    token = other.sign("uid", "network_lead", "north-pcn")
    with pytest.raises(Unauthorized, match="signature"):
        authentication(tokens()).principal(request_with(token))


def forged(token, **changes):
    header, claims, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(claims + "=="))
    body.update(changes)
    claims = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{header}.{claims}.{signature}"


def test_a_token_whose_claims_were_changed_is_refused():
    token = tokens().sign("uid", "practice", "north-pcn", practice_id="F84001")
    for changes in ({"network_id": "south-pcn"}, {"kind": "network_lead"},
                    {"practice_id": "F84002"}, {"exp": NOW + 10_000}):
        with pytest.raises(InvalidPersonToken, match="signature"):
            tokens().verify(forged(token, **changes))


def test_alg_none_and_other_algorithms_are_refused():
    token = tokens().sign("uid", "network_lead", "north-pcn")
    _, claims, _ = token.split(".")
    for alg in ("none", "RS256", "HS512"):
        header = base64.urlsafe_b64encode(json.dumps({"alg": alg}).encode()).rstrip(b"=")
        with pytest.raises(InvalidPersonToken, match="algorithm"):
            tokens().verify(f"{header.decode()}.{claims}.")


def test_a_long_lived_or_future_token_is_refused():
    with pytest.raises(InvalidPersonToken, match="longer"):
        tokens().verify(tokens().sign("uid", "network_lead", "north-pcn", lifetime=3600))
    with pytest.raises(InvalidPersonToken, match="future"):
        tokens(NOW - 120).verify(tokens().sign("uid", "network_lead", "north-pcn"))


def test_a_service_without_a_verifier_refuses_person_tokens():
    token = tokens().sign("uid", "network_lead", "north-pcn")
    with pytest.raises(Unauthorized, match="accepts no person tokens"):
        authentication(None).principal(request_with(token))


def test_malformed_tokens_are_refused_not_crashed_on():
    for token in ("eyJ.x.y", "eyJhbGciOiJIUzI1NiJ9.!!!.abc", "eyJ..", "eyJhbGc.e30.@@"):
        with pytest.raises(Unauthorized):
            authentication(tokens()).principal(request_with(token))


def test_the_secret_comes_from_config_or_is_derived_from_the_admin_key():
    assert person_token.secret_from({"PCN_PERSON_TOKEN_SECRET": "s" * 20}) == b"s" * 20
    derived = person_token.secret_from({"PCN_ADMIN_KEY": "a" * 24})
    assert derived and derived != b"a" * 24
    assert person_token.secret_from({"PCN_ADMIN_KEY": "b" * 24}) != derived
    assert person_token.secret_from({}) is None
