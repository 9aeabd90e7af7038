"""The signed-in person's inbox and notification preferences in the web service, on a real
network (projects, measurement, notifications, the local OpenID provider), driven over HTTP as
a browser would: an item put in the inbox by a real event (a huddle item escalated to the
person), read and archived with the header's unread count going down; the preferences form
refusing a bad value with the NHS.UK error summary (the field the notifications service named,
what was typed kept, what was accepted saved; quiet hours with a start and no end) and saving a
good one (overnight quiet hours); every form refused without its CSRF token; another person's
item out of reach. The same in Chromium: tests/browser/test_inbox_in_chromium.py."""
import re

import pytest
from nameko.testing.services import dummy  # noqa: F401 (nameko's test plugin is loaded)

from tests.helpers import ServiceClient
from tests.web_stack import (LEAD_UID, MEMBER_UID, build_stack, provider_stopped_after,
                              wait_until)

LEAD_STAFF, MEMBER_STAFF = "lead-01", "nurse-01"


class Network:
    """The notifications side of the stack, with the network lead's key."""

    def __init__(self, stack):
        self.stack = stack
        address = stack.notifications_config["WEB_SERVER_ADDRESS"]
        self.notifications = ServiceClient(address, stack.keys["lead_key"])
        projects = stack.config["WEB_PROJECTS_URL"][len("http://"):]
        self.practice = ServiceClient(projects, stack.keys["F84001"])

    def register(self, staff_id, role="network_lead", practice_id=None):
        scope = ({"kind": "practice", "id": practice_id} if practice_id
                 else {"kind": "network", "id": "north-pcn"})
        answer = self.notifications.post("/recipients", {
            "staff_id": staff_id, "network_id": "north-pcn", "role": role, "scope": scope,
            **({"practice_id": practice_id} if practice_id else {})})
        assert answer.status_code == 201, answer.text

    def escalate_to(self, staff_id, description):
        """A huddle item escalated to ``staff_id`` (a real huddle.item_escalated event), once
        it is in their inbox: (item id, notification id)."""
        item = self.practice.post("/huddle-items", {"team": "pharmacy",
                                                    "description": description,
                                                    "raised_by": "nurse-12"})
        assert item.status_code == 201, item.text
        item_id = item.json()["id"]
        assert self.practice.post(f"/huddle-items/{item_id}/escalate",
                                  {"escalated_to": staff_id,
                                   "reason": "needs the lead's sign-off"}).status_code == 200

        def arrived():
            inbox = self.notifications.get(f"/recipients/{staff_id}/inbox").json()
            return next((n["notification_id"] for n in inbox["items"]
                         if n["data"].get("item_id") == item_id), None)
        return item_id, wait_until(arrived, f"the escalation of {item_id} in the inbox")

    def inbox_item(self, staff_id, notification_id, archived=False):
        inbox = self.notifications.get(f"/recipients/{staff_id}/inbox"
                                       + ("?archived=true" if archived else "")).json()
        return next((n for n in inbox["items"] if n["notification_id"] == notification_id),
                    None)


@pytest.fixture
def stack(container_factory, service_config):
    with provider_stopped_after(build_stack(container_factory, service_config, with_notifications=True)) as stack:
        yield stack


@pytest.fixture
def network(stack):
    network = Network(stack)
    network.register(LEAD_STAFF)
    network.register(MEMBER_STAFF, role="leader", practice_id="F84001")
    return network


def csrf_of(page):
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def header_unread(page):
    """The unread count the header shows ("Inbox (3 unread)")."""
    return int(re.search(r"Inbox \((\d+) unread\)", page.text).group(1))


