"""The notifications service on the real broker with a real local SMTP server (aiosmtpd in its
own process, on a free port) and a local webhook receiver: a concern signal's envelope
published twice reaches each network lead once by email (with the chart the measurement
service answers by RPC), once by a signed webhook and once in the inbox; an SMTP server that
refuses twice gets the mail on the third attempt."""
import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from services.measurement import commands as measurement_commands
from services.measurement.repository import MeasurementRepository
from services.measurement.service import MeasurementService
from services.notifications.service import NotificationsService
from shared.auth import ApiKeyStore, Principal, generate_key
from shared.events.catalogue import make_event
from shared.events.envelope import Trace
from shared.storage import open_database
from tests.helpers import ServiceClient, publish_raw, started, wait_until, with_own_address
from tests.unit.notifications.conftest import (  # noqa: F401 (webhook_receiver: a fixture)
    SmtpServer, verify_standard_webhook, webhook_receiver)

NETWORK = "net_east"
LEAD = Principal("k_lead", "network_lead", NETWORK)


def practice_measure(config):
    """A measure of the measurement service with 12 weeks of one practice's values, stored
    through its own service layer in its own database."""
    repository = MeasurementRepository(open_database(config, "measurement"))
    MeasurementRepository.ensure_indexes(repository.database)
    measurement_commands.track_project(repository, {
        "project_id": "prj_smr", "network_id": NETWORK, "title": "SMR", "scope": "network",
        "practice_ids": ["F84001"]})
    measure = measurement_commands.define_measure(repository, LEAD, "prj_smr", {
        "name": "SMRs to template", "type": "process", "value_kind": "proportion",
        "unit": None, "frequency": "week", "operational_definition": "d",
        "improvement": "increase", "target": None, "fix_after_n_points": None},
        datetime.now(timezone.utc), Trace())
    measurement_commands.submit_batch(repository, LEAD, [
        {"measure_id": measure["_id"], "period": date(2026, 8, 3) + timedelta(weeks=week),
         "practice_id": "F84001", "numerator": 4 + week % 3, "denominator": 10, "value": None}
        for week in range(12)], datetime.now(timezone.utc), Trace())
    return measure["_id"]


@pytest.fixture
def smtp_server(tmp_path):
    maildir = tmp_path / "mail"
    maildir.mkdir()
    server = SmtpServer(maildir)
    yield server
    server.stop()


@pytest.fixture
def notifications_config(service_config, smtp_server):
    return {**with_own_address(service_config),
            "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server.port,
            "SMTP_SENDER": "pcn@notify.example.org", "CHART_RPC_TIMEOUT_SECONDS": 2,
            "NOTIFICATIONS_ALLOW_PRIVATE_ENDPOINTS": True,
            "NOTIFICATIONS_BACKOFF_BASE_SECONDS": 0.2, "NOTIFICATIONS_BACKOFF_CAP_SECONDS": 1,
            # Every hour of every day is inside the send window: the test runs whenever CI does
            # (the window itself is the unit tests' business, with an injected clock).
            "NOTIFICATIONS_WINDOW_DAYS": [0, 1, 2, 3, 4, 5, 6],
            "NOTIFICATIONS_WINDOW_START": "00:00", "NOTIFICATIONS_WINDOW_END": "23:59"}


@pytest.fixture
def notifications(container_factory, notifications_config):
    started(container_factory, NotificationsService, notifications_config)
    return ServiceClient(notifications_config["WEB_SERVER_ADDRESS"])


def concern_signal(measure_id="msr_smr", series="pooled"):
    return make_event("measurement.signal_detected", {
        "measure_id": measure_id, "project_id": "prj_smr", "series": series,
        "rule": "outside_limits", "kind": "concern", "point_type": "special_cause",
        "period": date(2026, 11, 2), "value": 41.5},
        source="measurement", network_id=NETWORK, trace=Trace())


