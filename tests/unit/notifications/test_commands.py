"""The notifications service layer end to end, with a real local SMTP server and a real
webhook receiver: the issue's done-means, the clock injected."""
import threading
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from services.notifications import commands, domain
from shared.auth import Principal
from shared.domain import NotFoundError, NotPermitted, RuleBroken
from shared.events.catalogue import event_type as event_type_named
from shared.events.catalogue import make_event, validate_envelope
from shared.events.envelope import Trace, isoformat
from tests.unit.notifications.conftest import london, verify_standard_webhook

NETWORK = "net_east"
ADMIN = Principal("admin", "admin")
LEAD = Principal("k_lead", "network_lead", network_id=NETWORK)
FRIDAY_10 = london(2026, 11, 27, 10, 0)


def envelope(event_type, data, occurred_at, source="measurement", practice_id=None):
    """The envelope of an event with JSON-shaped ``data``, as the handler gives it to
    ``notify``: checked against the catalogue and loaded (datetimes, dates, a UUID id)."""
    # make_event dumps Python values: the JSON-shaped data is loaded by its schema first.
    loaded = event_type_named(event_type).schema().load(data)
    made = make_event(event_type, loaded, source=source, network_id=NETWORK, trace=Trace(),
                      practice_id=practice_id)
    return validate_envelope({**made, "occurred_at": isoformat(occurred_at)})


def signal(kind="concern", occurred_at=FRIDAY_10, measure_id="msr_smr"):
    return envelope("measurement.signal_detected", {
        "measure_id": measure_id, "project_id": "prj_smr", "series": "pooled",
        "rule": "outside_limits", "kind": kind, "point_type": "special_cause",
        "period": "2026-11-01", "value": 41.5}, occurred_at)


def person(repository, staff_id, role, scope, email=True, webhook_url=None, **extra):
    command = {"staff_id": staff_id, "network_id": NETWORK, "role": role, "scope": scope,
               "email": f"{staff_id}@practice.example.org" if email else None,
               "webhook_url": webhook_url, **extra}
    return commands.register_recipient(repository, ADMIN, command, FRIDAY_10, Trace(),
                                       domain.Settings(allow_private_endpoints=True))


def network_lead(repository, staff_id, **extra):
    return person(repository, staff_id, "network_lead", {"kind": "network", "id": NETWORK},
                  **extra)


def practice_leads(repository, *codes):
    """A practice lead ``pm.<code>`` for each practice code."""
    for code in codes:
        person(repository, f"pm.{code.lower()}", "practice_lead",
               {"kind": "practice", "id": code}, practice_id=code)


def states(repository, **selector):
    return sorted((n["recipient_id"], n["channel"], n["state"])
                  for n in repository.notifications(selector))


def test_a_concern_signal_delivered_twice_reaches_each_network_lead_once_per_channel(
        repository, settings, senders, smtp_server, webhook_receiver):
    first = network_lead(repository, "lead.a", webhook_url=webhook_receiver.url)
    network_lead(repository, "lead.b")
    event = signal()
    queued = commands.notify(repository, event, FRIDAY_10, settings)
    again = commands.notify(repository, event, FRIDAY_10 + timedelta(seconds=5), settings)
    assert again == []
    outcomes = commands.deliver(repository, senders, FRIDAY_10, settings, ids=queued)
    commands.deliver(repository, senders, FRIDAY_10 + timedelta(minutes=1), settings)

    mail = smtp_server.messages()
    assert sorted(m["To"] for m in mail) == ["lead.a@practice.example.org",
                                             "lead.b@practice.example.org"]
    assert outcomes == {"sent": 3}
    message = mail[0]
    assert message["Subject"] == ("A signal of concern on measure msr_smr (the pooled network "
                                  "series), period starting Sunday 1 November 2026")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe"].startswith("<https://notify.example.org/unsubscribe?token=")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    # Every link of the body opens a page of the web front end: the measure at the signal's
    # period, and the unsubscribe page (the header keeps this service's one-click POST).
    page = "https://web.example.org/measures/msr_smr?period=2026-11-01"
    assert f"See it here: {page}\r\n" in text
    assert "To stop these emails: https://web.example.org/unsubscribe?token=" in text
    assert f'<a href="{page}">See it here</a>' in html
    assert '<a href="https://web.example.org/unsubscribe?token=' in html
    token = message["List-Unsubscribe"].split("token=")[1].rstrip(">")
    assert f"https://web.example.org/unsubscribe?token={token}" in text

    (call,) = webhook_receiver.requests
    headers, body, _ = call
    assert verify_standard_webhook(first["webhook_secret"], headers, body)
    assert not verify_standard_webhook(first["webhook_secret"], headers, body + b" ")
    (payload,) = webhook_receiver.bodies()
    assert payload["type"] == "measurement.signal_detected"
    assert payload["data"]["measure_id"] == "msr_smr"
    assert "practice.example.org" not in body.decode()

    for staff_id in ("lead.a", "lead.b"):
        page = commands.inbox(repository, ADMIN, staff_id,
                              {"page": 1, "page_size": 10, "archived": False})
        assert page["total"] == 1 and page["unread"] == 1
    # 2 people x 3 channels (lead.b's webhook suppressed: no contact), each seen twice.
    assert repository.count({"duplicates": 1}) == 6 == repository.count({})
    (no_hook,) = repository.notifications({"state": "suppressed"})
    assert (no_hook["recipient_id"], no_hook["reason"]) == ("lead.b", domain.REASON_NO_CONTACT)