def test_the_inbox_marks_an_item_read_and_archives_it(stack, network):
    item_id, notification_id = network.escalate_to(LEAD_STAFF, "no printer toner")
    browser, _ = stack.sign_in_with_requests(LEAD_UID)
    inbox = browser.get(stack.web + "/inbox")
    assert inbox.status_code == 200 and inbox.headers["Cache-Control"] == "no-store"
    assert f"Huddle item {item_id}" in inbox.text
    assert f'href="/huddle-items/{item_id}"' in inbox.text
    before = header_unread(inbox)
    assert before >= 1 and f"{before} unread</p>" in inbox.text

    read = browser.post(f"{stack.web}/inbox/{notification_id}/read",
                        data={"csrf_token": csrf_of(inbox)}, allow_redirects=False)
    assert read.status_code == 303 and read.headers["Location"] == "/inbox?done=read"
    after_read = browser.get(stack.web + read.headers["Location"])
    assert "Marked as read." in after_read.text
    assert header_unread(after_read) == before - 1
    assert network.inbox_item(LEAD_STAFF, notification_id)["unread"] is False

    archived = browser.post(f"{stack.web}/inbox/{notification_id}/archive",
                            data={"csrf_token": csrf_of(after_read)}, allow_redirects=False)
    assert archived.status_code == 303
    after_archive = browser.get(stack.web + archived.headers["Location"])
    assert f'id="item-{notification_id}"' not in after_archive.text
    assert network.inbox_item(LEAD_STAFF, notification_id) is None
    archive = browser.get(stack.web + "/inbox?archived=yes")
    assert archive.status_code == 200 and f'id="item-{notification_id}"' in archive.text
    assert "Archived notifications" in archive.text


def test_the_inbox_and_preferences_forms_refuse_a_missing_or_forged_csrf_token(stack, network):
    _, notification_id = network.escalate_to(LEAD_STAFF, "fridge out of range")
    browser, _ = stack.sign_in_with_requests(LEAD_UID)
    for token in ({}, {"csrf_token": "forged"}):
        for path in (f"/inbox/{notification_id}/read", f"/inbox/{notification_id}/archive"):
            refused = browser.post(stack.web + path, data=token, allow_redirects=False)
            assert refused.status_code == 403, (path, token)
            assert "This form has expired" in refused.text
        refused = browser.post(stack.web + "/preferences", allow_redirects=False, data={
            **token, "by_channel.inbox": "off", "digest_time": "07:00"})
        assert refused.status_code == 403
    item = network.inbox_item(LEAD_STAFF, notification_id)
    assert item["unread"] is True and item["archived_at"] is None
    assert network.notifications.get(f"/recipients/{LEAD_STAFF}").json()["digest_time"] is None
    assert network.notifications.get(f"/recipients/{LEAD_STAFF}/preferences").json()[
        "by_channel"] == {}


