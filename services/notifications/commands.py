"""The service layer of the notifications service: what its entrypoints and timers call.

Commands take (repository, principal, command, now, trace) and return what the API answers;
``notify`` turns one event envelope into notifications; the periodic passes (release held,
digests, the weekly summary, ladders, deliveries) are functions of ``now``, so tests inject
the clock. Sending never happens inside ``notify``: it only stores notifications, and
``deliver`` sends what is due, so a slow SMTP server never blocks an event consumer.
"""
import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

from prometheus_client import Counter, Gauge, Histogram

from services.notifications import domain, templates
from services.notifications.channels import (DeliveryError, EmailChannel, WebhookChannel,
                                             build_email, check_endpoint_address,
                                             check_unsubscribe_token, new_webhook_secret,
                                             unsubscribe_token)
from services.notifications.domain import Settings
from services.notifications.repository import RECIPIENTS
from shared.domain import Change, NotFoundError, NotPermitted, RuleBroken
from shared.events.catalogue import event_type as catalogue_event_type
from shared.events.catalogue import validate_envelope
from shared.events.envelope import Trace

log = logging.getLogger(__name__)

NOTIFICATIONS = Counter(
    "pcn_notifications", "Notifications by channel, route and outcome (sent, failed, held, "
    "suppressed, retried, duplicate).", ["channel", "route", "outcome"])
DELIVERY_LATENCY = Histogram(
    "pcn_notification_latency_seconds", "From the event's occurred_at to the send.",
    ["channel"], buckets=(0.1, 0.5, 1, 5, 30, 60, 300, 3600, 14400, 86400, 259200))
DIGEST_SIZE = Histogram("pcn_notification_digest_items", "Items per digest sent.",
                        buckets=(1, 2, 5, 10, 20, 50, 100))
FAILED_PENDING = Gauge("pcn_notifications_failed",
                       "Notifications in state failed (waiting for an admin retry).")

ANY_EVENT = "*"  # an unsubscribe from a digest or summary: all non-critical email


@dataclass
class Senders:
    """The channels a delivery pass uses. ``chart`` answers PNG bytes of a measure's series
    chart or None (the measurement RPC, with a short timeout, in the service)."""
    email: EmailChannel
    webhook: WebhookChannel
    chart: Callable = lambda measure_id, series: None
    rng: random.Random = field(default_factory=random.Random)


# --- recipients ------------------------------------------------------------------------------

def recipient_view(recipient, webhook_secret=None):
    """A recipient as the API shows it: the webhook's signing secret only when just made
    (``webhook_secret``), never from storage."""
    contacts = dict(recipient.get("contacts") or {})
    if contacts.get("webhook"):
        contacts["webhook"] = {k: v for k, v in contacts["webhook"].items()
                               if k not in ("secret", "previous_secret")}
    return {**recipient, "contacts": contacts, "webhook_secret": webhook_secret}


def register_recipient(repository, principal, command, now, trace, settings=Settings()):
    """A new recipient (network lead of the network, or admin). Answers the recipient and,
    when a webhook URL was given, its signing secret: shown this once, never again."""
    domain.check_may_manage_network(principal, command["network_id"])
    if command.get("webhook_url"):
        check_endpoint_address(command["webhook_url"], settings.allow_private_endpoints)
    if command.get("digest_time"):
        domain.parse_clock(command["digest_time"], "digest_time")
    recipient = domain.new_recipient(command, now)
    secret = None
    if recipient["contacts"]["webhook"]:
        secret = new_webhook_secret()
        recipient["contacts"]["webhook"]["secret"] = secret
    repository.add_recipient(recipient)
    return recipient_view(recipient, secret)