class CountingRepository:
    """The repository with every method call it is asked for recorded, by name."""

    def __init__(self, repository):
        self.repository, self.calls = repository, []

    def __getattr__(self, name):
        attribute = getattr(self.repository, name)
        if not callable(attribute):
            return attribute

        def counted(*args, **kwargs):
            self.calls.append(name)
            return attribute(*args, **kwargs)
        return counted


def test_notify_reads_what_the_decision_needs_then_stores_one_plan(repository, settings):
    network_lead(repository, "lead.a", webhook_url="https://hooks.example.org/pcn")
    network_lead(repository, "lead.b")
    person(repository, "sister.k", "leader", {"kind": "team", "id": "reception"})
    counting, event = CountingRepository(repository), signal()
    assert len(commands.notify(counting, event, FRIDAY_10, settings)) == 3
    # Before: remember_event, route_of, recipients x2, watchers x2, add_notification x6 (12).
    assert counting.calls == ["route_of", "event_context", "store_plan"]
    counting.calls.clear()
    assert commands.notify(counting, event, FRIDAY_10, settings) == []  # came again
    assert counting.calls == ["route_of", "event_context", "store_plan"]
    assert repository.count({"duplicates": 1}) == 6
    counting.calls.clear()
    escalated = envelope("huddle.item_escalated", {
        "item_id": "hud_9", "team": "reception", "escalated_to": "sister.k",
        "escalated_at": isoformat(FRIDAY_10)}, FRIDAY_10, source="projects")
    commands.notify(counting, escalated, FRIDAY_10, settings)
    # Before: remember_event, start_ladder, ladder, route_of, recipients, add_notification x3.
    assert counting.calls == ["route_of", "event_context", "store_plan"]
    ladder = repository.ladder(f"{domain.LADDER_HUDDLE}:{NETWORK}:hud_9")
    assert ladder["state"] == "active"
    # The ladder keeps the starting event's ids and thin data, as the steps' notices need.
    assert ladder["started_by"]["data"] == {"item_id": "hud_9", "team": "reception"}


def test_the_chart_goes_inline_when_measurement_answers_and_the_notice_goes_without_it_when_not(
        repository, settings, senders, smtp_server):
    network_lead(repository, "lead.a")
    png = b"\x89PNG\r\n\x1a\n" + b"chart-bytes"
    senders.chart = lambda measure_id, series: png
    commands.notify(repository, signal(measure_id="m_chart"), FRIDAY_10, settings)

    def no_answer(measure_id, series):
        raise TimeoutError("measurement did not answer in time")
    commands.deliver(repository, senders, FRIDAY_10, settings)
    senders.chart = no_answer
    commands.notify(repository, signal(measure_id="m_none"), FRIDAY_10, settings)
    commands.deliver(repository, senders, FRIDAY_10, settings)

    with_chart, without_chart = smtp_server.messages()
    images = [part for part in with_chart.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0].get_content() == png
    assert not [p for p in without_chart.walk() if p.get_content_type() == "image/png"]
    assert mime_tree(without_chart) == ("multipart/alternative", [
        ("text/plain", None), ("text/html", None)])


def mime_tree(part):
    """A parsed message's structure: (content type, its parts) of a multipart, (content type,
    disposition) of a leaf."""
    if part.is_multipart():
        return part.get_content_type(), [mime_tree(child) for child in part.iter_parts()]
    return part.get_content_type(), part.get_content_disposition()


def test_the_signal_mails_chart_is_inline_in_the_html_not_an_attachment(
        repository, settings, senders, smtp_server):
    network_lead(repository, "lead.a")
    png = b"\x89PNG\r\n\x1a\n" + b"chart-bytes"
    senders.chart = lambda measure_id, series: png
    commands.notify(repository, signal(), FRIDAY_10, settings)
    commands.deliver(repository, senders, FRIDAY_10, settings)

    # What the SMTP receiver got, parsed as a mail client parses it.
    (message,) = smtp_server.messages()
    assert mime_tree(message) == ("multipart/alternative", [
        ("text/plain", None),
        ("multipart/related", [("text/html", None), ("image/png", "inline")])])
    related = next(part for part in message.walk()
                   if part.get_content_type() == "multipart/related")
    assert related.get_param("type") == "text/html"  # RFC 2387: the root part's type
    html, image = related.iter_parts()
    assert image["Content-Disposition"].split(";")[0] == "inline"
    assert image.get_content() == png and not image.is_attachment()
    assert not list(message.iter_attachments())
    cid = image["Content-ID"]
    assert cid.startswith("<") and cid.endswith(">")
    assert f'src="cid:{cid[1:-1]}"' in html.get_content()
    assert message.get_body(("html",)) is html


