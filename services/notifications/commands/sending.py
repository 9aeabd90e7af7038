"""Sending what is due: ``deliver`` claims each queued notification, sends it by its channel
(email with the measure's chart, or a signed webhook) and records the outcome, retrying
failures with backoff; the audit lists deliveries and an admin sends a failed one again."""
import logging
import random
from dataclasses import dataclass, field
from typing import Callable

from services.notifications import templates
from services.notifications.channels import (DeliveryError, EmailChannel, WebhookChannel,
                                             build_email, unsubscribe_token)
from services.notifications.commands.metrics import (DELIVERY_LATENCY, DIGEST_SIZE,
                                                     FAILED_PENDING, NOTIFICATIONS)
from services.notifications.commands.recipients import change_of
from services.notifications.commands.routing import ANY_EVENT
from services.notifications.domain.events import as_aware
from services.notifications.domain.planning import (REASON_ENDPOINT_DISABLED,
                                                    REASON_NO_CONTACT)
from services.notifications.domain.recipients import has_contact, signing_secrets
from services.notifications.domain.sending import (after_failure, failed_event, sent_event,
                                                   trace_of)
from services.notifications.repository import RECIPIENTS
from shared import access
from shared.domain import NotFoundError, NotPermitted, RuleBroken

log = logging.getLogger(__name__)


@dataclass
class Senders:
    """The channels a delivery pass uses. ``chart`` answers PNG bytes of a measure's series
    chart or None (the measurement RPC, with a short timeout, in the service)."""
    email: EmailChannel
    webhook: WebhookChannel
    chart: Callable = lambda measure_id, series: None
    rng: random.Random = field(default_factory=random.Random)


def deliver(repository, senders, now, settings, ids=None, limit=1000):
    """Send queued notifications that are due (only ``ids`` when given), each claimed so that
    no two replicas send it; returns {outcome: count}. Failures are retried later with
    backoff and jitter, up to ``settings.max_attempts``; then they are ``failed``."""
    outcomes = {}
    for _ in range(limit):
        notification = repository.claim_for_sending(now, settings.send_lease_seconds, ids)
        if notification is None:
            break
        outcome = _send_one(repository, senders, notification, now, settings)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    if ids is None:  # the periodic pass, not the fast path after each event
        FAILED_PENDING.set(repository.failed_count())
    return outcomes


def _send_one(repository, senders, notification, now, settings):
    recipient = repository.recipient(notification["recipient_id"])
    channel, route = notification["channel"], notification["route"]
    if recipient is None or not has_contact(recipient, channel):
        repository.finish(notification, {"state": "suppressed", "reason": REASON_NO_CONTACT,
                                         "claimed_until": None})
        NOTIFICATIONS.labels(channel, route, "suppressed").inc()
        return "suppressed"
    try:
        if channel == "email":
            senders.email.send(_email_for(repository, senders, recipient, notification,
                                          settings))
        elif channel == "webhook":
            _post_webhook(repository, senders, recipient, notification, now, settings)
    except DeliveryError as error:
        return _record_failure(repository, recipient, notification, error, now, settings,
                               senders.rng)
    sent = {**notification, "attempts": notification["attempts"] + 1}
    fields = {"state": "sent", "reason": None, "sent_at": now, "claimed_until": None,
              "attempts": sent["attempts"], "last_error": None}
    repository.finish(notification, fields, [sent_event(sent, now, trace_of(notification))])
    if notification["kind"] == "digest":
        repository.mark_items_sent(notification["_id"], now)
        DIGEST_SIZE.observe(len(notification.get("items") or ()))
    NOTIFICATIONS.labels(channel, route, "sent").inc()
    DELIVERY_LATENCY.labels(channel).observe(
        max((now - as_aware(notification["occurred_at"])).total_seconds(), 0.0))
    return "sent"