def change_recipient(repository, principal, staff_id, command, now, trace, settings=Settings()):
    """Change contacts, time zone, digest time (the person, their network lead or admin);
    role and scope only by the network lead or admin. A new webhook URL gets a new secret."""
    recipient = domain.check_person(principal, repository.recipient(staff_id), staff_id)
    if ({"role", "scope", "practice_id"} & set(command)
            and not principal.may_act_for_network(recipient["network_id"])):
        raise NotPermitted("only the network lead may change a role or scope",
                           {"role": ["not yours to change"]})
    changes, secret = {}, None
    for name in ("role", "scope", "practice_id", "time_zone", "digest_time"):
        if name in command:
            changes[name] = command[name]
    if "email" in command:
        changes["contacts.email"] = command["email"]
    if "webhook_url" in command:
        url = command["webhook_url"]
        if url:
            check_endpoint_address(url, settings.allow_private_endpoints)
            secret = new_webhook_secret()
            changes["contacts.webhook"] = {"url": url, "secret": secret, "disabled_at": None}
        else:
            changes["contacts.webhook"] = None
    repository.apply(RECIPIENTS, _change(recipient, changes))
    return recipient_view(repository.recipient(staff_id), secret)


def rotate_webhook_secret(repository, principal, staff_id, now, settings=Settings()):
    """A new signing secret for the person's webhook, shown this once. The old one still
    signs beside it for ``settings.webhook_rotation_overlap`` so that the receiver can switch
    without losing a call (Standard Webhooks: every signature in the header is tried)."""
    recipient = domain.check_person(principal, repository.recipient(staff_id), staff_id)
    webhook = (recipient.get("contacts") or {}).get("webhook")
    if not webhook:
        raise RuleBroken("this person has no webhook endpoint",
                         {"webhook_url": ["none registered: set one first"]})
    secret = new_webhook_secret()
    repository.apply(RECIPIENTS, _change(recipient, {"contacts.webhook": {
        **webhook, "secret": secret, "previous_secret": webhook["secret"],
        "previous_until": now + settings.webhook_rotation_overlap}}))
    return recipient_view(repository.recipient(staff_id), secret)


def _change(recipient, changes):
    return Change(decided_on=recipient, set=changes)


def get_recipient(repository, principal, staff_id):
    return recipient_view(domain.check_person(principal, repository.recipient(staff_id),
                                              staff_id))


def list_recipients(repository, principal, query, network_id):
    """A network's recipients: network lead and admin see all; a practice key its own."""
    selector = {"network_id": network_id}
    if not principal.may_act_for_network(network_id):
        if principal.role != "practice" or principal.network_id != network_id:
            raise NotFoundError(f"no such network {network_id}", {"network_id": ["not found"]})
        selector["practice_id"] = principal.practice_id
    items, total = repository.recipient_page(selector, query["page"], query["page_size"])
    return [recipient_view(item) for item in items], total


# --- watchers --------------------------------------------------------------------------------

def watch(repository, principal, staff_id, command, now, trace):
    recipient = domain.check_person(principal, repository.recipient(staff_id), staff_id)
    watcher = {"_id": domain.watcher_id(staff_id, command["subject_kind"], command["subject_id"]),
               "staff_id": staff_id, "network_id": recipient["network_id"],
               "subject_kind": command["subject_kind"], "subject_id": command["subject_id"],
               "since": now}
    return repository.add_watcher(watcher)


def unwatch(repository, principal, staff_id, subject_kind, subject_id):
    domain.check_person(principal, repository.recipient(staff_id), staff_id)
    if not repository.remove_watcher(domain.watcher_id(staff_id, subject_kind, subject_id)):
        raise NotFoundError(f"{staff_id} does not follow {subject_kind} {subject_id}",
                            {"subject_id": ["not followed"]})


def watched_by(repository, principal, staff_id):
    domain.check_person(principal, repository.recipient(staff_id), staff_id)
    return repository.watchers({"staff_id": staff_id})


# --- routes ----------------------------------------------------------------------------------

def routes_of(repository, principal, network_id):
    """Every routed event type of the network: its rules and whether they are the default."""
    if not (principal.may_read_network(network_id) or principal.is_admin):
        raise NotFoundError(f"no such network {network_id}", {"network_id": ["not found"]})
    stored = {route["event_type"]: route for route in repository.routes_of(network_id)}
    names = sorted(set(domain.DEFAULT_ROUTES) | set(stored))
    return [{"event_type": name, "rules": domain.routes_for(name, stored.get(name)),
             "default": name not in stored} for name in names]


def set_route(repository, principal, network_id, command, now, trace):
    """Replace a route's rules for one network (its lead, or admin); an empty list of rules
    is allowed and means nobody is notified of that event type in this network."""
    domain.check_may_manage_network(principal, network_id)
    route = {"_id": f"{network_id}:{command['event_type']}", "network_id": network_id,
             "event_type": command["event_type"], "rules": command["rules"],
             "changed_at": now, "changed_by": principal.key_id}
    repository.save_route(route)
    return {"event_type": route["event_type"], "rules": route["rules"], "default": False}