def test_a_critical_signal_ignores_off_quiet_hours_and_has_no_unsubscribe(
        repository, settings, senders, smtp_server):
    network_lead(repository, "lead.a")
    commands.set_preferences(repository, ADMIN, "lead.a", {
        "by_event": {}, "by_channel": {"email": "off"}}, FRIDAY_10, Trace())
    commands.set_route(repository, LEAD, NETWORK, {
        "event_type": "measurement.signal_detected", "rules": [
            {"name": "concern", "when": {"kind": ["concern"]}, "audience": ["network_lead"],
             "mode": "immediate", "channels": ["email"], "critical": False,
             "critical_measure_ids": ["msr_falls"]}]}, FRIDAY_10, Trace())
    saturday_night = london(2026, 11, 28, 23, 0)
    commands.notify(repository, signal(measure_id="msr_other", occurred_at=saturday_night),
                    saturday_night, settings)
    commands.notify(repository, signal(measure_id="msr_falls", occurred_at=saturday_night),
                    saturday_night, settings)
    commands.deliver(repository, senders, saturday_night, settings)
    (message,) = smtp_server.messages()
    assert message["Subject"].startswith("[Action needed]")
    assert message["List-Unsubscribe"] is None
    assert states(repository, channel="email") == [("lead.a", "email", "sent"),
                                                   ("lead.a", "email", "suppressed")]
    (off,) = repository.notifications({"state": "suppressed"})
    assert off["reason"] == domain.REASON_PREFERENCE_OFF


def test_a_notice_at_21_00_on_friday_is_held_until_monday_08_00_then_sent(
        repository, settings, senders, smtp_server):
    network_lead(repository, "lead.a")
    friday_21 = london(2026, 11, 27, 21, 0)
    commands.notify(repository, signal(occurred_at=friday_21), friday_21, settings)
    (held,) = repository.notifications({"channel": "email"})
    assert held["state"] == "held" and held["reason"] == domain.REASON_OUTSIDE_WINDOW
    assert held["due_at"] == london(2026, 11, 30, 8, 0)
    for moment in (london(2026, 11, 28, 12, 0), london(2026, 11, 30, 7, 59)):
        assert commands.release_held(repository, moment) == 0
        commands.deliver(repository, senders, moment, settings)
    assert smtp_server.messages() == []
    monday = london(2026, 11, 30, 8, 0)
    assert commands.release_held(repository, monday) == 1
    commands.deliver(repository, senders, monday, settings)
    assert len(smtp_server.messages()) == 1
    (sent,) = repository.notifications({"channel": "email"})
    assert sent["state"] == "sent" and sent["sent_at"] == monday


def test_a_digest_person_gets_nothing_at_once_and_one_digest_later_holding_each_item_once(
        repository, settings, senders, smtp_server):
    network_lead(repository, "lead.d", digest_time="08:00")
    commands.set_preferences(repository, ADMIN, "lead.d", {
        "by_event": {"measurement.signal_detected": {"email": "digest"}}, "by_channel": {}},
        FRIDAY_10, Trace())
    for hour, measure in ((10, "m1"), (14, "m2"), (16, "m3")):
        moment = london(2026, 11, 27, hour, 0)
        commands.notify(repository, signal(measure_id=measure, occurred_at=moment), moment,
                        settings)
        commands.deliver(repository, senders, moment, settings)
    assert smtp_server.messages() == []
    assert commands.send_digests(repository, london(2026, 11, 27, 20, 0), settings) == []

    saturday_8 = london(2026, 11, 28, 8, 0)
    # Two replicas (or a restart) at digest time: one digest, every item in it once.
    first = commands.send_digests(repository, saturday_8, settings)
    second = commands.send_digests(repository, saturday_8 + timedelta(seconds=1), settings)
    assert len(first) == 1 and second == []
    commands.deliver(repository, senders, saturday_8, settings)
    (digest_mail,) = smtp_server.messages()
    assert digest_mail["Subject"] == "Your PCN digest: 3 updates"
    text = digest_mail.get_body(("plain",)).get_content()
    assert [text.count(f"measure {m} ") for m in ("m1", "m2", "m3")] == [1, 1, 1]
    assert states(repository, channel="email", kind="notice") == [("lead.d", "email", "sent")] * 3
    # The next day: nothing waits, so no digest at all.
    assert commands.send_digests(repository, london(2026, 11, 29, 8, 0), settings) == []


def test_racing_digest_claims_never_put_an_item_in_two_digests(repository, settings):
    network_lead(repository, "lead.d")
    commands.set_preferences(repository, ADMIN, "lead.d", {
        "by_event": {}, "by_channel": {"email": "digest"}}, FRIDAY_10, Trace())
    for measure in ("m1", "m2"):
        commands.notify(repository, signal(measure_id=measure), FRIDAY_10, settings)
    recipient = repository.recipient("lead.d")
    saturday_8 = london(2026, 11, 28, 8, 0)
    digest_id, due = domain.digest_slot(recipient, "email", saturday_8, settings)
    assert repository.open_digest(domain.new_digest(recipient, "email", digest_id, due,
                                                    saturday_8))
    # Replica A claims and reads the items; a late item arrives; replica B claims it too.
    items_a = repository.claim_digest_items("lead.d", "email", digest_id, saturday_8)
    commands.notify(repository, signal(measure_id="m3"), london(2026, 11, 28, 7, 0), settings)
    repository.claim_digest_items("lead.d", "email", digest_id, saturday_8)
    assert repository.seal_digest(digest_id, [i["_id"] for i in items_a],
                                  {"state": "queued", "due_at": saturday_8})
    assert not repository.seal_digest(digest_id, ["whatever"], {"state": "queued"})
    (late,) = repository.notifications({"kind": "notice", "channel": "email",
                                        "digest_id": None})
    assert late["data"]["measure_id"] == "m3"  # free for the next digest, not lost
    assert repository.notification(digest_id)["items"] == [i["_id"] for i in items_a]


