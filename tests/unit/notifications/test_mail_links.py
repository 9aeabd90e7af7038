"""Every link in a mail's body opens a page of the web front end (``NOTIFICATIONS_WEB_URL``):
a signal its measure at that period, a huddle escalation the item, a capability gap the
person's training record (in the team leader's digest), unsubscribe the web's page; only the
List-Unsubscribe header keeps this service's own one-click POST (RFC 8058). The mails are read
back from a real local SMTP server as a mail client reads them; the clock is injected."""
import re
from datetime import timedelta

from services.notifications import commands, templates
from services.notifications.domain.settings import Settings
from shared.events.envelope import isoformat
from tests.unit.notifications.conftest import london
from tests.unit.notifications.test_commands import FRIDAY_10, envelope, person, signal

WEB = "https://web.example.org"


def links_of(message):
    """Every URL of the plain text and every href of the HTML of a parsed mail."""
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return (re.findall(r"https?://\S+", text),
            re.findall(r'href="([^"]+)"', html))


def test_the_link_of_each_kind_of_notice_is_its_web_page():
    settings = Settings(web_url=WEB)
    assert templates.link_for({"measure_id": "msr_1", "period": "2026-11-02"}, settings) == (
        f"{WEB}/measures/msr_1?period=2026-11-02")
    assert templates.link_for({"measure_id": "msr_1"}, settings) == f"{WEB}/measures/msr_1"
    assert templates.link_for({"item_id": "hud_9", "team": "reception"}, settings) == (
        f"{WEB}/huddle-items/hud_9")
    assert templates.link_for({"gap_id": "gap_1", "staff_id": "nurse 01",
                               "practice_id": "F84001", "project_id": "prj_1"}, settings) == (
        f"{WEB}/people/nurse%2001/training")
    assert templates.link_for({"practice_id": "F84001"}, settings) is None
    assert templates.unsubscribe_page_url(settings, "a.b") == f"{WEB}/unsubscribe?token=a.b"


def test_an_escalation_mail_links_the_item_page_and_the_web_unsubscribe_page(
        repository, settings, senders, smtp_server):
    person(repository, "sister.k", "leader", {"kind": "team", "id": "reception"})
    escalated = envelope("huddle.item_escalated", {
        "item_id": "hud_9", "team": "reception", "escalated_to": "sister.k",
        "escalated_at": isoformat(FRIDAY_10)}, FRIDAY_10, source="projects")
    commands.notify(repository, escalated, FRIDAY_10, settings)
    commands.deliver(repository, senders, FRIDAY_10, settings)
    (message,) = smtp_server.messages()
    text_links, html_links = links_of(message)
    token = message["List-Unsubscribe"].split("token=")[1].rstrip(">")
    expected = [f"{WEB}/huddle-items/hud_9", f"{WEB}/unsubscribe?token={token}"]
    assert text_links == expected and html_links == expected
    assert message["List-Unsubscribe"] == (
        f"<https://notify.example.org/unsubscribe?token={token}>")


def test_a_capability_gap_in_the_leaders_digest_links_the_persons_training_record(
        repository, settings, senders, smtp_server):
    person(repository, "sister.k", "leader", {"kind": "team", "id": "reception"},
           practice_id="F84001")
    gap = envelope("training.capability_gap_identified", {
        "gap_id": "gap_1", "staff_id": "nurse-01", "practice_id": "F84001",
        "team": "reception", "requirement_id": "req_1", "level": "improvement_leader",
        "held_level": "foundations", "reason": "overdue", "due_on": "2026-11-20",
        "project_id": None}, FRIDAY_10, source="training", practice_id="F84001")
    commands.notify(repository, gap, FRIDAY_10, settings)
    commands.deliver(repository, senders, FRIDAY_10, settings)
    saturday_8 = london(2026, 11, 28, 8, 0)
    assert len(commands.send_digests(repository, saturday_8, settings)) == 1
    commands.deliver(repository, senders, saturday_8 + timedelta(seconds=1), settings)
    (digest,) = smtp_server.messages()
    text_links, html_links = links_of(digest)
    token = digest["List-Unsubscribe"].split("token=")[1].rstrip(">")
    expected = [f"{WEB}/people/nurse-01/training", f"{WEB}/unsubscribe?token={token}"]
    assert text_links == expected and html_links == expected


def test_the_weekly_summary_links_the_network_dashboard(repository, settings, senders,
                                                        smtp_server):
    person(repository, "lead.a", "network_lead", {"kind": "network", "id": "net_east"})
    commands.notify(repository, signal(), FRIDAY_10, settings)
    commands.deliver(repository, senders, FRIDAY_10, settings)
    monday = london(2026, 11, 30, 8, 5)
    queued = commands.send_weekly_summaries(repository, monday, settings)
    assert len(queued) == 1
    commands.deliver(repository, senders, monday, settings, ids=queued)
    summary = smtp_server.messages()[-1]
    assert summary["Subject"] == "Your network's week"
    text_links, html_links = links_of(summary)
    assert text_links[0] == html_links[0] == f"{WEB}/"
    assert all(link.startswith(WEB + "/") for link in text_links + html_links)