def reset_route(repository, principal, network_id, event_type):
    domain.check_may_manage_network(principal, network_id)
    repository.remove_route(network_id, event_type)


# --- preferences -----------------------------------------------------------------------------

def get_preferences(repository, principal, staff_id):
    recipient = domain.check_person(principal, repository.recipient(staff_id), staff_id)
    return {**(recipient.get("preferences") or {"by_event": {}, "by_channel": {}}),
            "unsubscribed": recipient.get("unsubscribed") or []}


def set_preferences(repository, principal, staff_id, command, now, trace):
    """Replace the person's own layers (per event type and channel; per channel). Setting a
    mode for email also undoes an earlier one-click unsubscribe of that event type."""
    recipient = domain.check_person(principal, repository.recipient(staff_id), staff_id)
    unsubscribed = [name for name in recipient.get("unsubscribed") or ()
                    if "email" not in command["by_event"].get(name, {})
                    and not (name == ANY_EVENT and "email" in command["by_channel"])]
    preferences = {"by_event": command["by_event"], "by_channel": command["by_channel"]}
    repository.apply(RECIPIENTS, _change(recipient, {"preferences": preferences,
                                                       "unsubscribed": unsubscribed}))
    return {**preferences, "unsubscribed": unsubscribed}


def _unsubscribing(repository, token, settings):
    """(recipient, event type) of a genuine token whose person is still a recipient."""
    staff_id, event_type = check_unsubscribe_token(settings.unsubscribe_secret, token)
    recipient = repository.recipient(staff_id)
    if recipient is None:
        raise NotFoundError("this unsubscribe link's person is no longer a recipient",
                            {"token": ["unknown person"]})
    return recipient, event_type


def unsubscribe_subject(repository, token, settings):
    """What a genuine unsubscribe link would stop (its event type); changes nothing (the page
    a link opens)."""
    return _unsubscribing(repository, token, settings)[1]


def event_type_description(event_type):
    """The catalogue's words for ``event_type``; None for ``*`` (every event type)."""
    try:
        return catalogue_event_type(event_type).description
    except KeyError:
        return None


def unsubscribe(repository, token, now, settings):
    """RFC 8058 one-click: the signed token is the authority; stops non-critical email of
    that event type (``*``: all non-critical email) for the person. Idempotent."""
    recipient, event_type = _unsubscribing(repository, token, settings)
    if event_type in (recipient.get("unsubscribed") or ()):
        return {"unsubscribed": event_type}
    changes = {"unsubscribed": list(recipient.get("unsubscribed") or []) + [event_type]}
    if event_type == ANY_EVENT:
        changes["preferences.by_channel.email"] = "off"
    repository.apply(RECIPIENTS, _change(recipient, changes))
    return {"unsubscribed": event_type}


# --- inbox -----------------------------------------------------------------------------------

def _inbox_selector(staff_id, archived=False):
    return {"recipient_id": staff_id, "channel": "inbox", "state": "sent",
            "archived_at": {"$ne": None} if archived else None}


def inbox(repository, principal, staff_id, query):
    """(items, total, unread count): unread first, newest first within each."""
    domain.check_person(principal, repository.recipient(staff_id), staff_id)
    items, total = repository.notification_page(
        _inbox_selector(staff_id, query["archived"]), query["page"], query["page_size"],
        sort=(("unread", -1), ("created_at", -1), ("_id", 1)))
    return items, total, unread_count(repository, principal, staff_id, checked=True)


def unread_count(repository, principal, staff_id, checked=False):
    if not checked:
        domain.check_person(principal, repository.recipient(staff_id), staff_id)
    return repository.count({**_inbox_selector(staff_id), "unread": True})


def _inbox_item(repository, principal, staff_id, notification_id):
    domain.check_person(principal, repository.recipient(staff_id), staff_id)
    item = repository.notification(notification_id)
    if item is None or item["recipient_id"] != staff_id or item["channel"] != "inbox":
        raise NotFoundError(f"no inbox item {notification_id}", {"notification_id": ["not found"]})
    return item