def test_a_digest_left_half_assembled_by_a_crash_is_finished_by_the_next_pass(
        repository, settings):
    network_lead(repository, "lead.d")
    commands.set_preferences(repository, ADMIN, "lead.d", {
        "by_event": {}, "by_channel": {"email": "digest"}}, FRIDAY_10, Trace())
    commands.notify(repository, signal(measure_id="m1"), FRIDAY_10, settings)
    recipient = repository.recipient("lead.d")
    saturday_8 = london(2026, 11, 28, 8, 0)
    digest_id, due = domain.digest_slot(recipient, "email", saturday_8, settings)
    repository.open_digest(domain.new_digest(recipient, "email", digest_id, due, saturday_8))
    repository.claim_digest_items("lead.d", "email", digest_id, saturday_8)  # then it died
    a_day_later = saturday_8 + timedelta(days=1)
    assert commands.send_digests(repository, a_day_later, settings) == [digest_id]
    assert len(repository.notification(digest_id)["items"]) == 1


def test_an_escalation_unresolved_past_its_sla_reaches_the_network_lead_once(
        repository, settings, senders, smtp_server):
    network_lead(repository, "lead.a")
    person(repository, "sister.k", "leader", {"kind": "team", "id": "reception"})
    escalated_at = london(2026, 11, 27, 17, 0)
    event = envelope("huddle.item_escalated", {
        "item_id": "hud_1", "team": "reception", "escalated_to": "sister.k",
        "escalated_at": isoformat(escalated_at)}, escalated_at, source="projects")
    commands.notify(repository, event, escalated_at, settings)
    commands.notify(repository, event, escalated_at, settings)
    commands.deliver(repository, senders, escalated_at, settings)
    assert [m["To"] for m in smtp_server.messages()] == ["sister.k@practice.example.org"]
    sla = london(2026, 12, 2, 9, 30)  # 24 working hours later
    assert commands.run_ladders(repository, sla - timedelta(minutes=1), settings) == []
    queued = commands.run_ladders(repository, sla, settings)
    assert commands.run_ladders(repository, sla + timedelta(hours=1), settings) == []
    commands.deliver(repository, senders, sla, settings, ids=queued)
    commands.deliver(repository, senders, sla + timedelta(days=3), settings)
    mail = smtp_server.messages()
    assert [m["To"] for m in mail] == ["sister.k@practice.example.org",
                                       "lead.a@practice.example.org"]
    assert mail[1]["Subject"].startswith("[Action needed]")


def test_resolving_an_escalated_item_before_its_sla_stops_the_ladder(repository, settings):
    network_lead(repository, "lead.a")
    escalated_at = london(2026, 11, 27, 11, 0)
    escalated = envelope("huddle.item_escalated", {
        "item_id": "hud_2", "team": "reception", "escalated_to": "nobody.yet",
        "escalated_at": isoformat(escalated_at)}, escalated_at, source="projects")
    resolution = {"item_id": "hud_2", "team": "reception", "resolved_at": isoformat(escalated_at),
                  "was_escalated": True, "time_to_unblock_seconds": 3600.0}
    resolved = envelope("huddle.item_resolved", resolution, escalated_at + timedelta(hours=1),
                        source="projects")
    commands.notify(repository, escalated, escalated_at, settings)
    commands.notify(repository, resolved, escalated_at + timedelta(hours=1), settings)
    assert commands.run_ladders(repository, escalated_at + timedelta(days=30), settings) == []
    assert repository.ladder(f"{domain.LADDER_HUDDLE}:{NETWORK}:hud_2")["state"] == "cancelled"
    # The resolution overtaking the escalation (redelivery order) must also stop it.
    late = envelope("huddle.item_escalated", {
        "item_id": "hud_3", "team": "reception", "escalated_to": "nobody.yet",
        "escalated_at": isoformat(escalated_at)}, escalated_at, source="projects")
    early = envelope("huddle.item_resolved", {**resolution, "item_id": "hud_3"},
                     escalated_at, source="projects")
    commands.notify(repository, early, escalated_at, settings)
    commands.notify(repository, late, escalated_at, settings)
    assert commands.run_ladders(repository, escalated_at + timedelta(days=30), settings) == []


def overdue(occurred_at):
    return envelope("measurement.submission_overdue", {
        "measure_id": "msr_smr", "project_id": "prj_smr", "practice_id": "F84001",
        "period": "2026-10-01", "due_by": "2026-11-07"}, occurred_at, practice_id="F84001")


def recorded(occurred_at, period="2026-10-01"):
    contribution = {"value": 40.0, "numerator": None, "denominator": None, "weight": 1.0}
    return envelope("measurement.recorded", {
        "measure_id": "msr_smr", "project_id": "prj_smr", "practice_id": "F84001",
        "period": period, "version": 1, "contribution": contribution, "previous": None},
        occurred_at, practice_id="F84001")


