"""What a notification says, in en-GB: a one-line summary, a subject, plain text and HTML.

Every text is made from ids and the few words of ``domain.thin_data``: no contact details and
no free text of the source event, so nothing a person typed reaches a mailbox or a webhook.
"""
import html
from datetime import date
from urllib.parse import quote

SIGNAL_KINDS = {"concern": "a signal of concern", "improvement": "a signal of improvement",
                "neutral": "a special-cause signal"}


def long_date(value):
    """``2026-11-27`` → ``Friday 27 November 2026`` (en-GB, no leading zero)."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day:%A} {day.day} {day:%B %Y}"


def summary_of(event_type, data, step=None):
    """One line saying what happened and what to do, from an event's thin data."""
    if step == "escalation_past_sla":
        return (f"Huddle item {data.get('item_id')} of team {data.get('team')} is still "
                f"unresolved past its escalation deadline: please unblock it.")
    if step == "overdue_to_network_lead":
        return (f"Practice {data.get('practice_id')} has still not submitted "
                f"{data.get('measure_id')} for the period starting {long_date(data['period'])}.")
    if event_type == "measurement.signal_detected":
        series = data.get("series")
        where = "the pooled network series" if series == "pooled" else f"practice {series}"
        return (f"{SIGNAL_KINDS.get(data.get('kind'), 'A signal').capitalize()} on measure "
                f"{data.get('measure_id')} ({where}), period starting {long_date(data['period'])}.")
    if event_type == "measurement.assurance_changed":
        return (f"Assurance of measure {data.get('measure_id')} against its target changed "
                f"from {data.get('previous') or 'none'} to {data.get('current') or 'none'}.")
    if event_type == "huddle.item_escalated":
        return (f"Huddle item {data.get('item_id')} of team {data.get('team')} was escalated "
                f"to you: please help unblock it.")
    if event_type == "measurement.submission_overdue":
        return (f"Your practice has not yet submitted {data.get('measure_id')} for the period "
                f"starting {long_date(data['period'])}.")
    if event_type == "training.capability_gap_identified":
        return "A capability gap was identified in your team: see the training plan."
    if event_type == "training.target_at_risk":
        return "A training target of your network is at risk."
    return f"{event_type} in your network."


def link_for(data, settings):
    """The page of the web front end (``settings.web_url``) a notice is about, or None: the
    measure at the period the notice names, the huddle item, or the person's training record
    (a capability gap). Signed out, the page sends the reader through sign-in and back."""
    web = settings.web_url
    if data.get("measure_id"):
        link = f"{web}/measures/{quote(str(data['measure_id']), safe='')}"
        if data.get("period"):
            link += f"?period={quote(str(data['period']), safe='')}"
        return link
    if data.get("item_id"):
        return f"{web}/huddle-items/{quote(str(data['item_id']), safe='')}"
    if data.get("staff_id"):
        return f"{web}/people/{quote(str(data['staff_id']), safe='')}/training"
    return None


def unsubscribe_page_url(settings, token):
    """The web front end's unsubscribe page of ``token`` (the link in a mail's body; the
    List-Unsubscribe header keeps the notifications service's own one-click POST)."""
    return f"{settings.web_url}/unsubscribe?token={quote(token, safe='')}"


def notice_text(entries, link, unsubscribe_url):
    """Plain text of a mail: ``entries`` are (line, its page or None), ``link`` the page of
    the whole mail (or None)."""
    lines = ["Hello,", ""]
    for line, entry_link in entries:
        lines.append(line)
        if entry_link:
            lines.append(f"  See it here: {entry_link}")
    lines.append("")
    if link:
        lines += [f"See it here: {link}", ""]
    lines += ["PCN Improvement Network"]
    if unsubscribe_url:
        lines += ["", f"To stop these emails: {unsubscribe_url}"]
    return "\n".join(lines) + "\n"


def notice_html(entries, link, unsubscribe_url, chart_cid=None):
    """The HTML alternative of ``notice_text``; a digest's entries are a list."""
    parts = ["<p>Hello,</p>"]
    if len(entries) == 1 and not entries[0][1]:
        parts.append(f"<p>{html.escape(entries[0][0])}</p>")
    else:
        items = []
        for line, entry_link in entries:
            item = html.escape(line.removeprefix("- "))
            if entry_link:
                item += f' <a href="{html.escape(entry_link)}">See it here</a>'
            items.append(f"<li>{item}</li>")
        parts.append("<ul>" + "".join(items) + "</ul>")
    if chart_cid:
        parts.append(f'<p><img src="cid:{html.escape(chart_cid)}" alt="Chart of the series" '
                     'width="640"></p>')
    if link:
        parts.append(f'<p><a href="{html.escape(link)}">See it here</a></p>')
    parts.append("<p>PCN Improvement Network</p>")
    if unsubscribe_url:
        parts.append(f'<p style="font-size:small"><a href="{html.escape(unsubscribe_url)}">'
                     "Stop these emails</a></p>")
    return "<!doctype html><html lang=\"en-GB\"><body>" + "".join(parts) + "</body></html>"


def subject_for(notification):
    prefix = "[Action needed] " if notification.get("critical") else ""
    if notification["kind"] == "digest":
        count = len(notification.get("items") or ())
        return f"Your PCN digest: {count} update{'s' if count != 1 else ''}"
    if notification["kind"] == "summary":
        return "Your network's week"
    return prefix + notification["summary"].split(":")[0].rstrip(".")[:120]


def digest_entries(items, settings):
    """A digest's (line, page) per notice it gathers."""
    return [(f"- {item['summary']}", link_for(item.get("data") or {}, settings))
            for item in items]


SUMMARY_LABELS = (
    ("signals_of_concern", "signals of concern"),
    ("signals_of_improvement", "signals of improvement"),
    ("overdue_submissions", "overdue submissions"),
    ("escalations", "huddle items escalated"),
    ("escalations_resolved", "escalated items resolved"),
    ("training_targets_at_risk", "training targets at risk"),
    ("capability_gaps", "capability gaps identified"),
)


def summary_lines(counts):
    lines = [f"- {counts[name]} {label}" for name, label in SUMMARY_LABELS]
    if counts.get("overdue_practices"):
        lines.append("- practices behind on data: " + ", ".join(counts["overdue_practices"]))
    return lines


def _page(title, body):
    return ('<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title></head><body>{body}</body></html>")


def _what_stops(event_type, description):
    if event_type == "*":
        return "every email from the PCN Improvement Network that you may opt out of"
    return f"emails about {description or event_type} ({event_type})"


def unsubscribe_page(event_type, description, action_url):
    """The page an unsubscribe link opens: it says what stops and asks for one press, since
    mail scanners follow links (a GET never unsubscribes)."""
    return _page("Unsubscribe", (
        "<h1>Unsubscribe</h1>"
        f"<p>Stop {html.escape(_what_stops(event_type, description))}?</p>"
        "<p>Notices that cannot wait (critical ones) still reach you; your inbox in the app "
        "keeps everything.</p>"
        f'<form method="post" action="{html.escape(action_url)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'))


def unsubscribed_page(event_type, description):
    return _page("Unsubscribed", (
        "<h1>Unsubscribed</h1>"
        f"<p>You will no longer receive {html.escape(_what_stops(event_type, description))}. "
        "You can turn them back on in your notification preferences.</p>"))