def mark_read(repository, principal, staff_id, notification_id, now):
    item = _inbox_item(repository, principal, staff_id, notification_id)
    if item.get("unread"):
        repository.set_fields(notification_id, {"unread": False, "read_at": now})
        item = {**item, "unread": False, "read_at": now}
    return item


def archive(repository, principal, staff_id, notification_id, now):
    item = _inbox_item(repository, principal, staff_id, notification_id)
    if item.get("archived_at") is None:
        fields = {"archived_at": now, "unread": False, "read_at": item.get("read_at") or now}
        repository.set_fields(notification_id, fields)
        item = {**item, **fields}
    return item


# --- deliveries ------------------------------------------------------------------------------

def deliveries(repository, principal, query):
    """Notifications by state for the audit: admin across networks, a network lead their own."""
    if principal.is_admin:
        selector = {"network_id": query["network_id"]} if query.get("network_id") else {}
    elif principal.role == "network_lead":
        if query.get("network_id") not in (None, principal.network_id):
            raise NotFoundError("no such network", {"network_id": ["not found"]})
        selector = {"network_id": principal.network_id}
    else:
        raise NotPermitted("deliveries are for network leads and admins",
                           {"role": [f"{principal.role} may not list deliveries"]})
    if query.get("status"):
        selector["state"] = query["status"]
    return repository.notification_page(selector, query["page"], query["page_size"],
                                        sort=(("created_at", -1), ("_id", 1)))


def retry_delivery(repository, principal, notification_id, now, trace):
    """An admin sends a failed notification again: it is queued with a fresh attempt count."""
    if not principal.is_admin:
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


# --- from events to notifications ------------------------------------------------------------

def notify(repository, envelope, now, settings):
    """Turn one event envelope (as received, JSON types) into notifications, once: a
    redelivered envelope finds every (event, recipient, channel) stored and adds nothing.
    Also starts or stops the ladder the event concerns. Returns the ids of notifications
    queued for sending now (the caller may send them at once; the delivery pass would too)."""
    validate_envelope(envelope)  # a programming error upstream if this raises
    data = envelope["data"]
    if envelope["event_type"] in domain.SUMMARY_EVENT_TYPES:
        repository.remember_event({"_id": str(envelope["event_id"]),
                                   "event_type": envelope["event_type"],
                                   "network_id": envelope["network_id"],
                                   "occurred_at": domain.as_aware(envelope["occurred_at"]),
                                   "data": domain.thin_data(data)})
    stopped = domain.ladder_stopped_by(envelope)
    if stopped:
        repository.cancel_ladder(stopped, str(envelope["event_id"]), now)
    ladder = domain.ladder_for(envelope, settings)
    if ladder is not None:
        repository.start_ladder(ladder)
        stored = repository.ladder(ladder["_id"])
        if stored and stored["state"] == "cancelled":
            ladder = stored  # resolved before the escalation arrived: nothing to chase
    rules = domain.routes_for(envelope["event_type"],
                              repository.route_of(envelope["network_id"], envelope["event_type"]))
    ladder_id = ladder["_id"] if ladder is not None and ladder["state"] == "active" else None
    queued = []
    for rule in rules:
        if not domain.rule_matches(rule, data):
            continue
        queued += _notify_audience(repository, envelope, rule, rule["audience"], now, settings,
                                   ladder_id)
    return queued


def _audience(repository, envelope, selectors):
    """The recipients reached by ``selectors``, each once."""
    people = {}
    for selector in selectors:
        if selector == "watchers":
            subjects = domain.watched_subjects(envelope["data"])
            staff_ids = {w["staff_id"] for kind, subject_id in subjects
                         for w in repository.watchers({"network_id": envelope["network_id"],
                                                       "subject_kind": kind,
                                                       "subject_id": subject_id})}
            found = repository.recipients({"_id": {"$in": sorted(staff_ids)}}) if staff_ids else []
        else:
            query = domain.audience_selectors(selector, envelope)
            found = repository.recipients(query) if query is not None else []
        for person in found:
            people.setdefault(person["_id"], person)
    return [people[key] for key in sorted(people)]