def test_an_overdue_submission_reminds_the_practice_lead_then_the_network_lead(
        repository, settings, senders, smtp_server):
    network_lead(repository, "lead.a")
    person(repository, "pm.f84001", "practice_lead", {"kind": "practice", "id": "F84001"},
           practice_id="F84001")
    monday_9 = london(2026, 11, 30, 9, 0)
    commands.notify(repository, overdue(monday_9), monday_9, settings)
    commands.deliver(repository, senders, monday_9, settings)
    assert commands.run_ladders(repository, london(2026, 12, 2, 8, 59), settings) == []
    commands.run_ladders(repository, london(2026, 12, 2, 9, 0), settings)
    commands.deliver(repository, senders, london(2026, 12, 2, 9, 0), settings)
    assert [m["To"] for m in smtp_server.messages()] == ["pm.f84001@practice.example.org",
                                                         "lead.a@practice.example.org"]


def test_an_overdue_reminder_is_cancelled_by_the_practices_submission(
        repository, settings, senders, smtp_server):
    network_lead(repository, "lead.a")
    person(repository, "pm.f84001", "practice_lead", {"kind": "practice", "id": "F84001"},
           practice_id="F84001")
    saturday = london(2026, 11, 28, 6, 0)
    commands.notify(repository, overdue(saturday), saturday, settings)  # held until Monday
    commands.notify(repository, recorded(saturday, period="2026-09-01"), saturday, settings)
    assert repository.ladder(f"{domain.LADDER_OVERDUE}:{NETWORK}:msr_smr:F84001:2026-10-01"
                             )["state"] == "active"  # another period's data does not count
    commands.notify(repository, recorded(saturday + timedelta(hours=1)), saturday, settings)
    (email,) = repository.notifications({"channel": "email"})
    assert email["state"] == "suppressed" and email["reason"] == domain.REASON_RESOLVED
    later = london(2026, 12, 10, 9, 0)
    commands.release_held(repository, later)
    assert commands.run_ladders(repository, later, settings) == []
    commands.deliver(repository, senders, later, settings)
    assert smtp_server.messages() == []


def test_an_smtp_server_that_refuses_twice_gets_the_mail_on_the_third_attempt(
        repository, settings, senders, smtp_server):
    smtp_server.stop()
    smtp_server.start(refuse_first=2)
    network_lead(repository, "lead.a")
    commands.notify(repository, signal(), FRIDAY_10, settings)
    moment, outcomes = FRIDAY_10, []
    for _ in range(3):
        outcomes.append(commands.deliver(repository, senders, moment, settings))
        (email,) = repository.notifications({"channel": "email"})
        moment = email["due_at"] if email["state"] == "queued" else moment
    assert outcomes == [{"queued": 1}, {"queued": 1}, {"sent": 1}]
    assert email["state"] == "sent" and email["attempts"] == 3
    assert len(smtp_server.messages()) == 1


def test_smtp_down_for_a_while_loses_nothing_and_a_bounded_retry_ends_failed(
        repository, settings, senders, smtp_server):
    network_lead(repository, "lead.a")
    network_lead(repository, "lead.b")
    smtp_server.stop()
    commands.notify(repository, signal(), FRIDAY_10, settings)
    moment = FRIDAY_10
    for _ in range(3):
        commands.deliver(repository, senders, moment, settings)
        moment += timedelta(minutes=5)
    assert states(repository, channel="email") == [("lead.a", "email", "queued"),
                                                   ("lead.b", "email", "queued")]
    smtp_server.start()
    commands.deliver(repository, senders, moment, settings)
    assert sorted(m["To"] for m in smtp_server.messages()) == [
        "lead.a@practice.example.org", "lead.b@practice.example.org"]

    # Down for good: after max_attempts it is failed, listed, evented, and an admin retries.
    smtp_server.stop()
    commands.notify(repository, signal(measure_id="m_down"), moment, settings)
    for _ in range(settings.max_attempts + 2):
        moment += timedelta(hours=1)
        commands.deliver(repository, senders, moment, settings)
    listing = commands.deliveries(repository, LEAD, {"status": "failed", "page": 1,
                                                     "page_size": 10})
    failed, total = listing["items"], listing["total"]
    assert listing["page"] == 1 and listing["page_size"] == 10 and total == 2 and {f["attempts"] for f in failed} == {settings.max_attempts}
    raw = repository.database["notifications"].find_one({"_id": failed[0]["_id"]})
    assert [e["event_type"] for e in raw["outbox"]][-1] == "notification.failed"
    assert "practice.example.org" not in str(raw["outbox"])
    smtp_server.start()
    for item in failed:
        commands.retry_delivery(repository, ADMIN, item["_id"], moment, Trace())
    commands.deliver(repository, senders, moment, settings)
    assert len(smtp_server.messages()) == 4


def test_a_webhook_410_disables_the_endpoint_and_429_waits_as_asked(
        repository, settings, senders, smtp_server, webhook_receiver):
    network_lead(repository, "lead.a", email=False, webhook_url=webhook_receiver.url)
    webhook_receiver.answers = [(429, {"Retry-After": "600"}), (410, {})]
    commands.notify(repository, signal(), FRIDAY_10, settings)
    commands.deliver(repository, senders, FRIDAY_10, settings)
    (hook,) = repository.notifications({"channel": "webhook"})
    assert hook["state"] == "queued" and hook["due_at"] >= FRIDAY_10 + timedelta(seconds=600)
    commands.deliver(repository, senders, hook["due_at"], settings)
    (hook,) = repository.notifications({"channel": "webhook"})
    assert hook["state"] == "failed" and "410" in hook["reason"]
    assert repository.recipient("lead.a")["contacts"]["webhook"]["disabled_at"] is not None
    # Same webhook-id on the retry, as the spec asks (the receiver dedupes on it).
    assert len({headers["webhook-id"] for headers, _, _ in webhook_receiver.requests}) == 1
    commands.notify(repository, signal(measure_id="m2"), FRIDAY_10, settings)
    (later,) = repository.notifications({"channel": "webhook", "state": "suppressed"})
    assert later["reason"] == domain.REASON_ENDPOINT_DISABLED