def register_lead(client, staff_id, webhook_url=None):
    answer = client.post("/recipients", {
        "staff_id": staff_id, "network_id": NETWORK, "role": "network_lead",
        "scope": {"kind": "network", "id": NETWORK},
        "email": f"{staff_id}@practice.example.org", "webhook_url": webhook_url})
    assert answer.status_code == 201, answer.text
    return answer.json()


def signal_mail_to_lead_a(notifications_config, notifications, smtp_server):
    """The one mail a network lead, lead.a, gets of a concern signal (without its chart: no
    measurement service runs)."""
    smtp_server.start()
    register_lead(notifications, "lead.a")
    publish_raw(notifications_config["AMQP_URI"], concern_signal(), times=1)
    (message,) = wait_until(smtp_server.messages, timeout=20)
    return message


def test_a_concern_signal_published_twice_reaches_each_network_lead_once_per_channel(
        container_factory, notifications_config, notifications, smtp_server,
        webhook_receiver):
    smtp_server.start()
    measure_id = practice_measure(notifications_config)
    started(container_factory, MeasurementService, with_own_address(notifications_config))
    lead_a = register_lead(notifications, "lead.a", webhook_receiver.url)
    register_lead(notifications, "lead.b")
    assert lead_a["webhook_secret"].startswith("whsec_")

    publish_raw(notifications_config["AMQP_URI"], concern_signal(measure_id, "F84001"), times=2)

    mail = wait_until(lambda: len(smtp_server.messages()) >= 2 and smtp_server.messages(),
                      timeout=20)
    assert wait_until(lambda: webhook_receiver.requests, timeout=10)
    inboxes = {staff_id: notifications.get(f"/recipients/{staff_id}/inbox").json()
               for staff_id in ("lead.a", "lead.b")}
    wait_until(lambda: False, timeout=1.5)  # a second delivery would show by now
    mail = smtp_server.messages()
    assert sorted(m["To"] for m in mail) == ["lead.a@practice.example.org",
                                             "lead.b@practice.example.org"]
    for message in mail:
        (image,) = [part for part in message.walk() if part.get_content_type() == "image/png"]
        assert image.get_payload(decode=True).startswith(b"\x89PNG")  # measurement's chart
        assert image.get_content_disposition() == "inline"  # shown in the HTML, not a file
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    assert len(webhook_receiver.requests) == 1
    headers, body, _ = webhook_receiver.requests[0]
    assert verify_standard_webhook(lead_a["webhook_secret"], headers, body)
    assert json.loads(body)["type"] == "measurement.signal_detected"
    assert "lead.a@practice.example.org" not in body.decode()

    for staff_id, inbox in inboxes.items():
        assert inbox["total"] == 1 and inbox["unread"] == 1, staff_id
        assert inbox["items"][0]["event_type"] == "measurement.signal_detected"
    sent = notifications.get("/deliveries?status=sent").json()
    assert sent["total"] == 5  # two emails, one webhook call, two inbox items