def test_preferences_refused_by_the_service_come_back_with_an_error_summary(stack, network):
    browser, _ = stack.sign_in_with_requests(LEAD_UID)
    form = browser.get(stack.web + "/preferences")
    assert form.status_code == 200 and "Your notification preferences" in form.text
    csrf = csrf_of(form)
    refused = browser.post(stack.web + "/preferences", allow_redirects=False, data={
        "csrf_token": csrf, "by_channel.email": "digest", "by_channel.inbox": "",
        "digest_time": "25:00", "time_zone": "Mars/Olympus", "quiet_start": "22:00"})
    assert refused.status_code == 422
    page = refused.text
    assert "There is a problem" in page and "<title>Error: " in page
    # The summary links each error to the field the notifications service named, all at once.
    assert 'href="#digest_time"' in page and 'href="#time_zone"' in page
    assert 'href="#quiet_end"' in page
    assert "Digest time: a time of day as HH:MM, such as 08:00" in page
    assert "Time zone: &#39;Mars/Olympus&#39; is not an IANA time zone" in page
    assert 'id="digest_time-error"' in page and 'id="time_zone-error"' in page
    # What was typed is kept; what the service accepted (the channel modes) is saved.
    assert 'value="25:00"' in page and 'value="Mars/Olympus"' in page
    assert 'value="22:00"' in page
    assert re.search(r'id="by_channel-email-3"[^>]*value="digest"\s*checked', page)
    assert "Saved: how each channel reaches you" in page
    assert network.notifications.get(f"/recipients/{LEAD_STAFF}/preferences").json()[
        "by_channel"] == {"email": "digest"}

    # A value no radio offers (a tampered form): named by the service, shown by the field.
    # And quiet hours with a start and no end: both named, neither saved.
    tampered = browser.post(stack.web + "/preferences", allow_redirects=False, data={
        "csrf_token": csrf, "by_channel.webhook": "sometimes", "digest_time": "07:30",
        "quiet_start": "22:00", "quiet_end": ""})
    assert tampered.status_code == 422
    assert 'href="#by_channel-webhook"' in tampered.text
    assert 'id="by_channel-webhook-error"' in tampered.text
    assert "Quiet hours end: give quiet hours an end as well as a start" in tampered.text
    assert 'href="#quiet_end"' in tampered.text and 'id="quiet_end-error"' in tampered.text
    assert "Saved:" not in tampered.text
    assert network.notifications.get(f"/recipients/{LEAD_STAFF}").json()["digest_time"] is None

    saved = browser.post(stack.web + "/preferences", allow_redirects=False, data={
        "csrf_token": csrf, "by_channel.email": "off", "by_channel.inbox": "immediate",
        "digest_time": "07:30", "time_zone": "Europe/London", "quiet_start": "22:00",
        "quiet_end": "07:00"})  # overnight: an end before the start is accepted
    assert saved.status_code == 303 and saved.headers["Location"] == "/preferences?saved=yes"
    shown = browser.get(stack.web + saved.headers["Location"])
    assert "Your notification preferences are saved." in shown.text
    assert 'value="07:30"' in shown.text and 'value="Europe/London"' in shown.text
    recipient = network.notifications.get(f"/recipients/{LEAD_STAFF}").json()
    assert (recipient["digest_time"], recipient["time_zone"]) == ("07:30", "Europe/London")
    assert (recipient["quiet_start"], recipient["quiet_end"]) == ("22:00", "07:00")
    assert 'value="22:00"' in shown.text and 'value="07:00"' in shown.text
    assert network.notifications.get(f"/recipients/{LEAD_STAFF}/preferences").json()[
        "by_channel"] == {"email": "off", "inbox": "immediate"}


def test_a_practice_member_has_their_own_inbox_and_cannot_touch_another(stack, network):
    _, lead_item = network.escalate_to(LEAD_STAFF, "room booking clash")
    _, own_item = network.escalate_to(MEMBER_STAFF, "locum rota gap")
    browser, _ = stack.sign_in_with_requests(MEMBER_UID)
    inbox = browser.get(stack.web + "/inbox")
    assert inbox.status_code == 200
    assert f'id="item-{own_item}"' in inbox.text and f'id="item-{lead_item}"' not in inbox.text
    csrf = csrf_of(inbox)
    for action in ("read", "archive"):
        other = browser.post(f"{stack.web}/inbox/{lead_item}/{action}",
                             data={"csrf_token": csrf}, allow_redirects=False)
        assert other.status_code == 404
    assert network.inbox_item(LEAD_STAFF, lead_item)["unread"] is True
    read = browser.post(f"{stack.web}/inbox/{own_item}/read", data={"csrf_token": csrf},
                        allow_redirects=False)
    assert read.status_code == 303
    assert network.inbox_item(MEMBER_STAFF, own_item)["unread"] is False


def test_someone_not_on_the_notification_list_is_told_so(stack):
    browser, _ = stack.sign_in_with_requests(LEAD_UID)
    for path in ("/inbox", "/preferences"):
        page = browser.get(stack.web + path)
        assert page.status_code == 200, path
        assert "not on your network&#39;s notification list yet" in page.text