def test_a_rotated_webhook_secret_signs_beside_the_old_one_for_a_day_then_alone(
        repository, settings, senders, webhook_receiver):
    old_secret = network_lead(repository, "lead.a", email=False,
                              webhook_url=webhook_receiver.url)["webhook_secret"]
    rotated = commands.rotate_webhook_secret(repository, LEAD, "lead.a", FRIDAY_10, settings)
    new_secret = rotated["webhook_secret"]
    assert new_secret.startswith("whsec_") and new_secret != old_secret
    assert "previous_secret" not in rotated["contacts"]["webhook"]
    assert commands.get_recipient(repository, LEAD, "lead.a")["webhook_secret"] is None

    commands.notify(repository, signal(), FRIDAY_10, settings)
    commands.deliver(repository, senders, FRIDAY_10, settings)
    monday = FRIDAY_10 + timedelta(days=3)  # past the day's overlap, inside the send window
    commands.notify(repository, signal(measure_id="m2", occurred_at=monday), monday, settings)
    commands.deliver(repository, senders, monday, settings)
    (during, headers_during), (after, headers_after) = [
        (body, headers) for headers, body, _ in webhook_receiver.requests]
    assert len(headers_during["webhook-signature"].split(" ")) == 2
    assert verify_standard_webhook(new_secret, headers_during, during)
    assert verify_standard_webhook(old_secret, headers_during, during)
    assert verify_standard_webhook(new_secret, headers_after, after)
    assert not verify_standard_webhook(old_secret, headers_after, after)

    with pytest.raises(NotFoundError):
        commands.rotate_webhook_secret(repository, Principal("k_w", "network_lead",
                                                             network_id="net_west"),
                                       "lead.a", FRIDAY_10, settings)
    network_lead(repository, "lead.b")
    with pytest.raises(RuleBroken) as refused:
        commands.rotate_webhook_secret(repository, LEAD, "lead.b", FRIDAY_10, settings)
    assert "webhook_url" in refused.value.fields


def test_a_private_webhook_endpoint_is_refused_unless_allowed(repository):
    command = {"staff_id": "lead.x", "network_id": NETWORK, "role": "network_lead",
               "scope": {"kind": "network", "id": NETWORK}, "email": None,
               "webhook_url": "https://127.0.0.1/hook"}
    with pytest.raises(RuleBroken) as refused:
        commands.register_recipient(repository, ADMIN, command, FRIDAY_10, Trace(),
                                    domain.Settings())
    assert "webhook_url" in refused.value.fields
    assert repository.recipient("lead.x") is None


def test_one_click_unsubscribe_stops_that_email_and_a_forged_token_is_refused(
        repository, settings, senders, smtp_server):
    network_lead(repository, "lead.a")
    commands.notify(repository, signal(), FRIDAY_10, settings)
    commands.deliver(repository, senders, FRIDAY_10, settings)
    (message,) = smtp_server.messages()
    token = message["List-Unsubscribe"].split("token=")[1].rstrip(">")
    with pytest.raises(RuleBroken):
        commands.unsubscribe(repository, token[:-2] + "xx", FRIDAY_10, settings)
    event_type = commands.unsubscribe_subject(repository, token, settings)
    assert event_type == "measurement.signal_detected"
    assert commands.event_type_description(event_type)
    assert repository.recipient("lead.a").get("unsubscribed") in (None, [])  # only looked
    assert commands.unsubscribe(repository, token, FRIDAY_10, settings) == {
        "unsubscribed": "measurement.signal_detected"}
    commands.notify(repository, signal(measure_id="m2"), FRIDAY_10, settings)
    (stopped,) = repository.notifications({"channel": "email", "state": "suppressed"})
    assert stopped["reason"] == domain.REASON_UNSUBSCRIBED


def test_the_inbox_lists_unread_first_counts_marks_read_and_archives(repository, settings):
    network_lead(repository, "lead.a")
    for index in range(3):
        moment = FRIDAY_10 + timedelta(minutes=index)
        commands.notify(repository, signal(measure_id=f"m{index}", occurred_at=moment), moment,
                        settings)
    page = {"page": 1, "page_size": 2, "archived": False}
    listing = commands.inbox(repository, ADMIN, "lead.a", page)
    items = listing["items"]
    assert listing == {"items": items, "page": 1, "page_size": 2, "total": 3, "unread": 3}
    assert len(items) == 2
    oldest = items[-1]["_id"] if items[-1]["data"]["measure_id"] == "m0" else None
    newest = items[0]
    commands.mark_read(repository, ADMIN, "lead.a", newest["_id"], FRIDAY_10)
    listing = commands.inbox(repository, ADMIN, "lead.a", {**page, "page_size": 3})
    items = listing["items"]
    assert listing["unread"] == 2 and items[-1]["_id"] == newest["_id"] and oldest != newest["_id"]
    commands.archive(repository, ADMIN, "lead.a", items[0]["_id"], FRIDAY_10)
    listing = commands.inbox(repository, ADMIN, "lead.a", page)
    assert (listing["total"], listing["unread"]) == (2, 1)
    archived = commands.inbox(repository, ADMIN, "lead.a", {**page, "archived": True})
    assert archived["total"] == 1