def test_the_mail_goes_without_its_chart_when_measurement_does_not_answer(
        notifications_config, notifications, smtp_server):
    message = signal_mail_to_lead_a(notifications_config, notifications, smtp_server)
    assert not [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert "msr_smr" in message.get_body(("plain",)).get_content()


def test_an_smtp_server_refusing_twice_gets_the_mail_on_the_third_attempt(
        notifications_config, notifications, smtp_server):
    smtp_server.start(refuse_first=2)
    register_lead(notifications, "lead.a")
    publish_raw(notifications_config["AMQP_URI"], concern_signal(), times=1)
    (message,) = wait_until(smtp_server.messages, timeout=30)
    assert message["To"] == "lead.a@practice.example.org"
    (email,) = [item for item in notifications.get("/deliveries").json()["items"]
                if item["channel"] == "email"]
    assert email["state"] == "sent" and email["attempts"] == 3
    metrics = notifications.get("/metrics", headers={
        "Authorization": f"Bearer {notifications_config['PCN_OPS_KEY']}"}).text
    assert 'pcn_notifications_total{channel="email",outcome="retried"' in metrics


def test_bad_input_names_its_field_and_writes_nothing(notifications):
    answer = notifications.post("/recipients", {
        "staff_id": "lead.x", "network_id": NETWORK, "role": "network_lead",
        "scope": {"kind": "network", "id": NETWORK}, "email": "not-an-address",
        "time_zone": "Europe/Atlantis"})
    assert answer.status_code == 422
    assert {"email", "time_zone"} <= set(answer.json()["fields"])
    assert notifications.get("/recipients/lead.x").status_code == 404
    unsubscribe = notifications.request("POST", f"/unsubscribe?token={uuid.uuid4().hex}.x",
                                        data="List-Unsubscribe=One-Click")
    assert unsubscribe.status_code == 422 and "token" in unsubscribe.json()["fields"]
    # A URL past the web server's limit is refused before the service, as documented.
    assert notifications.request("POST", "/unsubscribe?token=" + "a" * 9000).status_code == 414
    document = notifications.get("/openapi.json").json()
    assert "414" in document["paths"]["/unsubscribe"]["post"]["responses"]


@pytest.mark.timeout(600)
def test_fuzzing_from_its_own_openapi_document_finds_no_failure(notifications,
                                                                notifications_config,
                                                                smtp_server):
    """schemathesis against /openapi.json (the checks and hostile values of
    tests/integration/test_fuzz.py) as admin, as the network's lead and as a person with their
    own key: no 5xx, no answer the document does not describe."""
    from tests.integration.test_fuzz import fuzz

    smtp_server.start()
    register_lead(notifications, "lead.a")
    keys = {"admin": notifications.key}
    store = ApiKeyStore(open_database(notifications_config, "notifications"))
    for role, staff_id in (("network_lead", None), ("person", "lead.a")):
        key_id, key, key_hash = generate_key()
        store.apply_issued({"key_id": key_id, "key_hash": key_hash, "role": role,
                            "network_id": NETWORK, "staff_id": staff_id,
                            "issued_at": datetime.now(timezone.utc)})
        keys[role] = key
    ids = {"staff_id": ["lead.a"], "network_id": [NETWORK], "practice_id": ["F84001"]}
    examples = {"staff_id": "lead.b", "network_id": NETWORK, "role": "network_lead",
                "email": "lead.b@practice.example.org", "time_zone": "Europe/London",
                "digest_time": "08:00", "event_type": "measurement.signal_detected"}
    report, failed = [], []
    for who, key in keys.items():
        sent, hostile, failures, errors = fuzz(notifications.base, key, ids, 6, examples)
        report.append(f"as {who}: {sent} requests ({hostile} hostile)")
        assert hostile > 0, who
        failed += [f"as {who}: {text}" for text in failures + errors]
    print(f"\nfuzzed notifications {'; '.join(report)}")
    assert not failed, "\n\n".join(failed[:10])


def test_a_person_key_reads_and_manages_only_its_own_inbox_and_preferences(
        network, admin, notifications, notifications_config, smtp_server):
    """A person key issued by the projects service (with the holder's staff id) reaches the
    notifications service by the key events: GET /inbox is that person's, another person's
    inbox is unknown to it (404), a lead's routes are not for it (403), and its revocation
    closes the door (401)."""
    smtp_server.start()
    for staff_id in ("lead.n", "lead.m"):
        answer = notifications.post("/recipients", {
            "staff_id": staff_id, "network_id": "north-pcn", "role": "network_lead",
            "scope": {"kind": "network", "id": "north-pcn"},
            "email": f"{staff_id}@practice.example.org"})
        assert answer.status_code == 201, answer.text
    refused = admin.post("/api-keys", {"role": "person", "network_id": "north-pcn"})
    assert refused.status_code == 422 and "staff_id" in refused.json()["fields"]
    issued = network["lead"].post("/api-keys", {"role": "person", "network_id": "north-pcn",
                                                "staff_id": "lead.n"})
    assert issued.status_code == 201, issued.text
    assert issued.json()["staff_id"] == "lead.n"
    person = notifications.as_key(issued.json()["api_key"])
    assert wait_until(lambda: person.get("/inbox").status_code == 200), "key never arrived"
    # A person key is for one's own inbox and preferences: the projects API refuses it.
    as_person_on_projects = admin.as_key(issued.json()["api_key"])
    assert as_person_on_projects.get("/projects").status_code == 403
    assert as_person_on_projects.post("/api-keys", {"role": "person", "network_id": "north-pcn",
                                                    "staff_id": "lead.m"}).status_code == 403

    signal = make_event("measurement.signal_detected", {
        "measure_id": "msr_n", "project_id": "prj_n", "series": "pooled",
        "rule": "outside_limits", "kind": "concern", "point_type": "special_cause",
        "period": date(2026, 11, 2), "value": 41.5},
        source="measurement", network_id="north-pcn", trace=Trace())
    publish_raw(notifications_config["AMQP_URI"], signal, times=1)
    inbox = wait_until(lambda: person.get("/inbox").json()["total"] and person.get(
        "/inbox").json())
    assert inbox["unread"] == 1 and inbox["items"][0]["recipient_id"] == "lead.n"
    item_id = inbox["items"][0]["notification_id"]
    assert person.get("/inbox/unread").json() == {"unread": 1}
    assert person.post(f"/inbox/{item_id}/read").json()["unread"] is False
    assert person.get("/inbox/unread").json() == {"unread": 0}
    assert person.post(f"/inbox/{item_id}/archive").status_code == 200
    assert person.get("/inbox").json()["total"] == 0

    changed = person.request("PUT", "/preferences", {
        "by_event": {"measurement.signal_detected": {"email": "digest"}}, "by_channel": {}})
    assert changed.status_code == 200, changed.text
    assert person.get("/preferences").json()["by_event"] == {
        "measurement.signal_detected": {"email": "digest"}}
    assert person.get("/recipients/lead.n/preferences").status_code == 200

    assert person.get("/recipients/lead.m/inbox").status_code == 404
    assert person.post(f"/recipients/lead.m/inbox/{item_id}/read").status_code == 404
    assert person.get("/networks/north-pcn/recipients").status_code == 403
    assert notifications.get("/inbox").status_code == 403  # admin has no inbox of its own

    key_id = issued.json()["key_id"]
    assert network["lead"].post(f"/api-keys/{key_id}/revoke").status_code == 200
    assert wait_until(lambda: person.get("/inbox").status_code == 401)


def test_an_unsubscribe_link_opened_in_a_browser_asks_first_and_its_button_unsubscribes(
        notifications_config, notifications, smtp_server):
    message = signal_mail_to_lead_a(notifications_config, notifications, smtp_server)
    link = message["List-Unsubscribe"].strip("<>")
    path = link[link.index("/unsubscribe"):]
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}

    page = notifications.request("GET", path, headers=browser)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert '<form method="post"' in page.text and "measurement.signal_detected" in page.text
    preferences = notifications.get("/recipients/lead.a/preferences").json()
    assert preferences["unsubscribed"] == []  # opening the link changed nothing

    pressed = notifications.request("POST", path, headers=browser,
                                    data="List-Unsubscribe=One-Click")
    assert pressed.status_code == 200 and "Unsubscribed" in pressed.text
    preferences = notifications.get("/recipients/lead.a/preferences").json()
    assert preferences["unsubscribed"] == ["measurement.signal_detected"]

    forged = notifications.request("GET", path[:-2] + "xx", headers=browser)
    assert forged.status_code == 422 and "token" in forged.json()["fields"]