def _notify_audience(repository, envelope, rule, selectors, now, settings, ladder_id,
                     critical=None, step=None):
    summary = templates.summary_of(envelope["event_type"], envelope["data"], step)
    queued = []
    for person in _audience(repository, envelope, selectors):
        for channel in rule.get("channels") or domain.CHANNELS:
            notification = domain.plan_notification(person, envelope, rule, channel, now,
                                                     settings, summary, ladder_id, critical)
            events = ()
            if channel == "inbox" and notification["state"] == "queued":
                # The inbox is this service's own store: delivered by being written.
                notification.update(state="sent", sent_at=now, attempts=1, unread=True,
                                    due_at=None)
                events = (domain.sent_event(notification, now, _trace_of(notification)),)
            if not repository.add_notification(notification, events):
                NOTIFICATIONS.labels(channel, notification["route"], "duplicate").inc()
                continue
            outcome = notification["state"]
            NOTIFICATIONS.labels(channel, notification["route"], outcome).inc()
            if outcome == "queued":
                queued.append(notification["_id"])
    return queued


def _trace_of(notification):
    return Trace(notification.get("correlation_id") or notification["_id"],
                 notification["event_id"])


# --- periodic passes -------------------------------------------------------------------------

def release_held(repository, now):
    """Queue the held notices whose send window has opened; returns how many."""
    return repository.release_held(now)


def run_ladders(repository, now, settings):
    """Take every due ladder step once (across replicas) and notify its audience; returns
    the ids queued. A cancelled ladder is never due."""
    queued = []
    for ladder in repository.due_ladders(now):
        for index, step in enumerate(ladder["steps"]):
            if step["done_at"] is not None or step["due_at"] > now:
                continue
            # Notify first, then mark the step done: a crash in between notifies again,
            # and the dedupe key (the step is the event) keeps that to one notification.
            envelope = domain.ladder_step_envelope(ladder, index)
            rule = {"name": step["name"], "mode": "immediate", "channels": list(domain.CHANNELS),
                    "critical": step["critical"]}
            created = _notify_audience(repository, envelope, rule, [step["audience"]], now,
                                       settings, ladder["_id"], critical=step["critical"],
                                       step=step["name"])
            repository.claim_ladder_step(ladder, index, now)
            if repository.ladder(ladder["_id"])["state"] == "cancelled":
                # Resolved while we were notifying: what is not sent yet is not sent.
                repository.suppress_pending(ladder["_id"])
                continue
            queued += created
    return queued


def send_digests(repository, now, settings):
    """Assemble each person's digest whose local digest time has passed today, per push
    channel: one digest per person, channel and day, holding each waiting item exactly once
    (claimed in the repository), and none when nothing waits. A digest left half-assembled
    by a crashed replica is finished here too. Returns the queued digest ids."""
    waiting = repository.notifications({"state": "held", "mode": "digest", "digest_id": None,
                                        "due_at": {"$lte": now}})
    for staff_id, channel in sorted({(item["recipient_id"], item["channel"])
                                     for item in waiting}):
        recipient = repository.recipient(staff_id)
        if recipient is None:
            continue
        digest_id, due = domain.digest_slot(recipient, channel, now, settings)
        repository.open_digest(domain.new_digest(recipient, channel, digest_id, due, now))
    queued = []
    for digest in repository.assembling_digests():
        items = repository.claim_digest_items(digest["recipient_id"], digest["channel"],
                                              digest["_id"], now)
        fields = ({"state": "queued", "due_at": now} if items
                  else {"state": "suppressed", "reason": "empty digest"})
        if repository.seal_digest(digest["_id"], [item["_id"] for item in items], fields) \
                and items:
            queued.append(digest["_id"])
    return queued


def send_weekly_summaries(repository, now, settings):
    """The weekly network summary for each network lead (a digest of counts), at most one
    per lead, channel and week; none for a week without anything to count."""
    due, week = domain.summary_window(now, settings)
    queued = []
    leads = repository.recipients({"role": "network_lead"})
    counts_by_network = {}
    for lead in leads:
        network_id = lead["network_id"]
        if network_id not in counts_by_network:
            counts_by_network[network_id] = domain.network_summary(
                repository.events_between(network_id, due - timedelta(days=7), due))
        counts = counts_by_network[network_id]
        if counts is None:
            continue
        for channel in domain.PUSH_CHANNELS:
            if not domain.has_contact(lead, channel):
                continue
            summary_id = f"sum_{lead['_id']}_{channel}_{week}"
            summary = {**domain.new_digest(lead, channel, summary_id, due, now, kind="summary",
                                           summary="Your network's week"),
                       "state": "queued", "counts": counts}
            if repository.open_digest(summary):
                queued.append(summary_id)
    return queued


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
        FAILED_PENDING.set(repository.count({"state": "failed"}))
    return outcomes