def test_a_practice_key_never_sees_another_practices_people(repository):
    practice_leads(repository, "F84001", "F84002")
    practice = Principal("k_p1", "practice", network_id=NETWORK, practice_id="F84001")
    listing = commands.list_recipients(repository, practice, {"page": 1, "page_size": 10},
                                       NETWORK)
    assert [p["_id"] for p in listing["items"]] == ["pm.f84001"] and listing["total"] == 1
    with pytest.raises(NotFoundError):
        commands.get_preferences(repository, practice, "pm.f84002")
    other_lead = Principal("k_l2", "network_lead", network_id="net_west")
    with pytest.raises(NotFoundError):
        commands.inbox(repository, other_lead, "pm.f84001",
                       {"page": 1, "page_size": 10, "archived": False})


def test_a_person_key_sees_its_own_inbox_and_preferences_and_no_one_elses(repository):
    practice_leads(repository, "F84001", "F84002")
    own = Principal("k_me", "person", network_id=NETWORK, staff_id="pm.f84001")
    assert domain.own_staff_id(own) == "pm.f84001"
    assert commands.get_preferences(repository, own, "pm.f84001")["by_event"] == {}
    with pytest.raises(NotFoundError):
        commands.get_preferences(repository, own, "pm.f84002")
    namesake = Principal("k_other", "person", network_id="net_west", staff_id="pm.f84001")
    with pytest.raises(NotFoundError):  # the same staff id in another network is not them
        commands.inbox(repository, namesake, "pm.f84001",
                       {"page": 1, "page_size": 10, "archived": False})
    with pytest.raises(NotPermitted):
        commands.change_recipient(repository, own, "pm.f84001", {"role": "network_lead"},
                                  FRIDAY_10, Trace())
    with pytest.raises(NotPermitted):  # a lead's key has no inbox of its own
        domain.own_staff_id(LEAD)


def test_the_weekly_summary_counts_the_network_week_and_is_skipped_when_empty(
        repository, settings, senders, smtp_server):
    network_lead(repository, "lead.a")
    monday = london(2026, 11, 30, 8, 0)
    assert commands.send_weekly_summaries(repository, monday, settings) == []
    for day in (23, 24):
        moment = london(2026, 11, day, 11, 0)
        commands.notify(repository, signal(measure_id=f"m{day}", occurred_at=moment), moment,
                        settings)
    commands.notify(repository, overdue(london(2026, 11, 25, 9, 0)),
                    london(2026, 11, 25, 9, 0), settings)
    queued = commands.send_weekly_summaries(repository, monday + timedelta(minutes=5),
                                            settings)
    assert commands.send_weekly_summaries(repository, monday + timedelta(minutes=6),
                                          settings) == []
    assert len(queued) == 1
    smtp_before = len(smtp_server.messages())
    commands.deliver(repository, senders, monday + timedelta(minutes=5), settings, ids=queued)
    summary = smtp_server.messages()[smtp_before]
    assert summary["Subject"] == "Your network's week"
    text = summary.get_body(("plain",)).get_content()
    assert "2 signals of concern" in text and "1 overdue submissions" in text
    assert "F84001" in text


def test_watchers_and_project_roles_hear_what_their_routes_say(repository, settings):
    network_lead(repository, "lead.a")
    person(repository, "pl.smr", "project_lead", {"kind": "project", "id": "prj_smr"})
    person(repository, "nurse.t", "leader", {"kind": "project", "id": "prj_smr"})
    person(repository, "gp.watch", "ops", {"kind": "network", "id": NETWORK})
    commands.watch(repository, ADMIN, "gp.watch", {"subject_kind": "measure",
                                                   "subject_id": "msr_smr"}, FRIDAY_10, Trace())
    commands.notify(repository, signal("concern"), FRIDAY_10, settings)
    reached = {n["recipient_id"] for n in repository.notifications({"channel": "email"})}
    assert reached == {"lead.a", "pl.smr", "gp.watch"}  # not the team member: concern route

    commands.notify(repository, signal("improvement", measure_id="msr_other"), FRIDAY_10,
                    settings)
    improvement = repository.notifications({"channel": "email", "data.measure_id": "msr_other"})
    assert sorted((n["recipient_id"], n["state"], n["reason"]) for n in improvement) == [
        ("nurse.t", "held", domain.REASON_DIGEST), ("pl.smr", "held", domain.REASON_DIGEST)]

    commands.unwatch(repository, ADMIN, "gp.watch", "measure", "msr_smr")
    commands.notify(repository, signal("concern", measure_id="msr_smr"), FRIDAY_10, settings)
    assert repository.count({"recipient_id": "gp.watch", "channel": "email"}) == 1
    with pytest.raises(NotFoundError):
        commands.unwatch(repository, ADMIN, "gp.watch", "measure", "msr_smr")


