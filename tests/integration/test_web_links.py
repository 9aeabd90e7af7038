"""Every link in a real mail (the notifications service's SMTP output, parsed as a mail client
parses it) opens a page of the web front end, and a reader who is signed out goes through
sign-in and lands on it: a signal → its measure at that period, a huddle escalation → the
item, a capability gap → the person's training record (read-only; another practice's answers
"Page not found"), "Stop these emails" → the web's unsubscribe page, which works signed out,
asks before it stops anything, and posts to the notifications service's one-click endpoint.
The same in Chromium, with axe-core: tests/browser/test_mail_links.py."""
import pytest
import requests
from nameko.testing.services import dummy  # noqa: F401 (nameko's test plugin is loaded)

from tests.mail_links_stack import SIGNAL_PERIOD, build_mail_stack, links_of, path_of
from tests.web_stack import LEAD_UID, MEMBER_UID, provider_stopped_after

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def stack(container_factory, service_config, tmp_path):
    maildir = tmp_path / "mail"
    maildir.mkdir()
    with provider_stopped_after(build_mail_stack(container_factory, service_config,
                                                 maildir)) as stack:
        yield stack
    stack.smtp.stop()


def follow_signed_out(stack, link, uid):
    """Open ``link`` with no session: through sign-in at the provider, back to the page."""
    path = path_of(link)
    browser, landed = stack.sign_in_with_requests(uid, path=path)
    assert landed.status_code == 303 and landed.headers["Location"] == path
    return browser, browser.get(stack.web + path, allow_redirects=False)


def test_every_link_in_the_mails_points_at_a_page_of_the_web_front_end(stack):
    signal = stack.mail_about("signal of concern")
    escalation = stack.mail_about("Huddle item")
    gap = stack.mail_about("capability gap")
    expected = {
        id(signal): f"{stack.web}/measures/{stack.measure_id}?period={SIGNAL_PERIOD}",
        id(escalation): f"{stack.web}/huddle-items/{stack.item_id}",
        id(gap): f"{stack.web}/people/gap-f1/training"}
    for mail in (signal, escalation, gap):
        text_links, html_links = links_of(mail)
        assert text_links == html_links, mail["Subject"]
        page, unsubscribe = text_links
        assert page == expected[id(mail)]
        assert unsubscribe.startswith(f"{stack.web}/unsubscribe?token=")
        # Mail clients' one-click (RFC 8058) still posts to the notifications service itself.
        one_click = mail["List-Unsubscribe"].strip("<>")
        assert one_click.startswith(stack.notifications.base + "/unsubscribe?token=")
        assert one_click.split("token=")[1] == unsubscribe.split("token=")[1]
    assert gap["To"] == "leader-ph@practice.example.org"
    assert {signal["To"], escalation["To"]} == {"lead-01@practice.example.org"}


def test_a_signed_out_reader_signs_in_and_lands_on_each_page(stack):
    (signal_link, _), _ = links_of(stack.mail_about("signal of concern"))
    _, page = follow_signed_out(stack, signal_link, LEAD_UID)
    assert page.status_code == 200 and "SMRs completed to the standard template" in page.text
    assert f"Opened at the period starting {SIGNAL_PERIOD}" in page.text
    assert f'<tr class="mdc-current"><td>{SIGNAL_PERIOD}</td>' in page.text

    (item_link, _), _ = links_of(stack.mail_about("Huddle item"))
    _, page = follow_signed_out(stack, item_link, LEAD_UID)
    assert page.status_code == 200 and "template missing in EMIS" in page.text

    (record_link, _), _ = links_of(stack.mail_about("capability gap"))
    lead, page = follow_signed_out(stack, record_link, LEAD_UID)
    assert page.status_code == 200 and "<h1>gap-f1</h1>" in page.text
    assert "Introduction" in page.text and "Overdue" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert lead.get(f"{stack.web}/people/gap-f2/training").status_code == 200  # the network's


def test_a_practice_member_reads_their_practices_records_only(stack):
    member, page = follow_signed_out(stack, f"{stack.web}/people/gap-f1/training", MEMBER_UID)
    assert page.status_code == 200 and "Overdue" in page.text
    other = member.get(f"{stack.web}/people/gap-f2/training")
    assert other.status_code == 404 and "gap-f2" not in other.text
    assert member.get(f"{stack.web}/people/nobody-at-all/training").status_code == 404


def test_the_unsubscribe_link_works_signed_out_asks_first_and_stops_that_email(stack):
    signal = stack.mail_about("signal of concern")
    (_, link), _ = links_of(signal)
    reader = requests.Session()  # no session of the web's: a mail reader's browser
    page = reader.get(link, allow_redirects=False)
    assert page.status_code == 200, page.text
    assert "Stop emails about signals on the measures you follow?" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert "form-action 'self'" in page.headers["Content-Security-Policy"]
    preferences = stack.notifications.get("/recipients/lead-01/preferences").json()
    assert preferences["unsubscribed"] == []  # opening the link changed nothing

    token = link.split("token=")[1]
    pressed = reader.post(stack.web + "/unsubscribe", data={"token": token},
                          allow_redirects=False)
    assert pressed.status_code == 303
    assert pressed.headers["Location"] == f"/unsubscribe/done?token={token}"
    done = reader.get(stack.web + pressed.headers["Location"])
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    preferences = stack.notifications.get("/recipients/lead-01/preferences").json()
    assert preferences["unsubscribed"] == ["measurement.signal_detected"]
    again = reader.get(link, allow_redirects=False)  # the link once more: it says so
    assert again.status_code == 303 and again.headers["Location"].startswith("/unsubscribe/done")

    forged = reader.get(f"{stack.web}/unsubscribe?token={token[:-2]}xx")
    assert forged.status_code == 400 and "This unsubscribe link is not valid" in forged.text
    assert reader.post(stack.web + "/unsubscribe", data={"token": "x" * 20}).status_code == 400
    assert reader.get(stack.web + "/unsubscribe").status_code == 400
    other = stack.mail_about("capability gap")
    (_, other_link), _ = links_of(other)
    undone = reader.get(stack.web + "/unsubscribe/done?token=" + other_link.split("token=")[1],
                        allow_redirects=False)  # nothing stopped yet: it asks first
    assert undone.status_code == 303 and undone.headers["Location"].startswith("/unsubscribe?")