def _record_failure(repository, recipient, notification, error, now, settings, rng):
    channel, route = notification["channel"], notification["route"]
    fields = after_failure(notification, error, now, settings, rng)
    events = []
    if fields["state"] == "failed":
        events.append(failed_event(notification, fields, trace_of(notification)))
        log.warning("notification %s failed for good after %d attempts: %s",
                    notification["_id"], fields["attempts"], error.reason)
    else:
        NOTIFICATIONS.labels(channel, route, "retried").inc()
    if error.gone:
        webhook = (recipient.get("contacts") or {}).get("webhook") or {}
        repository.apply(RECIPIENTS, change_of(recipient, {"contacts.webhook": {
            **webhook, "disabled_at": now}}))
    repository.finish(notification, fields, events)
    if fields["state"] == "failed":
        NOTIFICATIONS.labels(channel, route, "failed").inc()
    return fields["state"]


def _content(repository, notification, settings):
    """(entries, link) of a notice, digest or summary: each entry a line and the web page it
    is about (or None), ``link`` the page of the whole mail (or None)."""
    if notification["kind"] == "digest":
        items = repository.notifications_of(notification.get("items") or [])
        return templates.digest_entries(items, settings), None
    if notification["kind"] == "summary":
        return ([(line, None) for line in templates.summary_lines(notification["counts"])],
                f"{settings.web_url}/")
    return ([(notification["summary"], None)],
            templates.link_for(notification["data"], settings))


def _email_for(repository, senders, recipient, notification, settings):
    entries, link = _content(repository, notification, settings)
    one_click_url = page_url = None
    if not notification["critical"]:
        about = notification["event_type"] if notification["kind"] == "notice" else ANY_EVENT
        token = unsubscribe_token(settings.unsubscribe_secret, recipient["_id"], about)
        # The header is for mail clients (RFC 8058: a POST to this service); the body's link
        # opens the web front end's page, which asks before it posts here.
        one_click_url = f"{settings.base_url}/unsubscribe?token={token}"
        page_url = templates.unsubscribe_page_url(settings, token)
    chart = None
    data = notification["data"]
    if notification["event_type"] == "measurement.signal_detected" and data.get("measure_id"):
        try:
            chart = senders.chart(data["measure_id"], data.get("series"))
        except Exception as exc:  # the notice goes without its chart: never blocked by it
            log.warning("no chart for measure %s: %r", data["measure_id"], exc)
    return build_email(
        senders.email.sender, recipient["contacts"]["email"],
        templates.subject_for(notification),
        templates.notice_text(entries, link, page_url),
        lambda cid: templates.notice_html(entries, link, page_url, cid),
        unsubscribe_url=one_click_url, chart_png=chart)


def _post_webhook(repository, senders, recipient, notification, now, settings):
    webhook = recipient["contacts"]["webhook"]
    if webhook.get("disabled_at"):
        raise DeliveryError(REASON_ENDPOINT_DISABLED, retryable=False)
    entries, link = _content(repository, notification, settings)
    lines = [line for line, _ in entries]
    data = {**notification["data"], "notification_id": notification["_id"],
            "event_id": notification["event_id"], "network_id": notification["network_id"],
            "summary": " ".join(lines) if notification["kind"] == "notice" else None,
            "items": lines if notification["kind"] != "notice" else None, "link": link}
    senders.webhook.send(webhook["url"], signing_secrets(webhook, now),
                         notification["_id"],
                         notification["event_type"], int(now.timestamp()), data)


# --- the audit -------------------------------------------------------------------------------

def deliveries(repository, principal, query):
    """A page of notifications by state for the audit: admin across networks, a network lead
    their own."""
    scope = access.deliveries_scope(principal, query.get("network_id"))
    return repository.delivery_listing(scope.network_id, query.get("status"), query)


def retry_delivery(repository, principal, notification_id, now, trace):
    """An admin sends a failed notification again: it is queued with a fresh attempt count."""
    if not access.may_retry_delivery(principal):
        raise NotPermitted("only an admin may retry a failed delivery",
                           {"role": [f"{principal.role} may not retry"]})
    notification = repository.notification(notification_id)
    if notification is None:
        raise NotFoundError(f"no notification {notification_id}",
                            {"notification_id": ["not found"]})
    if notification["state"] != "failed":
        raise RuleBroken(f"only a failed notification can be retried; this one is "
                         f"{notification['state']}", {"notification_id": ["not failed"]})
    fields = {"state": "queued", "reason": None, "attempts": 0, "due_at": now,
              "claimed_until": None}
    repository.set_fields(notification_id, fields, guard={"state": "failed"})
    return {**notification, **fields}

