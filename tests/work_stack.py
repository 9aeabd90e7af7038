"""The whole network behind the web service, for the journeys where people do their work in
the browser: projects, measurement, training and notifications on the test broker, the web
service and the local OpenID provider, with four people who sign in:

- Priya Shah, the network lead of north-pcn (``LEAD_UID``, staff ``lead-01``);
- Sam Okafor, a practice member of F84001 (``MEMBER_UID``, staff ``nurse-01``);
- Jo Patel, the practice lead of F84001 (``PRACTICE_LEAD_UID``, staff ``plead-01``);
- Kim Lee, a practice member of F84002 (``OTHER_MEMBER_UID``, staff ``nurse-02``),
  who must never reach F84001's forms, boards or records.

Everything else (the project, its measure with 20 weeks of values, an escalated huddle item)
is tests/web_stack.py's; ``Work`` gives each service's API with the lead's or F84001's key."""
import re
from urllib.parse import quote

import pytest
import requests

from tests.helpers import ServiceClient
from tests.web_stack import cis2_claims, provider_stopped_after
from tests.web_with_training import build_stack_with_training

PRACTICE_LEAD_UID, OTHER_MEMBER_UID = "555000000104", "555000000105"
PEOPLE = {  # uid: (staff id, name, (org code, CIS2 role code))
    PRACTICE_LEAD_UID: ("plead-01", "Jo Patel", ("F84001", "R0002")),
    OTHER_MEMBER_UID: ("nurse-02", "Kim Lee", ("F84002", "R0001")),
}


class Work:
    """The stack and each service's API as the network lead (``lead``) or F84001's practice
    key (``practice``): ``work.lead["training"].get(...)``."""

    def __init__(self, stack):
        self.stack = stack
        addresses = {"projects": stack.config["WEB_PROJECTS_URL"],
                     "measurement": stack.config["WEB_MEASUREMENT_URL"],
                     "training": stack.config["WEB_TRAINING_URL"],
                     "notifications": stack.config["WEB_NOTIFICATIONS_URL"]}
        addresses = {name: url[len("http://"):] for name, url in addresses.items()}
        self.lead = {name: ServiceClient(address, stack.keys["lead_key"])
                     for name, address in addresses.items()}
        self.practice = {name: ServiceClient(address, stack.keys["F84001"])
                         for name, address in addresses.items()}
        self.web = stack.web

    def sign_in(self, uid, path="/"):
        """A ``requests`` session signed in as ``uid``, and the page it landed on."""
        return self.stack.sign_in_with_requests(uid, path)


def csrf_of(page):
    """The session's CSRF token, from a form's hidden field or the header's sign-out."""
    return re.search(r'(?:name="csrf_token" value="|csrf_token=)([^"&]+)', page.text).group(1)


def signed_in(work, uid, path):
    """A session signed in as ``uid`` and the page at ``path`` it was sent back to."""
    browser, callback = work.sign_in(uid, path)
    assert callback.status_code == 303 and callback.headers["Location"] == path
    return browser, browser.get(work.web + path)


def add_people(stack):
    web_api = ServiceClient(stack.config["WEB_SERVER_ADDRESS"], stack.keys["lead_key"])
    for uid, (staff_id, name, (org, role_code)) in PEOPLE.items():
        assert web_api.request("PUT", f"/people/{uid}", {
            "staff_id": staff_id, "network_id": "north-pcn"}).status_code == 200
        assert requests.put(f"{stack.provider}/users/{quote(uid)}",
                            json=cis2_claims(uid, name, [(org, role_code)]),
                            timeout=5).status_code == 204


@pytest.fixture
def work(container_factory, service_config):
    with provider_stopped_after(build_stack_with_training(
            container_factory, service_config, with_notifications=True)) as stack:
        add_people(stack)
        yield Work(stack)
