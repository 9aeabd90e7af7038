"""From events to notifications: ``notify`` turns one event into notifications, once, and
the periodic passes (functions of ``now``: tests inject the clock) release held notices when
the send window opens, take due ladder steps and assemble digests and the weekly summary.

``notify`` loads what the decision needs (the event's route, then the people of its audiences
and the ladder it would start), lets the domain return one plan and stores it once. Sending
never happens here: ``deliver`` sends what is due, so a slow SMTP server never blocks a
consumer.
"""
from datetime import timedelta

from services.notifications import templates
from services.notifications.commands.metrics import NOTIFICATIONS
from services.notifications.domain.digests import (digest_slot, network_summary, new_digest,
                                                   summary_window)
from services.notifications.domain.planning import (EventPlan, ladder_step_envelope, needs_of,
                                                    notifications_for, plan_event, step_rule)
from services.notifications.domain.recipients import has_contact
from services.notifications.domain.routing import PUSH_CHANNELS, audience_of, matching_rules


def notify(repository, envelope, now, settings):
    """Turn one event envelope (as the handler loaded it) into notifications, once: a
    redelivered envelope finds every (event, recipient, channel) stored and adds nothing.
    Also keeps it for the weekly summary and starts or stops the ladder it concerns. Returns
    the ids of notifications queued for sending now (the delivery pass sends them)."""
    rules = matching_rules(envelope, repository.route_of(envelope["network_id"],
                                                         envelope["event_type"]))
    context = repository.event_context(needs_of(envelope, rules, settings))
    summary = templates.summary_of(envelope["event_type"], envelope["data"])
    plan = plan_event(envelope, rules, context, now, settings, summary)
    return counted(plan.notifications, repository.store_plan(plan))


def counted(planned, stored):
    """Count each planned notification by outcome (its state, or ``duplicate`` when it was
    there already); returns the ids of the stored ones that are queued."""
    queued = []
    for (notification, _), is_new in zip(planned, stored):
        outcome = notification["state"] if is_new else "duplicate"
        NOTIFICATIONS.labels(notification["channel"], notification["route"], outcome).inc()
        if outcome == "queued":
            queued.append(notification["_id"])
    return queued


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
            envelope = ladder_step_envelope(ladder, index)
            who = audience_of(step["audience"], envelope)
            people = repository.people({"step": who}) if who is not None else {}
            planned = notifications_for(
                envelope, step_rule(step), people.get("step", []), now, settings,
                templates.summary_of(envelope["event_type"], envelope["data"], step["name"]),
                ladder["_id"], critical=step["critical"])
            created = counted(planned, repository.store_plan(EventPlan(notifications=planned)))
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
    waiting = repository.waiting_for_digests(now)
    for staff_id, channel in sorted({(item["recipient_id"], item["channel"])
                                     for item in waiting}):
        recipient = repository.recipient(staff_id)
        if recipient is None:
            continue
        digest_id, due = digest_slot(recipient, channel, now, settings)
        repository.open_digest(new_digest(recipient, channel, digest_id, due, now))
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
    due, week = summary_window(now, settings)
    queued = []
    counts_by_network = {}
    for lead in repository.network_leads():
        network_id = lead["network_id"]
        if network_id not in counts_by_network:
            counts_by_network[network_id] = network_summary(
                repository.events_between(network_id, due - timedelta(days=7), due))
        counts = counts_by_network[network_id]
        if counts is None:
            continue
        for channel in PUSH_CHANNELS:
            if not has_contact(lead, channel):
                continue
            summary_id = f"sum_{lead['_id']}_{channel}_{week}"
            summary = {**new_digest(lead, channel, summary_id, due, now, kind="summary",
                                    summary="Your network's week"),
                       "state": "queued", "counts": counts}
            if repository.open_digest(summary):
                queued.append(summary_id)
    return queued