def test_a_network_lead_changes_their_networks_route_and_no_other(repository, settings):
    network_lead(repository, "lead.a")
    person(repository, "pl.smr", "project_lead", {"kind": "project", "id": "prj_smr"})
    rules = [{"name": "assurance", "when": {}, "audience": ["network_lead"],
              "mode": "digest", "channels": ["email"], "critical": False,
              "critical_measure_ids": []}]
    other = Principal("k_west", "network_lead", network_id="net_west")
    with pytest.raises(NotPermitted):
        commands.set_route(repository, other, NETWORK, {
            "event_type": "measurement.assurance_changed", "rules": rules}, FRIDAY_10, Trace())
    assert repository.route_of(NETWORK, "measurement.assurance_changed") is None
    commands.set_route(repository, LEAD, NETWORK, {
        "event_type": "measurement.assurance_changed", "rules": rules}, FRIDAY_10, Trace())
    (route,) = [r for r in commands.routes_of(repository, LEAD, NETWORK)
                if r["event_type"] == "measurement.assurance_changed"]
    assert route["default"] is False and route["rules"] == rules

    def assurance(series):
        return envelope("measurement.assurance_changed", {
            "measure_id": "msr_smr", "project_id": "prj_smr", "series": series,
            "previous": "inconsistent", "current": "consistent_fail", "target": 80.0},
            FRIDAY_10)
    commands.notify(repository, assurance("pooled"), FRIDAY_10, settings)
    assert states(repository) == [("lead.a", "email", "held")]
    commands.reset_route(repository, LEAD, NETWORK, "measurement.assurance_changed")
    commands.notify(repository, assurance("F84001"), FRIDAY_10, settings)
    assert ("pl.smr", "email", "queued") in states(repository)


def test_two_replicas_delivering_at_once_send_each_notification_once(
        repository, settings, senders, smtp_server):
    network_lead(repository, "lead.a")
    for index in range(12):
        commands.notify(repository, signal(measure_id=f"m{index}"), FRIDAY_10, settings)
    results = []
    replicas = [threading.Thread(target=lambda: results.append(
        commands.deliver(repository, senders, FRIDAY_10, settings))) for _ in range(2)]
    for replica in replicas:
        replica.start()
    for replica in replicas:
        replica.join(timeout=60)
    assert sum(result.get("sent", 0) for result in results) == 12
    assert len(smtp_server.messages()) == 12


def test_metrics_count_outcomes_and_retries_by_channel_and_route(
        repository, settings, senders, smtp_server):
    def sample(outcome):
        return REGISTRY.get_sample_value("pcn_notifications_total", {
            "channel": "email", "route": "measurement.signal_detected/concern",
            "outcome": outcome}) or 0.0
    before = {outcome: sample(outcome) for outcome in ("queued", "retried", "sent")}
    smtp_server.stop()
    smtp_server.start(refuse_first=1)
    network_lead(repository, "lead.a")
    commands.notify(repository, signal(), FRIDAY_10, settings)
    commands.deliver(repository, senders, FRIDAY_10, settings)
    commands.deliver(repository, senders, FRIDAY_10 + timedelta(hours=1), settings)
    assert [sample(o) - before[o] for o in ("queued", "retried", "sent")] == [1, 1, 1]


def test_a_capability_gap_reaches_only_the_persons_team_leader_and_in_the_digest(
        repository, settings):
    network_lead(repository, "lead.a")
    person(repository, "sister.k", "leader", {"kind": "team", "id": "reception"},
           practice_id="F84001")
    person(repository, "sister.m", "leader", {"kind": "team", "id": "reception"},
           practice_id="F84002")
    gap = envelope("training.capability_gap_identified", {
        "gap_id": "gap_1", "staff_id": "recep.7", "practice_id": "F84001",
        "team": "reception", "requirement_id": "req_1", "level": "introduction",
        "held_level": "none", "reason": "overdue", "due_on": "2026-11-01"}, FRIDAY_10,
        source="training", practice_id="F84001")
    assert commands.notify(repository, gap, FRIDAY_10, settings) == []
    assert states(repository) == [("sister.k", "email", "held"), ("sister.k", "inbox", "sent"),
                                  ("sister.k", "webhook", "suppressed")]
    assert {n["mode"] for n in repository.notifications({"channel": "email"})} == {"digest"}


def test_a_training_target_at_risk_reaches_the_network_leads(repository, settings):
    network_lead(repository, "lead.a")
    person(repository, "sister.k", "leader", {"kind": "team", "id": "reception"},
           practice_id="F84001")
    at_risk = envelope("training.target_at_risk", {
        "practice_id": "F84001", "level": "introduction", "target_share": 0.8,
        "target_date": "2027-03-31", "current_share": 0.3, "projected_share": 0.5},
        FRIDAY_10, source="training", practice_id="F84001")
    commands.notify(repository, at_risk, FRIDAY_10, settings)
    assert {n["recipient_id"] for n in repository.notifications({})} == {"lead.a"}


def test_the_weekly_summary_keeps_what_it_counts_and_not_every_submission(repository,
                                                                          settings):
    network_lead(repository, "lead.a")
    commands.notify(repository, recorded(FRIDAY_10), FRIDAY_10, settings)
    commands.notify(repository, signal(), FRIDAY_10, settings)
    seen = repository.database["events_seen"].find()
    assert [event["event_type"] for event in seen] == ["measurement.signal_detected"]