def _send_one(repository, senders, notification, now, settings):
    recipient = repository.recipient(notification["recipient_id"])
    channel, route = notification["channel"], notification["route"]
    if recipient is None or not domain.has_contact(recipient, channel):
        repository.finish(notification, {"state": "suppressed", "reason": domain.REASON_NO_CONTACT,
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
    trace = _trace_of(notification)
    sent = {**notification, "attempts": notification["attempts"] + 1}
    fields = {"state": "sent", "reason": None, "sent_at": now, "claimed_until": None,
              "attempts": sent["attempts"], "last_error": None}
    repository.finish(notification, fields, [domain.sent_event(sent, now, trace)])
    if notification["kind"] == "digest":
        repository.mark_items_sent(notification["_id"], now)
        DIGEST_SIZE.observe(len(notification.get("items") or ()))
    NOTIFICATIONS.labels(channel, route, "sent").inc()
    DELIVERY_LATENCY.labels(channel).observe(
        max((now - domain.as_aware(notification["occurred_at"])).total_seconds(), 0.0))
    return "sent"


def _record_failure(repository, recipient, notification, error, now, settings, rng):
    channel, route = notification["channel"], notification["route"]
    fields = domain.after_failure(notification, error, now, settings, rng)
    events = []
    if fields["state"] == "failed":
        events.append(domain.failed_event(notification, fields, _trace_of(notification)))
        log.warning("notification %s failed for good after %d attempts: %s",
                    notification["_id"], fields["attempts"], error.reason)
    else:
        NOTIFICATIONS.labels(channel, route, "retried").inc()
    if error.gone:
        webhook = (recipient.get("contacts") or {}).get("webhook") or {}
        repository.apply(RECIPIENTS, _change(recipient, {"contacts.webhook": {
            **webhook, "disabled_at": now}}))
    repository.finish(notification, fields, events)
    if fields["state"] == "failed":
        NOTIFICATIONS.labels(channel, route, "failed").inc()
    return fields["state"]


def _content(repository, notification, settings):
    """(summary lines, link) of a notice, digest or summary."""
    if notification["kind"] == "digest":
        items = repository.notifications({"_id": {"$in": notification.get("items") or []}})
        return templates.digest_lines(items), None
    if notification["kind"] == "summary":
        return templates.summary_lines(notification["counts"]), None
    return [notification["summary"]], templates.link_for(notification["data"], settings)


def _email_for(repository, senders, recipient, notification, settings):
    lines, link = _content(repository, notification, settings)
    body = "\n".join(lines)
    unsubscribe_url = None
    if not notification["critical"]:
        about = notification["event_type"] if notification["kind"] == "notice" else ANY_EVENT
        token = unsubscribe_token(settings.unsubscribe_secret, recipient["_id"], about)
        unsubscribe_url = f"{settings.base_url}/unsubscribe?token={token}"
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
        templates.notice_text(body, link, unsubscribe_url),
        lambda cid: templates.notice_html(body, link, unsubscribe_url, cid),
        unsubscribe_url=unsubscribe_url, chart_png=chart)


def _post_webhook(repository, senders, recipient, notification, now, settings):
    webhook = recipient["contacts"]["webhook"]
    if webhook.get("disabled_at"):
        raise DeliveryError(domain.REASON_ENDPOINT_DISABLED, retryable=False)
    lines, link = _content(repository, notification, settings)
    data = {**notification["data"], "notification_id": notification["_id"],
            "event_id": notification["event_id"], "network_id": notification["network_id"],
            "summary": " ".join(lines) if notification["kind"] == "notice" else None,
            "items": lines if notification["kind"] != "notice" else None, "link": link}
    senders.webhook.send(webhook["url"], domain.signing_secrets(webhook, now),
                         notification["_id"],
                         notification["event_type"], int(now.timestamp()), data)
